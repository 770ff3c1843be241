// libFuzzer target: the deck parser. Any input either parses into a valid Config or ends in
// one InputError; nothing else (crash, hang, other exception) is acceptable.
#include <olsgd/core/config.hpp>
#include <olsgd/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    olsgd::parse_config(text, "fuzz.yaml", {}, 2);
  } catch (const olsgd::InputError&) {
  }
  return 0;
}
