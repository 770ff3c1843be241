#pragma once
// The fuzzed bytes as a file, for readers that take a path: one file per process, rewritten
// for every input (libFuzzer runs inputs one after another).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace olsgd::fuzz {

inline std::string as_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string path =
      "/tmp/olsgd-fuzz-" + std::to_string(static_cast<long>(getpid())) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace olsgd::fuzz
