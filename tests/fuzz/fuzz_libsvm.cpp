// libFuzzer target: the LIBSVM text reader, with and without a fixed column count.
#include <olsgd/core/error.hpp>
#include <olsgd/data/readers.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = olsgd::fuzz::as_file(data, size, ".svm");
  for (olsgd::Index columns : {0, 8}) {
    try {
      const olsgd::HostData d = olsgd::read_libsvm(path, 1000, columns);
      olsgd::select_rows(d,
                         d.rows > 0 ? std::vector<olsgd::Index>{0} : std::vector<olsgd::Index>{});
    } catch (const olsgd::InputError& e) {
      olsgd::fuzz::require_one_line(e);
    }
  }
  return 0;
}
