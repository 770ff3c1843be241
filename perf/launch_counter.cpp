// A Kokkos Tools library that counts kernel launches (parallel_for, _reduce and _scan) by
// label and, when Kokkos finalises, writes "count<TAB>label" lines to $OLSGD_LAUNCHES_OUT from
// rank 0 (or the only process). A GPU step costs at least a few microseconds per launch, so
// launches per step bound what a small model can reach there; GEMMs that Kokkos Kernels hands
// to a BLAS or cuBLAS are not Kokkos launches and are not counted. No Kokkos header: the
// interface is C. Loaded by KOKKOS_TOOLS_LIBS (Kokkos 4) or KOKKOS_PROFILE_LIBRARY (Kokkos 3):
//   KOKKOS_TOOLS_LIBS=build/perf/libolsgd_launch_counter.so OLSGD_LAUNCHES_OUT=FILE olsgd DECK
// perf/gpu/throughput --launches takes launches per training step from two such runs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace {

std::map<std::string, long>& counts() {
  static std::map<std::string, long> c;
  return c;
}

void count(const char* label, std::uint64_t* id) {
  ++counts()[label];
  *id = 0;
}

bool rank_zero() {
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var)) return std::string(v) == "0";
  return true;
}

}  // namespace

extern "C" {
void kokkosp_init_library(int, std::uint64_t, std::uint32_t, void*) {}
void kokkosp_begin_parallel_for(const char* label, std::uint32_t, std::uint64_t* id) {
  count(label, id);
}
void kokkosp_end_parallel_for(std::uint64_t) {}
void kokkosp_begin_parallel_reduce(const char* label, std::uint32_t, std::uint64_t* id) {
  count(label, id);
}
void kokkosp_end_parallel_reduce(std::uint64_t) {}
void kokkosp_begin_parallel_scan(const char* label, std::uint32_t, std::uint64_t* id) {
  count(label, id);
}
void kokkosp_end_parallel_scan(std::uint64_t) {}
void kokkosp_finalize_library() {
  const char* path = std::getenv("OLSGD_LAUNCHES_OUT");
  if (!path || !rank_zero()) return;
  if (std::FILE* f = std::fopen(path, "w")) {
    for (const auto& [label, n] : counts()) std::fprintf(f, "%ld\t%s\n", n, label.c_str());
    std::fclose(f);
  }
}
}
