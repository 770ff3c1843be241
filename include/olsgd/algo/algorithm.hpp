#pragma once
// The interface every training algorithm implements over the shared driver loop, and the
// base that holds what they share: the flat per-rank state, the local optimizer step, the
// straggler model, and the accounting of each sync.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/flat_state.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/core/timers.hpp>
#include <olsgd/model/model.hpp>

#include <functional>
#include <string>

namespace olsgd {

// What a run hands the algorithm registry: the parts it owns (they outlive the algorithm) and
// the deck, from which each registration builds its algorithm's own typed parameters.
template <class Scalar>
struct TrainingContext {
  ExecSpace exec;
  Model<Scalar>& model;
  comm::Communicator& comm;
  Timers& timers;
  const Config& config;
};

// What every algorithm's local step reads from the deck.
struct LocalParams {
  OptimizerConfig optimizer;
  LrSchedule schedule;  // the step size at each step (optimizer.lr is its base)
  StragglerConfig straggler;
  std::uint64_t seed = 1;
  std::string source;  // the deck, for messages
  static LocalParams from(const Config& c, int ranks) {
    return {c.optimizer, LrSchedule(c, ranks), c.straggler, c.run.seed, c.source};
  }
};

// What an algorithm works with: the run's parts and its local step's parameters.
template <class Scalar>
struct AlgorithmContext {
  ExecSpace exec;
  Model<Scalar>& model;
  comm::Communicator& comm;
  Timers& timers;
  LocalParams local;
  // Implicit, so a registration hands its TrainingContext straight to a constructor: the
  // algorithm keeps the run's parts and the local step's keys, never the whole deck.
  AlgorithmContext(const TrainingContext<Scalar>& t)  // NOLINT(google-explicit-constructor)
      : exec(t.exec),
        model(t.model),
        comm(t.comm),
        timers(t.timers),
        local(LocalParams::from(t.config, t.comm.size())) {}
};

// The buffers of a sync, for observers that check the update rule (tests): the anchor the
// rank pulled toward and what it contributed to the next average. Empty when n/a, or when
// the observer did not ask for them (copies of d numbers at every sync).
template <class Scalar>
struct SyncBuffers {
  ConstVector<Scalar> anchor_used;
  ConstVector<Scalar> posted;
};

template <class Scalar>
class Algorithm {
 public:
  using scalar_type = Scalar;
  using SyncObserver = std::function<void(const SyncRecord&, const SyncBuffers<Scalar>&)>;
  // Declares segments of a stage layered over an algorithm (SlowMo's outer iterate), before
  // the state is allocated; the stage finds them by name.
  using MoreSegments = std::function<void(FlatState<Scalar>&)>;

  // `local_momentum`: whether optimizer.momentum drives a local momentum buffer (algorithms
  // with a momentum of their own pass false).
  explicit Algorithm(AlgorithmContext<Scalar> ctx, bool local_momentum = true,
                     const MoreSegments& more = {});
  virtual ~Algorithm() = default;

  virtual std::string name() const = 0;
  // One training step with global index k on this rank's minibatch `batch`. Returns the
  // minibatch loss (before the update) when `want_loss`, else NaN.
  virtual double step(Index k, const IndexVector& batch, bool want_loss) = 0;
  // Completes communication still in flight (after the last step, before a checkpoint). The
  // trajectory does not change: the same data arrive, only earlier.
  virtual void finish() {}

  // Whether a checkpoint after `done` steps resumes this run exactly; the driver defers
  // checkpoints and stops to such a step.
  virtual bool resumable_after(Index /*done*/) const { return true; }

  // Host-side state a checkpoint carries beyond the flat state; load_host gets what
  // save_host wrote.
  virtual void save_host(HostState& h) const { h["algorithm.syncs"] = static_cast<double>(syncs_); }
  virtual void load_host(const HostState& h) {
    syncs_ = static_cast<std::int64_t>(h.at("algorithm.syncs"));
  }

  // This rank's current model x_i.
  Vector<Scalar> params() const { return state_.segment(kParams); }
  const FlatState<Scalar>& state() const { return state_; }
  // Learning rate in force at step k: every algorithm's local step and, where its rule has a
  // step size (SlowMo's slow step, the anchor momentum's 1/lr), that rule at its sync step.
  double lr(Index k) const { return ctx_.local.schedule.at(k); }
  // Seconds one sync's collective costs when nothing hides it (calibrated + injected).
  double network_seconds() const { return network_s_; }

