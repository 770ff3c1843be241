// Data layer: partitions (each sample on exactly one rank, deterministic, label skew), and
// the file readers on small files written here — good ones, and every kind of bad one, each
// refused with one message naming the file (and line).
#include <olsgd/core/error.hpp>
#include <olsgd/data/loader.hpp>
#include <olsgd/data/partition.hpp>
#include <olsgd/data/readers.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>
#include <test_helpers.hpp>

namespace fs = std::filesystem;

namespace {

using namespace olsgd;

std::vector<int> cyclic_labels(Index n, int K) {
  std::vector<int> l(n);
  for (Index i = 0; i < n; ++i) l[i] = static_cast<int>(i % K);
  return l;
}

TEST(partition, every_sample_lands_on_exactly_one_rank) {
  const auto labels = cyclic_labels(1000, 10);
  for (const char* scheme : {"contiguous", "iid", "dirichlet"})
    for (int ranks : {1, 3, 4}) {
      SCOPED_TRACE(std::string(scheme) + " on " + std::to_string(ranks));
      std::multiset<Index> seen;
      for (int r = 0; r < ranks; ++r) {
        const auto mine = partition_samples(labels, 10, scheme, 0.5, 42, r, ranks);
        EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
        EXPECT_EQ(mine, partition_samples(labels, 10, scheme, 0.5, 42, r, ranks));  // deterministic
        seen.insert(mine.begin(), mine.end());
      }
      ASSERT_EQ(seen.size(), 1000u);
      EXPECT_EQ(std::set<Index>(seen.begin(), seen.end()).size(), 1000u);
    }
  EXPECT_NE(partition_samples(labels, 10, "iid", 0, 1, 0, 2),
            partition_samples(labels, 10, "contiguous", 0, 1, 0, 2));
  EXPECT_NE(partition_samples(labels, 10, "iid", 0, 1, 0, 2),
            partition_samples(labels, 10, "iid", 0, 2, 0, 2));  // the seed matters
}

// Fraction of a rank's samples in its most frequent class.
double top_class_share(const std::vector<int>& labels, const std::vector<Index>& mine) {
  std::vector<int> count(10, 0);
  for (Index i : mine) ++count[labels[i]];
  return mine.empty() ? 0 : *std::max_element(count.begin(), count.end()) / double(mine.size());
}

TEST(partition, small_dirichlet_beta_skews_labels_large_beta_does_not) {
  const auto labels = cyclic_labels(10000, 10);
  double skewed = 0, even = 0;
  for (int r = 0; r < 4; ++r) {
    skewed += top_class_share(labels, partition_samples(labels, 10, "dirichlet", 0.1, 7, r, 4)) / 4;
    even += top_class_share(labels, partition_samples(labels, 10, "dirichlet", 1000, 7, r, 4)) / 4;
  }
  EXPECT_GT(skewed, 0.4);  // with beta = 0.1 a few classes dominate each rank
  EXPECT_LT(even, 0.15);   // with beta = 1000 every rank sees about 10% of each class
}

TEST(partition, gamma_variates_have_the_right_mean) {
  for (double shape : {0.3, 1.0, 4.5}) {
    std::uint64_t counter = 0;
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) sum += gamma_variate(shape, 11, 0, &counter);
    EXPECT_NEAR(sum / n, shape, 5 * std::sqrt(shape / n)) << shape;  // variance = shape
  }
}

class Files : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/olsgd-data-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // An IDX file, gzip-compressed: magic, dims, then `payload` bytes.
  std::string idx(const std::string& name, std::uint32_t magic, std::vector<std::uint32_t> dims,
                  const std::vector<unsigned char>& payload) const {
    gzFile f = gzopen(path(name).c_str(), "wb");
    auto be = [&](std::uint32_t v) {
      unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                            static_cast<unsigned char>(v >> 16), static_cast<unsigned char>(v >> 8),
                            static_cast<unsigned char>(v)};
      gzwrite(f, b, 4);
    };
    be(magic);
    for (auto d : dims) be(d);
    if (!payload.empty()) gzwrite(f, payload.data(), static_cast<unsigned>(payload.size()));
    gzclose(f);
    return path(name);
  }

  std::string text(const std::string& name, const std::string& content) const {
    std::ofstream(path(name)) << content;
    return path(name);
  }

  fs::path dir_;
};

