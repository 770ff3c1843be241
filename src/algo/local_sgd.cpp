#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/kernels/vector_ops.hpp>

namespace olsgd {

template <class Scalar>
LocalSgd<Scalar>::LocalSgd(TrainingContext<Scalar> ctx,
                           const typename Algorithm<Scalar>::MoreSegments& more)
    : Algorithm<Scalar>(ctx, true, more), tau_(ctx.config.algorithm.tau) {
  this->allocate_state();
}

template <class Scalar>
double LocalSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = local_update(k, batch, want_loss);
  if ((k + 1) % tau_ == 0) sync(k);
  return loss;
}

template <class Scalar>
double LocalSgd<Scalar>::local_update(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = this->compute_gradient(batch, want_loss);
  this->local_step(k, 1.0);
  return loss;
}

template <class Scalar>
void LocalSgd<Scalar>::sync(Index k) {
  auto& ctx = this->ctx_;
  this->blocking_sync(k, this->params());
  Timers::Scope t(ctx.timers, Phase::Compute);
  kernels::scale(ctx.exec, this->params(), Scalar(1) / static_cast<Scalar>(ctx.comm.size()));
  ctx.exec.fence();
}

template class LocalSgd<float>;
template class LocalSgd<double>;

}  // namespace olsgd
