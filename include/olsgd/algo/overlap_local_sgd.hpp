#pragma once
// Overlap-Local-SGD (Wang, Liang, Joshi; ALGORITHMS.md §2). Each rank keeps its model x_i and
// an anchor z. At a sync point ((k+1) % tau == 0) it waits for the average posted at the
// previous sync (z = x0 at the first), pulls x_i toward that one-round-stale anchor,
// snapshots its contribution into a send buffer and posts MPI_Iallreduce(send -> z), which
// completes behind the next tau local steps. Local momentum is never reset.
//
// State, one contiguous View: params | momentum (optional) | send | anchor | anchor_momentum
// (momentum variant). The anchor segment is the receive buffer of the in-flight average.
#include <olsgd/algo/algorithm.hpp>

namespace olsgd {

template <class Scalar>
class OverlapLocalSgd : public Algorithm<Scalar> {
 public:
  explicit OverlapLocalSgd(TrainingContext<Scalar> ctx,
                           const typename Algorithm<Scalar>::MoreSegments& more = {})
      : OverlapLocalSgd(ctx, false, more) {}
  std::string name() const override { return "overlap_local_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;
  void finish() override;

 protected:
  OverlapLocalSgd(TrainingContext<Scalar> ctx, bool momentum_variant,
                  const typename Algorithm<Scalar>::MoreSegments& more = {});
  // The step without its sync: gradient, local optimizer step, progress of the request.
  // `sync_follows` is taken for the same interface as LocalSgd and not needed: the pull
  // folds the 1/m of the average in.
  double local_update(Index k, const IndexVector& batch, bool want_loss, bool sync_follows);
  // Lines 5-8 of the rule: wait for the anchor, pull, post the next average.
  void sync(Index k);
  // Lines 6-7 of the rule: pull x toward the anchor and fill the send buffer.
  virtual void pull_and_snapshot(Index k);

  Vector<Scalar> send() const { return this->state_.segment(send_); }
  Vector<Scalar> anchor() const { return this->state_.segment(anchor_); }

  std::size_t anchor_momentum_ = 0;

 private:
  Index tau_, progress_every_;
  std::size_t send_ = 0, anchor_ = 0;
  comm::Request request_;  // the average posted at the last sync, until consumed
};

// The momentum variant: the anchor sequence gets a SlowMo/BMUF-style momentum beta_a,
//   b_i = beta_a b_i + (z - x_i) / lr,   contribution (z - lr b_i) / m.
template <class Scalar>
class OverlapLocalSgdMomentum final : public OverlapLocalSgd<Scalar> {
 public:
  explicit OverlapLocalSgdMomentum(TrainingContext<Scalar> ctx)
      : OverlapLocalSgd<Scalar>(ctx, true) {}
  std::string name() const override { return "overlap_local_sgd_momentum"; }

 protected:
  void pull_and_snapshot(Index k) override;
};

}  // namespace olsgd
