#include "loop.hpp"

#include <olsgd/core/error.hpp>
#include <olsgd/core/metrics.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "clock.hpp"
#include "stop_vote.hpp"

namespace olsgd::run {
namespace {

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

// The metrics row after step k (collective: every rank calls it at the same k). `loss` is
// this rank's minibatch loss of step k, or kUnknown; `eval` adds the held-out metrics.
template <class Scalar>
MetricsRow measure(RunParts<Scalar>& run, RunOutcome& out, Clock::time_point start, Index k,
                   double loss, bool eval) {
  Timers::Scope t(out.timers, Phase::Metrics);
  comm::Communicator& comm = run.comm;
  const Index per_epoch = run.cfg.run.steps_per_epoch;
  MetricsRow row;
  row.step = k + 1;
  row.epoch =
      per_epoch > 0 ? static_cast<double>(k + 1) / static_cast<double>(per_epoch) : kUnknown;
  row.lr = run.algorithm->lr(k);
  // The mean over the ranks that took a step here (a timed round's idle ranks did not).
  std::vector<double> losses = {std::isnan(loss) ? 0.0 : loss, std::isnan(loss) ? 0.0 : 1.0};
  comm.sum_uncounted(losses);
  row.loss = losses[1] > 0 ? losses[0] / losses[1] : kUnknown;
  run.probe->measure(run.exec, run.algorithm->params(), row);
  if (eval) {
    // The averaged model on the held-out shards, summed over ranks.
    const Evaluation e = run.model->evaluate(run.exec, run.probe->xbar(), run.test());
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
  row.t_peer = out.syncs.t_peer;
  row.delay_injected = comm.traffic().delay_s;
  row.hidden_frac = out.syncs.hidden_frac();
  row.wall_s = since(start);
  return row;
}

}  // namespace

template <class Scalar>
void train_loop(RunParts<Scalar>& run, Checkpointer<Scalar>& checkpointer, Index first,
                const RunObservers& obs, RunOutcome& out) {
  const Config& cfg = run.cfg;
  comm::Communicator& comm = run.comm;
  Algorithm<Scalar>& algorithm = *run.algorithm;
  const Index steps = cfg.run.steps;
  const comm::WaitTotals waits_before = comm.wait_totals();
  StopVote vote(comm, cfg.checkpoint.signal_every, first, steps);

  if (obs.on_ready) obs.on_ready(first);
  const auto start = Clock::now();
  out.steps_done = steps;
  bool checkpoint_due = false;
  double payload_before = comm.traffic().payload_bytes;
  for (Index k = first; k < steps; ++k) {
    comm::Activity::set_step(k);
    const bool eval =
        run.evaluate &&
        (k + 1 == steps || (cfg.run.eval_every > 0 && (k + 1) % cfg.run.eval_every == 0));
    const bool log = (k + 1) % cfg.run.log_every == 0 || k + 1 == steps || eval;
    const IndexVector batch = run.sampler->sample(run.exec, k);
    const double loss = algorithm.step(k, batch, log);
    const double payload = comm.traffic().payload_bytes;  // the burst a step puts on the link
    out.peak_step_payload_bytes = std::max(out.peak_step_payload_bytes, payload - payload_before);
    payload_before = payload;
    if (log) {
      out.last = measure(run, out, start, k, loss, eval);
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
    const bool last = done == steps;
    if (!last)
      if (const int signal = vote.poll(done)) out.stop_signal = signal;
    // The last step is checkpointed when due like any other: a finished run can be continued
    // (more steps, a smaller step size). Checkpoints and stops wait for a step the algorithm
    // can resume from (a timed round's end: a rank's place inside it is not in the state).
    const bool resumable = algorithm.resumable_after(done);
    checkpoint_due = checkpoint_due || checkpointer.due(done, out.stop_signal != 0);
    if (checkpoint_due && resumable) {
      checkpoint_due = false;
      if (!checkpointer.save(done, out)) {
        out.steps_done = done;
        break;
      }
    }
    if (last) break;
    if (out.stop_signal && resumable) {
      out.steps_done = done;
      // The summary's final row describes the model where the run stopped; metrics.csv
      // keeps its log_every grid, so a resumed run's file equals an uninterrupted one's.
      if (out.last.step != done) out.last = measure(run, out, start, k, kUnknown, run.evaluate);
      break;
    }
  }
  // A restart at its last step takes none: the summary then describes the restored model.
  if (first == steps && first > 0)
    out.last = measure(run, out, start, first - 1, kUnknown, run.evaluate);
  algorithm.finish();
  out.train_s = since(start);
  HostState host;
  algorithm.save_host(host);
  if (const auto it = host.find("algorithm.round_budget_s"); it != host.end())
    out.round_budget_s = it->second;
  out.traffic = comm.traffic();
  out.waits = comm.wait_totals();  // this run's: a communicator may outlive several runs
  out.waits.peer_s -= waits_before.peer_s;
  out.waits.mpi_late_s -= waits_before.mpi_late_s;
  out.waits.staging_s -= waits_before.staging_s;
  if (obs.keep_final_state) {
    for (const auto& seg : algorithm.state().segments()) {
      auto v = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(),
                                                   algorithm.state().segment(seg.name));
      out.final_state.emplace_back(seg.name, std::vector<double>(v.data(), v.data() + v.extent(0)));
    }
    out.final_params = out.final_state.front().second;
  }
}

template void train_loop<float>(RunParts<float>&, Checkpointer<float>&, Index, const RunObservers&,
                                RunOutcome&);
template void train_loop<double>(RunParts<double>&, Checkpointer<double>&, Index,
                                 const RunObservers&, RunOutcome&);

}  // namespace olsgd::run
