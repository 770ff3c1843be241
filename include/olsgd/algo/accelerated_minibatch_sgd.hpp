#pragma once
// Accelerated minibatch SGD: AC-SA (Lan 2012; Ghadimi-Lan), the accelerated baseline of the
// Woodworth et al. comparisons (docs/algorithms.md §1b). Round t = k + 1:
//   a_t = 2/(t+1);  x_md = a_t x + (1-a_t) x_ag;  gbar = average over ranks of the gradients
//   at x_md (one blocking allreduce);  x -= gamma_t gbar, gamma_t = gamma (t+1)/2;
//   x_ag = a_t x + (1-a_t) x_ag.  The output (the model reported) is x_ag.
// gamma = the scheduled lr of step k; a_t gamma_t = gamma, so gamma <= 1/(4H) keeps it stable.
// State: params (= x_ag) | x | x_md. optimizer.momentum is not used.
#include <olsgd/algo/algorithm.hpp>

namespace olsgd {

template <class Scalar>
class AcceleratedMinibatchSgd final : public Algorithm<Scalar> {
 public:
  explicit AcceleratedMinibatchSgd(AlgorithmContext<Scalar> ctx);
  std::string name() const override { return "accelerated_minibatch_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 private:
  std::size_t x_ = 0, x_md_ = 0;
};

}  // namespace olsgd
