#pragma once
// The training loop: from the first step not yet done to run.steps, each step samples a
// batch and lets the algorithm step; every log_every steps (and at the end) the metrics row
// of the averaged model goes to the observers; checkpoints and the stop vote come between
// steps. A diverged row, a failed output or a stop signal ends it early, on every rank at
// the same step.
#include <olsgd/core/types.hpp>
#include <olsgd/run/outcome.hpp>
#include <olsgd/run/trainer.hpp>

#include "checkpointer.hpp"
#include "setup.hpp"

namespace olsgd::run {

// Collective. Trains `run` from step `first` (observers.on_ready first), then completes the
// algorithm's communication: fills out.last, steps_done, stop_signal, diverged, train_s,
// traffic (and the final state when observers.keep_final_state).
template <class Scalar>
void train_loop(RunParts<Scalar>& run, Checkpointer<Scalar>& checkpointer, Index first,
                const RunObservers& observers, RunOutcome& out);

}  // namespace olsgd::run
