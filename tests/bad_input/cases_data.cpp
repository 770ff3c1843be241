// Bad-input cases: data files (LIBSVM text, Fashion-MNIST IDX, CIFAR-10 batches).
#include <string>

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

}  // namespace

std::vector<Case> data_cases() {
  return {
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
  };
}

}  // namespace olsgd::bad_input
