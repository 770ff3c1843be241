#pragma once
// Internal to comm/: MPI return codes into exceptions (communicators use MPI_ERRORS_RETURN).
#include <mpi.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace olsgd::comm::detail {

inline void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(msg, len));
}

inline std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

}  // namespace olsgd::comm::detail
