#pragma once
// Least squares, f(x; a, y) = 1/2 (a.x - y)^2, on a dataset shard. Gradient of the batch
// mean: g = (1/b) sum_s (a_s.x - y_s) a_s.
#include <olsgd/data/dataset.hpp>
#include <olsgd/model/model.hpp>

namespace olsgd {

template <class Scalar>
class LeastSquares final : public Model<Scalar> {
 public:
  LeastSquares(Dataset<Scalar> data, Index batch);

  std::string name() const override { return "least_squares"; }
  Index num_params() const override { return data_.num_features(); }
  // x0 = 0 (so ||x0 - x*|| = ||x*||).
  void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const override;
  double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x, const IndexVector& batch,
                  const Vector<Scalar>& g, bool want_loss) override;

 private:
  Dataset<Scalar> data_;
  Vector<Scalar> residual_;  // one per batch sample
};

}  // namespace olsgd
