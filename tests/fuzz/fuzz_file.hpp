#pragma once
// What the fuzz targets share: the fuzzed bytes as a file, and the check that a refusal's
// message is one printable line.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <string>

namespace olsgd::fuzz {

// For readers that take a path: one file per process, rewritten for every input (libFuzzer
// runs inputs one after another).
inline std::string as_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string path =
      "/tmp/olsgd-fuzz-" + std::to_string(static_cast<long>(getpid())) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// The message the driver would print: a control byte in it (a newline, an escape sequence
// from the input) is a finding.
inline void require_one_line(const std::exception& e) {
  for (const char* c = e.what(); *c; ++c)
    if (static_cast<unsigned char>(*c) < 0x20 || *c == 0x7f) std::abort();
}

}  // namespace olsgd::fuzz
