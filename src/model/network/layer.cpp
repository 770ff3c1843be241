#include "layer.hpp"

#include <cmath>

#include "layers.hpp"

namespace olsgd::net {

template <class Scalar>
double Layer<Scalar>::l2_weights(const ExecSpace&, const Scalar*, Scalar*, Scalar, bool) const {
  return 0;
}

template <class Scalar>
double l2_range(const ExecSpace& exec, const Scalar* w, Scalar* g, Index count, Scalar l2,
                bool want_sum) {
  if (l2 == Scalar(0)) return 0;
  // Two passes, as the penalty's gradient is needed every step and its value only with the loss.
  Kokkos::parallel_for(
      "olsgd::model::net::l2", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i) { g[i] += l2 * w[i]; });
  if (!want_sum) return 0;
  double w2 = 0;
  Kokkos::parallel_reduce(
      "olsgd::model::net::w2", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i, double& acc) { acc += static_cast<double>(w[i]) * w[i]; }, w2);
  return w2;
}

template <class Scalar>
void init_uniform(const ExecSpace& exec, Scalar* w, Index count, Index fan_in,
                  InitStreams& streams) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
  const CounterRng rng(streams.seed, Stream::Init, streams.next++);
  Kokkos::parallel_for(
      "olsgd::model::net::init", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i) {
        w[i] = static_cast<Scalar>(bound * (2 * rng.uniform(i) - 1));
      });
}

template <class Scalar>
std::unique_ptr<Layer<Scalar>> make_layer(const PlannedLayer& plan) {
  switch (plan.spec.kind) {
    case LayerKind::Conv:
      return std::make_unique<Conv<Scalar>>(plan);
    case LayerKind::BatchNorm:
      return std::make_unique<BatchNorm<Scalar>>(plan);
    case LayerKind::Relu:
      return std::make_unique<Relu<Scalar>>(plan);
    case LayerKind::MaxPool:
      return std::make_unique<MaxPool<Scalar>>(plan);
    case LayerKind::AvgPool:
      return std::make_unique<AvgPool<Scalar>>(plan);
    case LayerKind::GlobalAvgPool:
      return std::make_unique<GlobalAvgPool<Scalar>>(plan);
    case LayerKind::Dense:
      return std::make_unique<Dense<Scalar>>(plan);
    case LayerKind::Block:
      return std::make_unique<ResidualBlock<Scalar>>(plan);
  }
  return nullptr;
}

#define OLSGD_LAYER(S)                                                          \
  template class Layer<S>;                                                      \
  template double l2_range(const ExecSpace&, const S*, S*, Index, S, bool);     \
  template void init_uniform(const ExecSpace&, S*, Index, Index, InitStreams&); \
  template std::unique_ptr<Layer<S>> make_layer(const PlannedLayer&);
OLSGD_LAYER(float)
OLSGD_LAYER(double)
#undef OLSGD_LAYER

}  // namespace olsgd::net
