#include <olsgd/algo/minibatch_sgd.hpp>
#include <olsgd/algo/plain_exchange.hpp>
#include <olsgd/algo/quantized_exchange.hpp>
#include <olsgd/algo/registry.hpp>

namespace olsgd {

template <class Scalar>
MinibatchSgd<Scalar>::MinibatchSgd(AlgorithmContext<Scalar> ctx,
                                   const GradientExchangeFactory<Scalar>& exchange,
                                   std::string name)
    : Algorithm<Scalar>(ctx), name_(std::move(name)) {
  this->allocate_state();
  exchange_ = exchange({ctx.exec, ctx.comm, ctx.timers, this->compute_timer(), ctx.local.seed,
                        ctx.local.source, ctx.model.num_buffers()},
                       ctx.model.num_params(), this->network_seconds());
}

template <class Scalar>
double MinibatchSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  const double loss = this->compute_gradient(batch, want_loss);
  SyncRecord r;
  const double scale = exchange_->reduce(k, this->grad_, r);
  this->report_sync(k, r, r.t_network, r.delay);
  this->local_step(k, scale);  // the average's 1/m folded into the update where it is a sum
  return loss;
}

template class MinibatchSgd<float>;
template class MinibatchSgd<double>;

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_plain(const TrainingContext<Scalar>& t) {
  return std::make_unique<MinibatchSgd<Scalar>>(
      t,
      [](const ExchangeContext& ctx, Index,
         double calibrated_s) -> std::unique_ptr<GradientExchange<Scalar>> {
        return std::make_unique<PlainGradientExchange<Scalar>>(ctx, calibrated_s);
      },
      "minibatch_sgd");
}

template <class Scalar, bool Dynamic>
std::unique_ptr<Algorithm<Scalar>> make_quantized(const TrainingContext<Scalar>& t) {
  const Config& c = t.config;
  const int ranks = t.comm.size();
  return std::make_unique<MinibatchSgd<Scalar>>(
      t,
      [&c, ranks](const ExchangeContext& ctx, Index d,
                  double) -> std::unique_ptr<GradientExchange<Scalar>> {
        return std::make_unique<QuantizedGradientExchange<Scalar>>(ctx, d, Dynamic, c.quantize.bits,
                                                                   LevelRule::from(c, d, ranks));
      },
      Dynamic ? "dq_sgd" : "qsgd");
}

double local_copies(const Config& c) {
  return c.optimizer.momentum > 0 ? 2 : 1;  // params, local momentum
}

std::vector<std::string> with_local_optimizer(std::vector<std::string> keys) {
  std::vector<std::string> all = local_optimizer_keys();
  all.insert(all.end(), keys.begin(), keys.end());
  return all;
}
}  // namespace

extern const AlgorithmEntry kMinibatchSgd = {
    "minibatch_sgd",
    "the gradients averaged (blocking allreduce) every step",
    [](const Config&) { return local_optimizer_keys(); },
    nullptr,
    &local_copies,
    nullptr,
    nullptr,
    &make_plain<float>,
    &make_plain<double>,
};

extern const AlgorithmEntry kQsgd = {
    "qsgd",
    "minibatch SGD over QSGD-quantized gradients (quantize.bits), by MPI_Allgather",
    [](const Config&) { return with_local_optimizer({"quantize.bits"}); },
    nullptr,
    &local_copies,
    nullptr,
    [](const Config& c, double d, double w, int ranks) {
      return quantized_scratch_bytes(d, static_cast<double>(c.quantize.bits), w, ranks);
    },
    &make_quantized<float, false>,
    &make_quantized<double, false>,
};

extern const AlgorithmEntry kDqSgd = {
    "dq_sgd",
    "qsgd with the levels of each step chosen by the DQ-SGD error bound",
    [](const Config&) {
      return with_local_optimizer({"quantize.min_levels", "quantize.max_levels",
                                   "quantize.target_error", "quantize.smoothness",
                                   "quantize.strong_convexity"});
    },
    [](const Config& c, const DeckCheck& deck) {
      const auto& q = c.quantize;
      deck.require(q.min_levels <= q.max_levels, "quantize.min_levels",
                   "must not exceed quantize.max_levels (" + std::to_string(q.max_levels) + ")");
    },
    &local_copies,
    nullptr,
    [](const Config&, double d, double w, int ranks) {
      return quantized_scratch_bytes(d, 16, w, ranks);  // the widest levels it may pick
    },
    &make_quantized<float, true>,
    &make_quantized<double, true>,
};

}  // namespace olsgd
