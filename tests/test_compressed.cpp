// The compressed systems on real MPI ranks (registered at 1, 2 and 4): QSGD, DQ-SGD and
// Sketched SGD against host references written from ALGORITHMS.md §4-5, their bytes against
// the formula, and convergence on least squares and logistic regression.
#include <olsgd/algo/quantized_sgd.hpp>
#include <olsgd/algo/trainer.hpp>
#include <olsgd/kernels/quantize.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <reference.hpp>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;
using test::expect_state;
using test::State;
using test::world_size;

const char* kDeck = R"(
run: {seed: 8, steps: 29, log_every: 1000}
data: {samples: 256, features: 40, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
)";

Config deck(const std::vector<std::string>& sets) {
  return parse_config(kDeck, "compressed-test", sets, world_size());
}

RunOutcome run(const Config& c, std::vector<SyncRecord>* syncs = nullptr) {
  comm::Communicator comm(MPI_COMM_WORLD);
  RunObservers obs;
  if (syncs) obs.on_sync = [syncs](const SyncRecord& r) { syncs->push_back(r); };
  return run_training(c, comm, obs);
}

State state_of(const RunOutcome& out) {
  return State(out.final_state.begin(), out.final_state.end());
}

// ALGORITHMS.md §5 DQ-SGD level rule by linear search: the fewest s in [min, max] with
// min(d/s^2, sqrt(d)/s) w_t G^2 <= eps / T.
std::int64_t reference_levels(const Config& c, int m, Index t, double g2) {
  const auto& q = c.quantize;
  const double d = c.data.features, lr = c.optimizer.lr, T = c.run.steps;
  const double w =
      q.smoothness * lr * lr / (2 * m) * std::pow(1 - lr * q.strong_convexity, T - 1 - t);
  for (std::int64_t s = q.min_levels; s < q.max_levels; ++s)
    if (std::min(d / (s * s), std::sqrt(d) / s) * w * g2 <= q.target_error / T) return s;
  return q.max_levels;
}

// QSGD / DQ-SGD, all ranks on the host: every rank quantizes its gradient with its own draws,
// the mean of the m quantized gradients drives LOCAL_OPT (§0) on the replicated x.
State quantized_reference(const Config& c, int m, std::vector<std::int64_t>& levels) {
  const Index d = c.data.features;
  const bool dynamic = c.algorithm.name == "dq_sgd";
  const test::HostLeastSquares ls(c, m);
  std::vector<double> x(d, 0.0), v(d, 0.0);
  std::int64_t s = dynamic ? c.quantize.max_levels : (std::int64_t(1) << c.quantize.bits) - 1;
  for (Index k = 0; k < c.run.steps; ++k) {
    levels.push_back(s);
    std::vector<double> ghat(d, 0.0);
    double g2 = 0;
    for (int r = 0; r < m; ++r) {
      const auto g = ls.gradient(r, k, x);
      double n2 = 0;
      for (double gj : g) n2 += gj * gj;
      g2 += n2 / m;
      const CounterRng rng(c.run.seed, Stream::Quantize, r);
      const auto q = test::host_quantize(g, std::sqrt(n2), s, rng, std::uint64_t(k) << 32);
      for (Index j = 0; j < d; ++j) ghat[j] += q[j] / m;
    }
    test::local_opt(x, v, ghat, c.optimizer, c.optimizer.lr);
    if (dynamic) s = reference_levels(c, m, k + 1, g2);
  }
  State out{{"params", x}};
  if (c.optimizer.momentum > 0) out["momentum"] = v;
  return out;
}

TEST(compressed, qsgd_and_dq_sgd_match_the_host_reference) {
  const int m = world_size();
  const std::vector<std::vector<std::string>> cases = {
      {"algorithm.name=qsgd", "quantize.bits=2"},
      {"algorithm.name=qsgd", "quantize.bits=8", "optimizer.momentum=0.9",
       "optimizer.weight_decay=0.01"},
      // Levels move every step: a target the gradient norms cross while they fall.
      {"algorithm.name=dq_sgd", "quantize.target_error=0.5", "quantize.max_levels=1000",
       "quantize.strong_convexity=0.2"},
  };
  for (const auto& sets : cases) {
    const Config c = deck(sets);
    SCOPED_TRACE(sets[0] + " " + sets[1]);
    std::vector<SyncRecord> syncs;
    const auto out = run(c, &syncs);
    std::vector<std::int64_t> levels;
    expect_state(state_of(out), quantized_reference(c, m, levels));
    ASSERT_EQ(syncs.size(), levels.size());
    for (std::size_t t = 0; t < levels.size(); ++t)
      EXPECT_EQ(syncs[t].levels, static_cast<double>(levels[t])) << "step " << t;
    if (c.algorithm.name == "dq_sgd") {
      EXPECT_NE(levels.front(), levels.back());
    }
  }
}

