#include <olsgd/algo/plain_exchange.hpp>
#include <olsgd/kernels/vector_ops.hpp>

namespace olsgd {

template <class Scalar>
PlainAnchorExchange<Scalar>::PlainAnchorExchange(const ExchangeContext& ctx, Index d,
                                                 double calibrated_s)
    : ctx_(ctx), d_(d), calibrated_s_(calibrated_s), requests_(1) {}

template <class Scalar>
void PlainAnchorExchange<Scalar>::declare(FlatState<Scalar>& state) {
  segments_.declare(state, d_);
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::start(const FlatState<Scalar>& /*state*/) {
  segments_.start(ctx_.exec);  // z = x0 until the first average
}

template <class Scalar>
typename AnchorExchange<Scalar>::Message PlainAnchorExchange<Scalar>::message() const {
  // The pull folds the average's 1/m into the send buffer: the allreduce alone averages. A
  // weighted part carries its weight; complete() divides by the weights' sum.
  return {segments_.state->segment(segments_.send), weighted_ ? beside_[0] : 1.0 / ctx_.comm.size(),
          false};
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::weigh(double weight, int steps) {
  weighted_ = true;
  beside_[0] = weight;
  beside_[1] = steps;
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::split(int fragments) {
  if (fragments == fragments_) return;
  fragments_ = fragments;
  requests_.resize(static_cast<std::size_t>(fragments));
  // What one fragment's allreduce costs unhidden, as the algorithm measured the whole one's
  // (collective: every rank splits alike).
  calibrated_s_ = ctx_.comm.unhidden_allreduce_s(fragment_bytes());
}

template <class Scalar>
std::size_t PlainAnchorExchange<Scalar>::fragment_bytes() const {
  // The largest: the last, ceil(d / fragments) (fragment_range rounds the starts down).
  const auto [first, last] = fragment_range(d_, fragments_, fragments_ - 1);
  return static_cast<std::size_t>(last - first) * sizeof(Scalar);
}

template <class Scalar>
Vector<Scalar> PlainAnchorExchange<Scalar>::part(std::size_t segment, int f) const {
  const auto [first, last] = fragment_range(d_, fragments_, f);
  return Kokkos::subview(segments_.state->segment(segment), std::make_pair(first, last));
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::complete(int fragment) {
  if (fragment == AnchorExchange<Scalar>::kAll) {
    for (int f = 0; f < fragments_; ++f) complete(f);
    return;
  }
  // (progress() may have completed the weights' request already.)
  const bool weighted = weights_posted_;
  weights_posted_ = false;
  {
    Timers::Scope t(ctx_.timers, Phase::Wait);
    requests_[static_cast<std::size_t>(fragment)].wait();
    beside_request_.wait();  // posted with it, so (all but) done
  }
  if (weighted) {
    double total = 0;  // in rank order on every rank: the same sum everywhere
    steps_by_rank_.resize(static_cast<std::size_t>(ctx_.comm.size()));
    for (std::size_t r = 0; r < steps_by_rank_.size(); ++r) {
      total += gathered_[2 * r];
      steps_by_rank_[r] = static_cast<int>(gathered_[2 * r + 1]);
    }
    ctx_.compute([&] { kernels::scale(ctx_.exec, anchor(), static_cast<Scalar>(1.0 / total)); });
  }
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::progress() {
  Timers::Scope t(ctx_.timers, Phase::Comm);
  for (comm::Request& r : requests_)
    if (r.active()) r.test();
  if (beside_request_.active()) beside_request_.test();
}

template <class Scalar>
void PlainAnchorExchange<Scalar>::post(Index k, int fragment) {
  if (fragment == AnchorExchange<Scalar>::kAll) {
    for (int f = 0; f < fragments_; ++f) post(k, f);
    return;
  }
  Timers::Scope t(ctx_.timers, Phase::Comm);
  requests_[static_cast<std::size_t>(fragment)] = ctx_.comm.iallreduce_sum(
      ctx_.exec, part(segments_.send, fragment), part(segments_.anchor, fragment));
  if (weighted_) {
    gathered_.resize(2 * static_cast<std::size_t>(ctx_.comm.size()));
    beside_request_ = ctx_.comm.iallgather_beside(beside_, 2, gathered_.data());
    weights_posted_ = true;
  }
}

template <class Scalar>
double PlainAnchorExchange<Scalar>::injected_seconds() const {
  return ctx_.comm.network_model().seconds(fragment_bytes());
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
