#pragma once
// Per-channel sums over a batch of NCHW images (batch norm's statistics and gradients, a
// convolution's bias gradient) in one fixed order, so every backend and thread count gives the
// same bits: each sample's plane in kChannelSumLanes interleaved partial sums (no single chain
// of dependent additions) added pairwise, then the samples in order, all in double. The work is
// spread over samples x channels, then channels: one thread per channel over the whole batch
// would leave all but a few dozen of a GPU's threads idle.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <string>

namespace olsgd::kernels {

constexpr int kChannelSumLanes = 8;

// The scratch channel_sums needs: NS x C x samples partial sums.
template <class MemorySpace>
using ChannelPartials = Kokkos::View<double***, Kokkos::LayoutRight, MemorySpace>;

// NS sums taken in one sweep.
template <int NS>
struct ChannelSums {
  double v[NS];
};

// For each channel c of n samples of C planes of `plane` values (sample j's plane of c starts
// at (j C + c) plane): s.v[k] = sum over the samples and their plane of f(c, i).v[k], where f
// returns a ChannelSums<NS> for the flat index i. `partial` is ChannelPartials of at least
// NS x C x n. store(c, s) receives channel c's sums, on the device.
template <int NS, class ExecSpace, class F, class Store>
void channel_sums(const ExecSpace& exec, const std::string& label, std::int64_t n, std::int64_t C,
                  std::int64_t plane,
                  const ChannelPartials<typename ExecSpace::memory_space>& partial, const F& f,
                  const Store& store) {
  using Index = std::int64_t;
  constexpr int L = kChannelSumLanes;
  Kokkos::parallel_for(
      label + "_partial", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * C),
      KOKKOS_LAMBDA(const Index i) {
        const Index j = i / C, c = i % C, first = (j * C + c) * plane;
        double acc[NS][L] = {};
        Index q = 0;
        for (; q + L <= plane; q += L)
          for (int l = 0; l < L; ++l) {
            const ChannelSums<NS> t = f(c, first + q + l);
            for (int k = 0; k < NS; ++k) acc[k][l] += t.v[k];
          }
        for (int l = 0; q + l < plane; ++l) {
          const ChannelSums<NS> t = f(c, first + q + l);
          for (int k = 0; k < NS; ++k) acc[k][l] += t.v[k];
        }
        for (int k = 0; k < NS; ++k) {
          for (int w = L / 2; w > 0; w /= 2)
            for (int l = 0; l < w; ++l) acc[k][l] += acc[k][l + w];
          partial(k, c, j) = acc[k][0];
        }
      });
  Kokkos::parallel_for(
      label + "_sum", Kokkos::RangePolicy<ExecSpace>(exec, 0, C), KOKKOS_LAMBDA(const Index c) {
        ChannelSums<NS> s = {};
        for (int k = 0; k < NS; ++k)
          for (Index j = 0; j < n; ++j) s.v[k] += partial(k, c, j);
        store(c, s);
      });
}

}  // namespace olsgd::kernels
