#include <olsgd/algo/algorithm.hpp>
#include <olsgd/kernels/sgd.hpp>

namespace olsgd {

template <class Scalar>
Algorithm<Scalar>::Algorithm(TrainingContext<Scalar> ctx)
    : ctx_(ctx), state_("olsgd::algo::state"), grad_("olsgd::algo::grad", ctx.model.num_params()) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  state_.add("params", d);  // index kParams
  momentum_ = ctx.config.optimizer.momentum > 0;
  if (momentum_) momentum_segment_ = state_.add("momentum", d);
}

template <class Scalar>
void Algorithm<Scalar>::allocate_state() {
  state_.allocate();
  ctx_.model.initialize(ctx_.exec, params());
}

template <class Scalar>
double Algorithm<Scalar>::compute_gradient(const IndexVector& batch, bool want_loss) {
  Timers::Scope t(ctx_.timers, Phase::Compute);
  const double loss = ctx_.model.gradient(ctx_.exec, params(), batch, grad_, want_loss);
  ctx_.exec.fence();
  return loss;
}

template <class Scalar>
void Algorithm<Scalar>::local_step(Index k, double grad_scale) {
  Timers::Scope t(ctx_.timers, Phase::Compute);
  const auto& o = ctx_.config.optimizer;
  kernels::SgdParams p{lr(k), o.momentum, o.nesterov, o.weight_decay, grad_scale};
  if (momentum_)
    kernels::sgd_momentum_step(ctx_.exec, params(), state_.segment(momentum_segment_), grad_, p);
  else
    kernels::sgd_step(ctx_.exec, params(), grad_, p);
  ctx_.exec.fence();
}

template class Algorithm<float>;
template class Algorithm<double>;

}  // namespace olsgd
