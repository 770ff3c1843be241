// libFuzzer target: the deck reader (load_config: the file checks, the one-document and
// sets-something rules, then the parser). Any input either loads into a valid Config or ends
// in one InputError; nothing else (crash, hang, other exception) is acceptable.
#include <olsgd/core/error.hpp>
#include <olsgd/deck/deck.hpp>

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_file.hpp"

namespace {

// One file, rewritten for every input: the reader sees a real deck file, as users give it.
const std::string& deck_path() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/olsgd-fuzz-deck-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    return std::string(tmpl);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(deck_path().c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    olsgd::load_config(deck_path(), {}, 2);
  } catch (const olsgd::InputError& e) {
    olsgd::fuzz::require_one_line(e);
  }
  return 0;
}
