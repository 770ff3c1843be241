#include <olsgd/algo/plain_exchange.hpp>

namespace olsgd {

template <class Scalar>
PlainAnchorExchange<Scalar>::PlainAnchorExchange(const ExchangeContext& ctx, Index d,
                                                 double calibrated_s)
    : ctx_(ctx), d_(d), calibrated_s_(calibrated_s) {}

template <class Scalar>
void PlainAnchorExchange<Scalar>::declare(FlatState<Scalar>& state) {
  send_ = state.add("send", static_cast<std::size_t>(d_));
  anchor_ = state.add("anchor", static_cast<std::size_t>(d_));
  state_ = &state;
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::start(const FlatState<Scalar>& state) {
  Kokkos::deep_copy(ctx_.exec, anchor(), state.segment(0));  // z = x0 until the first average
  ctx_.exec.fence();
}

template <class Scalar>
typename AnchorExchange<Scalar>::Message PlainAnchorExchange<Scalar>::message() const {
  // The pull folds the average's 1/m into the send buffer: the allreduce alone averages.
  return {state_->segment(send_), 1.0 / ctx_.comm.size(), false};
}

template <class Scalar>
double PlainAnchorExchange<Scalar>::complete() {
  Timers::Scope t(ctx_.timers, Phase::Wait);
  return request_.wait();
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::progress() {
  if (!request_.active()) return;
  Timers::Scope t(ctx_.timers, Phase::Comm);
  request_.test();
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::post(Index /*k*/) {
  Timers::Scope t(ctx_.timers, Phase::Comm);
  request_ = ctx_.comm.iallreduce_sum(ctx_.exec, state_->segment(send_), anchor());
}

template <class Scalar>
double PlainAnchorExchange<Scalar>::injected_seconds() const {
  return ctx_.comm.network_model().seconds(static_cast<std::size_t>(d_) * sizeof(Scalar));
}

template <class Scalar>
double PlainGradientExchange<Scalar>::reduce(Index /*k*/, const Vector<Scalar>& grad,
                                             SyncRecord& r) {
  const double before = ctx_.timers.seconds(Phase::Comm);
  {
    Timers::Scope t(ctx_.timers, Phase::Comm);
    ctx_.comm.allreduce_sum(ctx_.exec, grad);
  }
  r.t_exposed = ctx_.timers.seconds(Phase::Comm) - before;
  r.t_network = calibrated_s_;
  r.delay = ctx_.comm.network_model().seconds(grad.extent(0) * sizeof(Scalar));
  return 1.0 / ctx_.comm.size();  // grad holds the sum
}

template class PlainAnchorExchange<float>;
template class PlainAnchorExchange<double>;
template class PlainGradientExchange<float>;
template class PlainGradientExchange<double>;

namespace {
template <class Scalar>
std::unique_ptr<AnchorExchange<Scalar>> make(const ExchangeContext& ctx, const Config&, Index d,
                                             double calibrated_s) {
  return std::make_unique<PlainAnchorExchange<Scalar>>(ctx, d, calibrated_s);
}
}  // namespace

extern const AnchorExchangeEntry kPlainAnchorExchange = {
    "none",
    "the models, averaged by MPI_Iallreduce",
    "",
    [](const Config&) { return std::vector<std::string>{}; },
    2,  // send, anchor
    nullptr,
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
