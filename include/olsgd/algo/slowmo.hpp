#pragma once
// SlowMo (Wang, Tantia, Ballas, Rabbat; ALGORITHMS.md §3) over a base optimizer: local SGD
// (with the optional local momentum of the optimizer section) or Overlap-Local-SGD. Every
// `period` steps (algorithm.slowmo_period, default tau):
//   xbar = exact average of the x_i (one blocking allreduce of d numbers);
//   u = beta u + (x0 - xbar) / gamma;  x0 = x0 - alpha gamma u;  x_i = x0
// with gamma the base learning rate in force, alpha = algorithm.slow_lr, beta =
// algorithm.slow_momentum; local momentum buffers are kept or reset (algorithm.slowmo_buffers).
// Between outer updates the base syncs every tau steps as it would alone (a local-SGD average,
// or an overlapped anchor pull); at an outer step the exact average takes the place of the
// base's own sync. The overlap base keeps its anchor and in-flight average across an outer
// update, as fairscale keeps base-optimizer buffers.
// Special cases: beta = 0, alpha = 1 over local SGD is local SGD; tau = 1 with plain SGD is
// minibatch SGD with heavy-ball momentum beta and lr alpha gamma.
// State: the base's segments | outer (x0) | slow_momentum (u).
#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/algo/overlap_local_sgd.hpp>

namespace olsgd {

template <class Base>
class SlowMo final : public Base {
 public:
  using Scalar = typename Base::scalar_type;
  explicit SlowMo(TrainingContext<Scalar> ctx);
  std::string name() const override { return "slowmo"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 private:
  void outer(Index k);

  Index tau_, period_;
};

}  // namespace olsgd
