#pragma once
// A rank's shard of a labelled dataset, resident in device memory.
#include <olsgd/core/error.hpp>
#include <olsgd/core/types.hpp>

#include <string>

namespace olsgd {

// The contiguous block of global sample indices a rank holds (even split; validated upstream).
struct Shard {
  Index first = 0;
  Index count = 0;
};

inline Shard even_shard(Index total, int rank, int ranks) {
  const Index count = total / ranks;
  return {count * rank, count};
}

template <class Scalar>
struct Dataset {
  Matrix<Scalar> features;  // shard.count x num_features, row per sample
  Vector<Scalar> labels;    // shard.count
  Index global_samples = 0;
  Shard shard;

  Index rows() const { return static_cast<Index>(features.extent(0)); }
  Index num_features() const { return static_cast<Index>(features.extent(1)); }
};

}  // namespace olsgd
