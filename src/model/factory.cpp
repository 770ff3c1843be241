#include "factory.hpp"

#include <olsgd/model/least_squares.hpp>
#include <olsgd/model/logistic.hpp>
#include <olsgd/model/mlp.hpp>
#include <olsgd/model/quadratic.hpp>

#include <stdexcept>

namespace olsgd {

template <class Scalar>
std::unique_ptr<Model<Scalar>> make_model(const Config& c, const Dataset<Scalar>& train,
                                          const QuadraticProblem* quadratic, int rank) {
  const Index batch = c.optimizer.batch;
  if (c.model.kind == "quadratic") {
    if (!quadratic) throw std::logic_error("make_model: a quadratic model needs its problem");
    return std::make_unique<QuadraticModel<Scalar>>(*quadratic, rank, c.data.noise, batch,
                                                    c.run.seed);
  }
  if (c.model.kind == "least_squares") return std::make_unique<LeastSquares<Scalar>>(train, batch);
  // Dense softmax regression is an MLP without hidden layers (tests/test_models.cpp checks
  // the two agree); that one runs on vendor BLAS, so it is the faster of the two.
  if (c.model.kind == "logistic" && !train.sparse_features && train.num_classes > 2)
    return std::make_unique<Mlp<Scalar>>(train, std::vector<Index>{}, batch, c.model.l2,
                                         c.run.seed);
  if (c.model.kind == "logistic")
    return std::make_unique<LogisticRegression<Scalar>>(train, batch, c.model.l2);
  if (c.model.kind == "mlp")
    return std::make_unique<Mlp<Scalar>>(train, parse_widths(c.model.hidden), batch, c.model.l2,
                                         c.run.seed);
  // The deck schema admits only the kinds above; reaching here is a bug, not bad input.
  throw std::logic_error("make_model: unknown model '" + c.model.kind + "'");
}

template std::unique_ptr<Model<float>> make_model(const Config&, const Dataset<float>&,
                                                  const QuadraticProblem*, int);
template std::unique_ptr<Model<double>> make_model(const Config&, const Dataset<double>&,
                                                   const QuadraticProblem*, int);

}  // namespace olsgd
