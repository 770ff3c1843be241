#pragma once
// One entry per algorithm (`algorithm.name`), beside its code: what --help says, the deck keys
// it reads, its checks across keys, its exact state size for the memory estimate, and how it
// is built with its own typed parameters. Deck validation, --help and the warning for keys an
// algorithm ignores all follow from these entries. A new algorithm is its own source files,
// one line in src/algo/registry.cpp, and its test; a new anchor exchange likewise.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/algo/exchange.hpp>
#include <olsgd/core/config.hpp>

#include <memory>
#include <string>
#include <vector>

namespace olsgd {

template <class Scalar>
using AlgorithmMaker = std::unique_ptr<Algorithm<Scalar>> (*)(const TrainingContext<Scalar>&);

struct AlgorithmEntry {
  const char* name;
  const char* summary;  // one line for --help
  // Keys of the algorithm-specific sections (and the optimizer and comm keys only some
  // algorithms read) that this algorithm reads under this deck; any such key the deck sets
  // outside the list is ignored with a warning.
  std::vector<std::string> (*keys)(const Config&);
  void (*check)(const Config&, const DeckCheck&);  // null: none
  // d-vectors in its flat state, and further state bytes (e.g. a sketch table; null: none).
  double (*state_copies)(const Config&);
  double (*extra_state_bytes)(const Config&, double scalar_bytes);
  // Message buffers and other scratch for d numbers on `ranks` ranks (null: none).
  double (*scratch_bytes)(const Config&, double d, double scalar_bytes, int ranks);
  AlgorithmMaker<float> make_float;
  AlgorithmMaker<double> make_double;
};

// Every algorithm, in --help order, and the one named (null if none).
const std::vector<const AlgorithmEntry*>& algorithms();
const AlgorithmEntry* find_algorithm(const std::string& name);
const AlgorithmEntry& algorithm_entry(const Config& config);
// Keys some algorithm reads but this deck's does not, in schema order (they change nothing).
std::vector<std::string> unread_algorithm_keys(const Config& config);

// Every anchor exchange (`algorithm.anchor_compression`), and the one named (null if none).
const std::vector<const AnchorExchangeEntry*>& anchor_exchanges();
const AnchorExchangeEntry* find_anchor_exchange(const std::string& name);
// The factory of the anchor exchange the deck names; `config` must outlive the factory.
template <class Scalar>
AnchorExchangeFactory<Scalar> anchor_exchange_factory(const Config& config);

// Builds the algorithm the deck names.
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_algorithm(const TrainingContext<Scalar>& ctx);

// Building blocks of the entries.
// The local optimizer's momentum keys, which every algorithm with a local step reads.
std::vector<std::string> local_optimizer_keys();
}  // namespace olsgd
