#pragma once
// Overlap-Local-SGD (Wang, Liang, Joshi; docs/algorithms.md §2): when to communicate and how
// to pull, over any anchor exchange (algo/exchange.hpp); optionally in fragments (§2e), each
// range of the state syncing at its own step of the round. Each rank keeps its model x_i; the
// exchange keeps the anchor z. At a sync point ((k+1) % tau == 0) the rank completes the
// exchange posted at the previous sync (z = x0 at the first), pulls x_i toward that
// one-round-stale anchor, writes its contribution into the exchange's message in the same
// pass, and posts it; it completes behind the next tau local steps. Local momentum is never
// reset.
//
// State, one contiguous View: params | momentum (optional) | [more: SlowMo] | the exchange's
// segments (plain: send | anchor) | anchor_momentum (momentum variant).
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/algo/exchange.hpp>
#include <olsgd/algo/local_steps.hpp>

#include <memory>
#include <optional>

namespace olsgd {

struct OverlapParams {
  Index tau = 1;
  double alpha = 0.6;
  double anchor_momentum = 0;    // beta_a of the momentum variant
  Index progress_every = 1;      // MPI_Test every N local steps while a request is in flight
  int fragments = 1;             // streaming sync: fragment f syncs (f+1) tau/F steps into a round
  LocalStepsParams local_steps;  // how many of a round's tau slots a rank steps
  Index steps = 0;               // the run's slots (a replay must cover them)
  static OverlapParams from(const Config& c);
};

template <class Scalar>
class OverlapLocalSgd : public Algorithm<Scalar> {
 public:
  // `exchange` builds how the anchor average travels; `name` is what the run reports;
  // `momentum_variant`: the anchor momentum (with the plain exchange only).
  OverlapLocalSgd(AlgorithmContext<Scalar> ctx, const OverlapParams& p,
                  const AnchorExchangeFactory<Scalar>& exchange, std::string name,
                  const typename Algorithm<Scalar>::MoreSegments& more = {},
                  bool momentum_variant = false);
  std::string name() const override { return name_; }
  double step(Index k, const IndexVector& batch, bool want_loss) override {
    return step_with(k, batch, want_loss, true);
  }
  void finish() override;
  bool resumable_after(Index done) const override {
    return !local_steps_.timed() || done % p_.tau == 0;
  }
  void save_host(HostState& h) const override;
  void load_host(const HostState& h) override;

 protected:
  // One step; its sync only when `may_sync` (SlowMo syncs by its own rule at its outer steps).
  double step_with(Index k, const IndexVector& batch, bool want_loss, bool may_sync);

 private:
  // Complete fragment f's exchange in flight, pull that range toward the anchor, post it again.
  void sync(Index k, int f);
  // The fragment whose sync falls after step k, or -1.
  int fragment_due(Index k) const;
  // Two levels: the blocking group average at the end of an inner round, reported as a sync.
  void average_group(Index k);
  // Timed rounds: the record of the last sync waits for its round's local steps, which arrive
  // with the average at the next completion.
  void release_pending();

  OverlapParams p_;
  LocalSteps local_steps_;
  struct Pending {
    SyncRecord record;
    SyncBuffers<Scalar> buffers;
  };
  std::optional<Pending> pending_;
  std::string name_;
  std::unique_ptr<AnchorExchange<Scalar>> exchange_;
  std::size_t anchor_momentum_ = 0;
  bool momentum_variant_;
};

// The warning for algorithm.alpha = 1, shared with SlowMo over Overlap.
void check_overlap_alpha(const Config& c, const DeckCheck& deck);
// Refuses a deck whose first sync, `first_sync` steps in, runs `rule` (which divides by the
// step size) at a step size of 0: a warm-up from optimizer.warmup_start 0, synced after step 1.
// `period_key` is the key that sets the sync period.
void check_no_division_by_a_zero_lr(const Config& c, const DeckCheck& deck, Index first_sync,
                                    const std::string& rule, const std::string& period_key);

}  // namespace olsgd
