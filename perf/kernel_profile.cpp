// A Kokkos Tools library that counts and times kernel launches (parallel_for, _reduce and
// _scan) by label and, when Kokkos finalises, writes "count<TAB>seconds<TAB>label" lines to
// $OLSGD_KERNEL_PROFILE_OUT from rank 0 (or the only process). Kokkos fences the device before
// each callback for such a tool, so a kernel's seconds run from its launch to its completion,
// and what is not in any kernel (GEMMs, which Kokkos Kernels hands to a BLAS or cuBLAS, and
// host work) is the rest of the step. On a GPU every launch costs a few microseconds however
// small its kernel, so launches per step bound what a small model can reach there. No Kokkos
// header: the interface is C. Loaded by KOKKOS_TOOLS_LIBS (Kokkos 4) or KOKKOS_PROFILE_LIBRARY
// (Kokkos 3), e.g.
//   export KOKKOS_TOOLS_LIBS=build/perf/libolsgd_kernel_profile.so
//   OLSGD_KERNEL_PROFILE_OUT=kernels.tsv build/src/olsgd DECK
// perf/gpu/throughput --kernel-profile takes launches and seconds per training step from two
// such runs.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace {

using Clock = std::chrono::steady_clock;

struct Totals {
  long launches = 0;
  double seconds = 0;
};

struct Profile {
  std::mutex mutex;  // a progress thread may copy (a Kokkos kernel) beside the training thread
  std::map<std::string, Totals> by_label;  // nodes stay put: running kernels point into it
  std::unordered_map<std::uint64_t, std::pair<Totals*, Clock::time_point>> running;
  std::uint64_t next_id = 0;
};

Profile& profile() {
  static Profile p;
  return p;
}

void begin(const char* label, std::uint64_t* id) {
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mutex);
  Totals& t = p.by_label[label];
  ++t.launches;
  *id = p.next_id++;
  p.running[*id] = {&t, Clock::now()};
}

void end(std::uint64_t id) {
  const Clock::time_point now = Clock::now();
  Profile& p = profile();
  std::lock_guard<std::mutex> lock(p.mutex);
  const auto it = p.running.find(id);
  if (it == p.running.end()) return;
  it->second.first->seconds += std::chrono::duration<double>(now - it->second.second).count();
  p.running.erase(it);
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
  begin(label, id);
}
void kokkosp_end_parallel_for(std::uint64_t id) {
  end(id);
}
void kokkosp_begin_parallel_reduce(const char* label, std::uint32_t, std::uint64_t* id) {
  begin(label, id);
}
void kokkosp_end_parallel_reduce(std::uint64_t id) {
  end(id);
}
void kokkosp_begin_parallel_scan(const char* label, std::uint32_t, std::uint64_t* id) {
  begin(label, id);
}
void kokkosp_end_parallel_scan(std::uint64_t id) {
  end(id);
}
void kokkosp_finalize_library() {
  const char* path = std::getenv("OLSGD_KERNEL_PROFILE_OUT");
  if (!path || !rank_zero()) return;
  if (std::FILE* f = std::fopen(path, "w")) {
    for (const auto& [label, t] : profile().by_label)
      std::fprintf(f, "%ld\t%.9f\t%s\n", t.launches, t.seconds, label.c_str());
    std::fclose(f);
  }
}
}
