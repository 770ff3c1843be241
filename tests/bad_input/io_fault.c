// An LD_PRELOAD library that makes one C library call fail on one path, so that the error paths
// of a checkpoint write (a failed fsync, rename, close, ...) run on a real file system, in the
// real binary, under real MPI. Nothing else changes: every other call goes to the C library.
//
//   OLSGD_FAULT="CALL SUFFIX"  CALL (fsync, rename, fopen, close, fallocate or pwrite) fails with
//                              EIO when the path it touches ends with SUFFIX (for rename: the
//                              old name; for calls on a descriptor: the file it is open on)
//   OLSGD_FAULT_RANK=N         only in MPI rank N (OMPI_COMM_WORLD_RANK or PMIX_RANK)
//   OLSGD_FAULT_AFTER=K        only after K such calls have succeeded (a write that fails
//                              halfway through a file)
//
// It wraps no allocation function, so it is safe in processes that load libraries from
// several threads (MPI does).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int on_this_rank(void) {
  const char* want = getenv("OLSGD_FAULT_RANK");
  if (!want || !*want) return 1;
  const char* rank = getenv("OMPI_COMM_WORLD_RANK");
  if (!rank) rank = getenv("PMIX_RANK");
  return rank && strcmp(rank, want) == 0;
}

// Whether `call` on `path` is the one to fail.
static int fails(const char* call, const char* path) {
  const char* spec = getenv("OLSGD_FAULT");
  if (!spec || !path) return 0;
  const size_t n = strlen(call);
  if (strncmp(spec, call, n) != 0 || spec[n] != ' ') return 0;
  const char* suffix = spec + n + 1;
  const size_t ls = strlen(suffix), lp = strlen(path);
  if (!(ls > 0 && lp >= ls && strcmp(path + lp - ls, suffix) == 0 && on_this_rank())) return 0;
  static long passed = 0;  // (one process, and its calls on the path come from one thread)
  const char* after = getenv("OLSGD_FAULT_AFTER");
  return passed++ >= (after ? atol(after) : 0);
}

static int fd_fails(const char* call, int fd) {
  if (!getenv("OLSGD_FAULT")) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t len = readlink(link, path, sizeof path - 1);
  if (len <= 0) return 0;
  path[len] = '\0';
  return fails(call, path);
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd) {
  if (fd_fails("fsync", fd)) return errno = EIO, -1;
  return NEXT(fsync)(fd);
}

int rename(const char* from, const char* to) {
  if (fails("rename", from)) return errno = EIO, -1;
  return NEXT(rename)(from, to);
}

FILE* fopen(const char* path, const char* mode) {
  if (fails("fopen", path)) return errno = EIO, (FILE*)NULL;
  return NEXT(fopen)(path, mode);
}

FILE* fopen64(const char* path, const char* mode) {
  if (fails("fopen", path)) return errno = EIO, (FILE*)NULL;
  return NEXT(fopen64)(path, mode);
}

// The descriptor is closed all the same (as Linux does on EIO): only the report fails.
int close(int fd) {
  const int fail = fd_fails("close", fd);
  const int rc = NEXT(close)(fd);
  if (fail) return errno = EIO, -1;
  return rc;
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  if (fd_fails("fallocate", fd)) return errno = EIO, -1;
  return NEXT(fallocate)(fd, mode, offset, len);
}

int fallocate64(int fd, int mode, off_t offset, off_t len) {
  if (fd_fails("fallocate", fd)) return errno = EIO, -1;
  return NEXT(fallocate64)(fd, mode, offset, len);
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  if (fd_fails("pwrite", fd)) return errno = EIO, -1;
  return NEXT(pwrite)(fd, buf, n, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  if (fd_fails("pwrite", fd)) return errno = EIO, -1;
  return NEXT(pwrite64)(fd, buf, n, offset);
}

ssize_t pwritev(int fd, const struct iovec* iov, int count, off_t offset) {
  if (fd_fails("pwrite", fd)) return errno = EIO, -1;
  return NEXT(pwritev)(fd, iov, count, offset);
}
