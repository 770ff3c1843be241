#pragma once
// Minibatch sampling: the indices of step k on rank r are counter-based draws keyed by
// (seed, rank, k), so a run is reproducible and a restart at step k draws the same batch.
#include <olsgd/core/rng.hpp>
#include <olsgd/core/types.hpp>

namespace olsgd {

class MinibatchSampler {
 public:
  MinibatchSampler(std::uint64_t seed, int rank, Index shard_rows, Index batch)
      : seed_(seed), rank_(rank), rows_(shard_rows), indices_("olsgd::data::batch", batch) {}

  // Fills and returns the indices (with replacement, uniform over the shard) of step k.
  IndexVector sample(const ExecSpace& exec, Index step) const {
    const CounterRng rng(seed_, Stream::Sampling, static_cast<std::uint32_t>(rank_));
    const std::uint64_t base = static_cast<std::uint64_t>(step) * indices_.extent(0);
    const std::uint64_t rows = static_cast<std::uint64_t>(rows_);
    auto idx = indices_;
    Kokkos::parallel_for(
        "olsgd::data::sample_batch", Kokkos::RangePolicy<ExecSpace>(exec, 0, idx.extent(0)),
        KOKKOS_LAMBDA(const Index j) { idx(j) = static_cast<Index>(rng.below(base + j, rows)); });
    return indices_;
  }

  Index batch() const { return static_cast<Index>(indices_.extent(0)); }

 private:
  std::uint64_t seed_;
  int rank_;
  Index rows_;
  IndexVector indices_;
};

}  // namespace olsgd
