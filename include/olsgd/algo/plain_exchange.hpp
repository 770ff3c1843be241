#pragma once
// The exchanges that send the numbers themselves: MPI_Iallreduce of the scaled models into
// the anchor, and the blocking MPI_Allreduce of the gradients.
#include <olsgd/algo/exchange.hpp>
#include <olsgd/comm/request.hpp>

#include <vector>

namespace olsgd {

// State segments: send (this rank's model / m, the request's send buffer) | anchor (its
// receive buffer: the average lands there). Split into fragments, each range has its own
// request (weighted parts: one fragment only).
template <class Scalar>
class PlainAnchorExchange final : public AnchorExchange<Scalar> {
 public:
  // `calibrated_s`: what one allreduce of d numbers costs on this network unhidden (measured
  // + the injected delay).
  PlainAnchorExchange(const ExchangeContext& ctx, Index d, double calibrated_s);
  void declare(FlatState<Scalar>& state) override;
  void start(const FlatState<Scalar>& state) override;
  Vector<Scalar> anchor() const override { return segments_.state->segment(segments_.anchor); }
  typename AnchorExchange<Scalar>::Message message() const override;
  void split(int fragments) override;
  void complete(int fragment) override;
  void progress() override;
  void post(Index k, int fragment) override;
  void weigh(double weight, int steps) override;
  const std::vector<int>& steps_by_rank() const override { return steps_by_rank_; }
  double network_seconds() const override { return calibrated_s_; }
  double injected_seconds() const override;

 private:
  ExchangeContext ctx_;
  Index d_;
  double calibrated_s_;
  SendAndAnchor<Scalar> segments_;
  // Bytes of the largest fragment; fragment f of a state segment.
  std::size_t fragment_bytes() const;
  Vector<Scalar> part(std::size_t segment, int f) const;
  int fragments_ = 1;
  std::vector<comm::Request> requests_;  // one per fragment
  // Weighted: this rank's {weight, steps}, every rank's after the gather, and what completed.
  bool weighted_ = false;
  bool weights_posted_ = false;  // with the average in flight
  double beside_[2] = {1, 0};
  std::vector<double> gathered_;
  std::vector<int> steps_by_rank_;
  comm::Request beside_request_;  // declared after its buffers: completes before they go
};

template <class Scalar>
class PlainGradientExchange final : public GradientExchange<Scalar> {
 public:
  PlainGradientExchange(const ExchangeContext& ctx, double calibrated_s)
      : ctx_(ctx), calibrated_s_(calibrated_s) {}
  double reduce(Index k, const Vector<Scalar>& grad, SyncRecord& record) override;

 private:
  ExchangeContext ctx_;
  double calibrated_s_;
};

template <class Scalar>
AnchorExchangeFactory<Scalar> plain_anchor_exchange() {
  return [](const ExchangeContext& ctx, Index d,
            double calibrated_s) -> std::unique_ptr<AnchorExchange<Scalar>> {
    return std::make_unique<PlainAnchorExchange<Scalar>>(ctx, d, calibrated_s);
  };
}

}  // namespace olsgd
