#pragma once
// An exclusive lock on an output folder, so two jobs never interleave rows in one
// metrics.csv or delete each other's checkpoints. The lock is flock(2) on
// <folder>/.olsgd.lock: the kernel drops it when the process ends, however it ends, so a
// killed job leaves no stale lock; the file records who holds it, for the message.
#include <string>

namespace olsgd::io {

class OutputLock {
 public:
  OutputLock() = default;
  // Takes the lock on `folder` (which must exist); throws InputError naming the holder when
  // another process has it. On a file system without flock the run goes on unlocked.
  explicit OutputLock(const std::string& folder);
  // Read-only (for --check): throws the same InputError when a run holds `folder` now.
  static void check(const std::string& folder);
  ~OutputLock();
  OutputLock(OutputLock&& other) noexcept;
  OutputLock& operator=(OutputLock&& other) noexcept;
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace olsgd::io
