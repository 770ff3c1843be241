#pragma once
// Helpers shared by the test suites: moving data between std::vector and rank-1 Views,
// the world communicator's size and rank, and run options for whole-run tests.
#include <olsgd/deck/deck.hpp>
#include <olsgd/run/trainer.hpp>

#include <Kokkos_Core.hpp>

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

}  // namespace olsgd::test
