#include <olsgd/algo/overlap_local_sgd.hpp>
#include <olsgd/algo/plain_exchange.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/algo/two_level_exchange.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/kernels/overlap.hpp>

#include <algorithm>
#include <stdexcept>

namespace olsgd {
namespace {
// A real copy (create_mirror_view_and_copy would alias a View already in MemSpace).
template <class Scalar>
ConstVector<Scalar> snapshot(const ExecSpace& exec, const Vector<Scalar>& v) {
  Vector<Scalar> copy(Kokkos::view_alloc(Kokkos::WithoutInitializing, v.label() + "_seen"),
                      v.extent(0));
  Kokkos::deep_copy(exec, copy, v);
  exec.fence();
  return copy;
}
}  // namespace

OverlapParams OverlapParams::from(const Config& c) {
  OverlapParams p;
  p.tau = c.algorithm.tau;
  p.alpha = c.algorithm.alpha;
  p.anchor_momentum = c.algorithm.anchor_momentum;
  p.progress_every = c.comm.progress_every;
  p.fragments = static_cast<int>(c.algorithm.fragments);
  p.local_steps = LocalStepsParams::from(c);
  p.steps = c.run.steps;
  return p;
}

template <class Scalar>
OverlapLocalSgd<Scalar>::OverlapLocalSgd(AlgorithmContext<Scalar> ctx, const OverlapParams& p,
                                         const AnchorExchangeFactory<Scalar>& exchange,
                                         std::string name,
                                         const typename Algorithm<Scalar>::MoreSegments& more,
                                         bool momentum_variant)
    : Algorithm<Scalar>(ctx, true, more),
      p_(p),
      local_steps_(p.local_steps, p.steps, ctx.comm.rank(), ctx.comm.size()),
      name_(std::move(name)),
      momentum_variant_(momentum_variant) {
  const Index d = ctx.model.num_params();
  exchange_ = exchange({ctx.exec, ctx.comm, ctx.timers, this->compute_timer(), ctx.local.seed,
                        ctx.local.source, ctx.model.num_buffers()},
                       d, this->network_seconds());
  if (p.fragments > d)
    throw InputError(ctx.local.source, "algorithm.fragments: " + std::to_string(p.fragments) +
                                           " fragments of a model with " + std::to_string(d) +
                                           " parameters (at most one per parameter)");
  exchange_->split(p.fragments);
  exchange_->declare(this->state_);
  if (momentum_variant)
    anchor_momentum_ = this->state_.add("anchor_momentum", static_cast<std::size_t>(d));
  this->allocate_state();  // zeros, then x0 into params
  exchange_->start(this->state_);
  // The momentum pull writes a scaled contribution, not a move away from the anchor.
  if (momentum_variant && exchange_->message().difference)
    throw std::logic_error("overlap momentum variant: needs an exchange of scaled models");
}

template <class Scalar>
double OverlapLocalSgd<Scalar>::step_with(Index k, const IndexVector& batch, bool want_loss,
                                          bool may_sync) {
  double loss = kUnknown;  // an idle slot has no minibatch loss
  if (local_steps_.step_now(k, this->compute_since_sync())) {
    loss = this->compute_gradient(batch, want_loss);
    this->local_step(k, 1.0);
    local_steps_.stepped(this->compute_since_sync());
  }
  if (p_.progress_every > 0 && (k + 1) % p_.progress_every == 0) {
    // It drives the request in flight (on one core per rank, the transport's copies happen in
    // it): held time of the next sync.
    const double before = this->ctx_.timers.seconds(Phase::Comm);
    exchange_->progress();
    this->hold_for_next_sync(this->ctx_.timers.seconds(Phase::Comm) - before);
  }
  if (may_sync) {
    if (const int f = fragment_due(k); f >= 0)
      sync(k, f);
    else if ((k + 1) % p_.tau == 0)
      average_group(k);  // two levels: an inner round's end (one level: never here)
  }
  return loss;
}

template <class Scalar>
int OverlapLocalSgd<Scalar>::fragment_due(Index k) const {
  // The deck check makes it whole (fragments and two levels do not combine).
  const Index period = p_.tau * exchange_->inner_rounds() / p_.fragments;
  if ((k + 1) % period != 0) return -1;
  return static_cast<int>(((k + 1) / period - 1) % p_.fragments);
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::sync(Index k, int f) {
  auto& ctx = this->ctx_;
  SyncRecord r;
  const double before = ctx.timers.seconds(Phase::Comm),
               wait_before = ctx.timers.seconds(Phase::Wait);
  exchange_->average_group(this->params());  // two levels: the group's model is pulled and sent
  exchange_->complete(f);                    // z := the average posted at the previous sync
  r.t_wait = ctx.timers.seconds(Phase::Wait) - wait_before;
  release_pending();
  if (local_steps_.timed()) {
    const int n = local_steps_.end_round(ctx.comm);
    exchange_->weigh(local_steps_.weight(n), n);
  }
  SyncBuffers<Scalar> buffers;
  // Copies, so observers see the anchor as consumed even after the next post.
  if (this->observing_buffers()) buffers.anchor_used = snapshot(ctx.exec, exchange_->anchor());
  const auto msg = exchange_->message();
  // (Not a structured binding: C++17 lambdas cannot capture one, and clang enforces it.)
  const auto range = fragment_range(ctx.model.num_params(), p_.fragments, f);
  const Index first = range.first, last = range.second;
  // The anchor momentum moves the trained parameters; the running statistics get the plain
  // pull (extrapolated, a running variance could turn negative).
  const Index split = momentum_variant_ ? std::clamp(this->trained(), first, last) : first;
  auto part = [](const Vector<Scalar>& v, Index a, Index b) {
    return Kokkos::subview(v, std::make_pair(a, b));
  };
  this->compute_timed([&] {
    const auto z = exchange_->anchor();
    if (split > first)
      kernels::pull_to_anchor_momentum(
          ctx.exec, part(this->params(), first, split), part(z, first, split),
          part(this->state_.segment(anchor_momentum_), first, split),
          part(msg.buffer, first, split), p_.alpha, p_.anchor_momentum, this->lr(k), msg.scale);
    const auto x = part(this->params(), split, last), zp = part(z, split, last),
               send = part(msg.buffer, split, last);
    if (msg.difference)
      kernels::pull_and_difference(ctx.exec, x, zp, send, p_.alpha);
    else
      kernels::pull_to_anchor(ctx.exec, x, zp, send, p_.alpha, msg.scale);
  });
  if (this->observing_buffers()) buffers.posted = snapshot(ctx.exec, msg.buffer);
  exchange_->post(k, f);
  r.t_exposed = r.t_wait + (ctx.timers.seconds(Phase::Comm) - before);
  const double network = exchange_->network_seconds(), injected = exchange_->injected_seconds();
  if (local_steps_.timed())
    pending_ = Pending{this->close_sync(k, r, network, injected), buffers};
  else
    this->report_sync(k, r, network, injected, buffers);
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::average_group(Index k) {
  SyncRecord r;
  const double before = this->ctx_.timers.seconds(Phase::Comm);
  exchange_->average_group(this->params());
  r.t_exposed = this->ctx_.timers.seconds(Phase::Comm) - before;
  this->report_sync(k, r, exchange_->group_network_seconds(), exchange_->group_injected_seconds());
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::release_pending() {
  if (!pending_) return;
  pending_->record.local_steps = exchange_->steps_by_rank();
  this->emit(pending_->record, pending_->buffers);
  pending_.reset();
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::finish() {
  const double before = this->ctx_.timers.seconds(Phase::Wait);
  exchange_->complete(AnchorExchange<Scalar>::kAll);
  this->hold_for_next_sync(this->ctx_.timers.seconds(Phase::Wait) - before);
  release_pending();
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::save_host(HostState& h) const {
  Algorithm<Scalar>::save_host(h);
  if (local_steps_.timed()) h["algorithm.round_budget_s"] = local_steps_.budget_s();
}

template <class Scalar>
void OverlapLocalSgd<Scalar>::load_host(const HostState& h) {
  Algorithm<Scalar>::load_host(h);
  if (local_steps_.timed()) local_steps_.set_budget_s(h.at("algorithm.round_budget_s"));
}

template class OverlapLocalSgd<float>;
template class OverlapLocalSgd<double>;

namespace {
std::vector<std::string> overlap_keys(const Config& c, bool momentum_variant) {
  std::vector<std::string> keys = local_optimizer_keys();
  keys.insert(keys.end(),
              {"algorithm.tau", "algorithm.alpha", "algorithm.fragments", "algorithm.local_steps",
               "algorithm.group_size", "comm.progress_every", "comm.progress_thread"});
  if (two_levels(c))
    keys.insert(keys.end(), {"algorithm.group_rounds", "comm.group_delay_s", "comm.group_latency_s",
                             "comm.group_bandwidth_Bps"});
  if (c.algorithm.local_steps == "timed")
    keys.insert(keys.end(),
                {"algorithm.round_budget_s", "algorithm.step_weighting", "algorithm.replay_steps"});
  if (momentum_variant) {
    keys.push_back("algorithm.anchor_momentum");
  } else {
    keys.push_back("algorithm.anchor_compression");
    if (const AnchorExchangeEntry* e = find_anchor_exchange(c.algorithm.anchor_compression))
      for (const std::string& k : e->keys(c)) keys.push_back(k);
  }
  return keys;
}

constexpr const char* kTwoLevelSuffix = "_two_level";

template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  const Config& c = t.config;
  if (two_levels(c))
    return std::make_unique<OverlapLocalSgd<Scalar>>(
        t, OverlapParams::from(c), two_level_anchor_exchange<Scalar>(GroupParams::from(c)),
        std::string("overlap_local_sgd") + kTwoLevelSuffix);
  const AnchorExchangeEntry* e = find_anchor_exchange(c.algorithm.anchor_compression);
  return std::make_unique<OverlapLocalSgd<Scalar>>(
      t, OverlapParams::from(c), anchor_exchange_factory<Scalar>(c),
      std::string("overlap_local_sgd") + (e ? e->suffix : ""));
}

template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_momentum(const TrainingContext<Scalar>& t) {
  const Config& c = t.config;
  const bool two = two_levels(c);
  return std::make_unique<OverlapLocalSgd<Scalar>>(
      t, OverlapParams::from(c),
      two ? two_level_anchor_exchange<Scalar>(GroupParams::from(c))
          : plain_anchor_exchange<Scalar>(),
      std::string("overlap_local_sgd_momentum") + (two ? kTwoLevelSuffix : ""), nullptr, true);
}

double local_momentum_copies(const Config& c) {
  return c.optimizer.momentum > 0 ? 1 : 0;
}
}  // namespace

void check_overlap_fragments(const Config& c, const DeckCheck& deck) {
  const Index f = c.algorithm.fragments;
  if (f == 1) return;
  deck.require(c.algorithm.tau % f == 0, "algorithm.fragments",
               std::to_string(f) + " fragments do not divide algorithm.tau = " +
                   std::to_string(c.algorithm.tau) + " (each syncs tau/F steps after the last)");
  deck.require(c.algorithm.local_steps == "fixed", "algorithm.fragments",
               "fragments and timed rounds do not combine (a round's weights would differ by "
               "fragment); use algorithm.local_steps fixed");
}

void check_overlap_groups(const Config& c, const DeckCheck& deck) {
  const std::string problem = group_size_problem(c.algorithm.group_size, deck.ranks);
  deck.require(problem.empty(), "algorithm.group_size", problem);
  if (!two_levels(c)) return;
  auto alone = [&](bool ok, const char* key, const std::string& what) {
    deck.require(ok, key,
                 what + " and two levels (algorithm.group_size " + c.algorithm.group_size +
                     ") do not combine");
  };
  alone(c.algorithm.fragments == 1, "algorithm.fragments", "a fragmented sync");
  alone(c.algorithm.local_steps == "fixed", "algorithm.local_steps", "timed rounds");
  alone(c.algorithm.anchor_compression == "none", "algorithm.anchor_compression",
        "the " + c.algorithm.anchor_compression + " anchor exchange");
}

void check_overlap_local_steps(const Config& c, const DeckCheck& deck) {
  if (c.algorithm.local_steps != "timed") return;
  deck.require(c.algorithm.anchor_compression == "none", "algorithm.local_steps",
               "timed rounds weigh each rank's model in the average, which the " +
                   c.algorithm.anchor_compression +
                   " anchor exchange does not do (use algorithm.anchor_compression none)");
  // (A run in epochs has its steps once the data are read: LocalSteps checks it then.)
  if (c.run.epochs == 0)
    deck.require(c.run.steps % c.algorithm.tau == 0, "run.steps",
                 timed_rounds_problem(c.run.steps, c.algorithm.tau));
}

void check_overlap_alpha(const Config& c, const DeckCheck& deck) {
  // alpha = 1 is accepted (a test uses it: every rank then holds the anchor after a sync) but
  // is degenerate: the model is replaced by the one-round-stale anchor, which is what every
  // rank sent, so nothing ever leaves x0.
  if (c.algorithm.alpha == 1)
    deck.warn("algorithm.alpha",
              "1 replaces the model by the one-round-stale anchor at every sync, so training "
              "never leaves x0 (use alpha in (0, 1))");
}

void check_no_division_by_a_zero_lr(const Config& c, const DeckCheck& deck, Index first_sync,
                                    const std::string& rule, const std::string& period_key) {
  const bool zero_at_step_1 = c.optimizer.warmup > 0 && c.optimizer.warmup_start == 0;
  deck.require(first_sync > 1 || !zero_at_step_1, "optimizer.warmup_start",
               "0 makes the learning rate of step 1 zero, and " + rule +
                   " there divides by it; set optimizer.warmup_start above 0 (e.g. 0.1) or " +
                   period_key + " above 1");
}

extern const AlgorithmEntry kOverlapLocalSgd = {
    "overlap_local_sgd",
    "local SGD whose average travels behind the next tau steps; pull toward the anchor",
    [](const Config& c) { return overlap_keys(c, false); },
    [](const Config& c, const DeckCheck& deck) {
      check_overlap_alpha(c, deck);
      check_overlap_local_steps(c, deck);
      check_overlap_fragments(c, deck);
      check_overlap_groups(c, deck);
    },
    [](const Config& c) {
      const AnchorExchangeEntry* e = find_anchor_exchange(c.algorithm.anchor_compression);
      return 1 + local_momentum_copies(c) + (e ? e->state_copies : 0);
    },
    nullptr,
    [](const Config& c, double d, double w, int ranks) {
      const AnchorExchangeEntry* e = find_anchor_exchange(c.algorithm.anchor_compression);
      return e && e->scratch ? e->scratch(c, d, w, ranks) : 0.0;
    },
    &make<float>,
    &make<double>,
};

// The Overlap rule with an anchor momentum beta_a (SlowMo/BMUF-style) on the plain exchange:
//   b_i = beta_a b_i + (z - x_i) / lr,   contribution (z - lr b_i) / m.
extern const AlgorithmEntry kOverlapLocalSgdMomentum = {
    "overlap_local_sgd_momentum",
    "overlap_local_sgd with an anchor momentum (algorithm.anchor_momentum)",
    [](const Config& c) { return overlap_keys(c, true); },
    [](const Config& c, const DeckCheck& deck) {
      check_overlap_alpha(c, deck);
      check_overlap_local_steps(c, deck);
      check_overlap_fragments(c, deck);
      check_overlap_groups(c, deck);
      deck.require(c.algorithm.anchor_momentum > 0, "algorithm.anchor_momentum",
                   "the momentum variant needs algorithm.anchor_momentum in (0, 1) (use "
                   "overlap_local_sgd for none)");
      const Index rounds = two_levels(c) ? c.algorithm.group_rounds : 1;
      check_no_division_by_a_zero_lr(
          c, deck, c.algorithm.tau * rounds / c.algorithm.fragments,
          "the anchor momentum's first sync",
          c.algorithm.fragments > 1 ? "algorithm.tau / algorithm.fragments" : "algorithm.tau");
    },
    [](const Config& c) { return 1 + local_momentum_copies(c) + 3; },  // send, anchor, b
    nullptr,
    nullptr,
    &make_momentum<float>,
    &make_momentum<double>,
};

}  // namespace olsgd
