#include <olsgd/algo/registry.hpp>
#include <olsgd/algo/trainer.hpp>
#include <olsgd/comm/watchdog.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/core/signals.hpp>
#include <olsgd/data/loader.hpp>
#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/data/sampler.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/kernels/vector_ops.hpp>
#include <olsgd/model/registry.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

namespace olsgd {
namespace {

using Clock = std::chrono::steady_clock;

// The longest one injected collective may take (delay + latency + bytes / bandwidth).
constexpr double kMaxCollectiveSeconds = 2 * 3600;
double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Measures the averaged model xbar; its collectives are bookkeeping, not algorithm traffic.
template <class Scalar>
class MetricsProbe {
 public:
  MetricsProbe(comm::Communicator& comm, Index d, std::optional<QuadraticOptimum> optimum)
      : comm_(comm), xbar_("olsgd::metrics::xbar", d), optimum_(std::move(optimum)) {}

  ConstVector<Scalar> xbar() const { return xbar_; }

  void measure(const ExecSpace& exec, const Vector<Scalar>& x, MetricsRow& row) {
    const int m = comm_.size();
    Kokkos::deep_copy(exec, xbar_, x);
    comm_.allreduce_sum(exec, xbar_, comm::Traffic::Bookkeeping);
    kernels::scale(exec, xbar_, Scalar(1) / static_cast<Scalar>(m));
    row.consensus = comm_.sum_uncounted(kernels::squared_distance(exec, x, xbar_)) / m;
    if (optimum_) {
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), xbar_);
      std::vector<double> xb(host.data(), host.data() + host.extent(0));
      row.suboptimality = optimum_->suboptimality(xb);
      row.full_loss = optimum_->fstar() + row.suboptimality;
      row.dist_opt = optimum_->distance_sq(xb);
    }
  }

 private:
  comm::Communicator& comm_;
  Vector<Scalar> xbar_;
  std::optional<QuadraticOptimum> optimum_;
};

// Why a metrics row shows a diverged run (a non-finite loss, consensus or distance), or "".
std::string diverged(const MetricsRow& row) {
  auto bad = [](double v) { return std::isinf(v) || std::isnan(v); };
  const char* what = nullptr;
  double value = 0;
  // The loss is unknown (NaN on purpose) in a row measured for a stop signal.
  if (!std::isnan(row.loss) && bad(row.loss))
    what = "minibatch loss", value = row.loss;
  else if (bad(row.consensus))
    what = "consensus distance", value = row.consensus;
  else if (bad(row.dist_opt) && !std::isnan(row.dist_opt))
    what = "distance to the optimum", value = row.dist_opt;
  if (!what) return {};
  const bool is_nan = std::isnan(value);
  return "training diverged at step " + std::to_string(row.step) + ": " + what + " is " +
         (is_nan ? "nan" : "inf") + " (lower optimizer.lr, or check the data for extreme values)";
}

// A progress thread calls MPI beside the training thread: only with MPI_THREAD_MULTIPLE.
void start_progress_thread(comm::Communicator& comm) {
  if (!comm.start_progress_thread())
    throw InputError("comm.progress_thread",
                     "needs MPI_THREAD_MULTIPLE, which this MPI library does not provide "
                     "(use comm.progress_every instead)");
}

// Everything a checkpoint carries besides the flat state.
template <class Scalar>
HostState host_state(const Algorithm<Scalar>& algorithm, const Model<Scalar>& model,
                     const comm::Communicator& comm) {
  HostState h;
  algorithm.save_host(h);
  model.save_host(h);
  const comm::TrafficCounter& t = comm.traffic();
  h["comm.calls"] = static_cast<double>(t.calls);
  h["comm.payload_bytes"] = t.payload_bytes;
  h["comm.wire_bytes"] = t.wire_bytes;
  h["comm.delay_s"] = t.delay_s;
  return h;
}

template <class Scalar>
io::CheckpointInfo checkpoint_info(const Config& cfg, const Algorithm<Scalar>& algorithm,
                                   const comm::Communicator& comm, Index step) {
  io::CheckpointInfo info;
  info.olsgd_version = io::build_info().version;
  info.algorithm = algorithm.name();
  info.ranks = comm.size();
  info.num_params = algorithm.params().extent(0);
  info.precision = precision_name(cfg.run.precision);
  info.step = step;
  info.seed = cfg.run.seed;
  for (const auto& [key, value] : config_values(cfg)) info.deck += key + ": " + value + "\n";
  info.build = io::version_line();
  return info;
}

