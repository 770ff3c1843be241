#pragma once
// The interface every training algorithm implements over the shared driver loop, and the
// base that holds what they share: the flat per-rank state and the local optimizer step.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/flat_state.hpp>
#include <olsgd/core/timers.hpp>
#include <olsgd/model/model.hpp>

#include <string>

namespace olsgd {

// What an algorithm works with; owned by whoever drives the run and outlives the algorithm.
template <class Scalar>
struct TrainingContext {
  ExecSpace exec;
  Model<Scalar>& model;
  comm::Communicator& comm;
  Timers& timers;
  const Config& config;
};

template <class Scalar>
class Algorithm {
 public:
  explicit Algorithm(TrainingContext<Scalar> ctx);
  virtual ~Algorithm() = default;

  virtual std::string name() const = 0;
  // One training step with global index k on this rank's minibatch `batch`. Returns the
  // minibatch loss (before the update) when `want_loss`, else NaN.
  virtual double step(Index k, const IndexVector& batch, bool want_loss) = 0;

  // This rank's current model x_i.
  Vector<Scalar> params() const { return state_.segment(kParams); }
  const FlatState<Scalar>& state() const { return state_; }
  // Learning rate in force at step k.
  double lr(Index /*k*/) const { return ctx_.config.optimizer.lr; }

 protected:
  static constexpr std::size_t kParams = 0;

  // Call from the derived constructor after adding any segments of its own.
  void allocate_state();
  // Gradient of the model at x_i on `batch` into grad_ (timed as compute).
  double compute_gradient(const IndexVector& batch, bool want_loss);
  // x_i (and the momentum buffer, when enabled) updated with gradient grad_scale * grad_.
  void local_step(Index k, double grad_scale);

  TrainingContext<Scalar> ctx_;
  FlatState<Scalar> state_;
  Vector<Scalar> grad_;

 private:
  bool momentum_ = false;
  std::size_t momentum_segment_ = 0;
};

}  // namespace olsgd
