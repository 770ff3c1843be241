// Memory-bound optimizer kernels measured against a same-size Kokkos::deep_copy on the same
// execution space, in the same benchmark iterations: the reported `ratio_vs_copy` is
// (kernel GB/s) / (copy GB/s), with bytes counted as the streams each one must move.
// Sizes run from L2-resident to well past the last-level cache.
//   build/perf/bench_kernels --benchmark_out=kernels.json --benchmark_out_format=json
#include <olsgd/comm/environment.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/kernels/overlap.hpp>
#include <olsgd/kernels/sgd.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>

namespace {

using olsgd::ExecSpace;
using Scalar = float;  // the learning models' default precision
using View = olsgd::Vector<Scalar>;
using Clock = std::chrono::steady_clock;

template <class F>
double timed(const ExecSpace& exec, const F& f) {
  exec.fence();
  const auto t0 = Clock::now();
  f();
  exec.fence();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs `kernel` (moving `streams` arrays of n scalars) and a deep_copy of n scalars
// (2 streams) alternately; the iteration time is the kernel's.
template <class Kernel>
void bench(benchmark::State& state, int streams, Kernel kernel) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const ExecSpace exec;
  View x("x", n), v("v", n), g("g", n), w("w", n), copy("copy", n);
  Kokkos::deep_copy(x, 1.0f);
  Kokkos::deep_copy(g, 0.5f);
  double t_kernel = 0, t_copy = 0;
  for (auto _ : state) {
    const double tk = timed(exec, [&] { kernel(exec, x, v, g, w); });
    t_copy += timed(exec, [&] { Kokkos::deep_copy(exec, copy, x); });
    t_kernel += tk;
    state.SetIterationTime(tk);
  }
  const double bytes = static_cast<double>(n) * sizeof(Scalar);
  const double gbs_kernel = streams * bytes * state.iterations() / t_kernel / 1e9;
  const double gbs_copy = 2 * bytes * state.iterations() / t_copy / 1e9;
  state.counters["GB/s"] = gbs_kernel;
  state.counters["copy_GB/s"] = gbs_copy;
  state.counters["ratio_vs_copy"] = gbs_kernel / gbs_copy;
  state.counters["KiB"] = bytes / 1024;
}

const olsgd::kernels::SgdParams kPlain{1e-3, 0, false, 1e-4, 1};
const olsgd::kernels::SgdParams kNesterov{1e-3, 0.9, true, 1e-4, 1};

void sgd_step(benchmark::State& s) {  // reads x, g; writes x
  bench(s, 3,
        [](auto& e, auto& x, auto&, auto& g, auto&) { olsgd::kernels::sgd_step(e, x, g, kPlain); });
}
void sgd_momentum_step(benchmark::State& s) {  // reads x, v, g; writes x, v
  bench(s, 5, [](auto& e, auto& x, auto& v, auto& g, auto&) {
    olsgd::kernels::sgd_momentum_step(e, x, v, g, kNesterov);
  });
}
void scale(benchmark::State& s) {  // reads x; writes x
  bench(s, 2, [](auto& e, auto& x, auto&, auto&, auto&) { olsgd::kernels::scale(e, x, 0.5f); });
}

void pull_to_anchor(benchmark::State& s) {  // reads x, z; writes x, send
  bench(s, 4, [](auto& e, auto& x, auto&, auto& z, auto& send) {
    olsgd::kernels::pull_to_anchor(e, x, z, send, 0.6, 0.5);
  });
}
void pull_to_anchor_momentum(benchmark::State& s) {  // reads x, z, b; writes x, b, send
  bench(s, 6, [](auto& e, auto& x, auto& b, auto& z, auto& send) {
    olsgd::kernels::pull_to_anchor_momentum(e, x, z, b, send, 0.6, 0.7, 1e-3, 0.5);
  });
}

// 2^14 floats = 64 KiB (L2) ... 2^26 floats = 256 MiB (8x a 32 MiB L3).
#define OLSGD_SIZES ->RangeMultiplier(4)->Range(1 << 14, 1 << 26)->UseManualTime()
BENCHMARK(sgd_step) OLSGD_SIZES;
BENCHMARK(sgd_momentum_step) OLSGD_SIZES;
BENCHMARK(scale) OLSGD_SIZES;
BENCHMARK(pull_to_anchor) OLSGD_SIZES;
BENCHMARK(pull_to_anchor_momentum) OLSGD_SIZES;

}  // namespace

int main(int argc, char** argv) {
  olsgd::comm::Environment env(argc, argv);
  const olsgd::io::BuildInfo b = olsgd::io::build_info();
  benchmark::AddCustomContext("olsgd_git", b.git);
  benchmark::AddCustomContext("kokkos_version", b.kokkos_version);
  benchmark::AddCustomContext("execution_space", b.default_execution_space);
  benchmark::AddCustomContext("concurrency", std::to_string(ExecSpace().concurrency()));
  for (const char* var : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES"}) {
    const char* v = std::getenv(var);
    benchmark::AddCustomContext(var, v ? v : "");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
