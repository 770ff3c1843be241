#pragma once
// Synthetic least squares with a known optimum (docs/algorithms.md §6, LS-HOM): sample a ~
// N(0, Sigma), Sigma = diag of eigenvalues log-spaced in [min_eig, max_eig]; label
// y = a.w* + noise * N(0,1). Every number is a counter-based draw keyed by the GLOBAL
// sample index, so the dataset is the same whatever the rank count; ranks hold even blocks.
#include <olsgd/core/config.hpp>
#include <olsgd/data/dataset.hpp>

#include <vector>

namespace olsgd {

// The generating weights w* (host, double).
std::vector<double> synthetic_weights(Index features, std::uint64_t seed);

// Feature variance of column j (the diagonal of Sigma).
double synthetic_eigenvalue(const DataConfig& data, Index j);

template <class Scalar>
Dataset<Scalar> make_synthetic_least_squares(const DataConfig& data, std::uint64_t seed, int rank,
                                             int ranks);

}  // namespace olsgd
