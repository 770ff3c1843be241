#pragma once
// Which global samples a rank trains on. A pure function of (labels, scheme, seed, rank,
// rank count), computed identically on every rank, so no communication is needed:
//   contiguous  even blocks in file order;
//   iid         a seeded shuffle, then even blocks;
//   dirichlet   label skew (Hsu et al. 2019): for each class, proportions over the ranks are
//               drawn from Dirichlet(beta) and the class's (shuffled) samples cut accordingly.
// The returned indices are sorted, so a reader can stream through a file once.
#include <olsgd/core/types.hpp>

#include <string>
#include <vector>

namespace olsgd {

std::vector<Index> partition_samples(const std::vector<int>& labels, int num_classes,
                                     const std::string& scheme, double beta, std::uint64_t seed,
                                     int rank, int ranks);

// A Gamma(shape, 1) variate (Marsaglia-Tsang), drawn from (seed, stream Partition, substream)
// starting at counter `*counter`, which it advances.
double gamma_variate(double shape, std::uint64_t seed, std::uint32_t substream,
                     std::uint64_t* counter);

}  // namespace olsgd
