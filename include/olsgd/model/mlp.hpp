#pragma once
// A multilayer perceptron: dense layers with ReLU between them and softmax cross-entropy
// on top, with L2 regularisation on the weights. Forward and backward passes are
// KokkosBlas::gemm calls, so the vendor BLAS TPL (OpenBLAS, cuBLAS) does the matrix work.
// Parameters, flat, layer by layer: W_l (out x in, row-major) | b_l (out); each layer is an
// unmanaged view into the one parameter View. Initialisation as PyTorch's nn.Linear
// (uniform in +-1/sqrt(in)), from counter-based draws of the seed.
// With no hidden layer this is multinomial logistic regression.
#include <olsgd/data/dataset.hpp>
#include <olsgd/model/model.hpp>

#include <vector>

namespace olsgd {

template <class Scalar>
class Mlp final : public Model<Scalar> {
 public:
  Mlp(Dataset<Scalar> data, std::vector<Index> hidden, Index batch, double l2, std::uint64_t seed);

  std::string name() const override { return "mlp"; }
  Index num_params() const override { return params_; }
  void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const override;
  double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x, const IndexVector& batch,
                  const Vector<Scalar>& g, bool want_loss) override;
  Evaluation evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                      const Dataset<Scalar>& data) override;
  // Widths from input to output, e.g. {784, 128, 10}.
  const std::vector<Index>& widths() const { return widths_; }

  // Gathers rows(0..n) of data into the input activations and runs the layers; leaves the
  // logits in the last activation buffer. Public only because nvcc rejects a KOKKOS_LAMBDA
  // in a private or protected member function.
  void forward(const ExecSpace& exec, const ConstVector<Scalar>& x, const Dataset<Scalar>& data,
               const IndexVector& rows, Index n);

 private:
  Dataset<Scalar> data_;
  std::vector<Index> widths_;
  std::vector<Index> offsets_;  // of W_l in the flat vector; b_l follows W_l
  Index params_ = 0;
  double l2_;
  std::uint64_t seed_;
  Index capacity_;                     // rows the buffers hold
  std::vector<Vector<Scalar>> act_;    // activations per layer, capacity x width (flat)
  Vector<Scalar> delta_, delta_prev_;  // backpropagated gradients, capacity x max width
  IndexVector chunk_;
};

// Parameters of the dense network features -> hidden... -> classes (at least 2 outputs), and
// the bytes of its activations and deltas for `rows` rows: the memory estimate's formulas.
double mlp_params(double features, int classes, const std::vector<Index>& hidden);
double mlp_scratch(double features, int classes, const std::vector<Index>& hidden, double rows,
                   double scalar_bytes);

}  // namespace olsgd
