#include <olsgd/core/error.hpp>
#include <olsgd/data/loader.hpp>
#include <olsgd/data/partition.hpp>
#include <olsgd/data/synthetic.hpp>

#include <numeric>

namespace olsgd {
namespace {

// Fashion-MNIST pixel statistics (after scaling to [0, 1]).

std::vector<Index> even_block(Index n, int rank, int ranks) {
  std::vector<Index> v(n * (rank + 1) / ranks - n * rank / ranks);
  std::iota(v.begin(), v.end(), n * rank / ranks);
  return v;
}

// This rank's training samples, refusing an empty or too-small shard.
std::vector<Index> my_samples(const Config& c, const std::vector<int>& labels, int num_classes,
                              int rank, int ranks) {
  std::vector<Index> keep = partition_samples(labels, num_classes, c.data.partition,
                                              c.data.dirichlet_beta, c.run.seed, rank, ranks);
  if (static_cast<Index>(keep.size()) < c.optimizer.batch)
    throw InputError(c.data.path, "data.partition: rank " + std::to_string(rank) + " gets " +
                                      std::to_string(keep.size()) + " of " +
                                      std::to_string(labels.size()) + " samples (" +
                                      c.data.partition + "), fewer than optimizer.batch " +
                                      std::to_string(c.optimizer.batch));
  return keep;
}

}  // namespace

template <class Scalar>
Dataset<Scalar> to_device(const HostData& h, Index global_samples) {
  Dataset<Scalar> d;
  d.columns = h.columns;
  d.num_classes = h.num_classes;
  d.global_samples = global_samples;
  d.shard = {0, h.rows};
  d.labels = Labels("olsgd::data::labels", h.rows);
  auto labels = Kokkos::create_mirror_view(d.labels);
  for (Index i = 0; i < h.rows; ++i) labels(i) = h.labels[i];
  Kokkos::deep_copy(d.labels, labels);
  if (!h.sparse) {
    d.features = Matrix<Scalar>("olsgd::data::features", h.rows, h.columns);
    auto f = Kokkos::create_mirror_view(d.features);
    for (Index i = 0; i < h.rows; ++i)
      for (Index j = 0; j < h.columns; ++j)
        f(i, j) = static_cast<Scalar>(h.dense[i * h.columns + j]);
    Kokkos::deep_copy(d.features, f);
    return d;
  }
  d.sparse_features = true;
  using M = SparseMatrix<Scalar>;
  const Index nnz = static_cast<Index>(h.col.size());
  typename M::row_map_type::non_const_type row_map("olsgd::data::row_map", h.rows + 1);
  typename M::index_type::non_const_type entries("olsgd::data::entries", nnz);
  typename M::values_type::non_const_type values("olsgd::data::values", nnz);
  auto rm = Kokkos::create_mirror_view(row_map);
  auto en = Kokkos::create_mirror_view(entries);
  auto va = Kokkos::create_mirror_view(values);
  for (Index i = 0; i <= h.rows; ++i) rm(i) = h.row_ptr[i];
  for (Index k = 0; k < nnz; ++k) {
    en(k) = h.col[k];
    va(k) = static_cast<Scalar>(h.val[k]);
  }
  Kokkos::deep_copy(row_map, rm);
  Kokkos::deep_copy(entries, en);
  Kokkos::deep_copy(values, va);
  d.sparse = M("olsgd::data::sparse", static_cast<int>(h.rows), static_cast<int>(h.columns), nnz,
               values, row_map, entries);
  return d;
}

std::vector<DataFile> data_files(const DataConfig& d) {
  std::vector<DataFile> files;
  if (d.kind == "fashion_mnist") {
    const FashionMnistFiles f = fashion_mnist_files(d.path);
    for (const std::string* p : {&f.train_images, &f.train_labels, &f.test_images, &f.test_labels})
      files.push_back({*p, kIdxFileKind});
  } else if (d.kind == "cifar10") {
    for (std::string& p : cifar10_train_files(d.path)) files.push_back({p, kCifar10FileKind});
    files.push_back({cifar10_test_file(d.path), kCifar10FileKind});
  } else if (d.kind == "libsvm") {
    files.push_back({d.path, kLibsvmFileKind});
    if (!d.test_path.empty()) files.push_back({d.test_path, kLibsvmFileKind});
  }
  return files;
}

template <class Scalar>
LoadedData<Scalar> load_data(const Config& c, int rank, int ranks) {
  LoadedData<Scalar> out;
  const auto& d = c.data;
  if (d.kind == "synthetic_quadratic") {
    out.quadratic = make_quadratic_problem(d, c.run.seed, ranks);
    out.train.columns = d.features;
    return out;
  }
  if (d.kind == "synthetic_least_squares") {
    out.train = make_synthetic_least_squares<Scalar>(d, c.run.seed, rank, ranks);
    return out;
  }
  if (d.kind == "fashion_mnist") {
    const FashionMnistFiles f = fashion_mnist_files(d.path);
    const ImageNorm norm = image_norm(d.kind);
    idx_pair_samples(f.train_images, f.train_labels);
    idx_pair_samples(f.test_images, f.test_labels);
    const std::vector<int> labels = read_idx_labels(f.train_labels, d.limit);
    const auto keep = my_samples(c, labels, 10, rank, ranks);
    out.train = to_device<Scalar>(
        read_idx_images(f.train_images, keep, labels, 10, norm.mean[0], norm.std[0]),
        static_cast<Index>(labels.size()));
    const std::vector<int> test_labels = read_idx_labels(f.test_labels, 0);
    out.test = to_device<Scalar>(
        read_idx_images(f.test_images, even_block(test_labels.size(), rank, ranks), test_labels, 10,
                        norm.mean[0], norm.std[0]),
        static_cast<Index>(test_labels.size()));
  } else if (d.kind == "cifar10") {
    const auto files = cifar10_train_files(d.path);
    const std::vector<int> labels = read_cifar10_labels(files, d.limit);
    const auto keep = my_samples(c, labels, 10, rank, ranks);
    out.train = to_device<Scalar>(read_cifar10_images(files, keep, labels),
                                  static_cast<Index>(labels.size()));
    const std::vector<std::string> test_files = {cifar10_test_file(d.path)};
    const std::vector<int> test_labels = read_cifar10_labels(test_files, 0);
    out.test = to_device<Scalar>(
        read_cifar10_images(test_files, even_block(test_labels.size(), rank, ranks), test_labels),
        static_cast<Index>(test_labels.size()));
  } else {  // libsvm
    const HostData all = read_libsvm(d.path, d.limit, 0);
    const auto keep = my_samples(c, all.labels, all.num_classes, rank, ranks);
    out.train = to_device<Scalar>(select_rows(all, keep), all.rows);
    if (!d.test_path.empty()) {
      HostData test = read_libsvm(d.test_path, 0, all.columns);
      if (test.num_classes > all.num_classes)
        throw InputError(d.test_path, "has " + std::to_string(test.num_classes) +
                                          " classes, the training file " +
                                          std::to_string(all.num_classes));
      test.num_classes = all.num_classes;
      out.test =
          to_device<Scalar>(select_rows(test, even_block(test.rows, rank, ranks)), test.rows);
    }
  }
  out.train.image = out.test.image = image_dims(d.kind);
  return out;
}

template LoadedData<float> load_data<float>(const Config&, int, int);
template LoadedData<double> load_data<double>(const Config&, int, int);
template Dataset<float> to_device<float>(const HostData&, Index);
template Dataset<double> to_device<double>(const HostData&, Index);

}  // namespace olsgd
