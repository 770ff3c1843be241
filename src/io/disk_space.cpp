#include "disk_space.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/resource.h>
#include <sys/statvfs.h>

namespace olsgd::io {

std::string size_text(double bytes) {
  char buf[32];
  if (bytes < (1 << 20))
    std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1 << 20));
  return buf;
}

double free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return -1;
  // root may use the blocks reserved for it
  return static_cast<double>(::geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
}

double file_size_limit() {
  struct rlimit r {};
  if (::getrlimit(RLIMIT_FSIZE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return -1;
  return static_cast<double>(r.rlim_cur);
}

void reserve(int fd, double bytes) {
  if (::fallocate(fd, 0, 0, static_cast<off_t>(bytes)) != 0 && errno != EOPNOTSUPP &&
      errno != ENOSYS)
    throw std::runtime_error("reserving " + size_text(bytes) +
                             " for it failed: " + std::strerror(errno));
}

// Why a checkpoint of up to `need` bytes cannot be written into `dir`, or "".
std::string room_for(const std::string& dir, double need) {
  const double limit = file_size_limit();
  if (limit >= 0 && limit < need)
    return "it needs up to " + size_text(need) + ", more than the file size limit (ulimit -f) of " +
           size_text(limit);
  const double free = free_bytes(dir);
  if (free >= 0 && free < need)
    return "it needs up to " + size_text(need) + ", and the disk under " + dir + " has " +
           size_text(free) + " free (disk full)";
  return "";
}

// The likely cause of a failed write of a file of up to `need` bytes (" (...)"), from the
// process' file size limit and the free space left; "" when neither explains it.
std::string why_write_failed(const std::string& dir, double need) {
  const double limit = file_size_limit();
  // (`need` is an estimate: a limit this close to it is the cause.)
  if (limit >= 0 && limit < need + (1 << 20))
    return " (the file size limit, ulimit -f, of " + size_text(limit) + " was reached)";
  const double free = free_bytes(dir);
  if (free >= 0 && free < (1 << 20)) return " (the disk under " + dir + " is full)";
  return "";
}

}  // namespace olsgd::io
