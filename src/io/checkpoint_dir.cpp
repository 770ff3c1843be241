// checkpoint.dir: its checkpoints, and the check at the start of a run that will write
// checkpoints (plain file system calls, so HDF5 and non-HDF5 builds share it).
#include "checkpoint_dir.hpp"

#include <olsgd/core/files.hpp>
#include <olsgd/io/checkpoint.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

namespace olsgd::io {

namespace fs = std::filesystem;

std::vector<std::pair<Index, fs::path>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<Index, fs::path>> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() <= 8 || name.compare(0, 5, "ckpt-") != 0 ||
        name.compare(name.size() - 3, 3, ".h5") != 0)
      continue;
    const char *first = name.data() + 5, *last = name.data() + name.size() - 3;
    Index step = 0;
    const auto [end, err] = std::from_chars(first, last, step);
    // Digits only (no sign), a step that fits, and a file (a folder of that name is no
    // checkpoint, and rotation could not remove it).
    if (err != std::errc() || end != last || *first < '0' || *first > '9') continue;
    std::error_code type_ec;
    if (e.is_regular_file(type_ec)) found.emplace_back(step, e.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string later_checkpoints(const std::string& dir, Index resumed_step) {
  // Checkpoints past this run's start belong to another trajectory: this run's would
  // interleave with them, its rotation could remove its own newest, and `latest` would pick
  // theirs. Nothing is removed; the user decides.
  const auto found = list_checkpoints(dir);
  if (found.empty() || found.back().first <= resumed_step) return "";
  const std::string newest = found.back().second.filename().string();
  return "checkpoint.dir " + dir + ": holds " + newest +
         (resumed_step == 0
              ? " from an earlier run, and this run starts fresh: continue that run with "
                "--restart latest, or"
              : ", past this run's restart at step " + std::to_string(resumed_step) + ":") +
         " move those checkpoints away or set another checkpoint.dir (this run's would mix "
         "with them)";
}

std::string checkpoint_dir_problem(const std::string& dir, Index resumed_step) {
  if (const std::string problem = folder_problem(dir); !problem.empty())
    return "checkpoint.dir " + dir + ": " + problem;
  return later_checkpoints(dir, resumed_step);
}

void prepare_checkpoint_dir(const std::string& dir, const comm::Communicator& comm,
                            Index resumed_step) {
  std::string error;
  if (comm.rank() == 0) {
    error = checkpoint_dir_problem(dir, resumed_step);  // read-only, the same as --check's
    std::error_code ec;
    if (error.empty()) std::filesystem::create_directories(dir, ec);
    if (error.empty() && ec) error = "checkpoint.dir " + dir + ": cannot create: " + ec.message();
    if (error.empty()) {
      // A probe file: permissions alone do not tell (root, ACLs, read-only mounts).
      const std::string probe = dir + "/.olsgd-probe-" + std::to_string(getpid());
      std::FILE* f = std::fopen(probe.c_str(), "w");
      if (!f) {
        error = "checkpoint.dir " + dir + ": cannot write in it: " + std::strerror(errno);
      } else {
        std::fclose(f);
        std::remove(probe.c_str());
      }
    }
  }
  comm.agree_or_throw(error);
}

}  // namespace olsgd::io
