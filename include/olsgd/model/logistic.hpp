#pragma once
// Logistic regression with L2 regularisation, on dense or sparse (CRS) features.
// Binary data (2 classes): one weight vector and a bias, sigmoid loss. K > 2 classes:
// multinomial (softmax) with a K x d weight matrix and K biases. Parameters, flat:
// W (C x d, row-major) | b (C), C = 1 (binary) or K. Initial point: zeros.
#include <olsgd/data/dataset.hpp>
#include <olsgd/model/model.hpp>

namespace olsgd {

template <class Scalar>
class LogisticRegression final : public Model<Scalar> {
 public:
  LogisticRegression(Dataset<Scalar> data, Index batch, double l2);

  std::string name() const override {
    return classes_ == 1 ? "logistic (binary)" : "logistic (softmax)";
  }
  Index num_params() const override { return classes_ * (d_ + 1); }
  void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const override;
  double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x, const IndexVector& batch,
                  const Vector<Scalar>& g, bool want_loss) override;
  Evaluation evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                      const Dataset<Scalar>& data) override;

  // logits(s, c) = b_c + x_{rows(s)} . W_c over `n` rows of `data`. Public only because nvcc
  // rejects a KOKKOS_LAMBDA in a private or protected member function.
  void logits(const ExecSpace& exec, const ConstVector<Scalar>& x, const Dataset<Scalar>& data,
              const IndexVector& rows, Index n);

 private:
  Dataset<Scalar> data_;
  Index d_;
  int classes_;  // C
  double l2_;
  Matrix<Scalar> z_;   // logits, then their gradient (rows x C)
  IndexVector chunk_;  // row indices for evaluation chunks
};

}  // namespace olsgd
