// The synthetic least-squares problem and its model: the gradient against its closed form
// and central finite differences, the exact optimum and its moments, and rank-count independence.
#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/data/synthetic.hpp>
#include <olsgd/model/least_squares.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

DataConfig small_problem(double noise) {
  DataConfig d;
  d.samples = 40;
  d.features = 6;
  d.noise = noise;
  d.min_eig = 0.2;
  d.max_eig = 2.0;
  return d;
}

Vector<double> device(const std::vector<double>& h) {
  return test::to_device<MemSpace>(h);
}
IndexVector batch_of(const std::vector<Index>& rows) {
  return test::to_device<MemSpace>(rows);
}
// Host loss 1/(2b) sum (a.x - y)^2 over `rows`.
double host_loss(const Dataset<double>& data, const std::vector<Index>& rows,
                 const std::vector<double>& x) {
  auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.features);
  auto y = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.targets);
  double s = 0;
  for (Index r : rows) {
    double dot = -y(r);
    for (std::size_t j = 0; j < x.size(); ++j) dot += a(r, j) * x[j];
    s += dot * dot;
  }
  return 0.5 * s / rows.size();
}

TEST(least_squares, gradient_matches_closed_form_and_finite_differences) {
  const auto data = make_synthetic_least_squares<double>(small_problem(0.3), 5, 0, 1);
  const std::vector<Index> rows = {3, 17, 17, 0, 39, 22, 8};  // repeats allowed
  LeastSquares<double> model(data, rows.size());
  const std::vector<double> x = {0.3, -1.2, 0.5, 2.0, -0.7, 0.1};
  Vector<double> g("g", x.size());
  const double loss = model.gradient(ExecSpace(), device(x), batch_of(rows), g, true);
  const std::vector<double> gh = test::to_host(g);

  // Closed form: g = (1/b) sum_s (a_s.x - y_s) a_s.
  auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.features);
  auto y = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.targets);
  std::vector<double> ref(x.size(), 0.0);
  for (Index r : rows) {
    double res = -y(r);
    for (std::size_t j = 0; j < x.size(); ++j) res += a(r, j) * x[j];
    for (std::size_t j = 0; j < x.size(); ++j) ref[j] += res * a(r, j) / rows.size();
  }
  EXPECT_NEAR(loss, host_loss(data, rows, x), 1e-12);
  for (std::size_t j = 0; j < x.size(); ++j) {
    EXPECT_NEAR(gh[j], ref[j], 1e-12) << j;
    // Central differences: exact for a quadratic up to rounding.
    const double h = 1e-4;
    std::vector<double> xp = x, xm = x;
    xp[j] += h;
    xm[j] -= h;
    const double fd = (host_loss(data, rows, xp) - host_loss(data, rows, xm)) / (2 * h);
    EXPECT_NEAR(gh[j], fd, 1e-8 * std::max(1.0, std::fabs(fd))) << j;
  }
}

TEST(least_squares, noise_free_optimum_is_the_generating_weights) {
  const DataConfig cfg = small_problem(0.0);
  const auto data = make_synthetic_least_squares<double>(cfg, 11, 0, 1);
  const auto q = QuadraticOptimum::solve(least_squares_moments(data), cfg.features);
  ASSERT_TRUE(q.has_value());
  const auto w = synthetic_weights(cfg.features, 11);
  for (Index j = 0; j < cfg.features; ++j) EXPECT_NEAR(q->xstar()[j], w[j], 1e-10);
  EXPECT_NEAR(q->fstar(), 0.0, 1e-12);
}

TEST(least_squares, suboptimality_equals_full_loss_gap) {
  const DataConfig cfg = small_problem(0.5);
  const auto data = make_synthetic_least_squares<double>(cfg, 3, 0, 1);
  const auto q = QuadraticOptimum::solve(least_squares_moments(data), cfg.features);
  ASSERT_TRUE(q.has_value());
  std::vector<Index> all(cfg.samples);
  for (Index i = 0; i < cfg.samples; ++i) all[i] = i;
  EXPECT_NEAR(host_loss(data, all, q->xstar()), q->fstar(), 1e-12);
  EXPECT_GT(q->fstar(), 0.0);  // noisy labels: the optimum does not interpolate
  const std::vector<double> x = {1, 2, 3, -1, 0, 0.5};
  EXPECT_NEAR(q->suboptimality(x), host_loss(data, all, x) - q->fstar(),
              1e-10 * host_loss(data, all, x));
  double dist = 0;
  for (std::size_t j = 0; j < x.size(); ++j)
    dist += (x[j] - q->xstar()[j]) * (x[j] - q->xstar()[j]);
  EXPECT_NEAR(q->distance_sq(x), dist, 1e-12 * dist);
}

// More rows than least_squares_moments copies at once (2^16): every block adds to the moments.
TEST(least_squares, moments_of_many_rows_are_the_sums_over_every_row) {
  DataConfig cfg = small_problem(0.5);
  cfg.samples = (1 << 16) + 37;
  cfg.features = 3;
  const auto data = make_synthetic_least_squares<double>(cfg, 5, 0, 1);
  const auto m = least_squares_moments(data);
  auto a = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.features);
  const auto y = test::to_host(data.targets);
  const Index d = cfg.features;
  std::vector<double> ref(d * d + d + 2, 0.0);
  for (Index s = 0; s < cfg.samples; ++s) {
    for (Index i = 0; i < d; ++i) {
      for (Index j = 0; j < d; ++j) ref[i * d + j] += a(s, i) * a(s, j);
      ref[d * d + i] += a(s, i) * y[s];
    }
    ref[d * d + d] += y[s] * y[s];
  }
  ref[d * d + d + 1] = static_cast<double>(cfg.samples);
  ASSERT_EQ(m.size(), ref.size());
  for (std::size_t k = 0; k < ref.size(); ++k)
    EXPECT_NEAR(m[k], ref[k], 1e-10 * std::fabs(ref[k])) << "moment " << k;
}

TEST(least_squares, fewer_samples_than_features_has_no_unique_optimum) {
  DataConfig cfg = small_problem(0.0);
  cfg.samples = 4;
  const auto data = make_synthetic_least_squares<double>(cfg, 1, 0, 1);
  EXPECT_FALSE(QuadraticOptimum::solve(least_squares_moments(data), cfg.features).has_value());
}

TEST(least_squares, dataset_does_not_depend_on_rank_count) {
  const DataConfig cfg = small_problem(0.1);
  const auto whole = make_synthetic_least_squares<double>(cfg, 7, 0, 1);
  const auto part = make_synthetic_least_squares<double>(cfg, 7, 3, 4);  // rows 30..39
  ASSERT_EQ(part.rows(), 10);
  EXPECT_EQ(part.shard.first, 30);
  auto aw = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), whole.features);
  auto ap = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), part.features);
  const auto yw = test::to_host(whole.targets), yp = test::to_host(part.targets);
  for (Index s = 0; s < 10; ++s) {
    EXPECT_EQ(yp[s], yw[30 + s]);
    for (Index j = 0; j < cfg.features; ++j) EXPECT_EQ(ap(s, j), aw(30 + s, j));
  }
}

TEST(least_squares, float32_labels_are_consistent_with_stored_features) {
  // The optimum of the stored float data must still interpolate noise-free labels closely.
  const DataConfig cfg = small_problem(0.0);
  const auto data = make_synthetic_least_squares<float>(cfg, 11, 0, 1);
  const auto q = QuadraticOptimum::solve(least_squares_moments(data), cfg.features);
  ASSERT_TRUE(q.has_value());
  EXPECT_LT(q->fstar(), 1e-12);
}

}  // namespace
