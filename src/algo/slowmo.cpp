#include <olsgd/algo/slowmo.hpp>
#include <olsgd/kernels/outer.hpp>

namespace olsgd {

template <class Base>
SlowMo<Base>::SlowMo(TrainingContext<Scalar> ctx)
    : Base(ctx,
           [d = static_cast<std::size_t>(ctx.model.num_params())](FlatState<Scalar>& s) {
             s.add("outer", d);
             s.add("slow_momentum", d);
           }),
      tau_(ctx.config.algorithm.tau),
      period_(ctx.config.algorithm.slowmo_period > 0 ? ctx.config.algorithm.slowmo_period
                                                     : ctx.config.algorithm.tau) {
  Kokkos::deep_copy(ctx.exec, this->state_.segment("outer"), this->params());  // x0 = x_i, u = 0
  ctx.exec.fence();
}

template <class Base>
double SlowMo<Base>::step(Index k, const IndexVector& batch, bool want_loss) {
  const bool outer_now = (k + 1) % period_ == 0;
  const bool base_sync = !outer_now && (k + 1) % tau_ == 0;
  const double loss = this->local_update(k, batch, want_loss, base_sync);
  if (outer_now)
    outer(k);
  else if (base_sync)
    this->sync(k);
  return loss;
}

template <class Base>
void SlowMo<Base>::outer(Index k) {
  auto& ctx = this->ctx_;
  this->blocking_sync(k, this->params());  // params now hold sum_i x_i
  const auto& a = ctx.config.algorithm;
  const bool reset = a.slowmo_buffers == "reset" && this->has_momentum();
  const Vector<Scalar> v = this->has_momentum() ? this->momentum() : Vector<Scalar>();
  this->compute_timed([&] {
    kernels::slowmo_outer(ctx.exec, this->params(), this->state_.segment("outer"),
                          this->state_.segment("slow_momentum"), v, reset, 1.0 / ctx.comm.size(),
                          a.slow_lr, a.slow_momentum, this->lr(k));
  });
}

template class SlowMo<LocalSgd<float>>;
template class SlowMo<LocalSgd<double>>;
template class SlowMo<OverlapLocalSgd<float>>;
template class SlowMo<OverlapLocalSgd<double>>;

}  // namespace olsgd
