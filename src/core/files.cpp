#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>

#include <filesystem>
#include <system_error>

namespace olsgd {

void require_regular_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st) || fs::is_regular_file(st)) return;
  if (fs::is_directory(st)) throw InputError(path, "is a folder, not a " + what);
  throw InputError(path, "not a regular file (a pipe, socket or device), not a " + what);
}

void require_writable_file(const std::string& path, const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st) || fs::is_regular_file(st) || fs::is_character_file(st) ||
      fs::is_block_file(st))
    return;
  if (fs::is_directory(st)) throw InputError(path, "is a folder, not a " + what);
  throw InputError(path, "is a pipe or socket, not a " + what);
}

}  // namespace olsgd
