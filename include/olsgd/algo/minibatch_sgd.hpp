#pragma once
// Minibatch SGD (docs/algorithms.md §1a) over a gradient exchange: every step the ranks'
// gradients are combined (blocking) and every rank applies the same update, so the model
// stays replicated. Over the plain exchange (one allreduce of d numbers) this is minibatch
// SGD; over the quantized one it is QSGD, or DQ-SGD with levels chosen every step
// (docs/algorithms.md §5). Momentum and weight decay act on the combined gradient locally:
// x is replicated, so the decay term needs no communication.
// State: params (replicated) | momentum (optional); the exchange's host state.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/algo/exchange.hpp>

#include <memory>

namespace olsgd {

template <class Scalar>
class MinibatchSgd final : public Algorithm<Scalar> {
 public:
  // `name`: what the run reports (minibatch_sgd, qsgd, dq_sgd).
  MinibatchSgd(AlgorithmContext<Scalar> ctx, const GradientExchangeFactory<Scalar>& exchange,
               std::string name);
  std::string name() const override { return name_; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;
  void save_host(HostState& h) const override {
    Algorithm<Scalar>::save_host(h);
    exchange_->save_host(h);
  }
  void load_host(const HostState& h) override {
    Algorithm<Scalar>::load_host(h);
    exchange_->load_host(h);
  }

 private:
  std::string name_;
  std::unique_ptr<GradientExchange<Scalar>> exchange_;
};

}  // namespace olsgd
