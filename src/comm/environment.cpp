#include <olsgd/comm/environment.hpp>

#include <Kokkos_Core.hpp>

#include <mpi.h>

#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

namespace olsgd::comm {

Environment::Environment(int argc, char** argv, bool start_kokkos) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Multiple: the optional progress thread (comm.progress_thread) calls MPI beside the
    // training thread. Kokkos threads never call MPI. What was granted is in thread_level().
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &thread_level_);
    owns_mpi_ = true;
  } else {
    MPI_Query_thread(&thread_level_);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (!start_kokkos) return;
  // Kokkos 3.x also answers the bare --help with its own text; the programs own --help, so
  // Kokkos sees every argument but that one (its --kokkos-help still works).
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a != "--help" && a != "-h") args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  char** kokkos_argv = args.data();
  // The OpenMP runtime binds no threads when OMP_PROC_BIND and OMP_PLACES are unset; saying so
  // explicitly keeps Kokkos from printing four lines of advice ahead of every message (a one-line
  // error would not be one line). A user's or launcher's own setting is left alone.
  if (!std::getenv("OMP_PROC_BIND") && !std::getenv("OMP_PLACES"))
    setenv("OMP_PROC_BIND", "false", /*overwrite=*/0);
  try {
    Kokkos::initialize(n, kokkos_argv);
    owns_kokkos_ = true;
  } catch (const std::exception& e) {
    std::string given;
    for (int i = 1; i < n; ++i)
      if (std::string(args[i]).rfind("--kokkos-", 0) == 0) given += std::string(" ") + args[i];
    kokkos_error_ =
        "Kokkos refused its options (" + given.substr(given.empty() ? 0 : 1) + "): " + e.what();
  }
}

Environment::~Environment() {
  if (owns_kokkos_) Kokkos::finalize();
  if (owns_mpi_) MPI_Finalize();
}

}  // namespace olsgd::comm
