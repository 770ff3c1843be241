#pragma once
// What one run reports on each rank: its setup, timings, traffic, syncs, the final metrics
// row, and how it ended (finished, stopped by a signal, diverged). The driver writes it to
// summary.json (run_summary.hpp); tests compare it.
#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/timers.hpp>
#include <olsgd/core/types.hpp>

#include <string>
#include <utility>
#include <vector>

namespace olsgd {

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
  double peak_step_payload_bytes = 0;  // the most payload bytes this rank posted in one step
  bool progress_thread = false;        // whether a helper thread progressed in-flight requests
  comm::WaitTotals waits;              // this rank's, this run (not carried over a restart)
  SyncTotals syncs;                    // this rank's syncs
  double round_budget_s = kUnknown;    // timed rounds: the compute budget per round in force
  double network_s = 0;  // one sync's collective unhidden: calibrated allreduce + injected delay
  MetricsRow last;       // the final metrics row
  std::vector<double> final_params;  // this rank's model x_i at the end
  // Every segment of the algorithm's flat state at the end (name, values), this rank.
  std::vector<std::pair<std::string, std::vector<double>>> final_state;
  Index steps = 0;              // the run's length: run.steps, or run.epochs in steps
  Index steps_per_epoch = 0;    // 0 where the data have no samples to count epochs in
  Index first_step = 0;         // steps done before this run (restored from a checkpoint)
  Index steps_done = 0;         // steps done at the end (`steps` unless stopped)
  std::string restarted_from;   // the checkpoint this run continued, or ""
  std::string last_checkpoint;  // the newest checkpoint this run wrote, or ""
  int stop_signal = 0;          // the signal that stopped the run early, or 0
  std::string diverged;         // why the run stopped as diverged (non-finite), or ""
  double checkpoint_s = 0;      // seconds spent writing checkpoints
  MemoryEstimate memory;        // what this rank was estimated to allocate (largest rank's)
  double memory_available = 0;  // bytes each rank of the node could have (NaN: unknown)
};

}  // namespace olsgd
