#pragma once
// One training run, the entry point of the run layer: builds the dataset, model and
// algorithm a deck describes (or restores them from a checkpoint), then for each step
// samples a batch, lets the algorithm step (compute + communication), and every `log_every`
// steps measures the averaged model (loss, distance to the optimum, consensus) into a
// MetricsRow; it writes checkpoints and stops on a signal all ranks agree on. Writing rows
// and printing progress belong to the caller (RunObservers).
#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/run/outcome.hpp>

#include <functional>
#include <string>

namespace olsgd {

struct RunObservers {
  // Called on every rank with each metrics row (the same values on every rank).
  std::function<void(const MetricsRow&)> on_row;
  // Called on every rank after each step with (steps done, total steps).
  std::function<void(Index, Index)> on_step;
  // Called on every rank at each of its syncs, with its own timings.
  std::function<void(const SyncRecord&)> on_sync;
  // Called on every rank once the data are loaded and checked (and a checkpoint restored),
  // before the first step, with the number of steps already done (0, or the checkpoint's
  // step): the place to create output files, so a run refused for bad input writes nothing.
  std::function<void(Index)> on_ready;
  // The first failure of the caller's outputs on this rank ("" while none): asked at every
  // metrics row, agreed over the ranks, and a failure ends the run with a RunError (so a
  // full disk stops the run where it is instead of losing what follows).
  std::function<std::string()> output_failure;
  // Fill RunOutcome::final_state and final_params (host copies in double of the whole
  // state: 2x its size again, so only for tests and tools that compare end states).
  bool keep_final_state = false;
};

// Collective. The memory each rank of `comm` will need for `shape` (the largest over the
// ranks) and what each may have; throws InputError, with the figures, when it cannot fit.
MemoryEstimate check_memory(const Config& config, const ProblemShape& shape,
                            const comm::Communicator& comm, double* available = nullptr);

// Runs the deck on the ranks of `comm`; precision chosen by config.run.precision.
RunOutcome run_training(const Config& config, comm::Communicator& comm,
                        const RunObservers& observers);

}  // namespace olsgd
