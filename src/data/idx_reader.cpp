// Fashion-MNIST's gzip-compressed IDX files, read through zlib without unpacking.
// IDX: big-endian magic (0x00000801 labels, 0x00000803 images), then the dimensions.
#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/data/readers.hpp>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace olsgd {
namespace {

constexpr std::uint32_t kLabelsMagic = 0x00000801, kImagesMagic = 0x00000803;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using Gz = std::unique_ptr<gzFile_s, GzCloser>;

Gz open_gz(const std::string& path) {
  require_regular_file(path, kIdxFileKind);
  Gz f(gzopen(path.c_str(), "rb"));
  if (!f)
    throw InputError(path, std::string("cannot open: ") + std::strerror(errno ? errno : ENOENT));
  return f;
}

// zlib's description of the stream's error, without the path it puts in front.
std::string gz_why(gzFile_s* f, const std::string& path, int* err) {
  std::string why = gzerror(f, err);
  if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);
  return why;
}

// Reads exactly n bytes or explains why not.
void read_exact(gzFile_s* f, void* buf, std::size_t n, const std::string& path, const char* what) {
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    const int got = gzread(f, static_cast<char*>(buf) + done, chunk);
    if (got < 0) {
      int err = 0;
      throw InputError(path, "corrupt gzip data (" + gz_why(f, path, &err) + ")");
    }
    if (got == 0) throw InputError(path, std::string("truncated: ends inside the ") + what);
    done += static_cast<std::size_t>(got);
  }
}

std::uint32_t read_be32(gzFile_s* f, const std::string& path) {
  unsigned char b[4];
  read_exact(f, b, 4, path, "header");
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         b[3];
}

// After the last of the `count` samples the header declares: the end of the data, a gzip stream
// that ends there completely (its CRC and length trailer checked), nothing more.
void expect_end(gzFile_s* f, const std::string& path, Index count, const char* what) {
  unsigned char extra;
  const int got = gzread(f, &extra, 1);
  int err = Z_OK;
  const std::string why = gz_why(f, path, &err);
  if (got < 0) throw InputError(path, "corrupt gzip data (" + why + ")");
  if (got > 0)
    throw InputError(
        path, "holds data past the " + std::to_string(count) + " " + what + " its header declares");
  if (err == Z_BUF_ERROR)
    throw InputError(path, "truncated: the gzip stream ends early (" + why + ")");
}

void expect_magic(gzFile_s* f, std::uint32_t magic, const std::string& path) {
  const std::uint32_t got = read_be32(f, path);
  if (got != magic) {
    char msg[96];
    std::snprintf(msg, sizeof msg, "wrong magic number 0x%08x (expected 0x%08x, IDX %s)", got,
                  magic, magic == kLabelsMagic ? "labels" : "images");
    throw InputError(path, msg);
  }
}

}  // namespace

std::vector<int> read_idx_labels(const std::string& path, Index limit) {
  Gz f = open_gz(path);
  expect_magic(f.get(), kLabelsMagic, path);
  const Index n = read_be32(f.get(), path);
  const Index count = limit > 0 ? std::min(limit, n) : n;
  // Read in chunks: memory follows the labels present, not the count the header claims.
  std::vector<int> labels;
  std::vector<unsigned char> raw;
  for (Index first = 0; first < count; first += static_cast<Index>(raw.size())) {
    raw.resize(static_cast<std::size_t>(std::min<Index>(count - first, Index{1} << 16)));
    read_exact(f.get(), raw.data(), raw.size(), path, "labels");
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] > 9)
        throw InputError(path, "label " + std::to_string(raw[i]) + " of sample " +
                                   std::to_string(first + static_cast<Index>(i)) +
                                   " is out of range 0..9");
      labels.push_back(raw[i]);
    }
  }
  if (count == n) expect_end(f.get(), path, n, "labels");
  return labels;
}

HostData read_idx_images(const std::string& path, const std::vector<Index>& keep,
                         const std::vector<int>& labels, int num_classes, float mean,
                         float stddev) {
  Gz f = open_gz(path);
  expect_magic(f.get(), kImagesMagic, path);
  const Index n = read_be32(f.get(), path);
  const Index h = read_be32(f.get(), path), w = read_be32(f.get(), path);
  if (h != 28 || w != 28)
    throw InputError(path, "wrong dimensions " + std::to_string(h) + "x" + std::to_string(w) +
                               " (Fashion-MNIST images are 28x28)");
  if (n < static_cast<Index>(labels.size()))
    throw InputError(path, "holds " + std::to_string(n) + " images but its labels file " +
                               std::to_string(labels.size()));
  HostData out;
  out.rows = static_cast<Index>(keep.size());
  out.columns = h * w;
  out.num_classes = num_classes;
  out.dense.resize(out.rows * out.columns);
  out.labels.resize(out.rows);
  std::vector<unsigned char> image(out.columns);
  Index next = 0;  // samples are read in file order; skipped ones are decompressed only
  for (Index r = 0; r < out.rows; ++r) {
    const Index want = keep[r];
    if (want > next &&
        gzseek(f.get(), static_cast<z_off_t>((want - next) * out.columns), SEEK_CUR) < 0)
      throw InputError(path, "truncated: cannot reach image " + std::to_string(want));
    read_exact(f.get(), image.data(), image.size(), path, "images");
    next = want + 1;
    float* row = out.dense.data() + r * out.columns;
    for (Index j = 0; j < out.columns; ++j) row[j] = (image[j] / 255.0f - mean) / stddev;
    out.labels[r] = labels[want];
  }
  if (next == n) expect_end(f.get(), path, n, "images");
  return out;
}

Index idx_pair_samples(const std::string& images, const std::string& labels) {
  Gz l = open_gz(labels);
  expect_magic(l.get(), kLabelsMagic, labels);
  const Index n_labels = read_be32(l.get(), labels);
  Gz i = open_gz(images);
  expect_magic(i.get(), kImagesMagic, images);
  const Index n_images = read_be32(i.get(), images);
  if (n_labels != n_images)
    throw InputError(labels, "holds " + std::to_string(n_labels) + " labels but " + images +
                                 " holds " + std::to_string(n_images) +
                                 " images (the counts must match)");
  if (n_images == 0) throw InputError(images, "holds no images (its header declares 0)");
  return n_images;
}

FashionMnistFiles fashion_mnist_files(const std::string& folder) {
  return {folder + "/train-images-idx3-ubyte.gz", folder + "/train-labels-idx1-ubyte.gz",
          folder + "/t10k-images-idx3-ubyte.gz", folder + "/t10k-labels-idx1-ubyte.gz"};
}

}  // namespace olsgd
