// Bad-input cases: data files (LIBSVM text, Fashion-MNIST IDX, CIFAR-10 batches).
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bad_input.hpp"

namespace olsgd::bad_input {
namespace {

// A LIBSVM run on `content` (as training and test file) that must stop before training.
Case::Prepare libsvm(std::string content) {
  return [content = std::move(content)](const fs::path& dir) {
    const std::string f = (dir / "bad.svm").string();
    write_file(f, content);
    return inputs("logistic_libsvm.yaml") + " --set data.path=" + f + " --set data.test_path=" + f +
           " --set optimizer.batch=1 --set run.steps=5 --set run.output_dir=" +
           (dir / "out").string();
  };
}

// An IDX file's bytes: big-endian magic and dimensions, then `payload` bytes (i % 10 each, so
// that labels are in range).
std::string idx_bytes(std::uint32_t magic, const std::vector<std::uint32_t>& dims,
                      std::size_t payload) {
  std::string b;
  auto be32 = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>((v >> shift) & 0xff);
  };
  be32(magic);
  for (std::uint32_t d : dims) be32(d);
  for (std::size_t i = 0; i < payload; ++i) b += static_cast<char>(i % 10);
  return b;
}

// Writes `bytes` gzip-compressed as `gz` (through the gzip tool).
void write_gz(const fs::path& gz, const std::string& bytes) {
  fs::path raw = gz;
  raw.replace_extension();
  write_file(raw, bytes);
  if (std::system(("gzip -nf '" + raw.string() + "'").c_str()) != 0)
    throw std::runtime_error("gzip failed on " + raw.string());
}

// A Fashion-MNIST folder (dir/fm) of `train` and `test` samples, with its labels files
// declaring `train_labels` and `test_labels`; `spoil` then breaks what the case breaks.
struct Fashion {
  std::uint32_t train = 4, test = 2, train_labels = 4, test_labels = 2;
  std::function<void(const fs::path& folder)> spoil;
};

Case::Prepare fashion(Fashion f) {
  return [f](const fs::path& dir) {
    const fs::path folder = dir / "fm";
    write_gz(folder / "train-images-idx3-ubyte.gz",
             idx_bytes(0x803, {f.train, 28, 28}, std::size_t{f.train} * 784));
    write_gz(folder / "train-labels-idx1-ubyte.gz",
             idx_bytes(0x801, {f.train_labels}, f.train_labels));
    write_gz(folder / "t10k-images-idx3-ubyte.gz",
             idx_bytes(0x803, {f.test, 28, 28}, std::size_t{f.test} * 784));
    write_gz(folder / "t10k-labels-idx1-ubyte.gz",
             idx_bytes(0x801, {f.test_labels}, f.test_labels));
    if (f.spoil) f.spoil(folder);
    return inputs("logistic_fashion.yaml") + " --set data.path=" + folder.string() +
           " --set optimizer.batch=1 --set run.steps=5 --set run.output_dir=" +
           (dir / "out").string();
  };
}

// The first `keep` bytes of `file` (cutting a gzip stream short).
void cut(const fs::path& file, std::size_t keep) {
  write_file(file, read_file(file).substr(0, keep));
}

// A CIFAR-10 folder (dir/cifar): five training batches of 2 records and a test batch of 2,
// labels 0..9 cycling; `spoil` then breaks what the case breaks.
Case::Prepare cifar10(std::function<void(const fs::path& folder)> spoil) {
  return [spoil = std::move(spoil)](const fs::path& dir) {
    const fs::path folder = dir / "cifar";
    auto batch = [&](const std::string& name, int first) {
      std::string b;
      for (int r = 0; r < 2; ++r) {
        b += static_cast<char>((first + r) % 10);
        b += std::string(3072, static_cast<char>(100 + r));
      }
      write_file(folder / name, b);
    };
    for (int i = 1; i <= 5; ++i) batch("data_batch_" + std::to_string(i) + ".bin", 2 * i);
    batch("test_batch.bin", 0);
    if (spoil) spoil(folder);
    return inputs("logistic_fashion.yaml") +
           " --set data.kind=cifar10 --set data.path=" + folder.string() +
           " --set optimizer.batch=1 --set run.steps=5 --set run.output_dir=" +
           (dir / "out").string();
  };
}

}  // namespace

