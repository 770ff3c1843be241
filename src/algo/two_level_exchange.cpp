#include <olsgd/algo/two_level_exchange.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/kernels/vector_ops.hpp>

namespace olsgd {

GroupParams GroupParams::from(const Config& c) {
  GroupParams p;
  std::int64_t k = 0;
  if (c.algorithm.group_size != "node" && parse_int(c.algorithm.group_size, k))
    p.size = static_cast<int>(k);
  p.rounds = c.algorithm.group_rounds;
  p.network = {c.comm.group_delay_s, c.comm.group_latency_s, c.comm.group_bandwidth_Bps};
  return p;
}

std::string group_size_problem(const std::string& value, int ranks) {
  if (value == "none" || value == "node") return "";
  std::int64_t k = 0;
  if (!parse_int(value, k) || k < 1)
    return "must be none, node or a number of ranks per group (at least 1), got '" + value + "'";
  if (ranks % k != 0)
    return std::to_string(k) + " ranks per group do not divide the " + plural(ranks, "rank") +
           " of the run";
  return "";
}

std::unique_ptr<comm::Communicator> group_communicator(comm::Communicator& world,
                                                       const GroupParams& p,
                                                       const std::string& source) {
  auto group =
      p.size > 0 ? world.split(world.rank() / p.size, world.rank()) : world.split_by_node();
  // Equal groups keep the average the plain mean (nodes may hold different rank counts).
  const int k = group->size();
  if (world.max_uncounted(k) != -world.max_uncounted(-k))
    throw InputError(source,
                     "algorithm.group_size: node: the nodes hold different numbers of "
                     "ranks; give a group size that divides the run's ranks");
  group->set_network_model(p.network);
  return group;
}

template <class Scalar>
TwoLevelAnchorExchange<Scalar>::TwoLevelAnchorExchange(const ExchangeContext& ctx, Index d,
                                                       const GroupParams& p)
    : ctx_(ctx), d_(d), p_(p) {
  comm::Communicator& world = ctx.comm;
  group_ = group_communicator(world, p, ctx.source);
  const int k = group_->size();
  // Members of equal index across the groups, in rank order: one range each over the slow link.
  cross_ = world.split(group_->rank(), world.rank());
  cross_->set_network_model(world.network_model());
  for (int s = 0; s < k; ++s) {
    const auto [lo, hi] = fragment_range(d, k, s);
    counts_.push_back(static_cast<int>(hi - lo));
    if (s == group_->rank()) first_ = lo;
  }
  slice_ = Vector<Scalar>("two_level_range", static_cast<std::size_t>(counts_[group_->rank()]));
  // What the cross-group average of one range costs unhidden (as the algorithm measured the
  // whole one's), and the group's blocking average of the whole model. Collective.
  const std::size_t range_bytes = static_cast<std::size_t>(counts_[0]) * sizeof(Scalar);
  const std::size_t model_bytes = static_cast<std::size_t>(d) * sizeof(Scalar);
  cross_s_ = cross_->unhidden_allreduce_s(range_bytes);
  group_s_ = k > 1 ? group_->unhidden_allreduce_s(model_bytes) : 0.0;
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::declare(FlatState<Scalar>& state) {
  segments_.declare(state, d_);
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::start(const FlatState<Scalar>& /*state*/) {
  segments_.start(ctx_.exec);  // z = x0 until the first average
}

template <class Scalar>
typename AnchorExchange<Scalar>::Message TwoLevelAnchorExchange<Scalar>::message() const {
  return {segments_.state->segment(segments_.send), 1.0 / ctx_.comm.size(),
          false};  // summed over all ranks
}

template <class Scalar>
Vector<Scalar> TwoLevelAnchorExchange<Scalar>::mine(const Vector<Scalar>& v) const {
  return Kokkos::subview(v, std::make_pair(first_, first_ + static_cast<Index>(slice_.extent(0))));
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::average_group(const Vector<Scalar>& x) {
  if (group_->size() == 1) return;
  {
    Timers::Scope t(ctx_.timers, Phase::Comm);
    group_->allreduce_sum(ctx_.exec, x);
  }
  ctx_.compute([&] { kernels::scale(ctx_.exec, x, static_cast<Scalar>(1.0 / group_->size())); });
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::post(Index /*k*/, int /*fragment*/) {
  Timers::Scope t(ctx_.timers, Phase::Comm);
  const Vector<Scalar> send = segments_.state->segment(segments_.send);
  if (group_->size() > 1) {
    group_->reduce_scatter_sum(ctx_.exec, send, slice_, counts_);
  } else {
    Kokkos::deep_copy(ctx_.exec, slice_, send);
  }
  request_ = cross_->iallreduce_sum(ctx_.exec, slice_, mine(anchor()));
  posted_ = true;
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::complete(int /*fragment*/) {
  if (!posted_) return;
  posted_ = false;
  Timers::Scope t(ctx_.timers, Phase::Wait);
  request_.wait();
  if (group_->size() > 1) group_->allgather_ranges(ctx_.exec, anchor(), counts_);
}

template <class Scalar>
void TwoLevelAnchorExchange<Scalar>::progress() {
  Timers::Scope t(ctx_.timers, Phase::Comm);
  if (request_.active()) request_.test();
}

template <class Scalar>
double TwoLevelAnchorExchange<Scalar>::injected_seconds() const {
  return cross_->network_model().seconds(static_cast<std::size_t>(counts_[0]) * sizeof(Scalar));
}

template <class Scalar>
double TwoLevelAnchorExchange<Scalar>::group_injected_seconds() const {
  return group_->size() > 1
             ? group_->network_model().seconds(static_cast<std::size_t>(d_) * sizeof(Scalar))
             : 0.0;
}

template class TwoLevelAnchorExchange<float>;
template class TwoLevelAnchorExchange<double>;

}  // namespace olsgd
