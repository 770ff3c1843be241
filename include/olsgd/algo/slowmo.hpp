#pragma once
// SlowMo (Wang, Tantia, Ballas, Rabbat; ALGORITHMS.md §3) over a local-SGD base (with the
// optional local momentum of the optimizer section). Every tau steps:
//   xbar = exact average of the x_i (one blocking allreduce of d numbers);
//   u = beta u + (x0 - xbar) / gamma;  x0 = x0 - alpha gamma u;  x_i = x0
// with gamma the base learning rate in force, alpha = algorithm.slow_lr, beta =
// algorithm.slow_momentum; local momentum buffers are kept or reset (algorithm.slowmo_buffers).
// Special cases: beta = 0, alpha = 1 is local SGD; tau = 1 with plain SGD is minibatch SGD
// with heavy-ball momentum beta and lr alpha gamma.
// State: params (x_i) | momentum (optional) | x0 | u.
#include <olsgd/algo/algorithm.hpp>

namespace olsgd {

template <class Scalar>
class SlowMo final : public Algorithm<Scalar> {
 public:
  explicit SlowMo(TrainingContext<Scalar> ctx);
  std::string name() const override { return "slowmo"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 private:
  Index tau_;
  std::size_t x0_ = 0, u_ = 0;
};

}  // namespace olsgd
