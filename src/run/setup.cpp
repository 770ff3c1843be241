#include "setup.hpp"

#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/model/registry.hpp>
#include <olsgd/run/trainer.hpp>

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace olsgd {
namespace run {
namespace {

// The longest one injected collective may take (delay + latency + bytes / bandwidth).
constexpr double kMaxCollectiveSeconds = 2 * 3600;

// A progress thread calls MPI beside the training thread: only with MPI_THREAD_MULTIPLE.
// Without it the run goes on with MPI_Test every comm.progress_every steps (the summary says
// which); the same numbers either way.
void start_progress_thread(comm::Communicator& comm) {
  if (!comm.start_progress_thread() && comm.rank() == 0)
    std::fprintf(stderr,
                 "olsgd: warning: comm.progress_thread: this MPI library does not provide "
                 "MPI_THREAD_MULTIPLE; in-flight averages progress by MPI_Test every "
                 "comm.progress_every steps only\n");
}

// The collective timeout's watchdog, when comm.timeout_s asks for one.
std::unique_ptr<comm::Watchdog> start_watchdog(const Config& cfg, comm::Communicator& comm) {
  if (!(cfg.comm.timeout_s > 0)) return nullptr;
  try {
    return std::make_unique<comm::Watchdog>(comm.raw(), cfg.comm.timeout_s);
  } catch (const std::runtime_error& e) {
    throw InputError("comm.timeout_s", e.what());
  }
}

}  // namespace

template <class Scalar>
void build_run(RunParts<Scalar>& run, const RunObservers& obs, RunOutcome& out) {
  Config& cfg = run.cfg;
  comm::Communicator& comm = run.comm;
  const int rank = comm.rank(), m = comm.size();
  comm::Activity::set_step(0);
  io::refuse_checkpoints_if_unavailable(cfg);
  run.watchdog = start_watchdog(cfg, comm);

  // Refused before a byte is allocated when the deck's sizes cannot fit (LIBSVM's width is
  // known only once read: checked below, before the model is built).
  if (const ProblemShape deck_shape = shape_from_deck(cfg, rank, m); deck_shape.known)
    check_memory(cfg, deck_shape, comm);

  // Bad files may trouble some ranks only: every rank learns of it before going on.
  std::string error;
  try {
    run.loaded = load_data<Scalar>(cfg, rank, m);
  } catch (const InputError& e) {
    error = e.what();
  }
  comm.agree_or_throw(error);
  const Dataset<Scalar>& data = run.data();
  const Dataset<Scalar>& test = run.test();
  const double samples = cfg.data.replicate ? static_cast<double>(data.rows())
                                            : comm.sum_uncounted(static_cast<double>(data.rows()));
  resolve_epochs(cfg, static_cast<Index>(samples), m);
  out.steps = cfg.run.steps, out.steps_per_epoch = cfg.run.steps_per_epoch;
  run.evaluate = comm.sum_uncounted(static_cast<double>(test.rows())) > 0;

  std::optional<QuadraticOptimum> optimum;
  if (run.loaded.quadratic) {
    const QuadraticProblem& q = *run.loaded.quadratic;
    optimum = QuadraticOptimum::diagonal(q.abar, q.xstar, q.fstar);
    out.zeta_star = q.zeta_star;
  } else if (std::vector<double> moments = optimum_moments(cfg, data); !moments.empty()) {
    comm.sum_uncounted(moments);
    optimum = QuadraticOptimum::solve(moments, data.num_features());
  }
  out.optimum_known = optimum.has_value();
  if (optimum) out.fstar = optimum->fstar();
  out.shard_samples = data.rows();

  ProblemShape shape;
  shape.known = true;
  shape.features = run.loaded.quadratic ? cfg.data.features : data.num_features();
  shape.classes = data.num_classes;
  shape.train_rows = data.rows();
  shape.test_rows = test.rows();
  shape.sparse = data.sparse_features;
  shape.image = data.image;
  if (shape.sparse)
    shape.nonzeros = static_cast<Index>(data.sparse.nnz()) + static_cast<Index>(test.sparse.nnz());
  out.memory = check_memory(cfg, shape, comm, &out.memory_available);

  run.model = make_model(cfg, data, run.loaded.quadratic ? &*run.loaded.quadratic : nullptr, rank);
  Model<Scalar>& model = *run.model;
  const comm::NetworkModel network{cfg.comm.delay_s, cfg.comm.latency_s, cfg.comm.bandwidth_Bps};
  const comm::NetworkModel group_network{cfg.comm.group_delay_s, cfg.comm.group_latency_s,
                                         cfg.comm.group_bandwidth_Bps};
  // Injected time is slept for real, so it must stay a time a job can wait (and a sleep the
  // clock can represent): the largest message is the whole model.
  const std::size_t model_bytes = static_cast<std::size_t>(model.num_params()) * sizeof(Scalar);
  for (const auto& [net, key] : {std::pair{network, "comm.bandwidth_Bps"},
                                 std::pair{group_network, "comm.group_bandwidth_Bps"}})
    if (net.seconds(model_bytes) > kMaxCollectiveSeconds)
      throw InputError(key, std::string("the injected network makes one collective of the "
                                        "model's ") +
                                std::to_string(model_bytes) + " bytes take " +
                                std::to_string(net.seconds(model_bytes)) + " s (at most " +
                                std::to_string(static_cast<int>(kMaxCollectiveSeconds)) +
                                " s is modelled); raise " + key);
  comm.set_network_model(network);
  if (cfg.comm.progress_thread) start_progress_thread(comm);
  out.progress_thread = comm.has_progress_thread();
  TrainingContext<Scalar> ctx{run.exec, model, comm, out.timers, cfg};
  run.algorithm = make_algorithm(ctx);
  run.algorithm->set_sync_observer([&out, &obs](const SyncRecord& r, const SyncBuffers<Scalar>&) {
    out.syncs.add(r);
    if (obs.on_sync) obs.on_sync(r);
  });
  out.network_s = run.algorithm->network_seconds();
  // (A synthetic quadratic has no samples: its batches index nothing.)
  run.sampler.emplace(cfg.run.seed, cfg.data.replicate ? 0 : rank, std::max<Index>(1, data.rows()),
                      cfg.optimizer.batch);
  run.probe.emplace(comm, model.num_params(), std::move(optimum));
  out.algorithm = run.algorithm->name();
  out.num_params = model.num_params();
  out.state_bytes = static_cast<double>(run.algorithm->state().bytes());
}

template void build_run<float>(RunParts<float>&, const RunObservers&, RunOutcome&);
template void build_run<double>(RunParts<double>&, const RunObservers&, RunOutcome&);

}  // namespace run

MemoryEstimate check_memory(const Config& config, const ProblemShape& shape,
                            const comm::Communicator& comm, double* available) {
  MPI_Comm node;
  MPI_Comm_split_type(comm.raw(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node);
  int on_node = 1;
  MPI_Comm_size(node, &on_node);
  // A device build holds everything on the GPU: the ranks sharing this rank's GPU split its
  // free memory. Checked first, since it is the smaller pool on a GPU node.
  const int device = device_ordinal();
  int on_device = 1;
  if (device >= 0) {
    MPI_Comm same;
    MPI_Comm_split(node, device, comm.rank(), &same);
    MPI_Comm_size(same, &on_device);
    MPI_Comm_free(&same);
  }
  MPI_Comm_free(&node);
  MemoryEstimate need = estimate_memory(config, shape, comm.size());
  // The largest rank's need (shards may differ by a row; LIBSVM shards by more).
  need.data_bytes = comm.max_uncounted(need.data_bytes);
  need.scratch_bytes = comm.max_uncounted(need.scratch_bytes);
  // The smallest share decides (NaN where unknown: no refusal).
  const auto least = [&](double free) {
    return std::isnan(free) ? free : -comm.max_uncounted(-free);
  };
  if (device >= 0) {
    const double on_gpu = least(device_memory_available_per_rank(on_device));
    comm.agree_or_throw(memory_refusal(need, on_gpu, on_device, "GPU " + std::to_string(device)));
  }
  const double host = least(memory_available_per_rank(on_node));
  if (available) *available = host;
  comm.agree_or_throw(memory_refusal(need, host, on_node, "this node"));
  return need;
}

}  // namespace olsgd