// Continues from checkpoint.restart when it names a checkpoint (or "latest" finds one):
// returns the steps already done.
template <class Scalar>
Index restore(const Config& cfg, Algorithm<Scalar>& algorithm, Model<Scalar>& model,
              comm::Communicator& comm, RunOutcome& out) {
  const std::string& restart = cfg.checkpoint.restart;
  if (restart.empty()) return 0;
  // "latest" with none yet is a fresh start: the same job script serves the first submission
  // and every requeue.
  std::string path = restart, error;
  try {
    if (restart == "latest") path = io::latest_checkpoint(cfg.checkpoint.dir);
  } catch (const InputError& e) {
    error = e.what();  // checkpoint.dir is a file or cannot be read: every rank says so
  }
  comm.agree_or_throw(error);
  if (path.empty()) return 0;
  HostState h = host_state(algorithm, model, comm);  // the keys to read
  const io::CheckpointInfo info = io::read_checkpoint(
      path, checkpoint_info(cfg, algorithm, comm, 0), algorithm.state(), h, comm);
  if (info.step > cfg.run.steps)
    throw InputError(path, "checkpoint at step " + std::to_string(info.step) +
                               " is past run.steps (" + std::to_string(cfg.run.steps) + ")");
  // The deck keys this restart changes with care (optimizer.lr, ...): one line each, as
  // the driver prints the deck's own warnings.
  if (comm.rank() == 0)
    for (const auto& w : info.warnings) std::fprintf(stderr, "olsgd: warning: %s\n", w.c_str());
  algorithm.load_host(h);
  model.load_host(h);
  comm.restore_traffic({static_cast<std::int64_t>(h.at("comm.calls")), h.at("comm.payload_bytes"),
                        h.at("comm.wire_bytes"), h.at("comm.delay_s")});
  out.restarted_from = path;
  return info.step;
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

template <class Scalar>
RunOutcome train(const Config& cfg, comm::Communicator& comm, const RunObservers& obs) {
  const auto setup_start = Clock::now();
  const ExecSpace exec;
  const int rank = comm.rank(), m = comm.size();
  RunOutcome out;
  comm::Activity::set_step(0);
  io::refuse_checkpoints_if_unavailable(cfg);
  const auto watchdog = start_watchdog(cfg, comm);

  // Refused before a byte is allocated when the deck's sizes cannot fit (LIBSVM's width is
  // known only once read: checked below, before the model is built).
  if (const ProblemShape deck_shape = shape_from_deck(cfg, rank, m); deck_shape.known)
    check_memory(cfg, deck_shape, comm);

  // Bad files may trouble some ranks only: every rank learns of it before going on.
  LoadedData<Scalar> loaded;
  std::string error;
  try {
    loaded = load_data<Scalar>(cfg, rank, m);
  } catch (const InputError& e) {
    error = e.what();
  }
  comm.agree_or_throw(error);
  const Dataset<Scalar>& data = loaded.train;
  const Dataset<Scalar>& test = loaded.test;
  const bool evaluate = comm.sum_uncounted(static_cast<double>(test.rows())) > 0;

  std::optional<QuadraticOptimum> optimum;
  if (loaded.quadratic) {
    const QuadraticProblem& q = *loaded.quadratic;
    optimum = QuadraticOptimum::diagonal(q.abar, q.xstar, q.fstar);
    out.zeta_star = q.zeta_star;
  } else if (cfg.model.kind == "least_squares") {
    std::vector<double> moments = least_squares_moments(data);
    if (!moments.empty()) {
      comm.sum_uncounted(moments);
      optimum = QuadraticOptimum::solve(moments, data.num_features());
    }
  }
  out.optimum_known = optimum.has_value();
  if (optimum) out.fstar = optimum->fstar();
  out.shard_samples = data.rows();

  ProblemShape shape;
  shape.known = true;
  shape.features = loaded.quadratic ? cfg.data.features : data.num_features();
  shape.classes = data.num_classes;
  shape.train_rows = data.rows();
  shape.test_rows = test.rows();
  shape.sparse = data.sparse_features;
  if (shape.sparse)
    shape.nonzeros = static_cast<Index>(data.sparse.nnz()) + static_cast<Index>(test.sparse.nnz());
  out.memory = check_memory(cfg, shape, comm, &out.memory_available);

  const std::unique_ptr<Model<Scalar>> model_ptr =
      make_model(cfg, data, loaded.quadratic ? &*loaded.quadratic : nullptr, rank);
  Model<Scalar>& model = *model_ptr;
  const comm::NetworkModel network{cfg.comm.delay_s, cfg.comm.latency_s, cfg.comm.bandwidth_Bps};
  // Injected time is slept for real, so it must stay a time a job can wait (and a sleep the
  // clock can represent): the largest message is the whole model.
  const std::size_t model_bytes = static_cast<std::size_t>(model.num_params()) * sizeof(Scalar);
  if (network.seconds(model_bytes) > kMaxCollectiveSeconds)
    throw InputError("comm.bandwidth_Bps",
                     "the injected network makes one collective of the model's " +
                         std::to_string(model_bytes) + " bytes take " +
                         std::to_string(network.seconds(model_bytes)) + " s (at most " +
                         std::to_string(static_cast<int>(kMaxCollectiveSeconds)) +
                         " s is modelled); raise comm.bandwidth_Bps");
  comm.set_network_model(network);
  if (cfg.comm.progress_thread) start_progress_thread(comm);
  TrainingContext<Scalar> ctx{exec, model, comm, out.timers, cfg};
  auto algorithm = make_algorithm(ctx);
  algorithm->set_sync_observer([&](const SyncRecord& r, const SyncBuffers<Scalar>&) {
    out.syncs.add(r);
    if (obs.on_sync) obs.on_sync(r);
  });
  out.network_s = algorithm->network_seconds();
  // (A synthetic quadratic has no samples: its batches index nothing.)
  MinibatchSampler sampler(cfg.run.seed, cfg.data.replicate ? 0 : rank,
                           std::max<Index>(1, data.rows()), cfg.optimizer.batch);
  MetricsProbe<Scalar> probe(comm, model.num_params(), std::move(optimum));
  out.algorithm = algorithm->name();
  out.num_params = model.num_params();
  out.state_bytes = static_cast<double>(algorithm->state().bytes());
  out.setup_s = since(setup_start);

  const Index first = restore(cfg, *algorithm, model, comm, out);
  out.first_step = first;
  install_stop_signals();
  auto checkpoint = [&](Index done) {
    const auto t0 = Clock::now();
    algorithm->finish();  // the in-flight average lands in the state first
    // A diverged state never replaces a good checkpoint.
    const double bad = comm.sum_uncounted(
        static_cast<double>(kernels::count_nonfinite(exec, algorithm->state().all())));
    if (bad > 0) {
      out.diverged = "training diverged before step " + std::to_string(done) + ": " +
                     std::to_string(static_cast<long long>(bad)) +
                     " non-finite numbers in the state; no checkpoint written";
      return false;
    }
    out.last_checkpoint =
        io::write_checkpoint(cfg.checkpoint.dir, static_cast<int>(cfg.checkpoint.keep_last),
                             checkpoint_info(cfg, *algorithm, comm, done), algorithm->state(),
                             host_state(*algorithm, model, comm), comm);
    out.checkpoint_s += since(t0);
    return true;
  };

  if (obs.on_ready) obs.on_ready(first);
  const auto start = Clock::now();
  // The metrics row after step k (collective: every rank calls it at the same k). `loss` is
  // this rank's minibatch loss of step k, or kUnknown.
  auto measure = [&](Index k, double loss, bool eval) {
    Timers::Scope t(out.timers, Phase::Metrics);
    MetricsRow row;
    row.step = k + 1;
    row.epoch = data.rows() > 0 ? static_cast<double>((k + 1) * cfg.optimizer.batch) / data.rows()
                                : kUnknown;
    row.lr = algorithm->lr(k);
    row.loss = comm.sum_uncounted(loss) / m;
    probe.measure(exec, algorithm->params(), row);
    if (eval) {
      // The averaged model on the held-out shards, summed over ranks.
      const Evaluation e = model.evaluate(exec, probe.xbar(), test);
      std::vector<double> sums = {e.loss_sum, e.correct, e.rows};
      comm.sum_uncounted(sums);
      row.test_loss = sums[0] / sums[2];
      row.test_acc = sums[1] / sums[2];
    }
    row.bytes_payload = comm.traffic().payload_bytes;
    row.bytes_wire = comm.traffic().wire_bytes;
    row.t_compute = out.timers.seconds(Phase::Compute);
    row.t_comm = out.timers.seconds(Phase::Comm);
    row.t_wait = out.timers.seconds(Phase::Wait);
    row.delay_injected = comm.traffic().delay_s;
    row.hidden_frac = out.syncs.hidden_frac();
    row.wall_s = since(start);
    return row;
  };
  const Index steps = cfg.run.steps;
  out.steps_done = steps;
  // A stop takes two checks; a resumed run with fewer than 2 x signal_every steps left
  // checks more often, so a signal still stops it (every rank has the same `first`).
  const Index check_every =
      std::max<Index>(1, std::min<Index>(cfg.checkpoint.signal_every, (steps - first) / 2));
  int stop_flag = 0;         // the highest stop signal any rank had at the last check
  comm::Request stop_check;  // that check's reduction, in flight (declared after its buffer)
  for (Index k = first; k < steps; ++k) {
    comm::Activity::set_step(k);
    const bool eval = evaluate && (k + 1 == steps ||
                                   (cfg.run.eval_every > 0 && (k + 1) % cfg.run.eval_every == 0));
    const bool log = (k + 1) % cfg.run.log_every == 0 || k + 1 == steps || eval;
    const IndexVector batch = sampler.sample(exec, k);
    const double loss = algorithm->step(k, batch, log);
    if (log) {
      out.last = measure(k, loss, eval);
      if (obs.on_row) obs.on_row(out.last);
      if (obs.output_failure) {
        const std::string failed = comm.agree(obs.output_failure());
        if (!failed.empty()) throw RunError(failed);
      }
      // Every rank holds the same row, so every rank stops here alike.
      out.diverged = diverged(out.last);
      if (!out.diverged.empty()) {
        out.steps_done = k + 1;
        break;
      }
    }
    if (obs.on_step) obs.on_step(k + 1, steps);
    const Index done = k + 1;
    if (done == steps) break;
    // Every rank must stop at the same step: the ranks agree on the signal collectively, but
    // without a blocking collective that would line all ranks up every signal_every steps
    // (and make a local or overlapped method wait for a straggler there). Each check consumes
    // the flags posted at the previous one and posts its own: a signal stops the run within
    // two checks, at the same step on every rank.
    if (done % check_every == 0) {
      stop_check.wait();
      if (stop_flag != 0) {
        out.stop_signal = stop_flag;
      } else {
        stop_flag = stop_signal();
        stop_check = comm.imax_uncounted(stop_flag);
      }
    }
    if (io::checkpoints_available() &&
        (out.stop_signal || (cfg.checkpoint.every > 0 && done % cfg.checkpoint.every == 0)) &&
        !checkpoint(done)) {
      out.steps_done = done;
      break;
    }
    if (out.stop_signal) {
      out.steps_done = done;
      // The summary's final row describes the model where the run stopped; metrics.csv
      // keeps its log_every grid, so a resumed run's file equals an uninterrupted one's.
      if (out.last.step != done) out.last = measure(k, kUnknown, evaluate);
      break;
    }
  }
  algorithm->finish();
  out.train_s = since(start);
  out.traffic = comm.traffic();
  if (obs.keep_final_state) {
    for (const auto& seg : algorithm->state().segments()) {
      auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                   algorithm->state().segment(seg.name));
      out.final_state.emplace_back(seg.name, std::vector<double>(v.data(), v.data() + v.extent(0)));
    }
    out.final_params = out.final_state.front().second;
  }
  return out;
}

}  // namespace

