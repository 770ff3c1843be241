#pragma once
// Helpers shared by the test suites: moving data between std::vector and rank-1 Views,
// the world communicator's size and rank, and run options for whole-run tests.
#include <olsgd/deck/deck.hpp>
#include <olsgd/model/network_spec.hpp>
#include <olsgd/run/trainer.hpp>

#include <Kokkos_Core.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace olsgd::test {

template <class MemSpace, class T>
Kokkos::View<T*, MemSpace> to_device(const std::vector<T>& h) {
  Kokkos::View<T*, MemSpace> v("test::to_device", h.size());
  auto m = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < h.size(); ++i) m(i) = h[i];
  Kokkos::deep_copy(v, m);
  return v;
}

template <class V>
std::vector<typename V::non_const_value_type> to_host(const V& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  return {m.data(), m.data() + m.extent(0)};
}

// The bytes of a file ("" when it cannot be read).
inline std::string bytes_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline int world_size() {
  int m = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &m);
  return m;
}

inline int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// A fresh folder under /tmp that every rank agrees on (rank 0 makes it and removes it at the
// end, after a barrier); `path` is empty if it could not be made.
struct SharedTempDir {
  explicit SharedTempDir(const char* prefix = "olsgd-test") {
    char name[128] = {};
    if (world_rank() == 0) {
      std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
      if (mkdtemp(tmpl.data())) std::snprintf(name, sizeof name, "%s", tmpl.c_str());
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
    path = name;
  }
  ~SharedTempDir() {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0 && !path.empty()) std::filesystem::remove_all(path);
  }
  SharedTempDir(const SharedTempDir&) = delete;
  SharedTempDir& operator=(const SharedTempDir&) = delete;
  std::filesystem::path path;
};

// Observers that keep the end state (RunOutcome::final_state, final_params) for comparison.
inline RunObservers keeping_final_state(RunObservers obs = {}) {
  obs.keep_final_state = true;
  return obs;
}

// A run of a small network with batch norm (on the input, then after a convolution: 8 running
// statistics) on 512 Fashion-MNIST images, its end state kept. `deck` adds the run, optimizer
// and algorithm lines; the running statistics are elements [plan.params, plan.total()).
struct BatchNormRun {
  RunOutcome out;
  NetworkPlan plan;
};
inline BatchNormRun run_batch_norm_cnn(const std::string& deck, const std::string& name) {
  const Config c = parse_config(deck + R"(
data: {kind: fashion_mnist, limit: 512}
model: {kind: cnn, layers: "bn, conv 3 k=3 p=1, bn, relu, maxpool 4, dense 10"}
)",
                                name, {}, world_size());
  comm::Communicator comm(MPI_COMM_WORLD);
  BatchNormRun r{run_training(c, comm, keeping_final_state()),
                 plan_network(parse_network_spec(c.model.layers), {1, 28, 28}, 10)};
  EXPECT_EQ(r.plan.buffers, 2 + 2 * 3);
  return r;
}

}  // namespace olsgd::test
