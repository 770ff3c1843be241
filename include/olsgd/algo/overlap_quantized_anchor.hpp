#pragma once
// Overlap-Local-SGD with a quantized anchor average (`algorithm.anchor_compression: quantize`),
// a combination none of the papers has: Overlap-Local-SGD's schedule (ALGORITHMS.md §2) with
// the average sent in the QSGD format of §5.
//
// Every rank holds the same anchor z. At a sync point ((k+1) % tau == 0) the rank waits for
// the messages posted at the previous sync and moves the anchor by their decoded mean,
//   z += (1/m) sum_j Q(delta_j)        (z = x0 until the first messages arrive),
// pulls x = (1-alpha) x + alpha z, and posts Q(delta_i), delta_i = x_i - z, its move away from
// the anchor, quantized at s = 2^quantize.bits - 1 levels and packed, with MPI_Iallgather
// behind the next tau local steps. Q is unbiased, so E[z_new] = (1/m) sum_j x_j: the average
// the plain algorithm sends, at ~(1 + bits)/32 of its bytes for float32. Every rank decodes
// the same bits in rank order, so the anchors stay identical.
//
// State: params | momentum (optional) | anchor. The packed messages are scratch: finish()
// (before a checkpoint) applies messages in flight to the anchor early, which the next sync
// would have done with the same bits, so a restart continues the same trajectory.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/comm/request.hpp>
#include <olsgd/core/rng.hpp>
#include <olsgd/kernels/quantize.hpp>

namespace olsgd {

template <class Scalar>
class OverlapQuantizedAnchor final : public Algorithm<Scalar> {
 public:
  explicit OverlapQuantizedAnchor(TrainingContext<Scalar> ctx);
  std::string name() const override { return "overlap_local_sgd+quantized_anchor"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;
  void finish() override;

 private:
  // Waits for the messages in flight and moves the anchor by their mean.
  void apply_pending();
  void sync(Index k);
  Vector<Scalar> anchor() const { return this->state_.segment(anchor_); }

  Index tau_, progress_every_;
  std::size_t anchor_ = 0;
  kernels::QuantizedFormat format_;
  CounterRng rng_;
  Vector<Scalar> delta_;    // x_i - z at a sync, then the decoded mean
  WordVector send_, recv_;  // this rank's message; everyone's, in rank order
  comm::Request request_;   // the messages posted at the last sync
  bool pending_ = false;    // messages posted and not yet applied to the anchor
};

}  // namespace olsgd