MemoryEstimate check_memory(const Config& config, const ProblemShape& shape,
                            const comm::Communicator& comm, double* available) {
  MPI_Comm node;
  MPI_Comm_split_type(comm.raw(), MPI_COMM_TYPE_SHARED, comm.rank(), MPI_INFO_NULL, &node);
  int on_node = 1;
  MPI_Comm_size(node, &on_node);
  MPI_Comm_free(&node);
  MemoryEstimate need = estimate_memory(config, shape, comm.size());
  // The largest rank's need (shards may differ by a row; LIBSVM shards by more).
  need.data_bytes = comm.max_uncounted(need.data_bytes);
  need.scratch_bytes = comm.max_uncounted(need.scratch_bytes);
  const double free = memory_available_per_rank(on_node);
  // The smallest node's share decides (NaN where unknown: no refusal).
  const double least = std::isnan(free) ? free : -comm.max_uncounted(-free);
  if (available) *available = least;
  comm.agree_or_throw(memory_refusal(need, least, on_node));
  return need;
}

RunOutcome run_training(const Config& config, comm::Communicator& comm,
                        const RunObservers& observers) {
  return config.run.precision == Precision::Float32 ? train<float>(config, comm, observers)
                                                    : train<double>(config, comm, observers);
}

}  // namespace olsgd
