#pragma once
// A model is a loss with a gradient on a minibatch, over one flat parameter vector.
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/data/dataset.hpp>

#include <string>

namespace olsgd {

// Sums over a rank's held-out rows (the caller adds the ranks' sums up).
struct Evaluation {
  double loss_sum = 0;
  double correct = 0;
  double rows = 0;
};

template <class Scalar>
class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  // Numbers in the flat model vector: trained parameters, then num_buffers() running
  // statistics at its end.
  virtual Index num_params() const = 0;
  // Running statistics (batch norm): averaged and checkpointed with the model but not trained;
  // their gradient is zero and the optimizer leaves them alone.
  virtual Index num_buffers() const { return 0; }
  // Writes the (seeded, deterministic) initial point x0 into `x`.
  virtual void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const = 0;
  // g = gradient at x of the mean loss over the samples `batch` of this rank's shard.
  // Returns that mean loss when `want_loss` (it costs a reduction), else NaN.
  virtual double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                          const IndexVector& batch, const Vector<Scalar>& g, bool want_loss) = 0;
  // After gradient() at x: moves x's running statistics toward that batch's statistics.
  virtual void update_buffers(const ExecSpace& /*exec*/, const Vector<Scalar>& /*x*/) {}
  // Host-side state a checkpoint carries (e.g. a counter that keys random draws).
  virtual void save_host(HostState& /*h*/) const {}
  virtual void load_host(const HostState& /*h*/) {}
  // Loss and accuracy of the model x on every row of `data` (classification models).
  virtual Evaluation evaluate(const ExecSpace& /*exec*/, const ConstVector<Scalar>& /*x*/,
                              const Dataset<Scalar>& /*data*/) {
    return {kUnknown, kUnknown, 0};
  }
};

}  // namespace olsgd
