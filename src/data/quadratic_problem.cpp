#include <olsgd/core/rng.hpp>
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/data/synthetic.hpp>

#include <cmath>

namespace olsgd {
namespace {

// x* = Abar^{-1} (1/m) sum_i A_i c_i and F*, per coordinate (everything is diagonal).
void solve(QuadraticProblem& q) {
  const int m = q.ranks;
  q.xstar.assign(q.d, 0.0);
  q.fstar = 0;
  for (Index j = 0; j < q.d; ++j) {
    double num = 0;
    for (int i = 0; i < m; ++i) num += q.a[i][j] * q.c[i][j];
    q.xstar[j] = num / (m * q.abar[j]);
  }
  for (int i = 0; i < m; ++i)
    for (Index j = 0; j < q.d; ++j) {
      const double e = q.xstar[j] - q.c[i][j];
      q.fstar += 0.5 * q.a[i][j] * e * e / m;
    }
}

}  // namespace

double QuadraticProblem::heterogeneity() const {
  double sum = 0;
  for (int i = 0; i < ranks; ++i)
    for (Index j = 0; j < d; ++j) {
      const double g = a[i][j] * (xstar[j] - c[i][j]);
      sum += g * g;
    }
  return std::sqrt(sum / ranks);
}

QuadraticProblem make_quadratic_problem(const DataConfig& data, std::uint64_t seed, int ranks) {
  QuadraticProblem q;
  q.d = data.features;
  q.ranks = ranks;
  q.a.assign(ranks, std::vector<double>(q.d));
  q.c.assign(ranks, std::vector<double>(q.d));
  q.abar.assign(q.d, 0.0);
  const CounterRng centre(seed, Stream::Optimum, 0);
  std::vector<std::vector<double>> delta(ranks, std::vector<double>(q.d));
  for (int i = 0; i < ranks; ++i) {
    const CounterRng dr(seed, Stream::Optimum, 1 + static_cast<std::uint32_t>(i));
    for (Index j = 0; j < q.d; ++j) {
      q.a[i][j] = data.hessians == "split" ? (j % ranks == i ? data.max_eig : data.min_eig)
                                           : synthetic_eigenvalue(data, j);
      delta[i][j] = dr.normal(j);
      q.abar[j] += q.a[i][j] / ranks;
    }
  }
  // zeta_1: the heterogeneity at s = 1; then s = target / zeta_1.
  for (int i = 0; i < ranks; ++i)
    for (Index j = 0; j < q.d; ++j) q.c[i][j] = centre.normal(j) + delta[i][j];
  solve(q);
  const double zeta1 = q.heterogeneity();
  q.scale = zeta1 > 0 ? data.zeta / zeta1 : 0.0;
  for (int i = 0; i < ranks; ++i)
    for (Index j = 0; j < q.d; ++j) q.c[i][j] = centre.normal(j) + q.scale * delta[i][j];
  solve(q);
  q.zeta_star = q.heterogeneity();
  return q;
}

}  // namespace olsgd
