#include <olsgd/algo/overlap_local_sgd.hpp>
#include <olsgd/kernels/overlap.hpp>

namespace olsgd {
namespace {
// A real copy (create_mirror_view_and_copy would alias a View already in MemSpace).
template <class Scalar>
ConstVector<Scalar> snapshot(const ExecSpace& exec, const Vector<Scalar>& v) {
  Vector<Scalar> copy(Kokkos::view_alloc(Kokkos::WithoutInitializing, v.label() + "_seen"),
                      v.extent(0));
  Kokkos::deep_copy(exec, copy, v);
  exec.fence();
  return copy;
}
}  // namespace

template <class Scalar>
OverlapLocalSgd<Scalar>::OverlapLocalSgd(TrainingContext<Scalar> ctx, bool momentum_variant,
                                         const typename Algorithm<Scalar>::MoreSegments& more)
    : Algorithm<Scalar>(ctx, true, more),
      tau_(ctx.config.algorithm.tau),
      progress_every_(ctx.config.comm.progress_every) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  send_ = this->state_.add("send", d);
  anchor_ = this->state_.add("anchor", d);
  if (momentum_variant) anchor_momentum_ = this->state_.add("anchor_momentum", d);
  this->allocate_state();                                 // zeros, then x0 into params
  Kokkos::deep_copy(ctx.exec, anchor(), this->params());  // z = x0 until the first average
  ctx.exec.fence();
}

template <class Scalar>
double OverlapLocalSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const bool sync_now = (k + 1) % tau_ == 0;
  const double loss = local_update(k, batch, want_loss, sync_now);
  if (sync_now) sync(k);
  return loss;
}

template <class Scalar>
double OverlapLocalSgd<Scalar>::local_update(Index k, const IndexVector& batch, bool want_loss,
                                             bool /*sync_follows*/) {
  const double loss = this->compute_gradient(batch, want_loss);
  this->local_step(k, 1.0);
  // Open MPI advances a non-blocking collective only inside MPI calls: poke it.
  if (progress_every_ > 0 && (k + 1) % progress_every_ == 0 && request_.active()) {
    Timers::Scope t(this->ctx_.timers, Phase::Comm);
    request_.test();
  }
  return loss;
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::sync(Index k) {
  auto& ctx = this->ctx_;
  SyncRecord r;
  {
    Timers::Scope t(ctx.timers, Phase::Wait);
    r.t_wait = request_.wait();  // z := the average posted at the previous sync
  }
  SyncBuffers<Scalar> buffers;
  if (this->observing_buffers()) {
    // Copies, so observers see the anchor as consumed even after the next post.
    buffers.anchor_used = snapshot(ctx.exec, anchor());
  }
  {
    Timers::Scope t(ctx.timers, Phase::Compute);
    pull_and_snapshot(k);
    ctx.exec.fence();
  }
  if (this->observing_buffers()) buffers.posted = snapshot(ctx.exec, send());
  const double before = ctx.timers.seconds(Phase::Comm);
  {
    Timers::Scope t(ctx.timers, Phase::Comm);
    request_ = ctx.comm.iallreduce_sum(ctx.exec, send(), anchor());
  }
  r.t_exposed = r.t_wait + (ctx.timers.seconds(Phase::Comm) - before);
  this->report_sync(k, r, buffers);
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::pull_and_snapshot(Index /*k*/) {
  const auto& ctx = this->ctx_;
  kernels::pull_to_anchor(ctx.exec, this->params(), anchor(), send(), ctx.config.algorithm.alpha,
                          1.0 / ctx.comm.size());
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::finish() {
  Timers::Scope t(this->ctx_.timers, Phase::Wait);
  request_.wait();
}

template <class Scalar>
void OverlapLocalSgdMomentum<Scalar>::pull_and_snapshot(Index k) {
  const auto& ctx = this->ctx_;
  kernels::pull_to_anchor_momentum(ctx.exec, this->params(), this->anchor(),
                                   this->state_.segment(this->anchor_momentum_), this->send(),
                                   ctx.config.algorithm.alpha, ctx.config.algorithm.anchor_momentum,
                                   this->lr(k), 1.0 / ctx.comm.size());
}

template class OverlapLocalSgd<float>;
template class OverlapLocalSgd<double>;
template class OverlapLocalSgdMomentum<float>;
template class OverlapLocalSgdMomentum<double>;

}  // namespace olsgd
