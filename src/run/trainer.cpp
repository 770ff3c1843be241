// run_training: builds the run (setup), restores a checkpoint (checkpointer), then trains
// (loop, with the stop vote and checkpoints between steps).
#include <olsgd/core/config.hpp>
#include <olsgd/run/trainer.hpp>

#include "checkpointer.hpp"
#include "clock.hpp"
#include "loop.hpp"
#include "setup.hpp"

namespace olsgd {
namespace {

template <class Scalar>
RunOutcome train(const Config& cfg, comm::Communicator& comm, const RunObservers& obs) {
  const auto setup_start = run::Clock::now();
  RunOutcome out;
  run::RunParts<Scalar> parts(cfg, comm);
  run::build_run(parts, obs, out);
  out.setup_s = run::since(setup_start);

  run::Checkpointer<Scalar> checkpointer(parts.cfg, parts.exec, *parts.algorithm, *parts.model,
                                         comm);
  const Index first = checkpointer.restore(out);
  out.first_step = first;
  run::train_loop(parts, checkpointer, first, obs, out);
  return out;
}

}  // namespace

RunOutcome run_training(const Config& config, comm::Communicator& comm,
                        const RunObservers& observers) {
  return config.run.precision == Precision::Float32 ? train<float>(config, comm, observers)
                                                    : train<double>(config, comm, observers);
}

}  // namespace olsgd
