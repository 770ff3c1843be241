#pragma once
// The local optimizer step, fused into one pass over (x, g[, v]):
//   gi = grad_scale * g + weight_decay * x
//   plain:     x = out_scale * (x - lr * gi)
//   momentum:  v = mu * v + gi;  x = out_scale * (x - lr * (nesterov ? gi + mu * v : v))
//              (PyTorch form; v is never scaled)
// grad_scale folds the 1/m of a gradient average into the step, out_scale the 1/m of a model
// average about to be summed in place (local SGD's last step before a sync): no extra pass.
#include <Kokkos_Core.hpp>

namespace olsgd::kernels {

struct SgdParams {
  double lr = 0;
  double momentum = 0;
  bool nesterov = false;
  double weight_decay = 0;
  double grad_scale = 1;
  double out_scale = 1;
};

namespace detail {
// kScaled: out_scale != 1, known at compile time so the other steps pay no multiply for it
// (at cache-resident sizes these kernels are bound by arithmetic, not memory).
template <bool kScaled, class ExecSpace, class XView, class GView>
void sgd_step(const ExecSpace& exec, const XView& x, const GView& g, const SgdParams& p) {
  using Scalar = typename XView::non_const_value_type;
  const Scalar lr = p.lr, wd = p.weight_decay, gs = p.grad_scale, os = p.out_scale;
  Kokkos::parallel_for(
      "olsgd::kernels::sgd_step", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar xi = x(i);
        const Scalar xn = xi - lr * (gs * g(i) + wd * xi);
        x(i) = kScaled ? os * xn : xn;
      });
}

template <bool kScaled, class ExecSpace, class XView, class VView, class GView>
void sgd_momentum_step(const ExecSpace& exec, const XView& x, const VView& v, const GView& g,
                       const SgdParams& p) {
  using Scalar = typename XView::non_const_value_type;
  const Scalar lr = p.lr, wd = p.weight_decay, gs = p.grad_scale, mu = p.momentum, os = p.out_scale;
  const bool nesterov = p.nesterov;
  Kokkos::parallel_for(
      "olsgd::kernels::sgd_momentum_step", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar xi = x(i);
        const Scalar gi = gs * g(i) + wd * xi;
        const Scalar vi = mu * v(i) + gi;
        v(i) = vi;
        const Scalar xn = xi - lr * (nesterov ? gi + mu * vi : vi);
        x(i) = kScaled ? os * xn : xn;
      });
}
}  // namespace detail

template <class ExecSpace, class XView, class GView>
void sgd_step(const ExecSpace& exec, const XView& x, const GView& g, const SgdParams& p) {
  static_assert(XView::rank == 1 && GView::rank == 1, "sgd_step works on flat vectors");
  if (p.out_scale == 1)
    detail::sgd_step<false>(exec, x, g, p);
  else
    detail::sgd_step<true>(exec, x, g, p);
}

template <class ExecSpace, class XView, class VView, class GView>
void sgd_momentum_step(const ExecSpace& exec, const XView& x, const VView& v, const GView& g,
                       const SgdParams& p) {
  static_assert(XView::rank == 1 && VView::rank == 1 && GView::rank == 1,
                "sgd_momentum_step works on flat vectors");
  if (p.out_scale == 1)
    detail::sgd_momentum_step<false>(exec, x, v, g, p);
  else
    detail::sgd_momentum_step<true>(exec, x, v, g, p);
}

}  // namespace olsgd::kernels
