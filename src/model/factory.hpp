#pragma once
// Builds the model a deck names (`model.kind`) on this rank's training shard.
#include <olsgd/core/config.hpp>
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/model/model.hpp>

#include <memory>

namespace olsgd {

// `quadratic` is the objective of a synthetic_quadratic run (else null), `rank` this rank.
template <class Scalar>
std::unique_ptr<Model<Scalar>> make_model(const Config& config, const Dataset<Scalar>& train,
                                          const QuadraticProblem* quadratic = nullptr,
                                          int rank = 0);

}  // namespace olsgd