TEST(compressed, dq_sgd_level_rule) {
  LevelRule rule;
  rule.dim = 10000;
  rule.ranks = 2;
  rule.steps = 100;
  rule.lr = 0.1;
  rule.target_error = 1e-3;
  rule.min_levels = 1;
  rule.max_levels = 65535;
  // Without strong convexity w_t = L lr^2 / (2m) = 0.0025 at every t, so with G^2 = 4 the
  // condition is q(s) = min(d/s^2, sqrt(d)/s) <= (eps / T) / 0.01. The branches meet at
  // s = sqrt(d) = 100 (q = 1). eps = 1e-3: q <= 1e-3, d/s^2 branch, s >= sqrt(1e7) = 3162.3.
  EXPECT_EQ(rule.levels(0, 4.0), 3163);
  // Quadrupling G^2 doubles the levels (s >= sqrt(4e7) = 6324.6).
  EXPECT_EQ(rule.levels(0, 16.0), 6325);
  rule.target_error = 0.1;  // q <= 0.1: s >= sqrt(1e5) = 316.2
  EXPECT_EQ(rule.levels(0, 4.0), 317);
  rule.target_error = 3.0;  // q <= 3 on the sqrt(d)/s branch: s >= 33.3
  EXPECT_EQ(rule.levels(0, 4.0), 34);
  // Clamped to [min, max]; zero gradients need the fewest.
  EXPECT_EQ(rule.levels(0, 0.0), 1);
  rule.max_levels = 30;
  EXPECT_EQ(rule.levels(0, 4.0), 30);
  // With strong convexity the early steps are discounted: levels grow toward T.
  rule.max_levels = 65535;
  rule.strong_convexity = 0.5;
  std::int64_t previous = 0;
  for (Index t = 0; t < rule.steps; t += 9) {
    const std::int64_t s = rule.levels(t, 4.0);
    EXPECT_GE(s, previous) << "t=" << t;
    previous = s;
  }
  EXPECT_LT(rule.levels(0, 4.0), rule.levels(99, 4.0));
}

TEST(compressed, quantized_bytes_match_the_formula) {
  const double m = world_size();
  const Index d = 40, steps = 29;
  for (int bits : {1, 3, 16}) {
    const auto out = run(deck({"algorithm.name=qsgd", "quantize.bits=" + std::to_string(bits)}));
    // float64: 2 norm words + ceil(40/32) = 2 groups of (1 + bits) words.
    const double bytes = 4.0 * (2 + 2 * (1 + bits));
    EXPECT_EQ(out.traffic.calls, steps);
    EXPECT_EQ(out.traffic.payload_bytes, steps * bytes);
    EXPECT_EQ(out.traffic.wire_bytes, (m - 1) * steps * bytes);
    EXPECT_LT(bytes, d * 8.0);
  }
  // DQ-SGD: each step's message has the size of its own levels.
  std::vector<SyncRecord> syncs;
  const auto out = run(deck({"algorithm.name=dq_sgd", "quantize.target_error=0.5",
                             "quantize.max_levels=1000", "quantize.strong_convexity=0.2"}),
                       &syncs);
  double want = 0;
  for (const auto& r : syncs)
    want += 4.0 * (2 + 2 * (1 + kernels::level_bits(static_cast<std::int64_t>(r.levels))));
  EXPECT_EQ(out.traffic.payload_bytes, want);
}

TEST(compressed, quantized_converge_on_least_squares_and_logistic_regression) {
  for (const char* algo : {"qsgd", "dq_sgd"}) {
    SCOPED_TRACE(algo);
    const std::string name = std::string("algorithm.name=") + algo;
    // Quantization noise is proportional to the gradient: it vanishes at the optimum of a
    // noise-free problem, so the run converges like SGD does.
    const auto ls = run(deck({name, "run.steps=1000", "data.noise=0", "optimizer.lr=0.1"}));
    EXPECT_LT(ls.last.suboptimality, 1e-4);  // from F(x0) - F* ~ 2.5
    const Config fashion = parse_config(
        "run: {steps: 150}\ndata: {kind: fashion_mnist, limit: 4000}\nmodel: {kind: logistic}\n"
        "optimizer: {lr: 0.05, batch: 32}\nquantize: {bits: 4}\n",
        "fashion", {name}, world_size());
    EXPECT_GT(run(fashion).last.test_acc, 0.6);
  }
}

}  // namespace
