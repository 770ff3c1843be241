// Convolution layers (Conv, im2col + GEMM) against a bare sgemm of the same GEMMs, measured
// together in one run. One benchmark per distinct convolution shape of lenet5 (1x28x28),
// resnet20 and resnet18 (3x32x32), inner convolutions of the residual blocks included, at the
// papers' batch (64 for LeNet-5, 128 for the ResNets; --batch=N for all) and the library's
// lowering chunk (--chunk=SCALARS for another; perf/README.md). Each iteration times,
// on the same buffers:
//   fwd    Conv::forward                      = im2col, W cols, to_nchw (+ bias)
//   wgrad  Conv::backward with din null       = im2col, from_nchw, dY cols^T (+ bias gradient)
//   full   Conv::backward with din            = the above + W^T dY, col2im
//   igrad  full - wgrad (the input gradient's own cost: the W^T dY GEMM and col2im)
// then the Fortran sgemm_ of the same OpenBLAS that KokkosBlas::gemm calls, on the same GEMM
// shapes and the same chunking (Conv::chunk), and each helper kernel (im2col, to_nchw,
// from_nchw, col2im, bias_grad) alone over the batch. FLOPs per pass: 2 Cout Cin k k Ho Wo
// batch; ratio = olsgd GFLOP/s / sgemm GFLOP/s of that pass; <pass>_<part> = the part's time
// as a fraction of the olsgd pass (what is left is fences, launches and KokkosBlas).
// The layer is the library's own Conv, reached through the private header (src/ is on this
// target's include path), so no other layer's time is in the figures. Run on one thread:
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 build/perf/bench_conv --benchmark_repetitions=3
//   (scripts/bench conv does that and writes perf/results/conv-<host>.json)
#include <olsgd/comm/environment.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/model/network_spec.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "bench_timing.hpp"
#include "model/network/layers.hpp"

extern "C" void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k,
                       const float* alpha, const float* a, const int* lda, const float* b,
                       const int* ldb, const float* beta, float* c, const int* ldc);

// The bare GEMMs hand the layers' buffers to the host BLAS (perf/CMakeLists.txt leaves this
// benchmark out of device builds).
static_assert(Kokkos::SpaceAccessibility<Kokkos::HostSpace, olsgd::MemSpace>::accessible,
              "bench_conv calls the host BLAS on the layers' buffers: host builds only");

