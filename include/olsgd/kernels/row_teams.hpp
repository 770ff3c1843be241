#pragma once
// The launch shape of kernels that give each team `rows` rows of `row` contiguous elements:
// team threads take the rows, vector lanes a row's elements (TeamThreadRange x
// ThreadVectorRange: im2col, col2im, pooling, augmentation), or, with row = 1, team threads
// take the elements of one plane (TeamVectorRange: batch norm's sweeps, the convolution's
// layout passes). On a GPU, Kokkos's defaults (one lane, a team as large as the kernel allows)
// have each thread walk its own row, so a warp's loads land in 32 cache lines, and leave most
// of a team idle on an 8x8 plane; lanes as many as a row needs (up to a warp) and threads as
// many as there are rows (a warp to 256 in all) fit both. A CPU keeps Kokkos's choice: there
// the vector loop is the compiler's.
#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cstdint>

namespace olsgd::kernels {

// A GPU's team for `rows` rows of `row` elements: lanes, a power of two up to a warp, as many
// as a row needs; threads, a power of two, as many as there are rows, the team between a warp
// and 256.
struct RowTeamShape {
  int threads, lanes;
};
constexpr RowTeamShape gpu_row_team_shape(std::int64_t rows, std::int64_t row) {
  constexpr int kWarp = 32, kMostThreads = 256;
  int lanes = 1, threads = 1;
  while (lanes < kWarp && lanes < row) lanes *= 2;
  while (threads * lanes < kMostThreads && threads < rows) threads *= 2;
  return {std::max(threads, kWarp / lanes), lanes};
}

template <class ExecSpace>
Kokkos::TeamPolicy<ExecSpace> row_teams(const ExecSpace& exec, std::int64_t league,
                                        std::int64_t rows, std::int64_t row) {
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace,
                                           typename ExecSpace::memory_space>::accessible) {
    (void)rows, (void)row;
    return Kokkos::TeamPolicy<ExecSpace>(exec, league, Kokkos::AUTO);
  } else {
    const RowTeamShape s = gpu_row_team_shape(rows, row);
    return Kokkos::TeamPolicy<ExecSpace>(exec, league, s.threads, s.lanes);
  }
}

}  // namespace olsgd::kernels
