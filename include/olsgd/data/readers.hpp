#pragma once
// File readers for labelled datasets, into host memory. Every malformed file ends in an
// InputError naming the file (and line, for text): missing, truncated, wrong magic number,
// wrong dimensions, label out of range, malformed LIBSVM line.
#include <olsgd/core/types.hpp>

#include <string>
#include <vector>

namespace olsgd {

// Samples on the host: dense row-major features, or CSR, plus class labels.
struct HostData {
  Index rows = 0;
  Index columns = 0;
  int num_classes = 0;
  bool sparse = false;
  std::vector<float> dense;    // rows * columns (dense)
  std::vector<Index> row_ptr;  // rows + 1 (sparse)
  std::vector<int> col;        // 0-based column of each stored value (sparse)
  std::vector<float> val;
  std::vector<int> labels;  // rows, each in [0, num_classes)
};

// The samples an IDX images file and its labels file both declare in their headers (magic
// numbers checked); refused, naming both files and counts, unless the counts agree, and
// refused if both are 0.
Index idx_pair_samples(const std::string& images, const std::string& labels);
// Labels only, for partitioning before the features are read.
std::vector<int> read_idx_labels(const std::string& path, Index limit);
// The IDX images `keep` (sorted global indices), normalised; one gzip stream pass, only
// those samples kept in memory.
HostData read_idx_images(const std::string& path, const std::vector<Index>& keep,
                         const std::vector<int>& labels, int num_classes, float mean, float stddev);

// What the readers call their files in messages ("..., not a <kind>").
inline constexpr const char* kIdxFileKind = "gzip-compressed IDX file";
inline constexpr const char* kCifar10FileKind = "CIFAR-10 batch file";
inline constexpr const char* kLibsvmFileKind = "LIBSVM text file";

// Fashion-MNIST file names in its folder.
struct FashionMnistFiles {
  std::string train_images, train_labels, test_images, test_labels;
};
FashionMnistFiles fashion_mnist_files(const std::string& folder);

// CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (R, G, B planes).
std::vector<std::string> cifar10_train_files(const std::string& folder);
std::string cifar10_test_file(const std::string& folder);
std::vector<int> read_cifar10_labels(const std::vector<std::string>& files, Index limit);
HostData read_cifar10_images(const std::vector<std::string>& files, const std::vector<Index>& keep,
                             const std::vector<int>& labels);

// LIBSVM text: "label index:value ..." with 1-based increasing indices; '#' comments and
// blank lines allowed. Labels -1/+1 become classes 0/1, otherwise 0..K-1. `columns` = 0
// takes the largest index seen.
HostData read_libsvm(const std::string& path, Index limit, Index columns);

// The rows `keep` of `all` (sorted), as a new HostData.
HostData select_rows(const HostData& all, const std::vector<Index>& keep);

}  // namespace olsgd
