#pragma once
// One entry per model (`model.kind`): what --help says, the model keys it reads, its checks
// against the deck, its size for the memory estimate, and how it is built. A new model is its
// own source files, one line in src/model/registry.cpp, and its test.
#include <olsgd/core/config.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/model/model.hpp>

#include <memory>
#include <string>
#include <vector>

namespace olsgd {

// The shape of the problem one rank trains on.
struct ProblemShape {
  bool known = false;    // false: not before the data are read (LIBSVM text)
  Index features = 0;    // per sample (the parameters of least squares / the quadratic)
  int classes = 0;       // 0 for regression
  Index train_rows = 0;  // this rank's training samples
  Index test_rows = 0;   // this rank's held-out samples
  Index nonzeros = 0;    // sparse data: stored values of the training shard
  bool sparse = false;
  ImageDims image;  // image data (features = its size), else all 0
};

// Builds the model on this rank's training shard; `quadratic` is the objective of a
// synthetic_quadratic run (else null).
template <class Scalar>
using ModelMaker = std::unique_ptr<Model<Scalar>> (*)(const Config&, const Dataset<Scalar>&,
                                                      const QuadraticProblem* quadratic, int rank);

// This rank's sums from which the exact optimum follows (QuadraticOptimum::solve, once summed
// over the ranks), for a model whose risk is a quadratic of the data.
template <class Scalar>
using OptimumMoments = std::vector<double> (*)(const Dataset<Scalar>&);

struct ModelEntry {
  const char* name;
  const char* summary;  // one line for --help
  // Model keys read under this deck (a model key the deck sets outside this list is ignored
  // with a warning).
  std::vector<std::string> (*keys)(const Config&);
  void (*check)(const Config&, const DeckCheck&);
  double (*params)(const Config&, const ProblemShape&);
  // Bytes of activations and scratch when training at batch `batch` (evaluation chunks
  // included) at `scalar_bytes` per number (null: none).
  double (*scratch)(const Config&, const ProblemShape&, double batch, double scalar_bytes);
  ModelMaker<float> make_float;
  ModelMaker<double> make_double;
  // Null for a model without an exact optimum.
  OptimumMoments<float> optimum_moments_float;
  OptimumMoments<double> optimum_moments_double;
};

// Every model, in --help order.
const std::vector<const ModelEntry*>& models();
// The entry named `name`, or null.
const ModelEntry* find_model(const std::string& name);
const ModelEntry& model_entry(const Config& config);
// Model keys some model reads but this deck's does not, in schema order (they change nothing).
std::vector<std::string> unread_model_keys(const Config& config);

// Builds the model the deck names on this rank's training shard.
template <class Scalar>
std::unique_ptr<Model<Scalar>> make_model(const Config& config, const Dataset<Scalar>& train,
                                          const QuadraticProblem* quadratic = nullptr,
                                          int rank = 0);

// The deck's model's optimum sums on this rank's shard (OptimumMoments); empty when the model
// has no exact optimum or it is too large to form.
template <class Scalar>
std::vector<double> optimum_moments(const Config& config, const Dataset<Scalar>& train);

}  // namespace olsgd
