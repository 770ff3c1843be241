// checkpoint.dir checked at the start of a run that will write checkpoints (plain file system
// calls, so HDF5 and non-HDF5 builds share it).
#include <olsgd/io/checkpoint.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

namespace olsgd::io {

void prepare_checkpoint_dir(const std::string& dir, const comm::Communicator& comm) {
  std::string error;
  if (comm.rank() == 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      error = "checkpoint.dir " + dir + ": cannot create: " + ec.message();
    } else {
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
