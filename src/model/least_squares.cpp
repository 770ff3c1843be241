#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/model/least_squares.hpp>
#include <olsgd/model/registry.hpp>

#include <limits>

namespace olsgd {

template <class Scalar>
LeastSquares<Scalar>::LeastSquares(Dataset<Scalar> data, Index batch)
    : data_(std::move(data)), residual_("olsgd::model::residual", batch) {}

template <class Scalar>
void LeastSquares<Scalar>::initialize(const ExecSpace& exec, const Vector<Scalar>& x) const {
  Kokkos::deep_copy(exec, x, Scalar(0));
}

template <class Scalar>
double LeastSquares<Scalar>::gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                      const IndexVector& batch, const Vector<Scalar>& g,
                                      bool want_loss) {
  const auto a = data_.features;
  const auto y = data_.targets;
  const auto r = residual_;
  const Index b = static_cast<Index>(batch.extent(0));
  const Index d = data_.num_features();

  // r_s = a_s.x - y_s: one team per sample, the dot product reduced over the team.
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  Kokkos::parallel_for(
      "olsgd::model::least_squares::residual", Team(exec, b, Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Team::member_type& team) {
        const Index s = team.league_rank();
        const Index row = batch(s);
        Scalar dot = 0;
        Kokkos::parallel_reduce(
            Kokkos::TeamThreadRange(team, d),
            [&](const Index j, Scalar& acc) { acc += a(row, j) * x(j); }, dot);
        Kokkos::single(Kokkos::PerTeam(team), [&]() { r(s) = dot - y(row); });
      });

  // g_j = (1/b) sum_s r_s a_{s,j}: one thread per coordinate, samples summed in order
  // (deterministic whatever the thread count).
  const Scalar inv_b = Scalar(1) / static_cast<Scalar>(b);
  Kokkos::parallel_for(
      "olsgd::model::least_squares::gradient", Kokkos::RangePolicy<ExecSpace>(exec, 0, d),
      KOKKOS_LAMBDA(const Index j) {
        Scalar acc = 0;
        for (Index s = 0; s < b; ++s) acc += r(s) * a(batch(s), j);
        g(j) = acc * inv_b;
      });

  if (!want_loss) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  Kokkos::parallel_reduce(
      "olsgd::model::least_squares::loss", Kokkos::RangePolicy<ExecSpace>(exec, 0, b),
      KOKKOS_LAMBDA(const Index s, double& acc) {
        acc += static_cast<double>(r(s)) * static_cast<double>(r(s));
      },
      sum);
  return 0.5 * sum / static_cast<double>(b);
}

template class LeastSquares<float>;
template class LeastSquares<double>;

namespace {
template <class Scalar>
std::unique_ptr<Model<Scalar>> make(const Config& c, const Dataset<Scalar>& train,
                                    const QuadraticProblem*, int) {
  return std::make_unique<LeastSquares<Scalar>>(train, c.optimizer.batch);
}
}  // namespace

extern const ModelEntry kLeastSquaresModel = {
    "least_squares",
    "linear least squares on synthetic_least_squares",
    [](const Config&) { return std::vector<std::string>{}; },
    [](const Config& c, const DeckCheck& deck) {
      deck.require(c.data.kind == "synthetic_least_squares", "model.kind",
                   "model least_squares cannot train on data.kind " + c.data.kind +
                       " (least_squares needs synthetic_least_squares)");
    },
    [](const Config&, const ProblemShape& s) { return static_cast<double>(s.features); },
    nullptr,
    &make<float>,
    &make<double>,
    &least_squares_moments<float>,
    &least_squares_moments<double>,
};

}  // namespace olsgd
