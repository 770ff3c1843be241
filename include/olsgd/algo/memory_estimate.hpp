#pragma once
// What one rank will allocate for a deck, computed before anything is allocated, so a run
// that cannot fit is refused with the figure instead of being killed by the OOM killer (or
// sitting in swap for minutes). The algorithm state is exact (a test holds every algorithm
// to it); the data shard follows from the deck's sizes (and from the shard itself once read);
// the model and communication scratch are close estimates of the largest buffers.
#include <olsgd/core/config.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/model/registry.hpp>

#include <string>

namespace olsgd {

struct MemoryEstimate {
  double params = 0;         // d, the model's parameters
  double scalar_bytes = 4;   // bytes per number at the run's precision
  double state_bytes = 0;    // the algorithm's flat state (params, momentum, anchor, ...)
  double work_bytes = 0;     // the gradient and the metrics' averaged model: 2 more copies
  double data_bytes = 0;     // the training and held-out shards on the device
  double scratch_bytes = 0;  // model activations, message buffers (estimated)
  double total() const { return state_bytes + work_bytes + data_bytes + scratch_bytes; }
  // "1.2 GiB (model 12.3 M parameters: state 4 copies 188 MiB, ...)"
  std::string describe() const;
};

// The shape a deck implies before any file is read (known = false for LIBSVM).
ProblemShape shape_from_deck(const Config& config, int rank, int ranks);

// The model's parameter count for a shape (its registration's formula).
double model_params(const Config& config, const ProblemShape& shape);

MemoryEstimate estimate_memory(const Config& config, const ProblemShape& shape, int ranks);

// Bytes this rank may use: the memory available on its node (MemAvailable, and a cgroup
// limit when lower) shared evenly by the node's `ranks_on_node`; NaN where unknown.
double memory_available_per_rank(int ranks_on_node);

// The GPU this rank's default execution space runs on (its ordinal), or -1 on a host build.
int device_ordinal();

// Bytes this rank may use on that GPU: its free memory shared evenly by the `ranks_on_device`
// ranks that run on it; NaN on a host build or where the runtime cannot tell. A device build
// keeps the whole estimate (state, data, activations) in device memory.
double device_memory_available_per_rank(int ranks_on_device);

// An InputError message when `need` exceeds `available` (NaN available: never), else "".
// `pool` names the memory the `ranks` share: "this node" or "GPU 0".
std::string memory_refusal(const MemoryEstimate& need, double available, int ranks,
                           const std::string& pool);

}  // namespace olsgd
