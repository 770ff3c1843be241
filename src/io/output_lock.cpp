#include <olsgd/core/error.hpp>
#include <olsgd/io/output_lock.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <sys/file.h>
#include <utility>

namespace olsgd::io {
namespace {

// The refusal for `folder`, whose lock file `fd` another run holds (it wrote who it is there).
InputError in_use(const std::string& folder, int fd) {
  char holder[256] = {};
  const ssize_t n = ::pread(fd, holder, sizeof holder - 1, 0);
  std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
  while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
  return InputError(folder, "run.output_dir: in use by another olsgd run (" +
                                (who.empty() ? std::string("holder unknown") : who) +
                                "); give each run its own run.output_dir");
}

// The refusal for a lock file that cannot be opened (errno says why).
InputError cannot_create(const std::string& folder) {
  return InputError(
      folder, std::string("run.output_dir: cannot create its lock file: ") + std::strerror(errno));
}

}  // namespace

void OutputLock::check(const std::string& folder) {
  // Read-only: a shared lock, taken and dropped, fails while a run holds its exclusive one.
  // Opened for writing (O_NONBLOCK: a pipe in its place must not hang), as the run opens it.
  const std::string path = folder + "/.olsgd.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  const bool missing = fd < 0 && errno == ENOENT;
  if (fd < 0 && (!missing || ::access(folder.c_str(), W_OK | X_OK) != 0))
    throw cannot_create(folder);
  if (fd < 0) return;  // no run has locked it
  if (::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
    const InputError busy = in_use(folder, fd);
    ::close(fd);
    throw busy;
  }
  ::close(fd);
}

OutputLock::OutputLock(const std::string& folder) {
  const std::string path = folder + "/.olsgd.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw cannot_create(folder);
  // A --check's shared lock lasts an instant: a few tries before the folder counts as taken.
  int locked = ::flock(fd_, LOCK_EX | LOCK_NB);
  for (int tries = 1; locked != 0 && errno == EWOULDBLOCK && tries < 5; ++tries) {
    ::usleep(20000);
    locked = ::flock(fd_, LOCK_EX | LOCK_NB);
  }
  if (locked != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {  // e.g. ENOLCK, ENOSYS: a file system without flock
      ::close(fd_);
      fd_ = -1;
      return;
    }
    const InputError busy = in_use(folder, fd_);
    ::close(fd_);
    fd_ = -1;
    throw busy;
  }
  char host[128] = {};
  ::gethostname(host, sizeof host - 1);
  char when[32] = {};
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  const std::string me = "pid " + std::to_string(::getpid()) + " on " + host + " since " + when;
  if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // Who holds it is only for the message: a failed note is no reason to stop.
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

OutputLock::OutputLock(OutputLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

OutputLock& OutputLock::operator=(OutputLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

}  // namespace olsgd::io
