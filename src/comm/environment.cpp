#include <olsgd/comm/environment.hpp>

#include <Kokkos_Core.hpp>

#include <mpi.h>

namespace olsgd::comm {

Environment::Environment(int& argc, char**& argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Funneled: only the thread that called MPI_Init talks to MPI (Kokkos threads never do).
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &thread_level_);
    owns_mpi_ = true;
  } else {
    MPI_Query_thread(&thread_level_);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  Kokkos::initialize(argc, argv);
}

Environment::~Environment() {
  Kokkos::finalize();
  if (owns_mpi_) MPI_Finalize();
}

}  // namespace olsgd::comm
