// CIFAR-10 binary batches: fixed-size records, so a rank seeks straight to its samples.
#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/data/readers.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace olsgd {
namespace {

constexpr Index kPixels = 3072, kRecord = 1 + kPixels;
constexpr Index kBatchRecords = 10000;  // each of CIFAR-10's six batch files

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const std::string& path) {
  require_regular_file(path, kCifar10FileKind);
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  return f;
}

// Records in a batch file; its size must be a whole number of records.
Index records_in(std::FILE* f, const std::string& path) {
  const long size = std::fseek(f, 0, SEEK_END) == 0 ? std::ftell(f) : -1;
  if (size < 0) throw InputError(path, std::string("cannot read: ") + std::strerror(errno));
  if (size <= 0) throw InputError(path, "empty file (a CIFAR-10 batch holds 3073-byte records)");
  if (size % kRecord != 0)
    throw InputError(path, "truncated or not a CIFAR-10 batch: " + std::to_string(size) +
                               " bytes is not a whole number of 3073-byte records");
  // Checked before anything is allocated for it: a huge file is not a batch.
  if (size / kRecord > kBatchRecords)
    throw InputError(path, std::to_string(size / kRecord) + " records, more than the " +
                               std::to_string(kBatchRecords) + " a CIFAR-10 batch holds");
  return size / kRecord;
}

}  // namespace

std::vector<std::string> cifar10_train_files(const std::string& folder) {
  std::vector<std::string> files;
  for (int b = 1; b <= 5; ++b)
    files.push_back(folder + "/data_batch_" + std::to_string(b) + ".bin");
  return files;
}

std::string cifar10_test_file(const std::string& folder) {
  return folder + "/test_batch.bin";
}

std::vector<int> read_cifar10_labels(const std::vector<std::string>& files, Index limit) {
  std::vector<int> labels;
  for (const auto& path : files) {
    File f = open_file(path);
    const Index n = records_in(f.get(), path);
    for (Index i = 0; i < n && (limit == 0 || static_cast<Index>(labels.size()) < limit); ++i) {
      std::fseek(f.get(), static_cast<long>(i * kRecord), SEEK_SET);
      const int label = std::fgetc(f.get());
      if (label < 0) throw InputError(path, "cannot read record " + std::to_string(i));
      if (label > 9)
        throw InputError(path, "label " + std::to_string(label) + " of record " +
                                   std::to_string(i) + " is out of range 0..9");
      labels.push_back(label);
    }
  }
  return labels;
}

HostData read_cifar10_images(const std::vector<std::string>& files, const std::vector<Index>& keep,
                             const std::vector<int>& labels) {
  HostData out;
  out.rows = static_cast<Index>(keep.size());
  out.columns = kPixels;
  out.num_classes = 10;
  out.dense.resize(out.rows * kPixels);
  out.labels.resize(out.rows);
  std::vector<unsigned char> rec(kRecord);
  const ImageNorm norm = image_norm("cifar10");
  Index file_first = 0, r = 0;
  for (const auto& path : files) {
    if (r == out.rows) break;
    File f = open_file(path);
    const Index n = records_in(f.get(), path);
    for (; r < out.rows && keep[r] < file_first + n; ++r) {
      std::fseek(f.get(), static_cast<long>((keep[r] - file_first) * kRecord), SEEK_SET);
      if (std::fread(rec.data(), 1, kRecord, f.get()) != static_cast<std::size_t>(kRecord))
        throw InputError(path, "truncated record " + std::to_string(keep[r] - file_first));
      float* row = out.dense.data() + r * kPixels;
      for (Index j = 0; j < kPixels; ++j) {
        const int c = static_cast<int>(j / 1024);  // R, G, B planes of 32x32
        row[j] = (rec[1 + j] / 255.0f - norm.mean[c]) / norm.std[c];
      }
      out.labels[r] = labels[keep[r]];
    }
    file_first += n;
  }
  return out;
}

}  // namespace olsgd
