#pragma once
// Fused passes of Sketched SGD (docs/algorithms.md §4): momentum and error accumulation on every
// coordinate, and the sparse update of the k chosen ones.
#include <Kokkos_Core.hpp>

namespace olsgd::kernels {

// u = rho u + (g + wd x);  v = (keep_error ? v : 0) + lr u
template <class ExecSpace, class XView, class GView, class UView, class VView>
void momentum_error_accumulate(const ExecSpace& exec, const XView& x, const GView& g,
                               const UView& u, const VView& v, double rho, double lr, double wd,
                               bool keep_error) {
  using Scalar = typename UView::non_const_value_type;
  const Scalar r = rho, a = lr, w = wd, keep = keep_error ? 1 : 0;
  Kokkos::parallel_for(
      "olsgd::kernels::momentum_error_accumulate",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, u.extent(0)), KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar ui = r * u(i) + (g(i) + w * x(i));
        u(i) = ui;
        v(i) = keep * v(i) + a * ui;
      });
}

// out(t) = v(idx(t))
template <class ExecSpace, class VView, class IdxView, class OutView>
void gather(const ExecSpace& exec, const VView& v, const IdxView& idx, const OutView& out) {
  Kokkos::parallel_for(
      "olsgd::kernels::gather", Kokkos::RangePolicy<ExecSpace>(exec, 0, idx.extent(0)),
      KOKKOS_LAMBDA(const std::size_t t) { out(t) = v(idx(t)); });
}

// For each chosen coordinate l = idx(t): x_l -= delta(t), and its momentum and error restart
// (u_l = v_l = 0: "momentum stopping" and error reset). The indices are distinct.
template <class ExecSpace, class XView, class UView, class VView, class IdxView, class DView>
void sparse_step(const ExecSpace& exec, const XView& x, const UView& u, const VView& v,
                 const IdxView& idx, const DView& delta) {
  Kokkos::parallel_for(
      "olsgd::kernels::sparse_step", Kokkos::RangePolicy<ExecSpace>(exec, 0, idx.extent(0)),
      KOKKOS_LAMBDA(const std::size_t t) {
        const auto l = idx(t);
        x(l) -= delta(t);
        u(l) = 0;
        v(l) = 0;
      });
}

}  // namespace olsgd::kernels
