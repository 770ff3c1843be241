#pragma once
// Local SGD / periodic averaging (ALGORITHMS.md §1c): every rank takes local optimizer
// steps on its own model and, when (k+1) % tau == 0, the models are replaced by their
// average (one blocking allreduce of d numbers per tau steps). Local momentum buffers are
// kept, not averaged. With tau = 1 and plain SGD this follows minibatch SGD.
#include <olsgd/algo/algorithm.hpp>

namespace olsgd {

template <class Scalar>
class LocalSgd : public Algorithm<Scalar> {
 public:
  explicit LocalSgd(TrainingContext<Scalar> ctx,
                    const typename Algorithm<Scalar>::MoreSegments& more = {});
  std::string name() const override { return "local_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 protected:
  // The step without its sync: gradient and local optimizer step. When `sync_follows`, the
  // step writes x_i / m (its fused kernel's out_scale) so that sync() is the allreduce alone.
  double local_update(Index k, const IndexVector& batch, bool want_loss, bool sync_follows);
  // x_i = sum of the x_j / m (blocking); the last local_update must have had sync_follows.
  void sync(Index k);

 private:
  Index tau_;
};

}  // namespace olsgd
