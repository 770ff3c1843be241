#include <olsgd/core/rng.hpp>
#include <olsgd/data/synthetic.hpp>

#include <cmath>

namespace olsgd {

std::vector<double> synthetic_weights(Index features, std::uint64_t seed) {
  const CounterRng rng(seed, Stream::Optimum, 0);
  std::vector<double> w(features);
  for (Index j = 0; j < features; ++j) w[j] = rng.normal(j);
  return w;
}

double synthetic_eigenvalue(const DataConfig& data, Index j) {
  if (data.features == 1) return data.max_eig;
  const double t = static_cast<double>(j) / static_cast<double>(data.features - 1);
  return data.min_eig * std::pow(data.max_eig / data.min_eig, t);
}

template <class Scalar>
Dataset<Scalar> make_synthetic_least_squares(const DataConfig& data, std::uint64_t seed, int rank,
                                             int ranks) {
  const Index d = data.features;
  Dataset<Scalar> out;
  out.global_samples = data.samples;
  out.columns = d;
  out.shard = data.replicate ? Shard{0, data.samples} : even_shard(data.samples, rank, ranks);
  out.features = Matrix<Scalar>("olsgd::data::features", out.shard.count, d);
  out.targets = Vector<Scalar>("olsgd::data::targets", out.shard.count);

  // Per-column scale sqrt(eig_j) and the weights, computed once on the host.
  Kokkos::View<double*, MemSpace> scale("olsgd::data::scale", d), weights("olsgd::data::w", d);
  auto scale_h = Kokkos::create_mirror_view(scale);
  auto weights_h = Kokkos::create_mirror_view(weights);
  const std::vector<double> w = synthetic_weights(d, seed);
  for (Index j = 0; j < d; ++j) {
    scale_h(j) = std::sqrt(synthetic_eigenvalue(data, j));
    weights_h(j) = w[j];
  }
  Kokkos::deep_copy(scale, scale_h);
  Kokkos::deep_copy(weights, weights_h);

  const Index first = out.shard.first;
  const double noise = data.noise;
  auto features = out.features;
  auto targets = out.targets;
  // One sample per iteration; the label is formed from the features as stored (rounded to
  // Scalar), so the optimum computed from the stored data is exact for float32 too.
  Kokkos::parallel_for(
      "olsgd::data::synthetic_least_squares", Kokkos::RangePolicy<ExecSpace>(0, out.shard.count),
      KOKKOS_LAMBDA(const Index s) {
        const std::uint64_t g = static_cast<std::uint64_t>(first + s);
        const CounterRng frng(seed, Stream::Features, 0);
        double y = 0;
        for (Index j = 0; j < d; ++j) {
          const Scalar a = static_cast<Scalar>(scale(j) * frng.normal(g * d + j));
          features(s, j) = a;
          y += static_cast<double>(a) * weights(j);
        }
        const CounterRng lrng(seed, Stream::Labels, 0);
        targets(s) = static_cast<Scalar>(y + noise * lrng.normal(g));
      });
  Kokkos::fence();
  return out;
}

template Dataset<float> make_synthetic_least_squares<float>(const DataConfig&, std::uint64_t, int,
                                                            int);
template Dataset<double> make_synthetic_least_squares<double>(const DataConfig&, std::uint64_t, int,
                                                              int);

}  // namespace olsgd