namespace {

using olsgd::ExecSpace;
using olsgd::Index;
using olsgd::LayerKind;
using olsgd::PlannedLayer;
using olsgd::Shape;
using Scalar = float;

using olsgd::bench::timed;

// Row-major C (m x n) = op(A) op(B) + beta C through the column-major sgemm_: C^T = op(B)^T
// op(A)^T. lda, ldb: the row lengths of A and B as stored.
void sgemm_rm(char ta, char tb, int m, int n, int k, const float* a, int lda, const float* b,
              int ldb, float beta, float* c) {
  const float one = 1;
  sgemm_(&tb, &ta, &n, &m, &k, &one, b, &ldb, a, &lda, &beta, c, &n);
}

double load1() {
  std::ifstream f("/proc/loadavg");
  double l = -1;
  f >> l;
  return l;
}

std::string loadavg_text() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// A convolution as ResidualBlock places it (no bias).
PlannedLayer block_conv(Shape in, Index out, Index k, Index stride, Index pad) {
  PlannedLayer p;
  p.spec.kind = LayerKind::Conv, p.spec.out = out, p.spec.k = k, p.spec.stride = stride;
  p.spec.pad = pad, p.spec.bias = false, p.spec.text = "conv";
  p.in = in;
  p.out = {out, (in.h + 2 * pad - k) / stride + 1, (in.w + 2 * pad - k) / stride + 1};
  p.params = out * in.c * k * k;
  return p;
}

struct ConvCase {
  std::string net;
  PlannedLayer plan;
  Index batch = 0;
  int uses = 0;  // times the shape occurs in the network
};

// The network's distinct convolutions in order of first use.
std::vector<ConvCase> conv_cases(const std::string& net, Shape input, Index batch) {
  const auto plan = olsgd::plan_network(
      olsgd::parse_network_spec(olsgd::preset_network_spec(net, "")), input, 10);
  std::vector<PlannedLayer> convs;
  for (const PlannedLayer& l : plan.layers) {
    if (l.spec.kind == LayerKind::Conv) convs.push_back(l);
    if (l.spec.kind != LayerKind::Block) continue;
    const Index c = l.spec.out, s = l.spec.stride;
    const PlannedLayer c1 = block_conv(l.in, c, 3, s, 1);
    convs.push_back(c1);
    convs.push_back(block_conv(c1.out, c, 3, 1, 1));
    if (c != l.in.c || s != 1) convs.push_back(block_conv(l.in, c, 1, s, 0));
  }
  std::vector<ConvCase> cases;
  std::map<std::tuple<Index, Index, Index, Index, Index, Index, Index, bool>, std::size_t> seen;
  for (const PlannedLayer& p : convs) {
    const auto key = std::make_tuple(p.in.c, p.in.h, p.in.w, p.spec.out, p.spec.k, p.spec.stride,
                                     p.spec.pad, p.spec.bias);
    const auto it = seen.find(key);
    if (it != seen.end()) {
      ++cases[it->second].uses;
      continue;
    }
    seen[key] = cases.size();
    cases.push_back({net, p, batch, 1});
  }
  return cases;
}

std::string case_name(const ConvCase& c) {
  const PlannedLayer& p = c.plan;
  char buf[160];
  std::snprintf(buf, sizeof buf, "conv/%s/%ldx%ldx%ld>%ld/k%ld_s%ld_p%ld/batch:%ld", c.net.c_str(),
                long(p.in.c), long(p.in.h), long(p.in.w), long(p.spec.out), long(p.spec.k),
                long(p.spec.stride), long(p.spec.pad), long(c.batch));
  return buf;
}

void fill(const ExecSpace& exec, const olsgd::Vector<Scalar>& v, Scalar scale) {
  Kokkos::parallel_for(
      "olsgd::perf::conv_fill", Kokkos::RangePolicy<ExecSpace>(exec, 0, v.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { v(i) = scale * Scalar(int(i * 7919 % 2001) - 1000); });
}

struct Times {
  double fwd = 0, wgrad = 0, full = 0;
  double g_fwd = 0, g_wgrad = 0, g_igrad = 0;  // bare sgemm
  double im2col = 0, to_nchw = 0, from_nchw = 0, col2im = 0, bias_grad = 0;
};

void bench_conv(benchmark::State& state, const ConvCase& cc) {
  const PlannedLayer& pl = cc.plan;
  const ExecSpace exec;
  olsgd::net::Conv<Scalar> conv(pl);
  conv.reserve(cc.batch);  // the bias gradient's per-channel partials
  const Index n = cc.batch, cin = pl.in.c, cout = pl.spec.out, k = pl.spec.k;
  const Index kk = cin * k * k, P = pl.out.h * pl.out.w;
  const Index nb_max = conv.chunk(n);
  olsgd::Vector<Scalar> w("w", pl.params), g("g", pl.params), in("in", n * pl.in.size()),
      out("out", n * pl.out.size()), dout("dout", n * pl.out.size()), din("din", n * pl.in.size()),
      work("work", conv.work_size(n));
  olsgd::net::InitStreams streams;
  conv.initialize(exec, w.data(), nullptr, streams);
  fill(exec, in, 1e-3f);
  fill(exec, dout, 1e-4f);
  olsgd::net::Pass<Scalar> p;
  p.exec = exec, p.w = w.data(), p.g = g.data(), p.n = n;
  p.scratch.work = work.data();
  const Scalar* bias = pl.spec.bias ? w.data() + cout * kk : nullptr;
  // Layer::backward may overwrite dL/dout: each iteration starts from a fresh copy.
  olsgd::Vector<Scalar> dcopy("dcopy", dout.extent(0));

  // Runs f(n0, nb, col, tmp) over the chunks as Conv does.
  auto chunks = [&](const auto& f) {
    for (Index n0 = 0; n0 < n; n0 += nb_max) {
      const Index nb = std::min(nb_max, n - n0);
      Scalar* col = work.data();
      f(n0, nb, col, col + kk * nb * P);
    }
  };
  const int icout = int(cout), ikk = int(kk);

  Times t;
  for (auto _ : state) {
    Kokkos::deep_copy(exec, dcopy, dout);
    const double tf = timed(exec, [&] { conv.forward(p, in.data(), out.data()); });
    const double tw =
        timed(exec, [&] { conv.backward(p, in.data(), out.data(), dcopy.data(), nullptr, false); });
    const double tb = timed(
        exec, [&] { conv.backward(p, in.data(), out.data(), dcopy.data(), din.data(), false); });
    t.fwd += tf, t.wgrad += tw, t.full += tb;
    // The same GEMMs, bare.
    t.g_fwd += timed(exec, [&] {
      chunks([&](Index, Index nb, Scalar* col, Scalar* tmp) {
        sgemm_rm('N', 'N', icout, int(nb * P), ikk, w.data(), ikk, col, int(nb * P), 0, tmp);
      });
    });
    t.g_wgrad += timed(exec, [&] {
      chunks([&](Index n0, Index nb, Scalar* col, Scalar* tmp) {
        sgemm_rm('N', 'T', icout, ikk, int(nb * P), tmp, int(nb * P), col, int(nb * P),
                 n0 == 0 ? 0.0f : 1.0f, g.data());
      });
    });
    t.g_igrad += timed(exec, [&] {
      chunks([&](Index, Index nb, Scalar* col, Scalar* tmp) {
        sgemm_rm('T', 'N', ikk, int(nb * P), icout, w.data(), ikk, tmp, int(nb * P), 0, col);
      });
    });
    // The helper kernels alone, fenced per call as the passes are at their GEMMs.
    t.im2col += timed(exec, [&] {
      chunks([&](Index n0, Index nb, Scalar* col, Scalar*) {
        conv.im2col(exec, in.data(), n0, nb, col);
        exec.fence();
      });
    });
    t.to_nchw += timed(exec, [&] {
      chunks([&](Index n0, Index nb, Scalar*, Scalar* tmp) {
        conv.to_nchw(exec, tmp, bias, n0, nb, out.data());
        exec.fence();
      });
    });
    t.from_nchw += timed(exec, [&] {
      chunks([&](Index n0, Index nb, Scalar*, Scalar* tmp) {
        conv.from_nchw(exec, dcopy.data(), out.data(), n0, nb, tmp);
        exec.fence();
      });
    });
    t.col2im += timed(exec, [&] {
      chunks([&](Index n0, Index nb, Scalar* col, Scalar*) {
        conv.col2im(exec, col, n0, nb, din.data(), false);
        exec.fence();
      });
    });
    if (bias)
      t.bias_grad += timed(
          exec, [&] { conv.bias_grad(exec, dcopy.data(), out.data(), n, g.data() + cout * kk); });
    state.SetIterationTime(tf + tb);
  }
  const double it = double(state.iterations());
  const double gflop = 2.0 * double(cout) * double(kk) * double(P) * double(n) * it / 1e9;
  // The difference of two noisy times can come out <= 0 on a busy machine: then the input
  // gradient's figures are 0 (no measurement), not a huge rate.
  const double t_igrad = t.full - t.wgrad;
  const double igrad_ok = t_igrad > 0 ? 1 : 0, t_ig = t_igrad > 0 ? t_igrad : 1;
  auto& c = state.counters;
  c["fwd_GFLOPs"] = gflop / t.fwd;
  c["wgrad_GFLOPs"] = gflop / t.wgrad;
  c["igrad_GFLOPs"] = igrad_ok * gflop / t_ig;
  c["bwd_GFLOPs"] = 2 * gflop / t.full;
  c["sgemm_fwd_GFLOPs"] = gflop / t.g_fwd;
  c["sgemm_wgrad_GFLOPs"] = gflop / t.g_wgrad;
  c["sgemm_igrad_GFLOPs"] = gflop / t.g_igrad;
  c["fwd_ratio"] = t.g_fwd / t.fwd;
  c["wgrad_ratio"] = t.g_wgrad / t.wgrad;
  c["igrad_ratio"] = igrad_ok * t.g_igrad / t_ig;
  c["bwd_ratio"] = (t.g_wgrad + t.g_igrad) / t.full;
  c["fwd_gemm"] = t.g_fwd / t.fwd;
  c["fwd_im2col"] = t.im2col / t.fwd;
  c["fwd_to_nchw"] = t.to_nchw / t.fwd;
  c["wgrad_gemm"] = t.g_wgrad / t.wgrad;
  c["wgrad_im2col"] = t.im2col / t.wgrad;
  c["wgrad_from_nchw"] = t.from_nchw / t.wgrad;
  c["wgrad_bias"] = t.bias_grad / t.wgrad;
  c["igrad_gemm"] = igrad_ok * t.g_igrad / t_ig;
  c["igrad_col2im"] = igrad_ok * t.col2im / t_ig;
  c["ms_fwd"] = 1e3 * t.fwd / it;
  c["ms_wgrad"] = 1e3 * t.wgrad / it;
  c["ms_igrad"] = 1e3 * t_igrad / it;
  c["chunk"] = double(nb_max);
  c["chunks"] = double((n + nb_max - 1) / nb_max);
  c["uses"] = cc.uses;
  c["load1"] = load1();
}

}  // namespace

int main(int argc, char** argv) {
  olsgd::comm::Environment env(argc, argv);
  benchmark::Initialize(&argc, argv);
  // Own flags, after Google Benchmark has taken its own.
  Index batch = 0;  // 0: the papers' batches
  Index chunk = 0;  // 0: the library's lowering chunk
  std::string nets = "lenet5,resnet20,resnet18";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--batch=", 0) == 0) {
      batch = std::atol(a.c_str() + 8);
    } else if (a.rfind("--nets=", 0) == 0) {
      nets = a.substr(7);
    } else if (a.rfind("--chunk=", 0) == 0) {
      chunk = std::atol(a.c_str() + 8);
    } else {
      std::cerr << "bench_conv: unknown argument " << a
                << " (own flags: --batch=N, --nets=lenet5,resnet20,resnet18, --chunk=SCALARS)\n";
      return 1;
    }
  }
  std::vector<ConvCase> cases;
  std::stringstream ss(nets);
  for (std::string net; std::getline(ss, net, ',');) {
    const bool lenet = net == "lenet5";
    if (!lenet && net != "resnet20" && net != "resnet18") {
      std::cerr << "bench_conv: unknown network " << net << "\n";
      return 1;
    }
    const Shape input = lenet ? Shape{1, 28, 28} : Shape{3, 32, 32};
    auto more = conv_cases(net, input, batch > 0 ? batch : lenet ? 64 : 128);
    for (ConvCase& cc : more)
      if (chunk > 0) cc.plan.chunk_scalars = chunk;
    cases.insert(cases.end(), more.begin(), more.end());
  }
  // Each lambda holds its own copy of the case.
  for (const ConvCase& cc : cases)
    benchmark::RegisterBenchmark(case_name(cc).c_str(),
                                 [cc](benchmark::State& s) { bench_conv(s, cc); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);

  const olsgd::io::BuildInfo b = olsgd::io::build_info();
  benchmark::AddCustomContext("olsgd_git", b.git);
  benchmark::AddCustomContext("kokkos_version", b.kokkos_version);
  benchmark::AddCustomContext("execution_space", b.default_execution_space);
  benchmark::AddCustomContext("concurrency", std::to_string(ExecSpace().concurrency()));
  benchmark::AddCustomContext("loadavg_start", loadavg_text());
  benchmark::AddCustomContext("batch",
                              batch > 0 ? std::to_string(batch) : "64 lenet5, 128 resnets");
  for (const char* var :
       {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES"}) {
    const char* v = std::getenv(var);
    benchmark::AddCustomContext(var, v ? v : "");
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::cerr << "bench_conv: loadavg at the end " << loadavg_text() << "\n";
  return 0;
}
