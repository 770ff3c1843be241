#pragma once
// Builds the model a deck names (`model.kind`) on this rank's training shard.
#include <olsgd/core/config.hpp>
#include <olsgd/model/model.hpp>

#include <memory>

namespace olsgd {

template <class Scalar>
std::unique_ptr<Model<Scalar>> make_model(const Config& config, const Dataset<Scalar>& train);

}  // namespace olsgd
