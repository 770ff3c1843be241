#pragma once
// Building a run: everything one training run holds, made in the order the run needs it
// (watchdog, memory check, data, optimum, model, network, algorithm, sampler, metrics probe).
// Each collective refusal (bad files, too little memory) reaches every rank before any rank
// allocates what follows.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/data/loader.hpp>
#include <olsgd/data/sampler.hpp>
#include <olsgd/model/model.hpp>
#include <olsgd/run/outcome.hpp>
#include <olsgd/run/trainer.hpp>

#include <memory>
#include <optional>

#include "comm/watchdog.hpp"
#include "metrics_probe.hpp"

namespace olsgd::run {

// The parts of one run. Members are built in declaration order and destroyed in reverse
// (the algorithm before the model it steps, the watchdog last).
template <class Scalar>
struct RunParts {
  RunParts(const Config& config, comm::Communicator& communicator)
      : cfg(config), comm(communicator) {}
  RunParts(const RunParts&) = delete;
  RunParts& operator=(const RunParts&) = delete;

  // The deck with its epochs turned into steps once the data are read (resolve_epochs): what
  // every part of the run reads.
  Config cfg;
  comm::Communicator& comm;
  const ExecSpace exec{};
  std::unique_ptr<comm::Watchdog> watchdog;  // comm.timeout_s, when set
  LoadedData<Scalar> loaded;                 // this rank's train and test shards
  bool evaluate = false;                     // some rank holds test rows
  std::unique_ptr<Model<Scalar>> model;
  std::unique_ptr<Algorithm<Scalar>> algorithm;
  std::optional<MinibatchSampler> sampler;
  std::optional<MetricsProbe<Scalar>> probe;

  const Dataset<Scalar>& data() const { return loaded.train; }
  const Dataset<Scalar>& test() const { return loaded.test; }
};

// Collective. Builds every part of `run` (and resolves run.cfg's epochs) and records what the
// summary reports of them in `out` (optimum, shard size, memory, algorithm, parameters, state size,
// network time); the algorithm's syncs go to out.syncs and observers.on_sync. Throws InputError
// when the deck or its data cannot run here, on every rank alike.
template <class Scalar>
void build_run(RunParts<Scalar>& run, const RunObservers& observers, RunOutcome& out);

}  // namespace olsgd::run
