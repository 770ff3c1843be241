#include <olsgd/algo/quantized_sgd.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/kernels/quantize.hpp>

#include <chrono>
#include <cmath>
#include <limits>

namespace olsgd {

LevelRule LevelRule::from(const Config& c, Index dim, int ranks) {
  const auto& q = c.quantize;
  return {dim,
          ranks,
          c.run.steps,
          c.optimizer.lr,
          q.smoothness,
          q.strong_convexity,
          q.target_error,
          q.min_levels,
          q.max_levels};
}

std::int64_t LevelRule::levels(Index t, double g2_prev) const {
  const double d = static_cast<double>(dim);
  const double rho = std::max(0.0, 1.0 - lr * strong_convexity);
  const double w = smoothness * lr * lr / (2.0 * ranks) * std::pow(rho, steps - 1 - t);
  const double budget = target_error / static_cast<double>(steps);
  auto fits = [&](std::int64_t s) {
    const double sd = static_cast<double>(s);
    return std::min(d / (sd * sd), std::sqrt(d) / sd) * w * g2_prev <= budget;
  };
  if (!fits(max_levels)) return max_levels;
  std::int64_t lo = min_levels, hi = max_levels;  // fits(hi); the variance falls as s grows
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (fits(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

template <class Scalar>
QuantizedSgd<Scalar>::QuantizedSgd(TrainingContext<Scalar> ctx, bool dynamic)
    : Algorithm<Scalar>(ctx),
      dynamic_(dynamic),
      rule_(LevelRule::from(ctx.config, ctx.model.num_params(), ctx.comm.size())),
      levels_(dynamic ? rule_.max_levels : (std::int64_t(1) << ctx.config.quantize.bits) - 1),
      rng_(ctx.config.run.seed, Stream::Quantize, static_cast<std::uint32_t>(ctx.comm.rank())) {
  const Index d = ctx.model.num_params();
  // Element l of step k draws at counter k * 2^32 + l.
  if (d >= (Index(1) << 32))
    throw InputError(ctx.config.source, "quantized algorithms support fewer than 2^32 parameters");
  this->allocate_state();
  const auto widest = kernels::quantized_format<Scalar>(d, dynamic ? rule_.max_levels : levels_);
  send_ = WordVector("olsgd::algo::quantized_send", widest.words());
  recv_ = WordVector("olsgd::algo::quantized_recv", widest.words() * ctx.comm.size());
}

template <class Scalar>
double QuantizedSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  auto& ctx = this->ctx_;
  const double loss = this->compute_gradient(batch, want_loss);
  const int m = ctx.comm.size();
  const auto f = kernels::quantized_format<Scalar>(ctx.model.num_params(), levels_);
  const auto words = std::make_pair(Index(0), f.words());
  const WordVector send = Kokkos::subview(send_, words);
  const WordVector recv = Kokkos::subview(recv_, std::make_pair(Index(0), m * f.words()));
  this->compute_timed([&] {
    const Scalar norm = static_cast<Scalar>(kernels::norm2(ctx.exec, this->grad_));
    kernels::quantize_pack(ctx.exec, this->grad_, norm, f, rng_, std::uint64_t(k) << 32, send);
  });
  SyncRecord r;
  {
    Timers::Scope t(ctx.timers, Phase::Comm);
    const auto start = std::chrono::steady_clock::now();
    ctx.comm.allgather(ctx.exec, send, recv);
    r.t_exposed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  double g2 = 0;
  this->compute_timed([&] {
    kernels::dequantize_mean(ctx.exec, recv, m, f, this->grad_);
    if (dynamic_) g2 = kernels::mean_squared_norm<Scalar>(ctx.exec, recv, m, f);
  });
  this->local_step(k, 1.0);
  r.levels = static_cast<double>(levels_);
  if (dynamic_) levels_ = rule_.levels(k + 1, g2);
  // A blocking collective hides nothing: its network time is what it held the rank.
  this->report_sync(k, r, r.t_exposed, ctx.comm.network_model().seconds(f.bytes()));
  return loss;
}

template class QuantizedSgd<float>;
template class QuantizedSgd<double>;

}  // namespace olsgd
