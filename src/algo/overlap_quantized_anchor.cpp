#include <olsgd/algo/overlap_quantized_anchor.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/kernels/overlap.hpp>

namespace olsgd {

template <class Scalar>
OverlapQuantizedAnchor<Scalar>::OverlapQuantizedAnchor(TrainingContext<Scalar> ctx)
    : Algorithm<Scalar>(ctx),
      tau_(ctx.config.algorithm.tau),
      progress_every_(ctx.config.comm.progress_every),
      rng_(ctx.config.run.seed, Stream::Quantize, static_cast<std::uint32_t>(ctx.comm.rank())) {
  const Index d = ctx.model.num_params();
  // Element l of the sync after step k draws at counter k * 2^32 + l.
  if (d >= (Index(1) << 32))
    throw InputError(ctx.config.source, "quantized algorithms support fewer than 2^32 parameters");
  format_ = kernels::quantized_format<Scalar>(d, (Index(1) << ctx.config.quantize.bits) - 1);
  anchor_ = this->state_.add("anchor", static_cast<std::size_t>(d));
  this->allocate_state();
  Kokkos::deep_copy(ctx.exec, anchor(), this->params());  // z = x0 until the first messages
  delta_ = Vector<Scalar>("olsgd::algo::anchor_delta", d);
  send_ = WordVector("olsgd::algo::anchor_send", format_.words());
  recv_ = WordVector("olsgd::algo::anchor_recv", format_.words() * ctx.comm.size());
  ctx.exec.fence();
}

template <class Scalar>
double OverlapQuantizedAnchor<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = this->compute_gradient(batch, want_loss);
  this->local_step(k, 1.0);
  // Open MPI advances a non-blocking collective only inside MPI calls: poke it.
  if (progress_every_ > 0 && (k + 1) % progress_every_ == 0 && request_.active()) {
    Timers::Scope t(this->ctx_.timers, Phase::Comm);
    request_.test();
  }
  if ((k + 1) % tau_ == 0) sync(k);
  return loss;
}

template <class Scalar>
void OverlapQuantizedAnchor<Scalar>::apply_pending() {
  auto& ctx = this->ctx_;
  {
    Timers::Scope t(ctx.timers, Phase::Wait);
    request_.wait();
  }
  if (!pending_) return;
  pending_ = false;
  this->compute_timed(
      [&] { kernels::dequantize_mean(ctx.exec, recv_, ctx.comm.size(), format_, anchor(), true); });
}

template <class Scalar>
void OverlapQuantizedAnchor<Scalar>::sync(Index k) {
  auto& ctx = this->ctx_;
  SyncRecord r;
  const double wait_before = ctx.timers.seconds(Phase::Wait);
  apply_pending();
  r.t_wait = ctx.timers.seconds(Phase::Wait) - wait_before;
  this->compute_timed([&] {
    kernels::pull_and_difference(ctx.exec, this->params(), anchor(), delta_,
                                 ctx.config.algorithm.alpha);
    const Scalar norm = static_cast<Scalar>(kernels::norm2(ctx.exec, delta_));
    kernels::quantize_pack(ctx.exec, delta_, norm, format_, rng_, std::uint64_t(k) << 32, send_);
  });
  const double comm_before = ctx.timers.seconds(Phase::Comm);
  {
    Timers::Scope t(ctx.timers, Phase::Comm);
    request_ = ctx.comm.iallgather(ctx.exec, send_, recv_);
  }
  pending_ = true;
  r.t_exposed = r.t_wait + (ctx.timers.seconds(Phase::Comm) - comm_before);
  // What the messages cost unhidden: the injected network for their bytes (the calibrated
  // figure of the base class is for a d-vector allreduce, not these).
  const double network = ctx.comm.network_model().seconds(format_.bytes());
  this->report_sync(k, r, network, network);
}

template <class Scalar>
void OverlapQuantizedAnchor<Scalar>::finish() {
  apply_pending();
}

template class OverlapQuantizedAnchor<float>;
template class OverlapQuantizedAnchor<double>;

}  // namespace olsgd
