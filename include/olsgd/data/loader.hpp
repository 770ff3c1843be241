#pragma once
// Builds this rank's training shard and held-out shard for the deck's data.kind:
// synthetic least squares (no held-out set), Fashion-MNIST, CIFAR-10, or LIBSVM. Training
// samples are split by data.partition; the held-out set in even contiguous blocks (the
// evaluation sums over ranks). Throws InputError for bad files or an empty shard.
#include <olsgd/core/config.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/data/readers.hpp>

#include <optional>
#include <string>
#include <vector>

namespace olsgd {

template <class Scalar>
struct LoadedData {
  Dataset<Scalar> train;
  Dataset<Scalar> test;                       // rows() == 0 when there is none
  std::optional<QuadraticProblem> quadratic;  // synthetic_quadratic: the objective itself
};

template <class Scalar>
LoadedData<Scalar> load_data(const Config& config, int rank, int ranks);

// The files load_data reads for `data` (none for the synthetic kinds), in the order it reads
// them, each with what its reader calls it in messages.
struct DataFile {
  std::string path;
  const char* kind;
};
std::vector<DataFile> data_files(const DataConfig& data);

// Host samples to device memory in precision Scalar.
template <class Scalar>
Dataset<Scalar> to_device(const HostData& host, Index global_samples);

}  // namespace olsgd
