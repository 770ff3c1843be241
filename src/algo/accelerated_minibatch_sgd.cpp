#include <olsgd/algo/accelerated_minibatch_sgd.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/kernels/outer.hpp>

namespace olsgd {

template <class Scalar>
AcceleratedMinibatchSgd<Scalar>::AcceleratedMinibatchSgd(AlgorithmContext<Scalar> ctx)
    : Algorithm<Scalar>(ctx, /*local_momentum=*/false) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  x_ = this->state_.add("x", d);
  x_md_ = this->state_.add("x_md", d);
  this->allocate_state();                                                 // x_ag = x0 in params
  Kokkos::deep_copy(ctx.exec, this->state_.segment(x_), this->params());  // x = x_ag = x0
  ctx.exec.fence();
}

template <class Scalar>
double AcceleratedMinibatchSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  auto& ctx = this->ctx_;
  const double t = static_cast<double>(k + 1);
  const double a = 2.0 / (t + 1), gamma_t = this->lr(k) * (t + 1) / 2;
  const Vector<Scalar> x = this->state_.segment(x_), x_md = this->state_.segment(x_md_);
  this->compute_timed([&] { kernels::ac_sa_middle(ctx.exec, x, this->params(), x_md, a); });
  const double loss = this->compute_gradient(batch, want_loss, x_md);
  this->blocking_sync(k, this->grad_);
  this->compute_timed([&] {
    this->keep_buffers([&] {
      kernels::ac_sa_step(ctx.exec, x, this->params(), x_md, this->grad_, gamma_t, a,
                          1.0 / ctx.comm.size(), ctx.local.optimizer.weight_decay);
    });
  });
  this->straggle(k);
  return loss;
}

template class AcceleratedMinibatchSgd<float>;
template class AcceleratedMinibatchSgd<double>;

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  return std::make_unique<AcceleratedMinibatchSgd<Scalar>>(t);
}
}  // namespace

extern const AlgorithmEntry kAcceleratedMinibatchSgd = {
    "accelerated_minibatch_sgd",
    "AC-SA: minibatch SGD with Lan's acceleration (no local momentum)",
    [](const Config&) { return std::vector<std::string>{}; },
    nullptr,
    [](const Config&) { return 3.0; },  // x_ag (params), x, x_md
    nullptr,
    nullptr,
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