std::vector<Case> data_cases() {
  return {
      // A pipe nobody writes would block the run forever at open; each reader refuses it.
      {"libsvm_file_is_a_pipe",
       [](const fs::path& dir) {
         make_fifo(dir / "p.svm");
         return inputs("logistic_libsvm.yaml") + " --set data.path=" + (dir / "p.svm").string() +
                " --set run.output_dir=" + (dir / "out").string();
       },
       R"(p\.svm: not a regular file \(a pipe, socket or device\), not a LIBSVM text file$)"},
      {"fashion_labels_file_is_a_pipe",
       fashion({4, 2, 4, 2,
                [](const fs::path& folder) {
                  fs::remove(folder / "train-labels-idx1-ubyte.gz");
                  make_fifo(folder / "train-labels-idx1-ubyte.gz");
                }}),
       R"(train-labels-idx1-ubyte\.gz: not a regular file \(a pipe, socket or device\), not a )"
       R"(gzip-compressed IDX file$)"},
      {"cifar10_batch_is_a_pipe", cifar10([](const fs::path& folder) {
         fs::remove(folder / "data_batch_3.bin");
         make_fifo(folder / "data_batch_3.bin");
       }),
       R"(data_batch_3\.bin: not a regular file \(a pipe, socket or device\), not a CIFAR-10 )"
       R"(batch file$)"},
      // --check looks for every file the run reads: here the CIFAR-10 test batch.
      {"check_sees_a_missing_data_file",
       [](const fs::path& dir) {
         const auto no_test_batch = [](const fs::path& f) { fs::remove(f / "test_batch.bin"); };
         return cifar10(no_test_batch)(dir) + " --check";
       },
       R"(test_batch\.bin: cannot open: No such file or directory$)"},
      {"check_sees_a_data_file_that_is_a_pipe",
       [](const fs::path& dir) {
         make_fifo(dir / "p.svm");
         return inputs("logistic_libsvm.yaml") +
                " --check --set data.path=" + (dir / "p.svm").string();
       },
       R"(p\.svm: not a regular file \(a pipe, socket or device\), not a LIBSVM text file$)"},
      // A size field cannot lie in CIFAR-10, but a file can be huge: it is refused before any
      // allocation (a 6-million-record file ended in std::bad_alloc and MPI_Abort).
      {"cifar10_batch_holds_more_than_a_batch", cifar10([](const fs::path& folder) {
         fs::resize_file(folder / "data_batch_3.bin", 10001 * 3073);
       }),
       R"(data_batch_3\.bin: 10001 records, more than the 10000 a CIFAR-10 batch holds$)"},
      // LIBSVM: indices the int columns cannot hold, numbers that are not finite floats.
      {"libsvm_huge_index", libsvm("1 1:1.0 4611686018427387904:3.0\n-1 1:2\n"),
       "bad\\.svm:1: feature index 4611686018427387904 exceeds the largest supported index "
       "2147483647",
       2, 2},
      {"libsvm_index_overflows_int64", libsvm("1 1:1\n-1 99999999999999999999999:3.0\n"),
       "bad\\.svm:2: feature index 99999999999999999999999 exceeds the largest supported index "
       "2147483647"},
      {"libsvm_index_above_int", libsvm("1 2147483649:1\n-1 1:2\n"),
       "bad\\.svm:1: feature index 2147483649 exceeds the largest supported index 2147483647"},
      // The largest index allowed: refused for its model's size, not its rows (kept sparse).
      {"libsvm_largest_index_is_a_model_too_big", libsvm("0 1:1 2147483647:3.0\n9 1:2\n"),
       R"(each rank needs about [0-9.]+ GiB \(21\.47 G parameters: .*, scratch [0-9.]+ KiB\), but )"
       R"(.*; shrink the model or the data, or use more nodes$)"},
      {"libsvm_no_features", libsvm("1\n-1\n1 # only labels\n"),
       "bad\\.svm: no sample has a feature \\(every line is a bare label\\)"},
      {"libsvm_value_nan", libsvm("1 1:1\n-1 1:nan\n"),
       "bad\\.svm:2: value nan of feature 1 is not a finite number", 2, 2},
      {"libsvm_value_inf", libsvm("1 1:inf\n-1 1:2\n"),
       "bad\\.svm:1: value inf of feature 1 is not a finite number"},
      {"libsvm_value_minus_inf", libsvm("1 1:1\n-1 2:-inf\n"),
       "bad\\.svm:2: value -inf of feature 2 is not a finite number"},
      {"libsvm_value_overflows_float", libsvm("1 1:1e300\n-1 1:2\n"),
       "bad\\.svm:1: value 1e300 of feature 1 overflows float32 \\(largest 3\\.40282e\\+38\\)"},
      {"libsvm_value_overflows_double", libsvm("1 1:1e400\n-1 1:2\n"),
       "bad\\.svm:1: value 1e400 of feature 1 overflows a double"},
      {"libsvm_label_nan", libsvm("1 1:1\nnan 1:2\n"),
       "bad\\.svm:2: label nan is not a finite number"},
      {"libsvm_label_inf", libsvm("inf 1:1\n-1 1:2\n"),
       "bad\\.svm:1: label inf is not a finite number"},
      {"libsvm_label_1e300", libsvm("1 1:1\n1e300 1:2\n"),
       "bad\\.svm:2: label 1e300 is neither -1/\\+1 nor a class 0\\.\\.K-1"},

      // Fashion-MNIST (gzip-compressed IDX): label and image counts, magic, truncation.
      {"idx_train_labels_shorter_than_images", fashion({4, 2, 3, 2, {}}),
       "fm/train-labels-idx1-ubyte\\.gz: holds 3 labels but \\S*fm/train-images-idx3-ubyte\\.gz "
       "holds 4 images \\(the counts must match\\)",
       2, 2},
      {"idx_test_labels_shorter_than_images", fashion({4, 2, 4, 1, {}}),
       "fm/t10k-labels-idx1-ubyte\\.gz: holds 1 labels but \\S*fm/t10k-images-idx3-ubyte\\.gz "
       "holds 2 images \\(the counts must match\\)"},
      {"idx_test_set_empty", fashion({4, 0, 4, 0, {}}),
       "fm/t10k-images-idx3-ubyte\\.gz: holds no images \\(its header declares 0\\)"},
      {"idx_labels_bad_magic",
       fashion({4, 2, 4, 2,
                [](const fs::path& folder) {
                  write_gz(folder / "train-labels-idx1-ubyte.gz", idx_bytes(0x803, {4}, 4));
                }}),
       "train-labels-idx1-ubyte\\.gz: wrong magic number 0x00000803 \\(expected 0x00000801, IDX "
       "labels\\)"},
      {"idx_images_truncated",
       fashion({4, 2, 4, 2,
                [](const fs::path& folder) {
                  write_gz(folder / "train-images-idx3-ubyte.gz",
                           idx_bytes(0x803, {4, 28, 28}, 2 * 784 + 10));
                }}),
       "train-images-idx3-ubyte\\.gz: truncated: ends inside the images"},
      {"idx_gzip_stream_ends_early",
       fashion({4, 2, 4, 2,
                [](const fs::path& folder) {
                  const fs::path f = folder / "t10k-labels-idx1-ubyte.gz";
                  cut(f, fs::file_size(f) - 4);
                }}),
       "t10k-labels-idx1-ubyte\\.gz: truncated: the gzip stream ends early \\(unexpected end of "
       "file\\)",
       2, 2},

      // CIFAR-10 batches: whole records, labels 0..9, the files there.
      {"cifar10_truncated_batch",
       cifar10([](const fs::path& folder) { cut(folder / "data_batch_3.bin", 3073 + 1000); }),
       "data_batch_3\\.bin: truncated or not a CIFAR-10 batch: 4073 bytes is not a whole number "
       "of 3073-byte records"},
      {"cifar10_label_out_of_range", cifar10([](const fs::path& folder) {
         std::string b = read_file(folder / "data_batch_2.bin");
         b[3073] = 10;
         write_file(folder / "data_batch_2.bin", b);
       }),
       "data_batch_2\\.bin: label 10 of record 1 is out of range 0\\.\\.9", 2, 2},
      {"libsvm_missing",
       [](const fs::path& dir) {
         return inputs("logistic_libsvm.yaml") + " --set data.path=" + (dir / "none.svm").string() +
                " --set run.output_dir=" + (dir / "out").string();
       },
       "none\\.svm: cannot open: No such file or directory", 2, 2},
      {"cifar10_empty_folder", cifar10([](const fs::path& folder) {
         for (const auto& e : fs::directory_iterator(folder)) fs::remove(e.path());
       }),
       "data_batch_1\\.bin: cannot open: No such file or directory"},
  };
}

}  // namespace olsgd::bad_input
