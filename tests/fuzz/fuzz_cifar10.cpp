// libFuzzer target: the CIFAR-10 binary batch reader.
#include <olsgd/core/error.hpp>
#include <olsgd/data/readers.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> files = {olsgd::fuzz::as_file(data, size, ".bin")};
  try {
    const std::vector<int> labels = olsgd::read_cifar10_labels(files, 5);
    std::vector<olsgd::Index> keep;
    for (std::size_t i = 0; i < labels.size(); ++i) keep.push_back(static_cast<olsgd::Index>(i));
    olsgd::read_cifar10_images(files, keep, labels);
  } catch (const olsgd::InputError& e) {
    olsgd::fuzz::require_one_line(e);
  }
  return 0;
}
