#include <olsgd/algo/slowmo.hpp>
#include <olsgd/kernels/outer.hpp>

namespace olsgd {

template <class Scalar>
SlowMo<Scalar>::SlowMo(TrainingContext<Scalar> ctx)
    : Algorithm<Scalar>(ctx), tau_(ctx.config.algorithm.tau) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  x0_ = this->state_.add("outer", d);
  u_ = this->state_.add("slow_momentum", d);
  this->allocate_state();
  Kokkos::deep_copy(ctx.exec, this->state_.segment(x0_), this->params());  // x0 = x_i, u = 0
  ctx.exec.fence();
}

template <class Scalar>
double SlowMo<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = this->compute_gradient(batch, want_loss);
  this->local_step(k, 1.0);
  if ((k + 1) % tau_ != 0) return loss;
  auto& ctx = this->ctx_;
  this->blocking_sync(k, this->params());  // params now hold sum_i x_i
  const auto& a = ctx.config.algorithm;
  const bool reset = a.slowmo_buffers == "reset" && this->has_momentum();
  const Vector<Scalar> v = this->has_momentum() ? this->momentum() : Vector<Scalar>();
  this->compute_timed([&] {
    kernels::slowmo_outer(ctx.exec, this->params(), this->state_.segment(x0_),
                          this->state_.segment(u_), v, reset, 1.0 / ctx.comm.size(), a.slow_lr,
                          a.slow_momentum, this->lr(k));
  });
  return loss;
}

template class SlowMo<float>;
template class SlowMo<double>;

}  // namespace olsgd
