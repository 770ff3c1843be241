// The heterogeneous quadratic (docs/algorithms.md §6 Q-HET): optimum, F*, zeta_* from their
// definitions, and the model's gradient against the closed form and finite differences.
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/model/quadratic.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

DataConfig qhet(double zeta, const char* hessians = "split") {
  DataConfig d;
  d.kind = "synthetic_quadratic";
  d.features = 12;
  d.min_eig = 0.1;
  d.max_eig = 1.0;
  d.hessians = hessians;
  d.zeta = zeta;
  return d;
}

TEST(quadratic, optimum_fstar_and_zeta_follow_their_definitions) {
  for (const char* h : {"split", "shared"})
    for (double zeta : {0.0, 0.5, 3.0}) {
      SCOPED_TRACE(std::string(h) + " zeta " + std::to_string(zeta));
      const QuadraticProblem q = make_quadratic_problem(qhet(zeta, h), 4, 3);
      // grad F(x*) = (1/m) sum_i A_i (x* - c_i) = 0 and F* = F(x*).
      double f = 0;
      for (Index j = 0; j < q.d; ++j) {
        double g = 0;
        for (int i = 0; i < 3; ++i) {
          g += q.a[i][j] * (q.xstar[j] - q.c[i][j]) / 3;
          f += 0.5 * q.a[i][j] * std::pow(q.xstar[j] - q.c[i][j], 2) / 3;
        }
        EXPECT_NEAR(g, 0.0, 1e-14);
      }
      EXPECT_NEAR(q.fstar, f, 1e-14);
      EXPECT_NEAR(q.zeta_star, zeta, 1e-12);  // zeta_* = s zeta_1 hits the target exactly
      if (zeta == 0) {                        // a common centre: every F_i is minimised at once
        EXPECT_NEAR(q.fstar, 0.0, 1e-28);
      }
    }
  // Split Hessians: rank i is stiff (H) exactly on the coordinates j with j mod m == i.
  const QuadraticProblem q = make_quadratic_problem(qhet(1.0), 4, 3);
  EXPECT_EQ(q.a[1][4], 1.0);
  EXPECT_EQ(q.a[1][5], 0.1);
}

TEST(quadratic, gradient_is_the_closed_form_plus_seeded_noise) {
  const QuadraticProblem q = make_quadratic_problem(qhet(2.0), 9, 2);
  std::vector<double> x(q.d);
  for (Index j = 0; j < q.d; ++j) x[j] = std::sin(j + 0.5);
  const IndexVector batch("batch", 4);
  Vector<double> g("g", q.d);
  QuadraticModel<double> exact(q, 1, 0.0, 4, 9);
  const double loss = exact.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, g, true);
  const auto gh = test::to_host(g);
  double f = 0;
  for (Index j = 0; j < q.d; ++j) {
    EXPECT_DOUBLE_EQ(gh[j], q.a[1][j] * (x[j] - q.c[1][j]));
    f += 0.5 * q.a[1][j] * std::pow(x[j] - q.c[1][j], 2);
  }
  EXPECT_NEAR(loss, f, 1e-14);
  for (Index j = 0; j < q.d; ++j) {  // central differences of F_1
    std::vector<double> xp = x, xm = x;
    xp[j] += 1e-5;
    xm[j] -= 1e-5;
    Vector<double> s("s", q.d);
    const double fd = (exact.gradient(ExecSpace(), test::to_device<MemSpace>(xp), batch, s, true) -
                       exact.gradient(ExecSpace(), test::to_device<MemSpace>(xm), batch, s, true)) /
                      2e-5;
    EXPECT_NEAR(gh[j], fd, 1e-8);
  }
  // Noise: mean 0, variance sigma^2 / (d b), a fresh draw per call, the same in a rerun.
  const double sigma = 2.0;
  QuadraticModel<double> noisy(q, 1, sigma, 4, 9), again(q, 1, sigma, 4, 9);
  double s1 = 0, s2 = 0;
  const int calls = 2000;
  std::vector<double> first;
  for (int k = 0; k < calls; ++k) {
    noisy.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, g, false);
    const auto n = test::to_host(g);
    if (k == 0) first = n;
    for (Index j = 0; j < q.d; ++j) {
      const double xi = n[j] - gh[j];
      s1 += xi;
      s2 += xi * xi;
    }
  }
  const double count = calls * q.d, var = sigma * sigma / (q.d * 4);
  EXPECT_NEAR(s1 / count, 0.0, 5 * std::sqrt(var / count));
  EXPECT_NEAR(s2 / count, var, 5 * var * std::sqrt(2.0 / count));
  again.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, g, false);
  EXPECT_EQ(test::to_host(g), first);
}

}  // namespace
