#pragma once
#include <string>

// One RAII guard for the MPI and Kokkos lifetimes: MPI is initialised first and finalised
// last, Kokkos in between, so no View outlives Kokkos and no MPI call outlives MPI.
namespace olsgd::comm {

class Environment {
 public:
  // Kokkos reads its --kokkos-* arguments from argv; argv itself is left as it was.
  // start_kokkos = false: MPI only (a driver answering --help or --version needs no Kokkos).
  Environment(int argc, char** argv, bool start_kokkos = true);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The MPI thread level the library provided (MPI_THREAD_*).
  int thread_level() const { return thread_level_; }
  // Why Kokkos refused to start (e.g. --kokkos-threads=abc), or "": the constructor keeps
  // the message instead of throwing, so the caller reports it as one line once MPI is up.
  const std::string& kokkos_error() const { return kokkos_error_; }

 private:
  int rank_ = 0;
  int size_ = 1;
  int thread_level_ = 0;
  bool owns_mpi_ = false;
  bool owns_kokkos_ = false;
  std::string kokkos_error_;
};

}  // namespace olsgd::comm
