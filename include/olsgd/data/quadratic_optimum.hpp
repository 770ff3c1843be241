#pragma once
// The exact minimiser of the empirical least-squares risk F(x) = 1/(2n) ||A x - y||^2 over
// ALL ranks' data, from the moments A^T A, A^T y, y^T y (summed over ranks by the caller,
// one allreduce of `moments`). Knowing H = A^T A / n lets metrics report F(x) - F* =
// 1/2 (x - x*)^T H (x - x*) exactly, without cancellation and without a pass over the data.
#include <olsgd/data/dataset.hpp>

#include <optional>
#include <vector>

namespace olsgd {

// Above this many features the d x d moments are not formed (memory d^2, solve d^3/3).
inline constexpr Index kMaxExactOptimumFeatures = 2048;

// This rank's moments, flattened as [A^T A (d*d, row-major) | A^T y (d) | y^T y | n].
// Empty when the model is too large for an exact optimum.
template <class Scalar>
std::vector<double> least_squares_moments(const Dataset<Scalar>& data);

class QuadraticOptimum {
 public:
  // From moments summed over all ranks. Empty if A^T A is singular (e.g. fewer samples
  // than features): then there is no unique optimum to report.
  static std::optional<QuadraticOptimum> solve(const std::vector<double>& moments, Index d);
  // A separable quadratic: F(x) - F* = 1/2 sum_j h_j (x_j - x*_j)^2.
  static QuadraticOptimum diagonal(std::vector<double> hessian_diagonal, std::vector<double> xstar,
                                   double fstar);

  const std::vector<double>& xstar() const { return xstar_; }
  double fstar() const { return fstar_; }
  // F(x) - F* = 1/2 (x - x*)^T H (x - x*).
  double suboptimality(const std::vector<double>& x) const;
  // ||x - x*||^2.
  double distance_sq(const std::vector<double>& x) const;

 private:
  Index d_ = 0;
  std::vector<double> hessian_;  // A^T A / n, row-major; or its diagonal when diagonal_
  bool diagonal_ = false;
  std::vector<double> xstar_;
  double fstar_ = 0;
};

}  // namespace olsgd
