#pragma once
// A rank's shard of a dataset, resident in device memory: dense or sparse (CRS) features,
// and real targets (regression) or class labels (classification).
#include <olsgd/core/error.hpp>
#include <olsgd/core/types.hpp>

#include <KokkosSparse_CrsMatrix.hpp>

#include <string>

namespace olsgd {

// The contiguous block of global sample indices a rank holds (even split; validated upstream).
struct Shard {
  Index first = 0;
  Index count = 0;
};

inline Shard even_shard(Index total, int rank, int ranks) {
  const Index count = total / ranks;
  return {count * rank, count};
}

using Labels = Kokkos::View<int*, MemSpace>;

template <class Scalar>
using SparseMatrix =
    KokkosSparse::CrsMatrix<Scalar, int, Kokkos::Device<ExecSpace, MemSpace>, void, Index>;

// Channels, height and width of one sample of an image data set.
struct ImageDims {
  Index channels = 0, height = 0, width = 0;
  Index size() const { return channels * height * width; }
};

// The image shape of a file data set (`data.kind`), or all 0 for flat data.
inline ImageDims image_dims(const std::string& kind) {
  if (kind == "fashion_mnist") return {1, 28, 28};
  if (kind == "cifar10") return {3, 32, 32};
  return {};
}

// How a file data set's pixels are normalised: (byte / 255 - mean[c]) / std[c], the training
// set's per-channel mean and standard deviation (channels past image_dims' are unused).
struct ImageNorm {
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  // A black pixel normalised: what zero padding adds around an image.
  float black(Index c) const { return -mean[c] / std[c]; }
};
inline ImageNorm image_norm(const std::string& kind) {
  if (kind == "fashion_mnist") return {{0.2860f, 0, 0}, {0.3530f, 1, 1}};
  if (kind == "cifar10") return {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
  return {};
}

template <class Scalar>
struct Dataset {
  Matrix<Scalar> features;      // rows x num_features, row per sample (dense data)
  SparseMatrix<Scalar> sparse;  // rows x num_features in CRS (sparse data), else empty
  Vector<Scalar> targets;       // regression targets (least squares), else empty
  Labels labels;                // class labels 0..num_classes-1 (classification), else empty
  int num_classes = 0;          // 0 for regression
  Index columns = 0;            // number of features
  // Image data: each row is channels x height x width (C-major, as NCHW); else all 0.
  ImageDims image;
  Index global_samples = 0;
  Shard shard;

  bool sparse_features = false;

  Index rows() const {
    return sparse_features ? static_cast<Index>(sparse.numRows())
                           : static_cast<Index>(features.extent(0));
  }
  Index num_features() const { return columns; }
};

}  // namespace olsgd
