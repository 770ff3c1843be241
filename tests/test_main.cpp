// GoogleTest main for every olsgd test: MPI and Kokkos live for the whole run (one RAII
// guard), only rank 0 prints, and the exit code is failed if any rank failed.
#include <olsgd/comm/environment.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

int main(int argc, char** argv) {
  olsgd::comm::Environment env(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (env.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}
