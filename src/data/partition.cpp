#include <olsgd/core/rng.hpp>
#include <olsgd/data/partition.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace olsgd {
namespace {

// Fisher-Yates with counter-based draws: the same permutation everywhere.
void shuffle(std::vector<Index>& v, std::uint64_t seed, std::uint32_t substream) {
  const CounterRng rng(seed, Stream::Partition, substream);
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = rng.below(v.size() - i, i);
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<Index> block(const std::vector<Index>& order, int rank, int ranks) {
  const std::size_t n = order.size();
  const std::size_t lo = n * rank / ranks, hi = n * (rank + 1) / ranks;
  return std::vector<Index>(order.begin() + lo, order.begin() + hi);
}

}  // namespace

double gamma_variate(double shape, std::uint64_t seed, std::uint32_t substream,
                     std::uint64_t* counter) {
  const CounterRng rng(seed, Stream::Partition, substream);
  if (shape < 1) {  // Gamma(a) = Gamma(a + 1) * U^(1/a)
    const double g = gamma_variate(shape + 1, seed, substream, counter);
    return g * std::pow(rng.uniform((*counter)++), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9 * d);
  for (;;) {
    const double z = rng.normal((*counter)++);
    const double v = std::pow(1 + c * z, 3);
    if (v <= 0) continue;
    const double u = rng.uniform((*counter)++);
    if (std::log(u) < 0.5 * z * z + d - d * v + d * std::log(v)) return d * v;
  }
}

std::vector<Index> partition_samples(const std::vector<int>& labels, int num_classes,
                                     const std::string& scheme, double beta, std::uint64_t seed,
                                     int rank, int ranks) {
  std::vector<Index> all(labels.size());
  std::iota(all.begin(), all.end(), Index{0});
  std::vector<Index> mine;
  if (scheme == "contiguous") {
    mine = block(all, rank, ranks);
  } else if (scheme == "iid") {
    shuffle(all, seed, 0);
    mine = block(all, rank, ranks);
  } else if (scheme == "dirichlet") {
    for (int c = 0; c < num_classes; ++c) {
      std::vector<Index> members;
      for (Index i : all)
        if (labels[i] == c) members.push_back(i);
      shuffle(members, seed, 1 + 2 * static_cast<std::uint32_t>(c));
      std::vector<double> p(ranks);
      std::uint64_t counter = 0;
      for (int r = 0; r < ranks; ++r)
        p[r] = gamma_variate(beta, seed, 2 + 2 * static_cast<std::uint32_t>(c), &counter);
      const double total = std::accumulate(p.begin(), p.end(), 0.0);
      double cumulative = 0;
      std::size_t lo = 0;
      for (int r = 0; r < ranks; ++r) {
        cumulative += p[r] / total;
        const std::size_t hi =
            r + 1 == ranks
                ? members.size()
                : std::min(members.size(),
                           static_cast<std::size_t>(std::llround(cumulative * members.size())));
        if (r == rank) mine.insert(mine.end(), members.begin() + lo, members.begin() + hi);
        lo = std::max(lo, hi);
      }
    }
  } else {
    throw std::logic_error("partition_samples: unknown scheme " + scheme);
  }
  std::sort(mine.begin(), mine.end());
  return mine;
}

}  // namespace olsgd
