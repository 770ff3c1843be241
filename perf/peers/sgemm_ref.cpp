// Bare OpenBLAS reference for one MLP training step's matrix products: the five sgemm calls
// olsgd's MLP gradient makes (src/model/network/dense.cpp), same shapes, same row-major layout
// and transposes, timed back to back on one thread with nothing else in the step.
//
//   forward   Z1[b x H] = A0[b x in] W1[H x in]^T      ("N","T")
//             Z2[b x K] = A1[b x H]  W2[K x H]^T       ("N","T")
//   backward  G2[K x H] = D2[b x K]^T A1[b x H]        ("T","N")  weight gradient, layer 2
//             P [b x H] = D2[b x K]  W2[K x H]         ("N","N")  delta back through W2
//             G1[H x in] = D1[b x H]^T A0[b x in]      ("T","N")  weight gradient, layer 1
//
// (No product for the input's gradient: neither olsgd nor autograd computes it.)
// KokkosBlas::gemm on LayoutRight views calls Fortran sgemm_ with the operands swapped,
// which is what cblas_sgemm(CblasRowMajor, ...) does inside OpenBLAS: the same kernels.
//
// Build and run (perf/peers/compare does both):
//   g++ -O3 -std=c++17 perf/peers/sgemm_ref.cpp -o sgemm_ref -lopenblas
//   OPENBLAS_NUM_THREADS=1 taskset -c 0 ./sgemm_ref --hidden 1024 --batch 64
// Prints one JSON line: per-product and per-step seconds (median of --reps repetitions of
// --steps back-to-back steps; step_s wall, step_s_min the fastest repetition, step_cpu_s
// this thread's CPU time) and the GFLOP/s of the step.
#include <cblas.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_config(void);

namespace {

using Clock = std::chrono::steady_clock;

struct Gemm {
  const char* name;
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k;  // C[m x n] = op(A)[m x k] op(B)[k x n]
  const float* a;
  const float* b;
  float* c;
  double flops() const { return 2.0 * m * n * k; }
  void run() const {
    const int lda = ta == CblasNoTrans ? k : m;
    const int ldb = tb == CblasNoTrans ? n : k;
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, n);
  }
};

// CPU seconds of this thread: unlike wall time, not inflated when the core is shared.
double thread_cpu_s() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

long arg(int argc, char** argv, const char* key, long fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], key) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int b = static_cast<int>(arg(argc, argv, "--batch", 64));
  const int in = static_cast<int>(arg(argc, argv, "--in", 784));
  const int H = static_cast<int>(arg(argc, argv, "--hidden", 1024));
  const int K = static_cast<int>(arg(argc, argv, "--classes", 10));
  const int steps = static_cast<int>(arg(argc, argv, "--steps", 50));
  const int reps = static_cast<int>(arg(argc, argv, "--reps", 21));
  const int threads = static_cast<int>(arg(argc, argv, "--threads", 1));
  openblas_set_num_threads(threads);

  std::mt19937 gen(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto filled = [&](std::size_t n) {
    std::vector<float> v(n);
    for (auto& x : v) x = u(gen);
    return v;
  };
  std::vector<float> A0 = filled(std::size_t(b) * in), W1 = filled(std::size_t(H) * in),
                     W2 = filled(std::size_t(K) * H), D2 = filled(std::size_t(b) * K),
                     D1 = filled(std::size_t(b) * H), A1(std::size_t(b) * H),
                     Z2(std::size_t(b) * K), G2(std::size_t(K) * H), P(std::size_t(b) * H),
                     G1(std::size_t(H) * in);
  const std::vector<Gemm> step = {
      {"fwd1 A0 W1^T", CblasNoTrans, CblasTrans, b, H, in, A0.data(), W1.data(), A1.data()},
      {"fwd2 A1 W2^T", CblasNoTrans, CblasTrans, b, K, H, A1.data(), W2.data(), Z2.data()},
      {"grad2 D2^T A1", CblasTrans, CblasNoTrans, K, H, b, D2.data(), A1.data(), G2.data()},
      {"back2 D2 W2", CblasNoTrans, CblasNoTrans, b, H, K, D2.data(), W2.data(), P.data()},
      {"grad1 D1^T A0", CblasTrans, CblasNoTrans, H, in, b, D1.data(), A0.data(), G1.data()},
  };
  double flops = 0;
  for (const auto& g : step) flops += g.flops();

  for (int w = 0; w < 3 * steps; ++w)
    for (const auto& g : step) g.run();  // warm caches and OpenBLAS buffers

  // Whole steps back to back (what a training step's products cost), then each product alone.
  std::vector<double> per_step, per_step_cpu;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_s();
    for (int s = 0; s < steps; ++s)
      for (const auto& g : step) g.run();
    per_step_cpu.push_back((thread_cpu_s() - c0) / steps);
    per_step.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / steps);
  }
  std::vector<double> each(step.size());
  for (std::size_t i = 0; i < step.size(); ++i) {
    std::vector<double> t;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = Clock::now();
      for (int s = 0; s < steps; ++s) step[i].run();
      t.push_back(std::chrono::duration<double>(Clock::now() - t0).count() / steps);
    }
    each[i] = median(t);
  }
  const double t_step = median(per_step);
  const double t_min = *std::min_element(per_step.begin(), per_step.end());
  std::printf(
      "{\"impl\": \"openblas_sgemm\", \"openblas\": \"%s\", \"threads\": %d, \"batch\": %d, "
      "\"in\": %d, \"hidden\": %d, \"classes\": %d, \"steps\": %d, \"reps\": %d, "
      "\"flops_per_step\": %.0f, \"step_s\": %.9g, \"step_s_min\": %.9g, "
      "\"step_cpu_s\": %.9g, \"gflops\": %.4g, \"gemms\": [",
      openblas_get_config(), threads, b, in, H, K, steps, reps, flops, t_step, t_min,
      median(per_step_cpu), flops / t_step * 1e-9);
  for (std::size_t i = 0; i < step.size(); ++i)
    std::printf(
        "%s{\"name\": \"%s\", \"m\": %d, \"n\": %d, \"k\": %d, \"s\": %.9g, "
        "\"gflops\": %.4g}",
        i ? ", " : "", step[i].name, step[i].m, step[i].n, step[i].k, each[i],
        step[i].flops() / each[i] * 1e-9);
  std::printf("]}\n");
  return 0;
}
