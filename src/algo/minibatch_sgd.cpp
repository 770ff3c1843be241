#include <olsgd/algo/minibatch_sgd.hpp>

namespace olsgd {

template <class Scalar>
MinibatchSgd<Scalar>::MinibatchSgd(TrainingContext<Scalar> ctx) : Algorithm<Scalar>(ctx) {
  this->allocate_state();
}

template <class Scalar>
double MinibatchSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = this->compute_gradient(batch, want_loss);
  this->blocking_sync(k, this->grad_);
  // The 1/m of the average is folded into the update.
  this->local_step(k, 1.0 / this->ctx_.comm.size());
  return loss;
}

template class MinibatchSgd<float>;
template class MinibatchSgd<double>;

}  // namespace olsgd
