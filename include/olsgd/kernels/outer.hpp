#pragma once
// Fused passes of the algorithms with an outer iterate (docs/algorithms.md §1b, §3).
#include <Kokkos_Core.hpp>

namespace olsgd::kernels {

// AC-SA (accelerated minibatch SGD), the point the gradient is taken at:
//   x_md = a x + (1 - a) x_ag
template <class ExecSpace, class XView, class AgView, class MdView>
void ac_sa_middle(const ExecSpace& exec, const XView& x, const AgView& x_ag, const MdView& x_md,
                  double a) {
  using Scalar = typename XView::non_const_value_type;
  const Scalar w = a, v = 1 - a;
  Kokkos::parallel_for(
      "olsgd::kernels::ac_sa_middle", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { x_md(i) = w * x(i) + v * x_ag(i); });
}

// AC-SA step with the averaged gradient g (scaled by grad_scale, plus weight decay at x_md):
//   x -= gamma_t (gs g + wd x_md);   x_ag = a x + (1 - a) x_ag
template <class ExecSpace, class XView, class AgView, class MdView, class GView>
void ac_sa_step(const ExecSpace& exec, const XView& x, const AgView& x_ag, const MdView& x_md,
                const GView& g, double gamma_t, double a, double grad_scale, double weight_decay) {
  using Scalar = typename XView::non_const_value_type;
  const Scalar gt = gamma_t, w = a, v = 1 - a, gs = grad_scale, wd = weight_decay;
  Kokkos::parallel_for(
      "olsgd::kernels::ac_sa_step", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar xi = x(i) - gt * (gs * g(i) + wd * x_md(i));
        x(i) = xi;
        x_ag(i) = w * xi + v * x_ag(i);
      });
}

// SlowMo's outer step, after x holds the SUM of the ranks' models:
//   xbar = x / m;  u = beta u + (x0 - xbar) / gamma;  x0 -= alpha gamma u;  x = x0
// and, when `reset`, the local momentum v = 0 in the same pass (v may be empty otherwise).
template <class ExecSpace, class XView, class X0View, class UView, class VView>
void slowmo_outer(const ExecSpace& exec, const XView& x, const X0View& x0, const UView& u,
                  const VView& v, bool reset, double inv_m, double alpha, double beta,
                  double gamma) {
  using Scalar = typename XView::non_const_value_type;
  const Scalar im = inv_m, al = alpha, be = beta, ga = gamma;
  Kokkos::parallel_for(
      "olsgd::kernels::slowmo_outer", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar xbar = x(i) * im;
        const Scalar ui = be * u(i) + (x0(i) - xbar) / ga;
        const Scalar x0i = x0(i) - al * ga * ui;
        u(i) = ui;
        x0(i) = x0i;
        x(i) = x0i;
        if (reset) v(i) = 0;
      });
}

}  // namespace olsgd::kernels
