#include <olsgd/algo/accelerated_minibatch_sgd.hpp>
#include <olsgd/algo/factory.hpp>
#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/algo/minibatch_sgd.hpp>
#include <olsgd/algo/overlap_local_sgd.hpp>
#include <olsgd/algo/overlap_quantized_anchor.hpp>
#include <olsgd/algo/quantized_sgd.hpp>
#include <olsgd/algo/sketched_sgd.hpp>
#include <olsgd/algo/slowmo.hpp>

#include <stdexcept>

namespace olsgd {

template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_algorithm(const TrainingContext<Scalar>& ctx) {
  const std::string& name = ctx.config.algorithm.name;
  if (name == "minibatch_sgd") return std::make_unique<MinibatchSgd<Scalar>>(ctx);
  if (name == "accelerated_minibatch_sgd")
    return std::make_unique<AcceleratedMinibatchSgd<Scalar>>(ctx);
  if (name == "local_sgd") return std::make_unique<LocalSgd<Scalar>>(ctx);
  if (name == "slowmo" && ctx.config.algorithm.slowmo_base == "overlap_local_sgd")
    return std::make_unique<SlowMo<OverlapLocalSgd<Scalar>>>(ctx);
  if (name == "slowmo") return std::make_unique<SlowMo<LocalSgd<Scalar>>>(ctx);
  if (name == "overlap_local_sgd" && ctx.config.algorithm.anchor_compression == "quantize")
    return std::make_unique<OverlapQuantizedAnchor<Scalar>>(ctx);
  if (name == "overlap_local_sgd") return std::make_unique<OverlapLocalSgd<Scalar>>(ctx);
  if (name == "overlap_local_sgd_momentum")
    return std::make_unique<OverlapLocalSgdMomentum<Scalar>>(ctx);
  if (name == "sketched_sgd") return std::make_unique<SketchedSgd<Scalar>>(ctx);
  if (name == "qsgd") return std::make_unique<QuantizedSgd<Scalar>>(ctx, false);
  if (name == "dq_sgd") return std::make_unique<QuantizedSgd<Scalar>>(ctx, true);
  // The deck schema admits only the names above; reaching here is a bug, not bad input.
  throw std::logic_error("make_algorithm: unknown algorithm '" + name + "'");
}

template std::unique_ptr<Algorithm<float>> make_algorithm(const TrainingContext<float>&);
template std::unique_ptr<Algorithm<double>> make_algorithm(const TrainingContext<double>&);

}  // namespace olsgd
