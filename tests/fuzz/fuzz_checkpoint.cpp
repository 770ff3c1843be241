// libFuzzer target: the checkpoint loader on arbitrary bytes, as a 1-rank run of a 2-segment
// state would read them. MPI (singleton) and Kokkos live for the whole fuzzing process.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/io/checkpoint.hpp>

#include <Kokkos_Core.hpp>

#include <mpi.h>

#include <cstdlib>

#include "fuzz_file.hpp"

namespace {
struct World;
World& world();

struct World {
  World() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    Kokkos::initialize();
    comm = new olsgd::comm::Communicator(MPI_COMM_WORLD);
    state = new olsgd::FlatState<double>("fuzz");
    state->add("params", 4);
    state->add("momentum", 4);
    state->allocate();
    // libFuzzer ends with exit() from inside its loop. Handlers registered later run first, so
    // this one tears the world down before LeakSanitizer's exit check looks (the ASan runs do
    // not scan thread-local storage, where Kokkos' OpenMP threads hold their scratch).
    std::atexit([] {
      World& w = world();
      delete w.state;
      delete w.comm;
      Kokkos::finalize();
      MPI_Finalize();
    });
  }
  olsgd::comm::Communicator* comm = nullptr;
  olsgd::FlatState<double>* state = nullptr;
};
World& world() {
  static World w;
  return w;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  const std::string path = olsgd::fuzz::as_file(data, size, ".h5");
  // OLSGD_FUZZ_RESEAL=1: seal every input first, so the fuzzer gets past the file seal into
  // libhdf5 and olsgd's own checks of what it reads (a sealed but crafted file is not a case
  // a checkpoint meets by accident; see the README on fuzzing).
  static const bool reseal = std::getenv("OLSGD_FUZZ_RESEAL") != nullptr;
  if (reseal && size >= 512) olsgd::io::seal_checkpoint(path);
  olsgd::io::CheckpointInfo expect;
  expect.algorithm = "local_sgd";
  expect.ranks = 1;
  expect.num_params = 4;
  expect.precision = "float64";
  olsgd::HostState host = {{"algorithm.syncs", 0.0}};
  try {
    olsgd::io::read_checkpoint(path, expect, *w.state, host, *w.comm);
  } catch (const olsgd::InputError& e) {
    olsgd::fuzz::require_one_line(e);
  }
  return 0;
}
