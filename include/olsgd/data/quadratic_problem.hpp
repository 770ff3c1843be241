#pragma once
// The heterogeneous quadratic of docs/algorithms.md §6 (Q-HET), with a known optimum and a known
// heterogeneity zeta_*. Rank i minimises F_i(x) = 1/2 (x - c_i)^T A_i (x - c_i), A_i diagonal;
// training minimises F = (1/m) sum_i F_i.
//   hessians "split":  a_ij = H if j mod m == i else mu (each rank stiff on its own
//                      coordinates: heterogeneity that hurts local SGD);
//   hessians "shared": a_ij log-spaced in [mu, H], the same on every rank.
//   centres c_i = c0 + s delta_i (seeded), with s chosen so zeta_* equals data.zeta, where
//   zeta_*^2 = (1/m) sum_i ||A_i (x* - c_i)||^2 (zeta_* = s zeta_1).
// Everything is computed on the host for all ranks, identically on every rank.
#include <olsgd/core/config.hpp>

#include <vector>

namespace olsgd {

struct QuadraticProblem {
  Index d = 0;
  int ranks = 1;
  std::vector<std::vector<double>> a, c;  // per rank: diagonal of A_i, centre c_i
  std::vector<double> abar;               // (1/m) sum_i a_i: the Hessian of F
  std::vector<double> xstar;
  double fstar = 0;
  double zeta_star = 0;  // as realised (equals data.zeta when m > 1)
  double scale = 0;      // s

  // zeta_*, from its definition.
  double heterogeneity() const;
};

QuadraticProblem make_quadratic_problem(const DataConfig& data, std::uint64_t seed, int ranks);

}  // namespace olsgd
