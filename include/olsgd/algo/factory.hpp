#pragma once
// Builds the algorithm a deck names (`algorithm.name`).
#include <olsgd/algo/algorithm.hpp>

#include <memory>

namespace olsgd {

template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_algorithm(const TrainingContext<Scalar>& ctx);

}  // namespace olsgd
