#pragma once
// Elementwise and reduction helpers on flat vectors used by the algorithms and metrics.
#include <Kokkos_Core.hpp>

#include <stdexcept>

namespace olsgd::kernels {

// x *= alpha (e.g. the 1/m that turns an allreduce sum into an average).
template <class ExecSpace, class XView>
void scale(const ExecSpace& exec, const XView& x, typename XView::non_const_value_type alpha) {
  static_assert(XView::rank == 1, "scale works on flat vectors");
  Kokkos::parallel_for(
      "olsgd::kernels::scale", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { x(i) *= alpha; });
}

// y += alpha x (e.g. an allreduce sum of moves, times 1/m, into the anchor).
template <class ExecSpace, class YView, class XView>
void axpy(const ExecSpace& exec, const YView& y, typename YView::non_const_value_type alpha,
          const XView& x) {
  static_assert(YView::rank == 1 && XView::rank == 1, "axpy works on flat vectors");
  if (x.extent(0) != y.extent(0)) throw std::logic_error("axpy: vectors of different lengths");
  Kokkos::parallel_for(
      "olsgd::kernels::axpy", Kokkos::RangePolicy<ExecSpace>(exec, 0, y.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { y(i) += alpha * x(i); });
}

// ||a - b||^2, accumulated in double.
template <class ExecSpace, class AView, class BView>
double squared_distance(const ExecSpace& exec, const AView& a, const BView& b) {
  static_assert(AView::rank == 1 && BView::rank == 1, "squared_distance works on flat vectors");
  double sum = 0;
  Kokkos::parallel_reduce(
      "olsgd::kernels::squared_distance", Kokkos::RangePolicy<ExecSpace>(exec, 0, a.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& acc) {
        const double e = static_cast<double>(a(i)) - static_cast<double>(b(i));
        acc += e * e;
      },
      sum);
  return sum;
}

// How many entries of x are NaN or infinite: x - x is 0 exactly for every finite x and NaN
// otherwise (no isfinite needed, so the same code serves every backend and Kokkos version).
template <class ExecSpace, class XView>
long long count_nonfinite(const ExecSpace& exec, const XView& x) {
  static_assert(XView::rank == 1, "count_nonfinite works on flat vectors");
  long long count = 0;
  Kokkos::parallel_reduce(
      "olsgd::kernels::count_nonfinite", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, long long& acc) { acc += (x(i) - x(i) != 0) ? 1 : 0; },
      count);
  return count;
}

}  // namespace olsgd::kernels