// The message of the InputError `f` throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::vector<unsigned char> images(int n) {
  std::vector<unsigned char> v(n * 784);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<unsigned char>(i % 251);
  return v;
}

TEST_F(Files, idx_images_and_labels_round_trip_with_normalisation) {
  const auto labels_file = idx("l.gz", 0x801, {5}, {3, 1, 4, 1, 5});
  const auto images_file = idx("i.gz", 0x803, {5, 28, 28}, images(5));
  const auto labels = read_idx_labels(labels_file, 0);
  EXPECT_EQ(labels, (std::vector<int>{3, 1, 4, 1, 5}));
  EXPECT_EQ(read_idx_labels(labels_file, 2).size(), 2u);
  const HostData h = read_idx_images(images_file, {1, 4}, labels, 10, 0.5f, 2.0f);
  ASSERT_EQ(h.rows, 2);
  EXPECT_EQ(h.labels, (std::vector<int>{1, 5}));
  const auto raw = images(5);
  EXPECT_FLOAT_EQ(h.dense[0], (raw[784] / 255.0f - 0.5f) / 2.0f);
  EXPECT_FLOAT_EQ(h.dense[784 + 10], (raw[4 * 784 + 10] / 255.0f - 0.5f) / 2.0f);
}

TEST_F(Files, bad_idx_files_are_refused_with_the_file_named) {
  const std::vector<int> labels = {0, 1, 2};
  EXPECT_EQ(error_of([&] { read_idx_labels(path("missing.gz"), 0); }),
            path("missing.gz") + ": cannot open: No such file or directory");
  const auto wrong = idx("wrong.gz", 0x803, {3}, {0, 1, 2});
  EXPECT_EQ(error_of([&] { read_idx_labels(wrong, 0); }),
            wrong + ": wrong magic number 0x00000803 (expected 0x00000801, IDX labels)");
  const auto short_labels = idx("short.gz", 0x801, {10}, {0, 1, 2});
  EXPECT_EQ(error_of([&] { read_idx_labels(short_labels, 0); }),
            short_labels + ": truncated: ends inside the labels");
  const auto big_label = idx("big.gz", 0x801, {3}, {0, 12, 2});
  EXPECT_EQ(error_of([&] { read_idx_labels(big_label, 0); }),
            big_label + ": label 12 of sample 1 is out of range 0..9");
  const auto dims = idx("dims.gz", 0x803, {3, 27, 28}, images(3));
  EXPECT_EQ(error_of([&] { read_idx_images(dims, {0}, labels, 10, 0, 1); }),
            dims + ": wrong dimensions 27x28 (Fashion-MNIST images are 28x28)");
  auto cut = images(3);
  cut.resize(2 * 784 + 100);
  const auto truncated = idx("cut.gz", 0x803, {3, 28, 28}, cut);
  EXPECT_EQ(error_of([&] {
              read_idx_images(truncated, {0, 2}, labels, 10, 0, 1);
            }),
            truncated + ": truncated: ends inside the images");
  text("garbage.gz", "this is not gzip data at all, just text that claims to be an IDX file");
  EXPECT_NE(
      error_of([&] { read_idx_labels(path("garbage.gz"), 0); }).find(path("garbage.gz") + ": "),
      std::string::npos);
}

using test::bytes_of;

