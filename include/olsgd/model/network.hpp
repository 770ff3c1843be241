#pragma once
// A network of layers (convolution, batch normalisation, pooling, residual blocks, dense, ReLU)
// under softmax cross-entropy, described by a NetworkPlan. The MLP, LeNet-5 and the CIFAR
// ResNets are all this one class.
//
// Flat vector: every layer's trained parameters in network order, then every batch-norm layer's
// running statistics (mean | var per layer, num_buffers() numbers in all). Running statistics
// are part of the model: they are averaged, checkpointed and sent with it, their gradient is
// zero, and update_buffers moves them after each training step. Activations are NCHW, one
// sample contiguous. L2 regularisation (model.l2) covers conv and dense weights only.
#include <olsgd/data/augment.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/model/model.hpp>
#include <olsgd/model/network_spec.hpp>

#include <memory>
#include <string>

namespace olsgd {

template <class Scalar>
class Network final : public Model<Scalar> {
 public:
  // `augment`: how training batches are cropped and flipped (off by default).
  Network(std::string name, Dataset<Scalar> data, NetworkPlan plan, Index batch, double l2,
          std::uint64_t seed, Augmentation augment = {});
  ~Network() override;

  std::string name() const override { return name_; }
  Index num_params() const override { return plan_.total(); }
  Index num_buffers() const override { return plan_.buffers; }
  void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const override;
  double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x, const IndexVector& batch,
                  const Vector<Scalar>& g, bool want_loss) override;
  void update_buffers(const ExecSpace& exec, const Vector<Scalar>& x) override;
  // With augmentation, the draw counter (one per training step).
  void save_host(HostState& h) const override;
  void load_host(const HostState& h) override;
  Evaluation evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                      const Dataset<Scalar>& data) override;

  // Runs the layers on rows(0..n) of `data` (batch statistics when `train`, running ones
  // otherwise); leaves the logits in the last activation. Public only because nvcc rejects a
  // KOKKOS_LAMBDA in a private member function.
  void forward(const ExecSpace& exec, const ConstVector<Scalar>& x, const Dataset<Scalar>& data,
               const IndexVector& rows, Index n, bool train);

 private:
  struct Parts;
  std::string name_;
  Dataset<Scalar> data_;
  NetworkPlan plan_;
  double l2_;
  std::uint64_t seed_;
  Augmentation augment_;
  std::uint64_t draws_ = 0;
  Index capacity_;
  std::unique_ptr<Parts> parts_;
};

// Rows an evaluation pass holds: at least the batch, up to 1024 while the activations stay
// within 64 MiB.
Index network_capacity(const NetworkPlan& plan, Index batch, double scalar_bytes);
// Device bytes a network allocates to train at `batch` and evaluate (for the rows
// network_capacity gives it): activations, gradients and its layers' scratch, to the byte.
double network_scratch_bytes(const NetworkPlan& plan, Index batch, double scalar_bytes);

}  // namespace olsgd
