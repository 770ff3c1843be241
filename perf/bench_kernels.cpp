// Memory-bound optimizer kernels measured against a same-size Kokkos::deep_copy on the same
// execution space, in the same benchmark iterations: the reported `ratio_vs_copy` is
// (kernel GB/s) / (copy GB/s), with bytes counted as the streams each one must move.
// Sizes run from L2-resident to well past the last-level cache.
//   build/perf/bench_kernels --benchmark_out=kernels.json --benchmark_out_format=json
#include <olsgd/comm/environment.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/kernels/channel_sums.hpp>
#include <olsgd/kernels/count_sketch.hpp>
#include <olsgd/kernels/outer.hpp>
#include <olsgd/kernels/overlap.hpp>
#include <olsgd/kernels/quantize.hpp>
#include <olsgd/kernels/sgd.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "bench_timing.hpp"

namespace {

using olsgd::ExecSpace;
using Scalar = float;  // the learning models' default precision
using View = olsgd::Vector<Scalar>;

using olsgd::bench::timed;

// The copy references, same size, same execution space, timed in the same iterations:
// Kokkos::deep_copy (what the goal is stated against) and a plain parallel_for copy (Kokkos
// 3.4's host deep_copy is not always the fastest copy, so both ratios are reported).
void parallel_copy(const ExecSpace& exec, const View& dst, const View& src) {
  Kokkos::parallel_for(
      "olsgd::perf::parallel_copy", Kokkos::RangePolicy<ExecSpace>(exec, 0, dst.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { dst(i) = src(i); });
}

// Runs `kernel` (moving `bytes_per_element` bytes per element of n) and both copies of n
// scalars (2 streams) alternately; the iteration time is the kernel's.
template <class Kernel>
void bench_bytes(benchmark::State& state, double bytes_per_element, Kernel kernel) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const ExecSpace exec;
  View x("x", n), v("v", n), g("g", n), w("w", n), copy("copy", n);
  Kokkos::deep_copy(x, 1.0f);
  Kokkos::deep_copy(g, 0.5f);
  Kokkos::deep_copy(w, 0.25f);
  double t_kernel = 0, t_copy = 0, t_pcopy = 0;
  for (auto _ : state) {
    const double tk = timed(exec, [&] { kernel(exec, x, v, g, w); });
    t_copy += timed(exec, [&] { Kokkos::deep_copy(exec, copy, x); });
    t_pcopy += timed(exec, [&] { parallel_copy(exec, copy, x); });
    t_kernel += tk;
    state.SetIterationTime(tk);
  }
  const double bytes = static_cast<double>(n) * sizeof(Scalar);
  const double it = static_cast<double>(state.iterations());
  const double gbs_kernel = bytes_per_element * n * it / t_kernel / 1e9;
  const double gbs_copy = 2 * bytes * it / t_copy / 1e9;
  const double gbs_pcopy = 2 * bytes * it / t_pcopy / 1e9;
  state.counters["GB/s"] = gbs_kernel;
  state.counters["copy_GB/s"] = gbs_copy;
  state.counters["ratio_vs_copy"] = gbs_kernel / gbs_copy;
  state.counters["pcopy_GB/s"] = gbs_pcopy;
  state.counters["ratio_vs_pcopy"] = gbs_kernel / gbs_pcopy;
  state.counters["KiB"] = bytes / 1024;
}

// The same for kernels that move `streams` whole arrays of n scalars.
template <class Kernel>
void bench(benchmark::State& state, int streams, Kernel kernel) {
  bench_bytes(state, streams * sizeof(Scalar), kernel);
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

void pull_and_difference(benchmark::State& s) {  // reads x, z; writes x, delta
  bench(s, 4, [](auto& e, auto& x, auto&, auto& z, auto& delta) {
    olsgd::kernels::pull_and_difference(e, x, z, delta, 0.6);
  });
}
void slowmo_outer(benchmark::State& s) {  // reads x, x0, u; writes x, x0, u
  bench(s, 6, [](auto& e, auto& x, auto& u, auto& x0, auto&) {
    olsgd::kernels::slowmo_outer(e, x, x0, u, View(), false, 0.5, 1.0, 0.5, 1e-3);
  });
}
void ac_sa_step(benchmark::State& s) {  // reads x, x_ag, x_md, g; writes x, x_ag
  // x_md doubles as g: the streams are what counts.
  bench(s, 6, [](auto& e, auto& x, auto& ag, auto& md, auto&) {
    olsgd::kernels::ac_sa_step(e, x, ag, md, md, 1e-3, 0.5, 1.0, 1e-4);
  });
}

// Count sketch (5 x n/64 table): the gather reads each coordinate once per row through its
// int32 member code, the query reads each row's int32 bucket code and a table entry and
// writes one estimate: 5 (4 + 4) + 4 bytes per element either way, plus the table.
constexpr int kSketchRows = 5;
void count_sketch(benchmark::State& s) {
  const olsgd::Index n = s.range(0), cols = std::max<olsgd::Index>(n / 64, 1);
  const olsgd::kernels::CountSketch<> cs(n, kSketchRows, cols, 7);
  View table("table", kSketchRows * cols);
  bench_bytes(s, kSketchRows * 8.0 + 4.0 * kSketchRows * cols / n,
              [&](auto& e, auto& x, auto&, auto&, auto&) { cs.sketch(e, x, table); });
}
void count_sketch_query(benchmark::State& s) {
  const olsgd::Index n = s.range(0), cols = std::max<olsgd::Index>(n / 64, 1);
  const olsgd::kernels::CountSketch<> cs(n, kSketchRows, cols, 7);
  View table("table", kSketchRows * cols);
  Kokkos::deep_copy(table, 1.0f);
  bench_bytes(s, kSketchRows * 8.0 + 4.0,
              [&](auto& e, auto&, auto& est, auto&, auto&) { cs.query(e, table, est); });
}

// QSGD quantize + pack at 4 bits: reads v, writes 5 words per 32 elements; one Philox4x32-10
// draw per element makes it compute-bound (reported, not held to the memory goal).
void quantize_pack(benchmark::State& s) {
  const olsgd::Index n = s.range(0);
  const auto f = olsgd::kernels::quantized_format<Scalar>(n, 15);
  const olsgd::WordVector words("words", f.words());
  const olsgd::CounterRng rng(1, olsgd::Stream::Quantize, 0);
  bench_bytes(s, 4.0 + 5.0 * 4 / 32, [&](auto& e, auto& x, auto&, auto&, auto&) {
    olsgd::kernels::quantize_pack(e, x, 1.0f, f, rng, 0, words);
  });
}

// Batch norm's per-channel sum over a batch of 128 NCHW images, with G threads per sample's
// plane (kernels/channel_sums.hpp: 1 keeps a plane's lanes in one thread, the host's choice;
// 8 gives each lane a thread, a GPU's). Both run on every backend so one run compares them.
// Reads each float once; the partial sums (C x 128 x G doubles) are not counted.
constexpr olsgd::Index kImages = 128;
template <int G>
void sum_channels(const ExecSpace& exec, const View& x, olsgd::Index C, olsgd::Index plane,
                  const olsgd::kernels::ChannelPartials<ExecSpace::memory_space>& partial,
                  const Kokkos::View<double*, ExecSpace::memory_space>& sums) {
  using olsgd::kernels::ChannelSums;
  olsgd::kernels::channel_sums<1>(
      exec, "olsgd::perf::channel_sums", kImages, C, plane, partial,
      KOKKOS_LAMBDA(olsgd::Index, olsgd::Index i) { return ChannelSums<1>{{double(x(i))}}; },
      KOKKOS_LAMBDA(olsgd::Index c, const ChannelSums<1>& s) { sums(c) = s.v[0]; },
      olsgd::kernels::ChannelSumThreads<G>{});
}
template <int G>
void channel_sums(benchmark::State& s) {  // range(0) = 128 C plane elements, range(1) = C
  const olsgd::Index C = s.range(1), plane = s.range(0) / (kImages * C);
  const auto partial = olsgd::kernels::channel_partials<ExecSpace, G>("partial", 1, C, kImages);
  const Kokkos::View<double*, ExecSpace::memory_space> sums("sums", C);
  bench_bytes(s, sizeof(Scalar), [&](auto& e, auto& x, auto&, auto&, auto&) {
    sum_channels<G>(e, x, C, plane, partial, sums);
  });
}

// 2^14 floats = 64 KiB (L2) ... 2^26 floats = 256 MiB (8x a 32 MiB L3).
#define OLSGD_SIZES ->RangeMultiplier(4)->Range(1 << 14, 1 << 26)->UseManualTime()
BENCHMARK(sgd_step) OLSGD_SIZES;
BENCHMARK(sgd_momentum_step) OLSGD_SIZES;
BENCHMARK(scale) OLSGD_SIZES;
BENCHMARK(pull_to_anchor) OLSGD_SIZES;
BENCHMARK(pull_to_anchor_momentum) OLSGD_SIZES;
BENCHMARK(pull_and_difference) OLSGD_SIZES;
BENCHMARK(slowmo_outer) OLSGD_SIZES;
BENCHMARK(ac_sa_step) OLSGD_SIZES;
BENCHMARK(count_sketch) OLSGD_SIZES;
BENCHMARK(count_sketch_query) OLSGD_SIZES;
BENCHMARK(quantize_pack) OLSGD_SIZES;
// ResNet-20's three stages at batch 128: 16 x 32^2, 32 x 16^2, 64 x 8^2 per image.
#define OLSGD_STAGES                   \
  ->Args({kImages * 16 * 1024, 16})    \
      ->Args({kImages * 32 * 256, 32}) \
      ->Args({kImages * 64 * 64, 64})  \
      ->UseManualTime()
BENCHMARK_TEMPLATE(channel_sums, 1) OLSGD_STAGES;
BENCHMARK_TEMPLATE(channel_sums, 8) OLSGD_STAGES;

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
