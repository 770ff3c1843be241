#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/algo/registry.hpp>

namespace olsgd {

template <class Scalar>
LocalSgd<Scalar>::LocalSgd(AlgorithmContext<Scalar> ctx, Index tau,
                           const typename Algorithm<Scalar>::MoreSegments& more)
    : Algorithm<Scalar>(ctx, true, more), tau_(tau) {
  this->allocate_state();
}

template <class Scalar>
double LocalSgd<Scalar>::step_with(Index k, const IndexVector& batch, bool want_loss,
                                   bool may_sync) {
  const bool sync_now = may_sync && (k + 1) % tau_ == 0;
  const double loss = this->compute_gradient(batch, want_loss);
  // Pre-scaling by 1/m folds the average's scale pass into the step, so averaging runs at
  // bare MPI_Allreduce speed. For m a power of two the result is bitwise the same.
  this->local_step(k, 1.0, sync_now ? 1.0 / this->ctx_.comm.size() : 1.0);
  if (sync_now) this->blocking_sync(k, this->params());
  return loss;
}

template class LocalSgd<float>;
template class LocalSgd<double>;

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  return std::make_unique<LocalSgd<Scalar>>(t, t.config.algorithm.tau);
}
}  // namespace

extern const AlgorithmEntry kLocalSgd = {
    "local_sgd",
    "local steps, the models averaged (blocking) every tau steps",
    [](const Config&) {
      std::vector<std::string> keys = local_optimizer_keys();
      keys.push_back("algorithm.tau");
      return keys;
    },
    nullptr,
    [](const Config& c) { return c.optimizer.momentum > 0 ? 2.0 : 1.0; },
    nullptr,
    nullptr,
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
