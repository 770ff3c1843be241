#pragma once
// The two-level anchor exchange (docs/algorithms.md §2f): ranks form groups (a node, or k
// consecutive ranks) that average their models every tau steps, blocking, over the cheap
// network inside the group; the anchor average crosses the slow network between groups every
// H rounds, overlapped. Only 1/k of the model per rank crosses: the group reduce-scatters the
// send buffer, each member averages its range with the members of equal index in the other
// groups (MPI_Iallreduce), and the group allgathers the ranges when that completes.
#include <olsgd/algo/exchange.hpp>
#include <olsgd/comm/communicator.hpp>
#include <olsgd/comm/request.hpp>

#include <memory>
#include <string>
#include <vector>

namespace olsgd {

// How ranks form groups and how often the groups meet.
struct GroupParams {
  int size = 0;                // ranks per group; 0: the ranks sharing a node
  Index rounds = 1;            // H: group averages (every tau steps) per cross-group average
  comm::NetworkModel network;  // the injected network inside a group
  static GroupParams from(const Config& c);
};

// Whether the deck asks for two levels (algorithm.group_size other than none).
inline bool two_levels(const Config& c) {
  return c.algorithm.group_size != "none";
}
// The problem with algorithm.group_size on `ranks` ranks, or "" (none, node, or k dividing it).
std::string group_size_problem(const std::string& value, int ranks);

// This rank's group (collective over `world`): k consecutive ranks, or the ranks sharing a
// node, with the group network. Every group must hold as many ranks (an InputError naming
// algorithm.group_size, from `source`, otherwise).
std::unique_ptr<comm::Communicator> group_communicator(comm::Communicator& world,
                                                       const GroupParams& p,
                                                       const std::string& source);

// State segments: send (this rank's model / m) | anchor (the average lands there).
template <class Scalar>
class TwoLevelAnchorExchange final : public AnchorExchange<Scalar> {
 public:
  // Collective over ctx.comm (splits it). The network between groups is ctx.comm's model.
  TwoLevelAnchorExchange(const ExchangeContext& ctx, Index d, const GroupParams& p);
  void declare(FlatState<Scalar>& state) override;
  void start(const FlatState<Scalar>& state) override;
  Vector<Scalar> anchor() const override { return segments_.state->segment(segments_.anchor); }
  typename AnchorExchange<Scalar>::Message message() const override;
  void complete(int fragment) override;
  void progress() override;
  void post(Index k, int fragment) override;
  double network_seconds() const override { return cross_s_; }
  double injected_seconds() const override;
  Index inner_rounds() const override { return p_.rounds; }
  void average_group(const Vector<Scalar>& x) override;
  double group_network_seconds() const override { return group_s_; }
  double group_injected_seconds() const override;

 private:
  Vector<Scalar> mine(const Vector<Scalar>& v) const;  // this member's range

  ExchangeContext ctx_;
  Index d_;
  GroupParams p_;
  std::unique_ptr<comm::Communicator> group_, cross_;
  std::vector<int> counts_;  // each group member's range, in member order
  Index first_ = 0;          // where this member's range starts
  double cross_s_ = 0, group_s_ = 0;
  SendAndAnchor<Scalar> segments_;
  Vector<Scalar> slice_;   // the group's sum of this member's range: the cross request's send
  comm::Request request_;  // declared after its buffers and communicators: completes first
  bool posted_ = false;    // an average in flight, not yet gathered
};

template <class Scalar>
AnchorExchangeFactory<Scalar> two_level_anchor_exchange(const GroupParams& p) {
  return [p](const ExchangeContext& ctx, Index d,
             double /*calibrated_s*/) -> std::unique_ptr<AnchorExchange<Scalar>> {
    return std::make_unique<TwoLevelAnchorExchange<Scalar>>(ctx, d, p);
  };
}

}  // namespace olsgd