  // `with_buffers`: snapshot the sync's buffers for the observer (tests of the update rule
  // only: two extra copies of the model per sync).
  void set_sync_observer(SyncObserver observer, bool with_buffers = false) {
    observer_ = std::move(observer);
    observe_buffers_ = with_buffers && observer_;
  }

 protected:
  static constexpr std::size_t kParams = 0;

  // Call from the derived constructor after adding its own segments.
  void allocate_state();
  // Gradient of the model at x_i (or at `at`) on `batch` into grad_ (timed as compute); the
  // model's running statistics in x_i then move toward that batch's.
  double compute_gradient(const IndexVector& batch, bool want_loss);
  double compute_gradient(const IndexVector& batch, bool want_loss, const ConstVector<Scalar>& at);
  // Runs `work` (kernels on ctx_.exec) as compute: fenced, timed, counted toward the sync.
  double compute_timed(const std::function<void()>& work);
  // compute_timed as a callable for the exchanges, whose encoding and decoding are compute.
  std::function<void(const std::function<void()>&)> compute_timer() {
    return [this](const std::function<void()>& work) { compute_timed(work); };
  }
  // How many numbers at the front of the flat vector are trained; the model's running
  // statistics follow. A momentum or extrapolating rule acts on these only.
  Index trained() const { return ctx_.model.num_params() - ctx_.model.num_buffers(); }
  // The local momentum segment; only when enabled.
  Vector<Scalar> momentum() const { return state_.segment(momentum_segment_); }
  bool has_momentum() const { return momentum_; }
  // x_i (and the local momentum, when enabled) updated with gradient grad_scale * grad_,
  // x_i then multiplied by out_scale; then the straggler model stretches this step's compute
  // time on slowed ranks.
  void local_step(Index k, double grad_scale, double out_scale = 1.0);
  // Runs `work`, an optimizer step over the whole flat vector, and puts the model's running
  // statistics back as they were, times `scale`: no optimizer may move them (weight decay
  // would), but a model average about to be summed scales them with the rest.
  void keep_buffers(const std::function<void()>& work, double scale = 1.0);
  // The straggler model: stretches step k's compute time so far on a slowed rank.
  void straggle(Index k);
  // Runs a blocking allreduce of `v` as this step's sync and reports it.
  void blocking_sync(Index k, const Vector<Scalar>& v);
  // The same over `over` (a level of a hierarchy), whose allreduce of `v` costs `t_network`
  // unhidden.
  void blocking_sync(Index k, const Vector<Scalar>& v, comm::Communicator& over, double t_network);
  // Communication that held this rank outside any sync's own window (MPI_Test progress calls,
  // a finish() before a checkpoint): the next sync record adds it to its held time, so the
  // records add up to the rank's Comm + Wait time (all but the tail after the last sync).
  void hold_for_next_sync(double seconds) { held_since_sync_s_ += seconds; }
  // Completes `record` (step, compute since the last sync, the collective's unhidden network
  // time and injected delay) and reports it.
  void report_sync(Index k, SyncRecord record, double t_network, double delay,
                   const SyncBuffers<Scalar>& buffers = {});
  // report_sync in two parts, for a record that waits for data arriving later (the local
  // steps of a weighted average): close_sync completes the record now, emit reports it.
  SyncRecord close_sync(Index k, SyncRecord record, double t_network, double delay);
  void emit(const SyncRecord& record, const SyncBuffers<Scalar>& buffers) const {
    if (observer_) observer_(record, buffers);
  }
  bool observing_buffers() const { return observe_buffers_; }
  // Compute seconds since the last sync (the local steps of the round so far).
  double compute_since_sync() const { return compute_since_sync_s_; }

  AlgorithmContext<Scalar> ctx_;
  FlatState<Scalar> state_;
  Vector<Scalar> grad_;

 private:
  Vector<Scalar> buffers_;  // a copy of the model's running statistics (keep_buffers)

  bool momentum_ = false;
  std::size_t momentum_segment_ = 0;
  double network_s_ = 0;
  double step_compute_s_ = 0;  // this step so far
  double compute_since_sync_s_ = 0;
  double peer_wait_at_sync_s_ = 0;  // the communicator's peer-wait total at the last sync
  double held_since_sync_s_ = 0;    // hold_for_next_sync since the last record
  std::int64_t syncs_ = 0;
  SyncObserver observer_;
  bool observe_buffers_ = false;
};

}  // namespace olsgd
