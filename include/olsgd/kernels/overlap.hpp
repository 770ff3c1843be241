#pragma once
// Overlap-Local-SGD's sync-point update (docs/algorithms.md §2, lines 6-7), each fused into one
// pass that reads x, the anchor z (and b) once and writes x, the send buffer (and b):
//   plain:     x = (1-alpha) x + alpha z;                      send = x / m
//   momentum:  x = (1-alpha) x + alpha z;  b = beta b + (z - x) / lr;  send = (z - lr b) / m
//   quantized anchor: x = (1-alpha) x + alpha z;              delta = x - z
// `send` is the snapshot handed to MPI_Iallreduce, so x may change while it is in flight.
#include <Kokkos_Core.hpp>

namespace olsgd::kernels {

template <class ExecSpace, class XView, class ZView, class SView>
void pull_to_anchor(const ExecSpace& exec, const XView& x, const ZView& anchor, const SView& send,
                    double alpha, double inv_m) {
  static_assert(XView::rank == 1 && ZView::rank == 1 && SView::rank == 1,
                "pull_to_anchor works on flat vectors");
  using Scalar = typename XView::non_const_value_type;
  const Scalar a = alpha, keep = 1 - alpha, scale = inv_m;
  Kokkos::parallel_for(
      "olsgd::kernels::pull_to_anchor", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar xi = keep * x(i) + a * anchor(i);
        x(i) = xi;
        send(i) = xi * scale;
      });
}

template <class ExecSpace, class XView, class ZView, class BView, class SView>
void pull_to_anchor_momentum(const ExecSpace& exec, const XView& x, const ZView& anchor,
                             const BView& b, const SView& send, double alpha, double beta,
                             double lr, double inv_m) {
  static_assert(XView::rank == 1 && ZView::rank == 1 && BView::rank == 1 && SView::rank == 1,
                "pull_to_anchor_momentum works on flat vectors");
  using Scalar = typename XView::non_const_value_type;
  // 1/lr once here: a division per element made this the one pull below copy speed.
  const Scalar a = alpha, keep = 1 - alpha, be = beta, eta = lr, inv_eta = 1 / lr, scale = inv_m;
  Kokkos::parallel_for(
      "olsgd::kernels::pull_to_anchor_momentum",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)), KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar z = anchor(i);
        const Scalar xi = keep * x(i) + a * z;
        const Scalar bi = be * b(i) + (z - xi) * inv_eta;
        x(i) = xi;
        b(i) = bi;
        send(i) = (z - eta * bi) * scale;
      });
}

// The quantized-anchor variant's pull: the rank then sends Q(delta), its move away from the
// shared anchor, which is small where the ranks agree (unlike x itself).
template <class ExecSpace, class XView, class ZView, class DView>
void pull_and_difference(const ExecSpace& exec, const XView& x, const ZView& anchor,
                         const DView& delta, double alpha) {
  static_assert(XView::rank == 1 && ZView::rank == 1 && DView::rank == 1,
                "pull_and_difference works on flat vectors");
  using Scalar = typename XView::non_const_value_type;
  const Scalar a = alpha, keep = 1 - alpha;
  Kokkos::parallel_for(
      "olsgd::kernels::pull_and_difference", Kokkos::RangePolicy<ExecSpace>(exec, 0, x.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) {
        const Scalar z = anchor(i);
        const Scalar xi = keep * x(i) + a * z;
        x(i) = xi;
        delta(i) = xi - z;
      });
}

}  // namespace olsgd::kernels
