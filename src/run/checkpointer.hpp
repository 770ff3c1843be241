#pragma once
// A run's checkpoints: restoring the state a checkpoint.restart names, deciding which steps
// write one (checkpoint.every, or a stop), and writing them (the newest checkpoint.keep_last
// kept). A diverged state never replaces a good checkpoint.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/model/model.hpp>
#include <olsgd/run/outcome.hpp>

namespace olsgd::run {

// What the deck alone decides in a checkpoint's header: the deck's text, its seed and precision,
// and the keys this run's algorithm and model do not read (a restart may change those freely).
io::CheckpointInfo deck_checkpoint_info(const Config& config);

// For a run that writes a checkpoint only on a stop signal (checkpoint.every 0), resuming at
// `resumed_step`: the warning that its checkpoint.dir holds checkpoints past that step (the stop
// checkpoint would land among them, and `--restart latest` pick theirs), or "". A folder that
// cannot be made is reported only if a stop comes.
std::string stop_checkpoint_warning(const Config& config, Index resumed_step);

// Refuses (InputError) the checkpoint at `path`, holding `step` steps done, for a run of `steps`.
void refuse_past_the_end(const std::string& path, Index step, Index steps);

template <class Scalar>
class Checkpointer {
 public:
  Checkpointer(const Config& config, const ExecSpace& exec, Algorithm<Scalar>& algorithm,
               Model<Scalar>& model, comm::Communicator& comm)
      : cfg_(config), exec_(exec), algorithm_(algorithm), model_(model), comm_(comm) {}

  // Collective. Continues from checkpoint.restart when it names a checkpoint (or "latest"
  // finds one): loads the state and returns the steps already done (0: a fresh start). Then,
  // when checkpoint.every will write some, checks that checkpoint.dir takes files and holds
  // none past that step (otherwise rank 0 warns of them: stop_checkpoint_warning). Sets
  // out.restarted_from. Throws InputError on every rank for a checkpoint or a folder it refuses.
  Index restore(RunOutcome& out);

  // Whether the step that completes `done` steps writes a checkpoint (`stopping`: the run
  // stops there on a signal).
  bool due(Index done, bool stopping) const;

  // Collective. Completes the algorithm's communication in flight and writes the state after
  // `done` steps (out.last_checkpoint, out.checkpoint_s). Returns false, with out.diverged
  // set and nothing written, when the state holds non-finite numbers.
  bool save(Index done, RunOutcome& out);

 private:
  Index resume(RunOutcome& out);  // restore's loading, once a restart is asked for

  const Config& cfg_;
  ExecSpace exec_;
  Algorithm<Scalar>& algorithm_;
  Model<Scalar>& model_;
  comm::Communicator& comm_;
};

}  // namespace olsgd::run
