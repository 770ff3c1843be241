#pragma once
// Minibatch SGD (ALGORITHMS.md §1a): every step, the gradients of all ranks are averaged
// (one blocking allreduce of d numbers) and every rank applies the same update, so the
// model stays replicated.
#include <olsgd/algo/algorithm.hpp>

namespace olsgd {

template <class Scalar>
class MinibatchSgd final : public Algorithm<Scalar> {
 public:
  explicit MinibatchSgd(TrainingContext<Scalar> ctx);
  std::string name() const override { return "minibatch_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;
};

}  // namespace olsgd
