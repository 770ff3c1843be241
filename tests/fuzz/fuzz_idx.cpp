// libFuzzer target: the IDX reader (gzip-compressed or plain), labels then images.
#include <olsgd/core/error.hpp>
#include <olsgd/data/readers.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = olsgd::fuzz::as_file(data, size, ".idx");
  try {
    olsgd::read_idx_labels(path, 100);
  } catch (const olsgd::InputError& e) {
    olsgd::fuzz::require_one_line(e);
  }
  try {
    const std::vector<olsgd::Index> keep = {0, 1, 2};
    olsgd::read_idx_images(path, keep, {0, 1, 2}, 10, 0.5f, 0.25f);
  } catch (const olsgd::InputError& e) {
    olsgd::fuzz::require_one_line(e);
  }
  return 0;
}
