#pragma once
// The launch shape of kernels whose team threads take rows of an image and whose vector lanes
// take a row's contiguous elements (TeamThreadRange x ThreadVectorRange: im2col, col2im,
// pooling, augmentation). Kokkos's default is one lane, which on a GPU has each thread walk its
// own row, so a warp's 32 loads or stores land in 32 cache lines; lanes as many as the row
// needs (a power of two up to a warp) make them neighbours. A CPU keeps one lane: there the
// vector loop is the compiler's.
#include <Kokkos_Core.hpp>

#include <cstdint>

namespace olsgd::kernels {

template <class ExecSpace>
Kokkos::TeamPolicy<ExecSpace> row_teams(const ExecSpace& exec, std::int64_t league,
                                        std::int64_t row) {
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace,
                                           typename ExecSpace::memory_space>::accessible) {
    (void)row;
    return Kokkos::TeamPolicy<ExecSpace>(exec, league, Kokkos::AUTO);
  } else {
    int lanes = 1;
    while (lanes < 32 && lanes < row) lanes *= 2;
    return Kokkos::TeamPolicy<ExecSpace>(exec, league, Kokkos::AUTO, lanes);
  }
}

}  // namespace olsgd::kernels
