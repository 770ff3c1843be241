#pragma once
// Per-channel sums over a batch of NCHW images (batch norm's statistics and gradients, a
// convolution's bias gradient) in one fixed order, so every backend and thread count gives the
// same bits: each sample's plane in kChannelSumLanes interleaved partial sums (no single chain
// of dependent additions) added pairwise, then the samples in order, all in double.
//
// The lanes of one plane are shared by G threads (thread g keeps lanes g, g + G, ...), which do
// the pairwise steps that stay inside a thread; a second kernel does the rest and the samples.
// Any G that divides the lanes gives the same bits. A CPU keeps all lanes in one thread (G = 1,
// a vectorised loop); a GPU gives each lane its own thread (G = 8: neighbouring threads read
// neighbouring values, and ResNet-20's first stage has 16,384 threads at batch 128 rather than
// 2,048, too few to hide a GPU's memory latency).
#include <olsgd/kernels/row_teams.hpp>

#include <Kokkos_Core.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace olsgd::kernels {

constexpr int kChannelSumLanes = 8;

// Threads per sample's plane on ExecSpace.
template <class ExecSpace>
constexpr int kChannelSumThreads =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename ExecSpace::memory_space>::accessible
        ? 1
        : kChannelSumLanes;

// G as an argument, for a test that runs every G on one backend.
template <int G>
using ChannelSumThreads = std::integral_constant<int, G>;

// The scratch channel_sums needs: NS x C x (samples x G) partial sums.
template <class MemorySpace>
using ChannelPartials = Kokkos::View<double***, Kokkos::LayoutRight, MemorySpace>;

// Allocates that scratch for NS sums of C channels over up to `rows` samples.
template <class ExecSpace, int G = kChannelSumThreads<ExecSpace>>
ChannelPartials<typename ExecSpace::memory_space> channel_partials(const std::string& label, int ns,
                                                                   std::int64_t C,
                                                                   std::int64_t rows) {
  return ChannelPartials<typename ExecSpace::memory_space>(label, ns, C, rows * G);
}

// NS sums taken in one sweep.
template <int NS>
struct ChannelSums {
  double v[NS];
};

// For each channel c of n samples of C planes of `plane` values (sample j's plane of c starts
// at (j C + c) plane): s.v[k] = sum over the samples and their plane of f(c, i).v[k], where f
// returns a ChannelSums<NS> for the flat index i. `partial` comes from channel_partials for at
// least n samples and the same G. store(c, s) receives channel c's sums, on the device.
template <int NS, class ExecSpace, class F, class Store, int G = kChannelSumThreads<ExecSpace>>
void channel_sums(const ExecSpace& exec, const std::string& label, std::int64_t n, std::int64_t C,
                  std::int64_t plane,
                  const ChannelPartials<typename ExecSpace::memory_space>& partial, const F& f,
                  const Store& store, ChannelSumThreads<G> = {}) {
  using Index = std::int64_t;
  constexpr int L = kChannelSumLanes, M = L / G;  // M lanes per thread
  static_assert(G > 0 && (G & (G - 1)) == 0 && L % G == 0, "G must be a power of two <= lanes");
  // Partials sized for a smaller batch (a layer whose reserve() was skipped) would be written
  // past their end.
  if (partial.extent(0) < NS || std::int64_t(partial.extent(1)) < C ||
      std::int64_t(partial.extent(2)) < n * G)
    throw std::invalid_argument("channel_sums " + label + ": partials for " +
                                std::to_string(partial.extent(2) / G) + " samples of " +
                                std::to_string(partial.extent(1)) + " channels, asked for " +
                                std::to_string(n) + " of " + std::to_string(C));
  Kokkos::parallel_for(
      label + "_partial", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * C * G),
      KOKKOS_LAMBDA(const Index i) {
        const Index g = i % G, jc = i / G, c = jc % C, first = jc * plane + g;
        double acc[NS][M] = {};  // acc[.][m] is lane g + m G
        Index q = 0;
        for (; q + L <= plane; q += L)
          for (int m = 0; m < M; ++m) {
            const ChannelSums<NS> t = f(c, first + q + m * G);
            for (int k = 0; k < NS; ++k) acc[k][m] += t.v[k];
          }
        for (int m = 0; m < M && q + g + m * G < plane; ++m) {
          const ChannelSums<NS> t = f(c, first + q + m * G);
          for (int k = 0; k < NS; ++k) acc[k][m] += t.v[k];
        }
        // The pairwise steps lane l += lane l + w for w >= G join lanes of this thread.
        for (int k = 0; k < NS; ++k) {
          for (int w = M / 2; w > 0; w /= 2)
            for (int m = 0; m < w; ++m) acc[k][m] += acc[k][m + w];
          partial(k, c, i / (G * C) * G + g) = acc[k][0];
        }
      });
  // Per channel, a team: its threads take the samples' last pairwise steps side by side into
  // team scratch, then one thread adds the samples in order (one thread loading all n x G
  // partials would wait on memory n G times, the latency a GPU cannot hide with C threads).
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  using Scratch = Kokkos::View<double**, typename ExecSpace::scratch_memory_space,
                               Kokkos::MemoryTraits<Kokkos::Unmanaged>>;
  const std::size_t bytes = Scratch::shmem_size(NS, n);
  const int level = bytes <= 32 * 1024 ? 0 : 1;  // a GPU's shared memory when it fits
  Kokkos::parallel_for(
      label + "_sum", row_teams(exec, C, n, 1).set_scratch_size(level, Kokkos::PerTeam(bytes)),
      KOKKOS_LAMBDA(const typename Team::member_type& t) {
        const Index c = t.league_rank();
        const Scratch v(t.team_scratch(level), NS, n);
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, n), [&](const Index j) {
          for (int k = 0; k < NS; ++k) {
            double lane[G];
            for (int l = 0; l < G; ++l) lane[l] = partial(k, c, j * G + l);
            for (int w = G / 2; w > 0; w /= 2)
              for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
            v(k, j) = lane[0];
          }
        });
        t.team_barrier();
        Kokkos::single(Kokkos::PerTeam(t), [&]() {
          ChannelSums<NS> s = {};
          for (int k = 0; k < NS; ++k)
            for (Index j = 0; j < n; ++j) s.v[k] += v(k, j);
          store(c, s);
        });
      });
}

}  // namespace olsgd::kernels