// A file of bytes.
void write_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_F(Files, idx_counts_and_gzip_streams_are_checked_to_the_end) {
  // Labels and images must declare the same number of samples, in either direction.
  const auto labels5 = idx("l5.gz", 0x801, {5}, {0, 1, 2, 3, 4});
  const auto images6 = idx("i6.gz", 0x803, {6, 28, 28}, images(6));
  const auto images5 = idx("i5.gz", 0x803, {5, 28, 28}, images(5));
  EXPECT_EQ(idx_pair_samples(images5, labels5), 5);
  EXPECT_EQ(
      error_of([&] { idx_pair_samples(images6, labels5); }),
      labels5 + ": holds 5 labels but " + images6 + " holds 6 images (the counts must match)");
  const auto labels7 = idx("l7.gz", 0x801, {7}, {0, 1, 2, 3, 4, 5, 6});
  EXPECT_EQ(
      error_of([&] { idx_pair_samples(images5, labels7); }),
      labels7 + ": holds 7 labels but " + images5 + " holds 5 images (the counts must match)");
  const auto labels0 = idx("l0.gz", 0x801, {0}, {});
  const auto images0 = idx("i0.gz", 0x803, {0, 28, 28}, {});
  EXPECT_EQ(error_of([&] { idx_pair_samples(images0, labels0); }),
            images0 + ": holds no images (its header declares 0)");
  EXPECT_EQ(error_of([&] { idx_pair_samples(labels5, labels5); }),
            labels5 + ": wrong magic number 0x00000801 (expected 0x00000803, IDX images)");
  // A header claiming 2^32-1 labels over three: truncated, without a 4 GiB buffer first.
  const auto huge = idx("huge.gz", 0x801, {0xffffffffu}, {0, 1, 2});
  EXPECT_EQ(error_of([&] { read_idx_labels(huge, 0); }),
            huge + ": truncated: ends inside the labels");
  EXPECT_EQ(read_idx_labels(huge, 2), (std::vector<int>{0, 1}));
  // More data than the header declares.
  const auto extra = idx("extra.gz", 0x801, {3}, {0, 1, 2, 3});
  EXPECT_EQ(error_of([&] { read_idx_labels(extra, 0); }),
            extra + ": holds data past the 3 labels its header declares");
  const auto extra_images = idx("extra_i.gz", 0x803, {2, 28, 28}, images(3));
  EXPECT_EQ(error_of([&] {
              read_idx_images(extra_images, {1}, {0, 1}, 10, 0, 1);
            }),
            extra_images + ": holds data past the 2 images its header declares");
  // A gzip stream cut inside its trailer (every label there, the CRC and length not), and one
  // whose CRC does not match.
  std::string gz = bytes_of(labels5);
  write_bytes(path("cut_trailer.gz"), gz.substr(0, gz.size() - 4));
  EXPECT_EQ(
      error_of([&] { read_idx_labels(path("cut_trailer.gz"), 0); }),
      path("cut_trailer.gz") + ": truncated: the gzip stream ends early (unexpected end of file)");
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 0x5a);
  write_bytes(path("crc.gz"), gz);
  EXPECT_EQ(error_of([&] { read_idx_labels(path("crc.gz"), 0); }),
            path("crc.gz") + ": corrupt gzip data (incorrect data check)");
  const std::string images_gz = bytes_of(images5);
  write_bytes(path("i_cut.gz"), images_gz.substr(0, images_gz.size() - 4));
  EXPECT_EQ(error_of([&] {
              read_idx_images(path("i_cut.gz"), {4}, {0, 1, 2, 3, 4}, 10, 0, 1);
            }),
            path("i_cut.gz") + ": truncated: the gzip stream ends early (unexpected end of file)");
  EXPECT_EQ(error_of([&] { read_idx_labels(dir_.string(), 0); }),
            dir_.string() + ": is a folder, not a gzip-compressed IDX file");
}

TEST_F(Files, fashion_mnist_folders_with_unequal_label_and_image_counts_are_refused) {
  const FashionMnistFiles f = fashion_mnist_files(dir_.string());
  idx("train-labels-idx1-ubyte.gz", 0x801, {4}, {0, 1, 2, 3});
  idx("train-images-idx3-ubyte.gz", 0x803, {4, 28, 28}, images(4));
  idx("t10k-labels-idx1-ubyte.gz", 0x801, {2}, {5, 6});
  idx("t10k-images-idx3-ubyte.gz", 0x803, {2, 28, 28}, images(2));
  Config c =
      parse_config("", "t",
                   {"data.kind=fashion_mnist", "model.kind=logistic", "data.path=" + dir_.string(),
                    "data.partition=contiguous", "optimizer.batch=1"},
                   1);
  EXPECT_EQ(load_data<float>(c, 0, 1).test.rows(), 2);
  idx("t10k-labels-idx1-ubyte.gz", 0x801, {1}, {5});  // shorter than its 2 images
  EXPECT_EQ(error_of([&] { load_data<float>(c, 0, 1); }),
            f.test_labels + ": holds 1 labels but " + f.test_images +
                " holds 2 images (the counts must match)");
  idx("train-labels-idx1-ubyte.gz", 0x801, {3}, {0, 1, 2});  // with data.limit too
  c.data.limit = 2;
  EXPECT_EQ(error_of([&] { load_data<float>(c, 0, 1); }),
            f.train_labels + ": holds 3 labels but " + f.train_images +
                " holds 4 images (the counts must match)");
}

