#pragma once
// The straggler model: by how much a rank's compute at step k is stretched. A pure function
// of (config, seed, rank, k), so slow steps are the same in every rerun.
#include <olsgd/core/config.hpp>
#include <olsgd/core/rng.hpp>

#include <algorithm>

namespace olsgd {

inline double straggler_factor(const StragglerConfig& s, std::uint64_t seed, int rank, Index k) {
  double factor = s.rank == rank ? s.factor : 1.0;
  if (s.random_prob > 0) {
    const CounterRng rng(seed, Stream::Straggler, static_cast<std::uint32_t>(rank));
    if (rng.uniform(static_cast<std::uint64_t>(k)) < s.random_prob)
      factor = std::max(factor, s.random_factor);
  }
  return factor;
}

}  // namespace olsgd
