#include <olsgd/algo/algorithm.hpp>
#include <olsgd/algo/straggler.hpp>
#include <olsgd/kernels/sgd.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <chrono>
#include <thread>

namespace olsgd {

template <class Scalar>
Algorithm<Scalar>::Algorithm(AlgorithmContext<Scalar> ctx, bool local_momentum,
                             const MoreSegments& more)
    : ctx_(ctx), state_("olsgd::algo::state"), grad_("olsgd::algo::grad", ctx.model.num_params()) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  state_.add("params", d);  // index kParams
  momentum_ = local_momentum && ctx.local.optimizer.momentum > 0;
  if (momentum_) momentum_segment_ = state_.add("momentum", d);
  if (more) more(state_);
  if (ctx.model.num_buffers() > 0)
    buffers_ = Vector<Scalar>("olsgd::algo::running_statistics", ctx.model.num_buffers());
  // Every algorithm here syncs a d-vector; calibrate what one costs on this network.
  const std::size_t bytes = d * sizeof(Scalar);
  network_s_ = ctx.comm.unhidden_allreduce_s(bytes);
  peer_wait_at_sync_s_ = ctx.comm.peer_wait_s();
}

template <class Scalar>
void Algorithm<Scalar>::allocate_state() {
  state_.allocate();
  ctx_.model.initialize(ctx_.exec, params());
}

template <class Scalar>
double Algorithm<Scalar>::compute_timed(const std::function<void()>& work) {
  Timers::Scope t(ctx_.timers, Phase::Compute);
  const auto start = std::chrono::steady_clock::now();
  work();
  ctx_.exec.fence();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  step_compute_s_ += s;
  compute_since_sync_s_ += s;
  return s;
}

template <class Scalar>
double Algorithm<Scalar>::compute_gradient(const IndexVector& batch, bool want_loss) {
  return compute_gradient(batch, want_loss, params());
}

template <class Scalar>
double Algorithm<Scalar>::compute_gradient(const IndexVector& batch, bool want_loss,
                                           const ConstVector<Scalar>& at) {
  step_compute_s_ = 0;
  double loss = 0;
  compute_timed([&] {
    loss = ctx_.model.gradient(ctx_.exec, at, batch, grad_, want_loss);
    if (buffers_.extent(0) > 0) ctx_.model.update_buffers(ctx_.exec, params());
  });
  return loss;
}

template <class Scalar>
void Algorithm<Scalar>::keep_buffers(const std::function<void()>& work, double scale) {
  if (buffers_.extent(0) == 0) return work();
  const Index d = static_cast<Index>(params().extent(0));
  const auto tail = Kokkos::subview(params(), std::make_pair(d - Index(buffers_.extent(0)), d));
  Kokkos::deep_copy(ctx_.exec, buffers_, tail);
  work();
  Kokkos::deep_copy(ctx_.exec, tail, buffers_);
  if (scale != 1.0) kernels::scale(ctx_.exec, tail, static_cast<Scalar>(scale));
}

template <class Scalar>
void Algorithm<Scalar>::local_step(Index k, double grad_scale, double out_scale) {
  const auto& o = ctx_.local.optimizer;
  kernels::SgdParams p{lr(k), o.momentum, o.nesterov, o.weight_decay, grad_scale, out_scale};
  compute_timed([&] {
    keep_buffers(
        [&] {
          if (momentum_)
            kernels::sgd_momentum_step(ctx_.exec, params(), state_.segment(momentum_segment_),
                                       grad_, p);
          else
            kernels::sgd_step(ctx_.exec, params(), grad_, p);
        },
        out_scale);
  });
  straggle(k);
}

template <class Scalar>
void Algorithm<Scalar>::straggle(Index k) {
  // A straggler computes the same numbers, only slower: stretch this step's compute time.
  const double factor =
      straggler_factor(ctx_.local.straggler, ctx_.local.seed, ctx_.comm.rank(), k);
  if (factor > 1) {
    const double extra = (factor - 1) * step_compute_s_;
    compute_timed([&] { std::this_thread::sleep_for(std::chrono::duration<double>(extra)); });
  }
}

template <class Scalar>
void Algorithm<Scalar>::blocking_sync(Index k, const Vector<Scalar>& v) {
  blocking_sync(k, v, ctx_.comm, network_s_);
}

template <class Scalar>
void Algorithm<Scalar>::blocking_sync(Index k, const Vector<Scalar>& v, comm::Communicator& over,
                                      double t_network) {
  SyncRecord r;
  const double before = ctx_.timers.seconds(Phase::Comm);
  {
    Timers::Scope t(ctx_.timers, Phase::Comm);
    over.allreduce_sum(ctx_.exec, v);
  }
  r.t_exposed = ctx_.timers.seconds(Phase::Comm) - before;
  report_sync(k, r, t_network, over.network_model().seconds(v.extent(0) * sizeof(Scalar)));
}

template <class Scalar>
void Algorithm<Scalar>::report_sync(Index k, SyncRecord r, double t_network, double delay,
                                    const SyncBuffers<Scalar>& buffers) {
  emit(close_sync(k, r, t_network, delay), buffers);
}

template <class Scalar>
SyncRecord Algorithm<Scalar>::close_sync(Index k, SyncRecord r, double t_network, double delay) {
  r.t_network = t_network;
  r.delay = delay;
  r.t_exposed += held_since_sync_s_;
  held_since_sync_s_ = 0;
  r.sync = ++syncs_;
  r.step = k + 1;
  r.t_compute = compute_since_sync_s_;
  compute_since_sync_s_ = 0;
  // Every algorithm collective since the last sync belongs to this one.
  const double peer = ctx_.comm.peer_wait_s();
  r.t_peer = peer - peer_wait_at_sync_s_;
  peer_wait_at_sync_s_ = peer;
  return r;
}

template class Algorithm<float>;
template class Algorithm<double>;

}  // namespace olsgd
