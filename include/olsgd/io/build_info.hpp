#pragma once
// What this binary was built from and with, for run summaries and --version.
#include <string>
#include <vector>

namespace olsgd::io {

struct BuildInfo {
  std::string version;  // olsgd version
  std::string git;      // `git describe --always --dirty` at build time
  std::string kokkos_version;
  std::vector<std::string> kokkos_backends;  // enabled at Kokkos configure time
  std::string default_execution_space;
  bool blas_tpl = false;  // Kokkos Kernels routes BLAS-3 to a vendor library
  std::string compiler;
  std::string mpi_library;
  std::string hdf5_version;
};

BuildInfo build_info();
// One line: "olsgd 0.1.0 (git abc123) Kokkos 3.4.1 [Serial, OpenMP] ...".
std::string version_line();

}  // namespace olsgd::io
