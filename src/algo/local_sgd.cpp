#include <olsgd/algo/local_sgd.hpp>

namespace olsgd {

template <class Scalar>
LocalSgd<Scalar>::LocalSgd(TrainingContext<Scalar> ctx,
                           const typename Algorithm<Scalar>::MoreSegments& more)
    : Algorithm<Scalar>(ctx, true, more), tau_(ctx.config.algorithm.tau) {
  this->allocate_state();
}

template <class Scalar>
double LocalSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const bool sync_now = (k + 1) % tau_ == 0;
  const double loss = local_update(k, batch, want_loss, sync_now);
  if (sync_now) sync(k);
  return loss;
}

template <class Scalar>
double LocalSgd<Scalar>::local_update(Index k, const IndexVector& batch, bool want_loss,
                                      bool sync_follows) {
  const double loss = this->compute_gradient(batch, want_loss);
  // Pre-scaling by 1/m folds the average's scale pass into the step (issue 8: averaging at
  // bare MPI_Allreduce speed). For m a power of two the result is bitwise the same.
  this->local_step(k, 1.0, sync_follows ? 1.0 / this->ctx_.comm.size() : 1.0);
  return loss;
}

template <class Scalar>
void LocalSgd<Scalar>::sync(Index k) {
  this->blocking_sync(k, this->params());
}

template class LocalSgd<float>;
template class LocalSgd<double>;

}  // namespace olsgd
