#include <olsgd/algo/quantized_exchange.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

namespace olsgd {
namespace {
// Element l of the message after step k draws at counter k * 2^32 + l.
void check_counter_room(const ExchangeContext& ctx, Index d) {
  if (d >= (Index(1) << 32))
    throw InputError(ctx.source, "quantized algorithms support fewer than 2^32 parameters");
}
}  // namespace

LevelRule LevelRule::from(const Config& c, Index dim, int ranks) {
  const auto& q = c.quantize;
  return {dim,
          ranks,
          c.run.steps,
          LrSchedule(c, ranks).peak(),  // the bound assumes one step size: the largest
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
QuantizedAnchorExchange<Scalar>::QuantizedAnchorExchange(const ExchangeContext& ctx, Index d,
                                                         std::int64_t bits)
    : ctx_(ctx),
      d_(d),
      levels_((std::int64_t(1) << bits) - 1),
      rng_(ctx.seed, Stream::Quantize, static_cast<std::uint32_t>(ctx.comm.rank())) {
  check_counter_room(ctx, d);
}

template <class Scalar>
void QuantizedAnchorExchange<Scalar>::declare(FlatState<Scalar>& state) {
  anchor_ = state.add("anchor", static_cast<std::size_t>(d_));
  state_ = &state;
}

template <class Scalar>
void QuantizedAnchorExchange<Scalar>::start(const FlatState<Scalar>& state) {
  Kokkos::deep_copy(ctx_.exec, anchor(), state.segment(0));  // z = x0 until the first messages
  delta_ = Vector<Scalar>("olsgd::algo::anchor_delta", d_);
  const Index statistics = d_ - ctx_.buffers;  // where the running statistics start
  parts_.resize(static_cast<std::size_t>(fragments_));
  for (int f = 0; f < fragments_; ++f) {
    Part& p = parts_[static_cast<std::size_t>(f)];
    std::tie(p.first, p.last) = fragment_range(d_, fragments_, f);
    p.split = std::clamp(statistics, p.first, p.last);
    p.format = kernels::quantized_format<Scalar>(p.split - p.first, levels_);
    p.send = WordVector("olsgd::algo::anchor_send", p.format.words());
    p.recv = WordVector("olsgd::algo::anchor_recv", p.format.words() * ctx_.comm.size());
    p.exact = Vector<Scalar>("olsgd::algo::anchor_statistics", p.last - p.split);
  }
  ctx_.exec.fence();
}

template <class Scalar>
void QuantizedAnchorExchange<Scalar>::complete(int fragment) {
  if (fragment == AnchorExchange<Scalar>::kAll) {
    for (int f = 0; f < fragments_; ++f) complete(f);
    return;
  }
  Part& p = parts_[static_cast<std::size_t>(fragment)];
  {
    Timers::Scope t(ctx_.timers, Phase::Wait);
    p.request.wait();
    p.exact_request.wait();
  }
  if (!p.pending) return;
  p.pending = false;
  const int m = ctx_.comm.size();
  ctx_.compute([&] {
    kernels::dequantize_mean(ctx_.exec, p.recv, m, p.format, range(anchor(), p.first, p.split),
                             true);
    kernels::axpy(ctx_.exec, range(anchor(), p.split, p.last), Scalar(1) / Scalar(m), p.exact);
  });
}

template <class Scalar>
void QuantizedAnchorExchange<Scalar>::progress() {
  Timers::Scope t(ctx_.timers, Phase::Comm);
  for (Part& p : parts_)
    for (comm::Request* r : {&p.request, &p.exact_request})
      if (r->active()) r->test();
}

template <class Scalar>
void QuantizedAnchorExchange<Scalar>::post(Index k, int fragment) {
  if (fragment == AnchorExchange<Scalar>::kAll) {
    for (int f = 0; f < fragments_; ++f) post(k, f);
    return;
  }
  Part& p = parts_[static_cast<std::size_t>(fragment)];
  const Vector<Scalar> delta = range(delta_, p.first, p.split);
  if (p.split > p.first)
    ctx_.compute([&] {
      const Scalar norm = static_cast<Scalar>(kernels::norm2(ctx_.exec, delta));
      kernels::quantize_pack(ctx_.exec, delta, norm, p.format, rng_, std::uint64_t(k) << 32,
                             p.send);
    });
  {
    Timers::Scope t(ctx_.timers, Phase::Comm);
    if (p.split > p.first) p.request = ctx_.comm.iallgather(ctx_.exec, p.send, p.recv);
    if (p.last > p.split)
      p.exact_request =
          ctx_.comm.iallreduce_sum(ctx_.exec, range(delta_, p.split, p.last), p.exact);
  }
  p.pending = true;
}

template <class Scalar>
double QuantizedAnchorExchange<Scalar>::injected_seconds() const {
  // The injected network for the largest fragment's messages (a calibrated allreduce is not
  // it); the running statistics' allreduce travels beside them, delayed on its own.
  const auto& net = ctx_.comm.network_model();
  double s = 0;
  for (const Part& p : parts_)
    s = std::max({s, net.seconds(p.format.bytes()),
                  p.last > p.split ? net.seconds((p.last - p.split) * sizeof(Scalar)) : 0.0});
  return s;
}

template <class Scalar>
QuantizedGradientExchange<Scalar>::QuantizedGradientExchange(const ExchangeContext& ctx, Index d,
                                                             bool dynamic, std::int64_t bits,
                                                             const LevelRule& rule)
    : ctx_(ctx),
      d_(d),
      dynamic_(dynamic),
      rule_(rule),
      levels_(dynamic ? rule.max_levels : (std::int64_t(1) << bits) - 1),
      rng_(ctx.seed, Stream::Quantize, static_cast<std::uint32_t>(ctx.comm.rank())) {
  check_counter_room(ctx, d);
  const auto widest = kernels::quantized_format<Scalar>(d, dynamic ? rule_.max_levels : levels_);
  send_ = WordVector("olsgd::algo::quantized_send", widest.words());
  recv_ = WordVector("olsgd::algo::quantized_recv", widest.words() * ctx.comm.size());
}

template <class Scalar>
double QuantizedGradientExchange<Scalar>::reduce(Index k, const Vector<Scalar>& grad,
                                                 SyncRecord& r) {
  const int m = ctx_.comm.size();
  const auto f = kernels::quantized_format<Scalar>(d_, levels_);
  const WordVector send = Kokkos::subview(send_, std::make_pair(Index(0), f.words()));
  const WordVector recv = Kokkos::subview(recv_, std::make_pair(Index(0), m * f.words()));
  ctx_.compute([&] {
    const Scalar norm = static_cast<Scalar>(kernels::norm2(ctx_.exec, grad));
    kernels::quantize_pack(ctx_.exec, grad, norm, f, rng_, std::uint64_t(k) << 32, send);
  });
  {
    Timers::Scope t(ctx_.timers, Phase::Comm);
    const auto start = std::chrono::steady_clock::now();
    const double peer0 = ctx_.comm.peer_wait_s();
    ctx_.comm.allgather(ctx_.exec, send, recv);
    r.t_exposed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // A blocking collective hides nothing: its network time is what held the rank once the
    // last rank had posted.
    r.t_network = r.t_exposed - (ctx_.comm.peer_wait_s() - peer0);
  }
  double g2 = 0;
  ctx_.compute([&] {
    kernels::dequantize_mean(ctx_.exec, recv, m, f, grad);
    if (dynamic_) g2 = kernels::mean_squared_norm<Scalar>(ctx_.exec, recv, m, f);
  });
  r.levels = static_cast<double>(levels_);
  if (dynamic_) levels_ = rule_.levels(k + 1, g2);
  r.delay = ctx_.comm.network_model().seconds(f.bytes());
  return 1.0;  // grad holds the decoded mean
}

template class QuantizedAnchorExchange<float>;
template class QuantizedAnchorExchange<double>;
template class QuantizedGradientExchange<float>;
template class QuantizedGradientExchange<double>;

namespace {
// Words of one message of d numbers at `bits` (the norm, then 1 + bits words per 32).
double message_bytes(double d, double bits, double scalar_bytes) {
  return 4 * (scalar_bytes / 4 + std::ceil(d / 32) * (1 + bits));
}

template <class Scalar>
std::unique_ptr<AnchorExchange<Scalar>> make(const ExchangeContext& ctx, const Config& c, Index d,
                                             double /*calibrated_s*/) {
  return std::make_unique<QuantizedAnchorExchange<Scalar>>(ctx, d, c.quantize.bits);
}
}  // namespace

double quantized_scratch_bytes(double d, double bits, double scalar_bytes, int ranks) {
  // This rank's message, everyone's, and the decoded vector.
  return (ranks + 1) * message_bytes(d, bits, scalar_bytes) + d * scalar_bytes;
}

extern const AnchorExchangeEntry kQuantizedAnchorExchange = {
    "quantize",
    "QSGD-quantized moves away from the anchor at quantize.bits, by MPI_Iallgather",
    "+quantized_anchor",
    [](const Config&) { return std::vector<std::string>{"quantize.bits"}; },
    1,  // anchor
    [](const Config& c, double d, double w, int ranks) {
      return quantized_scratch_bytes(d, static_cast<double>(c.quantize.bits), w, ranks);
    },
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
