#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>

#include <filesystem>
#include <string>
#include <system_error>

namespace olsgd {

namespace {

// `path` passes when missing, a regular file, or (when `devices` pass) a device; otherwise the
// InputError names what it is.
void require_file(const std::string& path, const std::string& what, bool devices,
                  const char* other) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st) || fs::is_regular_file(st)) return;
  if (devices && (fs::is_character_file(st) || fs::is_block_file(st))) return;
  if (fs::is_directory(st)) throw InputError(path, "is a folder, not a " + what);
  throw InputError(path, other + (", not a " + what));
}

}  // namespace

std::string folder_problem(const std::string& path) {
  namespace fs = std::filesystem;
  // The nearest part of the path that exists decides.
  for (fs::path p = path; !p.empty(); p = p.parent_path()) {
    std::error_code ec;
    const fs::file_status st = fs::status(p, ec);
    if (fs::is_directory(st)) return "";
    if (fs::exists(st))
      return p == fs::path(path) ? "not a folder (a file of that name is in the way)"
                                 : "cannot create: " + p.string() + " is a file, not a folder";
    if (p == p.parent_path()) break;
  }
  return "";
}

void require_regular_file(const std::string& path, const std::string& what) {
  require_file(path, what, false, "not a regular file (a pipe, socket or device)");
}

void require_writable_file(const std::string& path, const std::string& what) {
  require_file(path, what, true, "is a pipe or socket");
}

}  // namespace olsgd