TEST_F(Files, cifar10_records_and_bad_batches) {
  std::vector<unsigned char> rec;
  for (int r = 0; r < 3; ++r) {
    rec.push_back(static_cast<unsigned char>(7 - r));
    for (int j = 0; j < 3072; ++j) rec.push_back(static_cast<unsigned char>((r + j) % 256));
  }
  std::ofstream(path("b1.bin"), std::ios::binary)
      .write(reinterpret_cast<char*>(rec.data()), rec.size());
  const std::vector<std::string> files = {path("b1.bin")};
  const auto labels = read_cifar10_labels(files, 0);
  EXPECT_EQ(labels, (std::vector<int>{7, 6, 5}));
  const HostData h = read_cifar10_images(files, {2}, labels);
  EXPECT_EQ(h.labels, (std::vector<int>{5}));
  EXPECT_FLOAT_EQ(h.dense[0], (2 / 255.0f - 0.4914f) / 0.2470f);  // red plane, pixel 0
  EXPECT_FLOAT_EQ(h.dense[2048], ((2 + 2048) % 256 / 255.0f - 0.4465f) / 0.2616f);  // blue

  std::ofstream(path("cut.bin"), std::ios::binary)
      .write(reinterpret_cast<char*>(rec.data()), 3073 + 100);
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("cut.bin")}, 0); }),
            path("cut.bin") +
                ": truncated or not a CIFAR-10 batch: 3173 bytes is not a whole number of "
                "3073-byte records");
  rec[3073] = 11;
  std::ofstream(path("bad.bin"), std::ios::binary)
      .write(reinterpret_cast<char*>(rec.data()), rec.size());
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("bad.bin")}, 0); }),
            path("bad.bin") + ": label 11 of record 1 is out of range 0..9");
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("none.bin")}, 0); }),
            path("none.bin") + ": cannot open: No such file or directory");
}

TEST_F(Files, cifar10_batches_that_are_no_regular_file_are_refused) {
  fs::create_directory(path("folder.bin"));
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("folder.bin")}, 0); }),
            path("folder.bin") + ": is a folder, not a CIFAR-10 batch file");
  // A pipe is refused before it is opened (a pipe nobody writes would block the open).
  ASSERT_EQ(mkfifo(path("pipe.bin").c_str(), 0600), 0);
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("pipe.bin")}, 0); }),
            path("pipe.bin") +
                ": not a regular file (a pipe, socket or device), not a CIFAR-10 "
                "batch file");
  std::ofstream(path("empty.bin"), std::ios::binary);
  EXPECT_EQ(error_of([&] { read_cifar10_labels({path("empty.bin")}, 0); }),
            path("empty.bin") + ": empty file (a CIFAR-10 batch holds 3073-byte records)");
}

