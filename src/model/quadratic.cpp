#include <olsgd/core/rng.hpp>
#include <olsgd/model/quadratic.hpp>
#include <olsgd/model/registry.hpp>

#include <cmath>
#include <stdexcept>

namespace olsgd {

template <class Scalar>
QuadraticModel<Scalar>::QuadraticModel(const QuadraticProblem& p, int rank, double noise,
                                       Index batch, std::uint64_t seed)
    : d_(p.d),
      a_("olsgd::model::quadratic::a", p.d),
      c_("olsgd::model::quadratic::c", p.d),
      noise_scale_(noise / std::sqrt(static_cast<double>(p.d * batch))),
      seed_(seed),
      rank_(rank) {
  auto a = Kokkos::create_mirror_view(a_);
  auto c = Kokkos::create_mirror_view(c_);
  for (Index j = 0; j < d_; ++j) {
    a(j) = p.a[rank][j];
    c(j) = p.c[rank][j];
  }
  Kokkos::deep_copy(a_, a);
  Kokkos::deep_copy(c_, c);
}

template <class Scalar>
void QuadraticModel<Scalar>::initialize(const ExecSpace& exec, const Vector<Scalar>& x) const {
  Kokkos::deep_copy(exec, x, Scalar(0));
}

template <class Scalar>
double QuadraticModel<Scalar>::gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                        const IndexVector& /*batch*/, const Vector<Scalar>& g,
                                        bool want_loss) {
  const auto a = a_, c = c_;
  const double sigma = noise_scale_;
  const Index d = d_;
  const CounterRng rng(seed_, Stream::Noise, static_cast<std::uint32_t>(rank_));
  const std::uint64_t base = calls_++ * static_cast<std::uint64_t>(d);
  Kokkos::parallel_for(
      "olsgd::model::quadratic::gradient", Kokkos::RangePolicy<ExecSpace>(exec, 0, d),
      KOKKOS_LAMBDA(const Index j) {
        const double xi = sigma > 0 ? sigma * rng.normal(base + j) : 0.0;
        g(j) = static_cast<Scalar>(a(j) * (x(j) - c(j)) + xi);
      });
  if (!want_loss) return kUnknown;
  double loss = 0;
  Kokkos::parallel_reduce(
      "olsgd::model::quadratic::loss", Kokkos::RangePolicy<ExecSpace>(exec, 0, d),
      KOKKOS_LAMBDA(const Index j, double& acc) {
        const double e = x(j) - c(j);
        acc += 0.5 * a(j) * e * e;
      },
      loss);
  return loss;
}

template class QuadraticModel<float>;
template class QuadraticModel<double>;

namespace {
template <class Scalar>
std::unique_ptr<Model<Scalar>> make(const Config& c, const Dataset<Scalar>&,
                                    const QuadraticProblem* quadratic, int rank) {
  if (!quadratic) throw std::logic_error("make_model: a quadratic model needs its problem");
  return std::make_unique<QuadraticModel<Scalar>>(*quadratic, rank, c.data.noise, c.optimizer.batch,
                                                  c.run.seed);
}
}  // namespace

extern const ModelEntry kQuadraticModel = {
    "quadratic",
    "per-rank quadratic objectives of synthetic_quadratic",
    [](const Config&) { return std::vector<std::string>{}; },
    [](const Config& c, const DeckCheck& deck) {
      deck.require(c.data.kind == "synthetic_quadratic", "model.kind",
                   "model quadratic cannot train on data.kind " + c.data.kind +
                       " (quadratic needs synthetic_quadratic)");
    },
    [](const Config&, const ProblemShape& s) { return static_cast<double>(s.features); },
    nullptr,
    &make<float>,
    &make<double>,
    nullptr,
    nullptr,
};

}  // namespace olsgd
