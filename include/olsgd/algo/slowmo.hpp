#pragma once
// SlowMo (Wang, Tantia, Ballas, Rabbat; docs/algorithms.md §3) over a base optimizer: local SGD
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
// State: the base's segments, with outer (x0) | slow_momentum (u) after the local ones.
#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/algo/overlap_local_sgd.hpp>

namespace olsgd {

struct SlowMoParams {
  Index period = 1;  // steps between outer updates
  double slow_lr = 1, slow_momentum = 0.5;
  bool reset_buffers = false;
  static SlowMoParams from(const Config& c);
};

template <class Base>
class SlowMo final : public Base {
 public:
  using Scalar = typename Base::scalar_type;
  // `base_args` are the base's constructor arguments after its context.
  template <class... BaseArgs>
  SlowMo(AlgorithmContext<Scalar> ctx, const SlowMoParams& p, const BaseArgs&... base_args);
  std::string name() const override { return "slowmo"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 private:
  void outer(Index k);

  SlowMoParams p_;
};

}  // namespace olsgd
