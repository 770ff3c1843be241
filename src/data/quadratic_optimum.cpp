#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/kernels/gemm.hpp>

#include <algorithm>
#include <cmath>

namespace olsgd {

template <class Scalar>
std::vector<double> least_squares_moments(const Dataset<Scalar>& data) {
  const Index n = data.rows(), d = data.num_features();
  if (d > kMaxExactOptimumFeatures) return {};
  using HostMatrix = Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>;
  using DeviceMatrix = Kokkos::View<double**, Kokkos::LayoutRight, MemSpace>;
  // Double copies: the moments must be exact for the stored (rounded) data. The Gram matrix,
  // the one O(n d^2) part, is taken where the data live: the vendor BLAS's dgemm through the
  // TPL (cuBLAS on a GPU build, whose Kokkos Kernels may have no host BLAS at all). The copies
  // are made a block of rows at a time (at most 2^16 rows: 1 GiB at d = 2048), added up in order.
  const Index block = std::min<Index>(n, Index(1) << 16);
  DeviceMatrix a("olsgd::data::moments_a", block, d);
  DeviceMatrix gram_d("olsgd::data::moments_gram", d, d);
  const auto a_h = Kokkos::create_mirror_view(Kokkos::HostSpace(), a);
  const auto y_s = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.targets);
  const auto features = data.features;
  std::vector<double> out(d * d + d + 2, 0.0);
  double* aty = out.data() + d * d;
  double yty = 0;
  for (Index r0 = 0; r0 < n; r0 += block) {
    const Index rows = std::min(block, n - r0);
    const auto ab = Kokkos::subview(a, std::make_pair(Index(0), rows), Kokkos::ALL());
    Kokkos::parallel_for(
        "olsgd::data::moments_widen", Kokkos::RangePolicy<ExecSpace>(0, rows * d),
        KOKKOS_LAMBDA(const Index i) { ab(i / d, i % d) = features(r0 + i / d, i % d); });
    kernels::gemm(ExecSpace(), "T", "N", 1.0, ab, ab, r0 == 0 ? 0.0 : 1.0, gram_d);
    Kokkos::deep_copy(a_h, a);
    for (Index s = 0; s < rows; ++s) {
      const double y = y_s(r0 + s);
      for (Index j = 0; j < d; ++j) aty[j] += a_h(s, j) * y;
      yty += y * y;
    }
  }
  Kokkos::deep_copy(HostMatrix(out.data(), d, d), gram_d);
  out[d * d + d] = yty;
  out[d * d + d + 1] = static_cast<double>(n);
  return out;
}

template std::vector<double> least_squares_moments<float>(const Dataset<float>&);
template std::vector<double> least_squares_moments<double>(const Dataset<double>&);

std::optional<QuadraticOptimum> QuadraticOptimum::solve(const std::vector<double>& moments,
                                                        Index d) {
  if (moments.size() != static_cast<std::size_t>(d * d + d + 2)) return std::nullopt;
  const double n = moments[d * d + d + 1];
  QuadraticOptimum q;
  q.d_ = d;
  q.hessian_.assign(moments.begin(), moments.begin() + d * d);
  for (double& h : q.hessian_) h /= n;
  std::vector<double> b(moments.begin() + d * d, moments.begin() + d * d + d);
  for (double& v : b) v /= n;

  // Cholesky H = L L^T (L in the lower triangle of `l`), then two triangular solves.
  std::vector<double> l(q.hessian_);
  for (Index j = 0; j < d; ++j) {
    double diag = l[j * d + j];
    for (Index k = 0; k < j; ++k) diag -= l[j * d + k] * l[j * d + k];
    // Relative pivot test: a singular Gram (n < d, repeated samples) has no unique optimum.
    if (!(diag > 1e-12 * std::fabs(q.hessian_[j * d + j])) || q.hessian_[j * d + j] <= 0)
      return std::nullopt;
    const double ljj = std::sqrt(diag);
    l[j * d + j] = ljj;
    for (Index i = j + 1; i < d; ++i) {
      double v = l[i * d + j];
      for (Index k = 0; k < j; ++k) v -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = v / ljj;
    }
  }
  std::vector<double> x(b);
  for (Index i = 0; i < d; ++i) {
    for (Index k = 0; k < i; ++k) x[i] -= l[i * d + k] * x[k];
    x[i] /= l[i * d + i];
  }
  for (Index i = d - 1; i >= 0; --i) {
    for (Index k = i + 1; k < d; ++k) x[i] -= l[k * d + i] * x[k];
    x[i] /= l[i * d + i];
  }
  q.xstar_ = std::move(x);
  // F* = 1/2 (y^T y/n - b^T x*) since H x* = b.
  double bx = 0;
  for (Index j = 0; j < d; ++j) bx += b[j] * q.xstar_[j];
  // Clamped: F* >= 0, and with interpolating labels the difference is pure rounding.
  q.fstar_ = std::max(0.0, 0.5 * (moments[d * d + d] / n - bx));
  return q;
}

QuadraticOptimum QuadraticOptimum::diagonal(std::vector<double> h, std::vector<double> xstar,
                                            double fstar) {
  QuadraticOptimum q;
  q.d_ = static_cast<Index>(h.size());
  q.hessian_ = std::move(h);
  q.diagonal_ = true;
  q.xstar_ = std::move(xstar);
  q.fstar_ = fstar;
  return q;
}

double QuadraticOptimum::suboptimality(const std::vector<double>& x) const {
  std::vector<double> e(d_);
  for (Index j = 0; j < d_; ++j) e[j] = x[j] - xstar_[j];
  if (diagonal_) {
    double s = 0;
    for (Index j = 0; j < d_; ++j) s += hessian_[j] * e[j] * e[j];
    return 0.5 * s;
  }
  double s = 0;
  for (Index i = 0; i < d_; ++i) {
    double row = 0;
    for (Index j = 0; j < d_; ++j) row += hessian_[i * d_ + j] * e[j];
    s += e[i] * row;
  }
  return 0.5 * s;
}

double QuadraticOptimum::distance_sq(const std::vector<double>& x) const {
  double s = 0;
  for (Index j = 0; j < d_; ++j) s += (x[j] - xstar_[j]) * (x[j] - xstar_[j]);
  return s;
}

}  // namespace olsgd
