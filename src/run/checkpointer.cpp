#include "checkpointer.hpp"

#include <olsgd/algo/registry.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/kernels/vector_ops.hpp>
#include <olsgd/model/registry.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "clock.hpp"

namespace olsgd::run {
namespace {

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
  io::CheckpointInfo info = deck_checkpoint_info(cfg);
  info.algorithm = algorithm.name();
  info.ranks = comm.size();
  info.num_params = algorithm.params().extent(0);
  info.step = step;
  return info;
}

}  // namespace

io::CheckpointInfo deck_checkpoint_info(const Config& cfg) {
  io::CheckpointInfo info;
  info.olsgd_version = io::build_info().version;
  info.precision = precision_name(cfg.run.precision);
  info.seed = cfg.run.seed;
  for (const auto& [key, value] : config_values(cfg)) info.deck += key + ": " + value + "\n";
  info.build = io::version_line();
  info.unread_keys = unread_algorithm_keys(cfg);
  for (std::string& k : unread_model_keys(cfg)) info.unread_keys.push_back(std::move(k));
  return info;
}

std::string stop_checkpoint_warning(const Config& cfg, Index resumed_step) {
  if (!io::checkpoints_available()) return "";
  const std::string later = io::later_checkpoints(cfg.checkpoint.dir, resumed_step);
  return later.empty() ? later
                       : later + "; this run writes a checkpoint only if a stop signal comes";
}

void refuse_past_the_end(const std::string& path, Index step, Index steps) {
  if (step > steps)
    throw InputError(path, "checkpoint at step " + std::to_string(step) + " is past run.steps (" +
                               std::to_string(steps) + ")");
}

template <class Scalar>
Index Checkpointer<Scalar>::restore(RunOutcome& out) {
  const Index first = cfg_.checkpoint.restart.empty() ? 0 : resume(out);
  if (cfg_.checkpoint.every > 0) {
    io::prepare_checkpoint_dir(cfg_.checkpoint.dir, comm_, first);
  } else if (comm_.rank() == 0) {
    if (const std::string w = stop_checkpoint_warning(cfg_, first); !w.empty())
      std::fprintf(stderr, "olsgd: warning: %s\n", printable(w).c_str());
  }
  return first;
}

template <class Scalar>
Index Checkpointer<Scalar>::resume(RunOutcome& out) {
  const std::string& restart = cfg_.checkpoint.restart;
  // "latest" with none yet is a fresh start: the same job script serves the first submission
  // and every requeue.
  std::string path = restart, error;
  try {
    if (restart == "latest") path = io::latest_checkpoint(cfg_.checkpoint.dir);
  } catch (const InputError& e) {
    error = e.what();  // checkpoint.dir is a file or cannot be read: every rank says so
  }
  comm_.agree_or_throw(error);
  if (path.empty()) return 0;
  HostState h = host_state(algorithm_, model_, comm_);  // the keys to read
  const io::CheckpointInfo info = io::read_checkpoint(
      path, checkpoint_info(cfg_, algorithm_, comm_, 0), algorithm_.state(), h, comm_);
  refuse_past_the_end(path, info.step, cfg_.run.steps);
  // The deck keys this restart changes with care (optimizer.lr, ...): one line each, as
  // the driver prints the deck's own warnings.
  if (comm_.rank() == 0)
    for (const auto& w : info.warnings)
      std::fprintf(stderr, "olsgd: warning: %s\n", printable(w).c_str());
  algorithm_.load_host(h);
  model_.load_host(h);
  comm_.restore_traffic({static_cast<std::int64_t>(h.at("comm.calls")), h.at("comm.payload_bytes"),
                         h.at("comm.wire_bytes"), h.at("comm.delay_s")});
  out.restarted_from = path;
  return info.step;
}

template <class Scalar>
bool Checkpointer<Scalar>::due(Index done, bool stopping) const {
  return io::checkpoints_available() &&
         (stopping || (cfg_.checkpoint.every > 0 && done % cfg_.checkpoint.every == 0));
}

template <class Scalar>
bool Checkpointer<Scalar>::save(Index done, RunOutcome& out) {
  const auto t0 = Clock::now();
  algorithm_.finish();  // the in-flight average lands in the state first
  // A diverged state never replaces a good checkpoint.
  const double bad = comm_.sum_uncounted(
      static_cast<double>(kernels::count_nonfinite(exec_, algorithm_.state().all())));
  if (bad > 0) {
    out.diverged = "training diverged before step " + std::to_string(done) + ": " +
                   std::to_string(static_cast<long long>(bad)) +
                   " non-finite numbers in the state; no checkpoint written";
    return false;
  }
  out.last_checkpoint =
      io::write_checkpoint(cfg_.checkpoint.dir, cfg_.checkpoint.keep_last,
                           checkpoint_info(cfg_, algorithm_, comm_, done), algorithm_.state(),
                           host_state(algorithm_, model_, comm_), comm_);
  out.checkpoint_s += since(t0);
  return true;
}

template class Checkpointer<float>;
template class Checkpointer<double>;

}  // namespace olsgd::run
