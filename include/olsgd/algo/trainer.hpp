#pragma once
// The shared driver loop: builds the dataset, model and algorithm a deck describes, then
// for each step samples a batch, lets the algorithm step (compute + communication), and
// every `log_every` steps measures the averaged model (loss, distance to the optimum,
// consensus) into a MetricsRow. Writing rows and printing progress belong to the caller.
#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/timers.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

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

struct RunOutcome {
  std::string algorithm;
  Index num_params = 0;
  Index shard_samples = 0;
  double state_bytes = 0;  // the algorithm's flat state on this rank
  bool optimum_known = false;
  double fstar = 0;
  double zeta_star = kUnknown;  // heterogeneity at the optimum (synthetic_quadratic)
  double setup_s = 0;           // data generation, optimum, allocation
  double train_s = 0;           // the training loop, metrics included
  Timers timers;                // this rank's phase totals
  comm::TrafficCounter traffic;
  SyncTotals syncs;      // this rank's syncs
  double network_s = 0;  // one sync's collective unhidden: calibrated allreduce + injected delay
  MetricsRow last;       // the final metrics row
  std::vector<double> final_params;  // this rank's model x_i at the end
  // Every segment of the algorithm's flat state at the end (name, values), this rank.
  std::vector<std::pair<std::string, std::vector<double>>> final_state;
  Index first_step = 0;         // steps done before this run (restored from a checkpoint)
  Index steps_done = 0;         // steps done at the end (run.steps unless stopped)
  std::string restarted_from;   // the checkpoint this run continued, or ""
  std::string last_checkpoint;  // the newest checkpoint this run wrote, or ""
  int stop_signal = 0;          // the signal that stopped the run early, or 0
  std::string diverged;         // why the run stopped as diverged (non-finite), or
  double checkpoint_s = 0;      // seconds spent writing checkpoints
  MemoryEstimate memory;        // what this rank was estimated to allocate (largest rank's)
  double memory_available = 0;  // bytes each rank of the node could have (NaN: unknown)
};

// Collective. The memory each rank of `comm` will need for `shape` (the largest over the
// ranks) and what each may have; throws InputError, with the figures, when it cannot fit.
MemoryEstimate check_memory(const Config& config, const ProblemShape& shape,
                            const comm::Communicator& comm, double* available = nullptr);

// Runs the deck on the ranks of `comm`; precision chosen by config.run.precision.
RunOutcome run_training(const Config& config, comm::Communicator& comm,
                        const RunObservers& observers);

}  // namespace olsgd