TEST_F(Files, cifar10_folders_load_into_train_and_test_shards) {
  // Five training batches of 3 records and a test batch of 4, as CIFAR-10 lays them out.
  auto batch = [&](const std::string& name, int records, int first_label) {
    std::vector<unsigned char> rec;
    for (int r = 0; r < records; ++r) {
      rec.push_back(static_cast<unsigned char>((first_label + r) % 10));
      rec.insert(rec.end(), 3072, static_cast<unsigned char>(r * 40));
    }
    std::ofstream(path(name), std::ios::binary)
        .write(reinterpret_cast<char*>(rec.data()), rec.size());
  };
  for (int b = 1; b <= 5; ++b) batch("data_batch_" + std::to_string(b) + ".bin", 3, b);
  batch("test_batch.bin", 4, 0);
  Config c = parse_config("", "t",
                          {"data.kind=cifar10", "model.kind=mlp", "data.path=" + dir_.string(),
                           "data.partition=contiguous", "optimizer.batch=2"},
                          2);
  const auto rank1 = load_data<float>(c, 1, 2);
  EXPECT_EQ(rank1.train.rows(), 8);  // samples 7..14 of 15
  EXPECT_EQ(rank1.train.num_features(), 3072);
  EXPECT_EQ(rank1.train.num_classes, 10);
  EXPECT_EQ(rank1.test.rows(), 2);                                     // test samples 2..3 of 4
  EXPECT_EQ(test::to_host(rank1.train.labels).front(), (3 + 1) % 10);  // batch 3, record 1
  fs::remove(path("data_batch_4.bin"));
  EXPECT_EQ(error_of([&] { load_data<float>(c, 0, 2); }),
            path("data_batch_4.bin") + ": cannot open: No such file or directory");
}

TEST_F(Files, libsvm_text_into_csr) {
  const auto f =
      text("a.svm", "# a comment\n+1 1:0.5 3:2 # trailing comment\n\n-1 2:1.5\n1 4:-1\n");
  const HostData h = read_libsvm(f, 0, 0);
  EXPECT_TRUE(h.sparse);
  EXPECT_EQ(h.rows, 3);
  EXPECT_EQ(h.columns, 4);
  EXPECT_EQ(h.num_classes, 2);
  EXPECT_EQ(h.labels, (std::vector<int>{1, 0, 1}));
  EXPECT_EQ(h.row_ptr, (std::vector<Index>{0, 2, 3, 4}));
  EXPECT_EQ(h.col, (std::vector<int>{0, 2, 1, 3}));
  EXPECT_EQ(h.val, (std::vector<float>{0.5f, 2.0f, 1.5f, -1.0f}));
  const HostData multi = read_libsvm(text("m.svm", "0 1:1\n2 2:1\n1 1:1\n"), 0, 0);
  EXPECT_EQ(multi.num_classes, 3);
  const HostData rows = select_rows(h, {0, 2});
  EXPECT_EQ(rows.row_ptr, (std::vector<Index>{0, 2, 3}));
  EXPECT_EQ(rows.labels, (std::vector<int>{1, 1}));
}

TEST_F(Files, malformed_libsvm_lines_are_reported_with_their_line_number) {
  const std::pair<const char*, const char*> cases[] = {
      {"1 1:1\n1 3:abc\n", ":2: malformed value of feature 3"},
      {"1 1:1\n\n1 0:1\n", ":3: feature index 0 < 1 (indices are 1-based)"},
      {"1 3:1 2:1\n", ":1: feature indices must increase (2 after 3)"},
      {"yes 1:1\n", ":1: malformed label (expected a number first)"},
      {"1 1 1\n", ":1: malformed feature (expected index:value)"},
      {"# only comments\n\n", ": no samples (only blank or comment lines)"},
      {"1 1:1\n1.5 1:1\n",
       ":2: label 1.5 is neither -1/+1 nor a class 0..K-1 (an integer, at most 1000000)"},
  };
  int i = 0;
  for (const auto& [content, message] : cases) {
    const auto f = text("bad" + std::to_string(i++) + ".svm", content);
    EXPECT_EQ(error_of([&] { read_libsvm(f, 0, 0); }), f + message);
  }
  const auto test_file = text("t.svm", "1 9:1\n");
  EXPECT_EQ(error_of([&] { read_libsvm(test_file, 0, 4); }),
            test_file + ":1: feature index 9 exceeds the 4 features of the training data");
}

