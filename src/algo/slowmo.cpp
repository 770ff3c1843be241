#include <olsgd/algo/plain_exchange.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/algo/slowmo.hpp>
#include <olsgd/kernels/outer.hpp>
#include <olsgd/kernels/vector_ops.hpp>

namespace olsgd {
namespace {
template <class Scalar>
typename Algorithm<Scalar>::MoreSegments outer_segments(Index d) {
  return [d](FlatState<Scalar>& s) {
    s.add("outer", static_cast<std::size_t>(d));
    s.add("slow_momentum", static_cast<std::size_t>(d));
  };
}
}  // namespace

SlowMoParams SlowMoParams::from(const Config& c) {
  const auto& a = c.algorithm;
  return {a.slowmo_period > 0 ? a.slowmo_period : a.tau, a.slow_lr, a.slow_momentum,
          a.slowmo_buffers == "reset"};
}

template <class Base>
template <class... BaseArgs>
SlowMo<Base>::SlowMo(AlgorithmContext<Scalar> ctx, const SlowMoParams& p,
                     const BaseArgs&... base_args)
    : Base(ctx, base_args..., outer_segments<Scalar>(ctx.model.num_params())), p_(p) {
  Kokkos::deep_copy(ctx.exec, this->state_.segment("outer"), this->params());  // x0 = x_i, u = 0
  ctx.exec.fence();
}

template <class Base>
double SlowMo<Base>::step(Index k, const IndexVector& batch, bool want_loss) {
  const bool outer_now = (k + 1) % p_.period == 0;
  const double loss = this->step_with(k, batch, want_loss, !outer_now);
  if (outer_now) outer(k);
  return loss;
}

template <class Base>
void SlowMo<Base>::outer(Index k) {
  auto& ctx = this->ctx_;
  this->blocking_sync(k, this->params());  // params now hold sum_i x_i
  const bool reset = p_.reset_buffers && this->has_momentum();
  const Index d = ctx.model.num_params(), n = this->trained();
  const auto x = this->params(), x0 = this->state_.segment("outer");
  auto head = [&](const Vector<Scalar>& v) {
    return Kokkos::subview(v, std::make_pair(Index(0), n));
  };
  auto tail = [&](const Vector<Scalar>& v) { return Kokkos::subview(v, std::make_pair(n, d)); };
  const auto v = this->has_momentum() ? head(this->momentum()) : decltype(head(x))();
  const double inv_m = 1.0 / ctx.comm.size();
  this->compute_timed([&] {
    kernels::slowmo_outer(ctx.exec, head(x), head(x0), head(this->state_.segment("slow_momentum")),
                          v, reset, inv_m, p_.slow_lr, p_.slow_momentum, this->lr(k));
    // The running statistics take the plain average: extrapolated past it by the slow
    // momentum, a running variance could turn negative.
    if (n == d) return;
    kernels::scale(ctx.exec, tail(x), static_cast<Scalar>(inv_m));
    Kokkos::deep_copy(ctx.exec, tail(x0), tail(x));
    if (reset) Kokkos::deep_copy(ctx.exec, tail(this->momentum()), Scalar(0));
  });
}

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  const Config& c = t.config;
  const SlowMoParams p = SlowMoParams::from(c);
  if (c.algorithm.slowmo_base == "overlap_local_sgd") {
    OverlapParams overlap = OverlapParams::from(c);
    overlap.local_steps = {};  // SlowMo's outer step keeps whole rounds of tau steps
    overlap.fragments = 1;
    return std::make_unique<SlowMo<OverlapLocalSgd<Scalar>>>(
        t, p, overlap, plain_anchor_exchange<Scalar>(), std::string("slowmo"));
  }
  return std::make_unique<SlowMo<LocalSgd<Scalar>>>(t, p, c.algorithm.tau);
}
}  // namespace

extern const AlgorithmEntry kSlowMo = {
    "slowmo",
    "a slow momentum step every algorithm.slowmo_period steps over local SGD or Overlap",
    [](const Config& c) {
      std::vector<std::string> keys = local_optimizer_keys();
      keys.insert(keys.end(),
                  {"algorithm.tau", "algorithm.slow_lr", "algorithm.slow_momentum",
                   "algorithm.slowmo_buffers", "algorithm.slowmo_base", "algorithm.slowmo_period"});
      if (c.algorithm.slowmo_base == "overlap_local_sgd")
        keys.insert(keys.end(), {"algorithm.alpha", "comm.progress_every", "comm.progress_thread"});
      return keys;
    },
    [](const Config& c, const DeckCheck& deck) {
      const auto& a = c.algorithm;
      const Index outer = a.slowmo_period > 0 ? a.slowmo_period : a.tau;
      deck.require(outer % a.tau == 0, "algorithm.slowmo_period",
                   "must be a multiple of algorithm.tau (" + std::to_string(a.tau) + ")");
      const bool overlap = a.slowmo_base == "overlap_local_sgd";
      deck.require(!overlap || outer > a.tau, "algorithm.slowmo_base",
                   "overlap_local_sgd needs algorithm.slowmo_period above algorithm.tau (" +
                       std::to_string(a.tau) +
                       "), or the exact average replaces every "
                       "overlapped one");
      if (overlap) check_overlap_alpha(c, deck);
      check_no_division_by_a_zero_lr(
          c, deck, outer, "SlowMo's first outer step",
          a.slowmo_period > 0 ? "algorithm.slowmo_period" : "algorithm.tau");
    },
    [](const Config& c) {
      const double local = c.optimizer.momentum > 0 ? 2 : 1;
      return local + 2 + (c.algorithm.slowmo_base == "overlap_local_sgd" ? 2 : 0);
    },
    nullptr,
    nullptr,
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
