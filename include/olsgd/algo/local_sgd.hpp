#pragma once
// Local SGD / periodic averaging (docs/algorithms.md §1c): every rank takes local optimizer
// steps on its own model and, when (k+1) % tau == 0, the models are replaced by their
// average (one blocking allreduce of d numbers per tau steps). Local momentum buffers are
// kept, not averaged. With tau = 1 and plain SGD this follows minibatch SGD.
//
// Two levels (§1c, after PyTorch's HierarchicalModelAverager): with groups, the models are
// averaged inside the rank's group every tau steps and over all ranks every H tau steps, both
// blocking.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/algo/two_level_exchange.hpp>

#include <memory>
#include <string>

namespace olsgd {

template <class Scalar>
class LocalSgd : public Algorithm<Scalar> {
 public:
  // `groups`: two levels (null: one).
  LocalSgd(AlgorithmContext<Scalar> ctx, Index tau,
           const typename Algorithm<Scalar>::MoreSegments& more = {},
           const GroupParams* groups = nullptr);
  std::string name() const override { return group_ ? "local_sgd_two_level" : "local_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override {
    return step_with(k, batch, want_loss, true);
  }

 protected:
  // One step; its average only when `may_sync` (SlowMo syncs by its own rule at its outer
  // steps). A step followed by the average writes x_i / m (its fused kernel's out_scale), so
  // the average is the allreduce alone.
  double step_with(Index k, const IndexVector& batch, bool want_loss, bool may_sync);

 private:
  Index tau_;
  Index rounds_ = 1;                           // H: tau rounds per average over all ranks
  std::unique_ptr<comm::Communicator> group_;  // two levels only
  double group_s_ = 0;                         // a group average unhidden (calibrated + injected)
};

}  // namespace olsgd
