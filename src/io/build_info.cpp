#include <olsgd/core/types.hpp>
#include <olsgd/io/build_info.hpp>

#include <KokkosKernels_config.h>

#ifdef OLSGD_HAVE_HDF5
#include <hdf5.h>
#endif
#include <mpi.h>

#include <sstream>

// Generated at build time by cmake/GitDescribe.cmake.
extern "C" const char* olsgd_git_describe();

namespace olsgd::io {

BuildInfo build_info() {
  BuildInfo b;
  b.version = OLSGD_VERSION;
  b.git = olsgd_git_describe();
  b.kokkos_version = std::to_string(KOKKOS_VERSION / 10000) + "." +
                     std::to_string(KOKKOS_VERSION / 100 % 100) + "." +
                     std::to_string(KOKKOS_VERSION % 100);
#ifdef KOKKOS_ENABLE_SERIAL
  b.kokkos_backends.push_back("Serial");
#endif
#ifdef KOKKOS_ENABLE_OPENMP
  b.kokkos_backends.push_back("OpenMP");
#endif
#ifdef KOKKOS_ENABLE_THREADS
  b.kokkos_backends.push_back("Threads");
#endif
#ifdef KOKKOS_ENABLE_CUDA
  b.kokkos_backends.push_back("Cuda");
#endif
#ifdef KOKKOS_ENABLE_HIP
  b.kokkos_backends.push_back("HIP");
#endif
#ifdef KOKKOS_ENABLE_SYCL
  b.kokkos_backends.push_back("SYCL");
#endif
  b.default_execution_space = ExecSpace::name();
#ifdef KOKKOSKERNELS_ENABLE_TPL_BLAS
  b.blas_tpl = true;
#endif
#if defined(__clang__)
  b.compiler = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  b.compiler = std::string("GNU ") + __VERSION__;
#else
  b.compiler = "unknown";
#endif
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);
  b.mpi_library = std::string(mpi, len);
  // First line only: Open MPI appends repository and release-date lines.
  b.mpi_library = b.mpi_library.substr(0, b.mpi_library.find_first_of("\n,"));
#ifdef OLSGD_HAVE_HDF5
  b.hdf5_version = H5_VERS_INFO;
#else
  b.hdf5_version = "no HDF5 (OLSGD_ENABLE_HDF5=OFF: no checkpoints)";
#endif
  return b;
}

std::string version_line() {
  const BuildInfo b = build_info();
  std::ostringstream os;
  os << "olsgd " << b.version << " (git " << b.git << "), Kokkos " << b.kokkos_version << " [";
  for (std::size_t i = 0; i < b.kokkos_backends.size(); ++i)
    os << (i ? ", " : "") << b.kokkos_backends[i];
  os << "], BLAS TPL " << (b.blas_tpl ? "on" : "off") << ", " << b.mpi_library << ", "
     << b.hdf5_version;
  return os.str();
}

}  // namespace olsgd::io