TEST_F(Files, hostile_libsvm_numbers_are_refused_with_their_line_number) {
  const std::pair<const char*, const char*> cases[] = {
      // Indices: never truncated to the int column type, never wrapped by strtoll.
      {"1 1:1.0 4611686018427387904:3.0\n",
       ":1: feature index 4611686018427387904 exceeds the largest supported index 2147483647"},
      {"1 1:1\n1 9223372036854775807:1\n",
       ":2: feature index 9223372036854775807 exceeds the largest supported index 2147483647"},
      {"1 99999999999999999999999:1\n",
       ":1: feature index 99999999999999999999999 exceeds the largest supported index "
       "2147483647"},
      {"1 2147483649:1\n",
       ":1: feature index 2147483649 exceeds the largest supported index 2147483647"},
      {"1 -99999999999999999999999:1\n",
       ":1: feature index -99999999999999999999999 < 1 (indices are 1-based)"},
      // Values: finite, within double, within float (values are stored as float).
      {"1 1:nan\n", ":1: value nan of feature 1 is not a finite number"},
      {"1 1:1\n-1 2:inf\n", ":2: value inf of feature 2 is not a finite number"},
      {"1 3:-inf\n", ":1: value -inf of feature 3 is not a finite number"},
      {"1 1:1e300\n", ":1: value 1e300 of feature 1 overflows float32 (largest 3.40282e+38)"},
      {"1 1:-4e38\n", ":1: value -4e38 of feature 1 overflows float32 (largest 3.40282e+38)"},
      {"1 1:1e400\n", ":1: value 1e400 of feature 1 overflows a double"},
      // Labels: the same checks, and a class 0..K-1 or -1/+1 named by its line.
      {"nan 1:1\n", ":1: label nan is not a finite number"},
      {"1 1:1\n-inf 1:1\n", ":2: label -inf is not a finite number"},
      {"1e400 1:1\n", ":1: label 1e400 overflows a double"},
      {"1e300 1:1\n",
       ":1: label 1e300 is neither -1/+1 nor a class 0..K-1 (an integer, at most 1000000)"},
      {"1 1:1\n-1 1:1\n1000000 1:1\n",
       ":2: label -1 with class labels 0..K-1 elsewhere (1000000 on line 3): use -1/+1 or 0..K-1 "
       "throughout"},
      {"1 1:1\n0 1:1\n-1 2:1\n",
       ":3: label -1 with class labels 0..K-1 elsewhere (0 on line 2): use -1/+1 or 0..K-1 "
       "throughout"},
  };
  int i = 0;
  for (const auto& [content, message] : cases) {
    const auto f = text("hostile" + std::to_string(i++) + ".svm", content);
    EXPECT_EQ(error_of([&] { read_libsvm(f, 0, 0); }), f + message) << content;
  }
  std::ofstream(path("nul.svm"), std::ios::binary).write("1 1:1\n1 1:1\0 2:1\n", 17);
  EXPECT_EQ(error_of([&] { read_libsvm(path("nul.svm"), 0, 0); }),
            path("nul.svm") + ":2: holds a NUL byte (a binary file, not LIBSVM text?)");
  EXPECT_EQ(error_of([&] { read_libsvm(dir_.string(), 0, 0); }),
            dir_.string() + ": is a folder, not a LIBSVM text file");
  // The largest index the int columns hold is read, without storage proportional to it (the
  // model's size is checked against memory later); underflow rounds to zero.
  const HostData wide = read_libsvm(text("wide.svm", "1 1:1e-400 2147483647:2\n"), 0, 0);
  EXPECT_EQ(wide.columns, 2147483647);
  EXPECT_EQ(wide.col, (std::vector<int>{0, 2147483646}));
  EXPECT_EQ(wide.val, (std::vector<float>{0.0f, 2.0f}));
}

TEST_F(Files, a_rank_left_with_too_few_samples_is_refused) {
  Config c = parse_config("", "t", {}, 1);
  c.data.kind = "libsvm";
  c.model.kind = "logistic";
  c.data.path = text("three.svm", "1 1:1\n-1 1:2\n1 2:1\n");
  c.data.partition = "contiguous";
  c.optimizer.batch = 1;
  // 3 samples in contiguous blocks over 4 ranks: 0 | 1 | 1 | 1.
  EXPECT_EQ(load_data<double>(c, 1, 4).train.rows(), 1);
  EXPECT_EQ(error_of([&] { load_data<double>(c, 0, 4); }),
            c.data.path +
                ": data.partition: rank 0 gets 0 of 3 samples (contiguous), fewer than "
                "optimizer.batch 1");
}

}  // namespace
