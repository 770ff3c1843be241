// The compressed systems on real MPI ranks (registered at 1, 2 and 4): QSGD, DQ-SGD and
// Sketched SGD against host references written from docs/algorithms.md §4-5, their bytes against
// the formula, and convergence on least squares and logistic regression.
#include <olsgd/algo/quantized_exchange.hpp>
#include <olsgd/kernels/count_sketch.hpp>
#include <olsgd/kernels/quantize.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
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
  return run_training(c, comm, test::keeping_final_state(obs));
}

State state_of(const RunOutcome& out) {
  return State(out.final_state.begin(), out.final_state.end());
}

// docs/algorithms.md §5 DQ-SGD level rule by linear search: the fewest s in [min, max] with
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
      // The smoothness L scales the bound: the same target needs more levels.
      {"algorithm.name=dq_sgd", "quantize.target_error=0.5", "quantize.max_levels=1000",
       "quantize.strong_convexity=0.2", "quantize.smoothness=3"},
  };
  for (const auto& sets : cases) {
    const Config c = deck(sets);
    SCOPED_TRACE(sets[0] + " " + sets[1] + " " + sets.back());
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
  // Quadrupling G^2 doubles the levels (s >= sqrt(4e7) = 6324.6), as does quadrupling L.
  EXPECT_EQ(rule.levels(0, 16.0), 6325);
  rule.smoothness = 4;
  EXPECT_EQ(rule.levels(0, 4.0), 6325);
  rule.smoothness = 1;
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

// Overlap-Local-SGD with a quantized anchor (algo/quantized_exchange.hpp), all ranks on the
// host: local steps; at a sync z += mean of the messages posted at the previous one, pull,
// post Q(x_i - z); the messages still in flight at the end reach z (finish()). In F fragments
// (§2e) each range does so on its own, (f+1) tau/F steps into the round, with its own norm.
State quantized_anchor_reference(const Config& c, int m, int rank) {
  const Index d = c.data.features, tau = c.algorithm.tau;
  const int F = static_cast<int>(c.algorithm.fragments);
  const Index period = tau / F;
  const double a = c.algorithm.alpha;
  const std::int64_t s = (std::int64_t(1) << c.quantize.bits) - 1;
  const test::HostLeastSquares ls(c, m);
  std::vector<std::vector<double>> x(m, std::vector<double>(d, 0.0)), v = x;
  std::vector<std::vector<std::vector<double>>> posted(F);  // per fragment, per rank
  std::vector<double> z(d, 0.0);
  auto range = [&](int f) { return std::make_pair(d * f / F, d * (f + 1) / F); };
  auto apply = [&](int f) {
    const auto [lo, hi] = range(f);
    for (Index j = lo; j < hi && !posted[f].empty(); ++j) {
      double mean = 0;
      for (const auto& q : posted[f]) mean += q[j - lo];
      z[j] += mean / m;
    }
    posted[f].clear();
  };
  for (Index k = 0; k < c.run.steps; ++k) {
    for (int r = 0; r < m; ++r)
      test::local_opt(x[r], v[r], ls.gradient(r, k, x[r]), c.optimizer, c.optimizer.lr);
    if ((k + 1) % period != 0) continue;
    const int f = static_cast<int>(((k + 1) / period - 1) % F);
    const auto [lo, hi] = range(f);
    apply(f);
    for (int r = 0; r < m; ++r) {
      std::vector<double> delta(hi - lo);
      double n2 = 0;
      for (Index j = lo; j < hi; ++j) {
        x[r][j] = (1 - a) * x[r][j] + a * z[j];
        delta[j - lo] = x[r][j] - z[j];
        n2 += delta[j - lo] * delta[j - lo];
      }
      const CounterRng rng(c.run.seed, Stream::Quantize, r);
      posted[f].push_back(
          test::host_quantize(delta, std::sqrt(n2), s, rng, std::uint64_t(k) << 32));
    }
  }
  for (int f = 0; f < F; ++f) apply(f);
  State out{{"params", x[rank]}, {"anchor", z}};
  if (c.optimizer.momentum > 0) out["momentum"] = v[rank];
  return out;
}

TEST(compressed, quantized_anchor_matches_the_host_reference) {
  const int m = world_size(), rank = test::world_rank();
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {"quantize.bits=2", "algorithm.tau=3", "algorithm.alpha=0.6"},
           {"quantize.bits=8", "algorithm.tau=4", "algorithm.alpha=0.3", "optimizer.momentum=0.9",
            "optimizer.nesterov=true"},
           {"quantize.bits=3", "algorithm.tau=4", "algorithm.fragments=2"},
           {"quantize.bits=4", "algorithm.tau=6", "algorithm.fragments=3",
            "optimizer.momentum=0.5"},
       }) {
    SCOPED_TRACE(sets[0] + " " + sets[1]);
    auto all = sets;
    all.insert(all.begin(), {"algorithm.name=overlap_local_sgd",
                             "algorithm.anchor_compression=quantize", "run.steps=31"});
    const Config c = deck(all);
    expect_state(state_of(run(c)), quantized_anchor_reference(c, m, rank));
  }
}

TEST(compressed, quantized_anchor_bytes_match_the_formula) {
  const double m = world_size();
  for (int bits : {1, 4}) {
    const auto out =
        run(deck({"algorithm.name=overlap_local_sgd", "algorithm.anchor_compression=quantize",
                  "algorithm.tau=4", "quantize.bits=" + std::to_string(bits)}));
    const double syncs = 29 / 4;
    const double bytes = 4.0 * (2 + 2 * (1 + bits));  // float64, d = 40: 2 groups of 32
    EXPECT_EQ(out.traffic.calls, syncs);
    EXPECT_EQ(out.traffic.payload_bytes, syncs * bytes);
    EXPECT_EQ(out.traffic.wire_bytes, (m - 1) * syncs * bytes);
  }
}

TEST(compressed, quantized_anchor_converges_like_the_plain_anchor) {
  // Noise-free least squares: the quantized moves vanish with the models' disagreement.
  const std::vector<std::string> base = {"algorithm.name=overlap_local_sgd", "algorithm.tau=4",
                                         "run.steps=1200", "data.noise=0", "optimizer.lr=0.1"};
  auto quantized = base;
  quantized.insert(quantized.end(), {"algorithm.anchor_compression=quantize", "quantize.bits=4"});
  const auto plain = run(deck(base));
  const auto q = run(deck(quantized));
  EXPECT_LT(plain.last.suboptimality, 1e-6);
  EXPECT_LT(q.last.suboptimality, 1e-6);
  EXPECT_LT(q.traffic.payload_bytes, plain.traffic.payload_bytes / 4);
}

TEST(compressed, quantized_anchor_moves_the_running_statistics_exactly) {
  // 16 steps of tau 4 at 1 bit: the last sync's messages complete at the end, so the anchor is
  // z + (1/m) sum_j Q(x_j - z) on the weights and the ranks' exact mean on the statistics.
  const auto [out, plan] = test::run_batch_norm_cnn(R"(
run: {seed: 3, steps: 16, log_every: 16, eval_every: 0, precision: float64}
optimizer: {lr: 0.05, batch: 8, momentum: 0.9}
algorithm: {name: overlap_local_sgd, tau: 4, anchor_compression: quantize}
quantize: {bits: 1}
)",
                                                    "quantized-bn");
  std::map<std::string, std::vector<double>> state(out.final_state.begin(), out.final_state.end());
  ASSERT_EQ(state.count("params"), 1u);
  ASSERT_EQ(state.count("anchor"), 1u);
  std::vector<double> mean = state["params"];
  MPI_Allreduce(MPI_IN_PLACE, mean.data(), static_cast<int>(mean.size()), MPI_DOUBLE, MPI_SUM,
                MPI_COMM_WORLD);
  for (double& v : mean) v /= world_size();
  const std::vector<double>& z = state["anchor"];
  Index quantized = 0;
  for (Index i = 0; i < plan.params; ++i)
    quantized += std::fabs(z[std::size_t(i)] - mean[std::size_t(i)]) > 1e-9;
  EXPECT_GT(quantized, plan.params / 10);  // the weights did travel at 1 bit
  for (Index i = plan.params; i < plan.total(); ++i)
    EXPECT_NEAR(z[std::size_t(i)], mean[std::size_t(i)], 1e-12) << "running statistic " << i;
  // Each of the 4 syncs: the 1-bit message over the trained parameters (float64: a norm of 2
  // words, then 2 words per 32 elements), and the 8 statistics beside it.
  const double message = 4.0 * (2 + std::ceil(plan.params / 32.0) * 2), statistics = 8 * 8.0;
  EXPECT_EQ(out.traffic.calls, 4 * 2);
  EXPECT_EQ(out.traffic.payload_bytes, 4 * (message + statistics));
}

// Indices of the n largest |a| (ties to the lower index), ascending: a full stable sort.
std::vector<Index> host_top(const std::vector<double>& a, Index n) {
  std::vector<Index> idx(a.size());
  std::iota(idx.begin(), idx.end(), Index(0));
  std::stable_sort(idx.begin(), idx.end(),
                   [&](Index i, Index j) { return std::fabs(a[i]) > std::fabs(a[j]); });
  idx.resize(n);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Sketched SGD (docs/algorithms.md §4), all ranks on the host, with a count sketch written from
// the formula (buckets and signs from the library's exact mod-p hash functions).
State sketched_reference(const Config& c, int m, int rank) {
  const Index d = c.data.features, rows = c.sketch.rows, cols = c.sketch.cols, k = c.sketch.k;
  const Index pool = std::min(c.sketch.candidates * k, d);
  const auto& o = c.optimizer;
  std::vector<kernels::CountSketchCoefficients> coef;
  for (int j = 0; j < rows; ++j) coef.push_back(kernels::count_sketch_coefficients(c.run.seed, j));
  const test::HostLeastSquares ls(c, m);
  std::vector<double> x(d, 0.0), table;
  std::vector<std::vector<double>> u(m, std::vector<double>(d, 0.0)), v = u;
  for (Index step = 0; step < c.run.steps; ++step) {
    table.assign(rows * cols, 0.0);
    for (int r = 0; r < m; ++r) {
      const auto g = ls.gradient(r, step, x);
      std::vector<double> s(rows * cols, 0.0);
      for (Index l = 0; l < d; ++l) {
        u[r][l] = o.momentum * u[r][l] + g[l] + o.weight_decay * x[l];
        v[r][l] = (c.sketch.error_feedback ? v[r][l] : 0.0) + o.lr * u[r][l];
        for (int j = 0; j < rows; ++j)
          s[j * cols + kernels::count_sketch_bucket(coef[j], cols, l)] +=
              kernels::count_sketch_sign(coef[j], l) * v[r][l];
      }
      for (Index b = 0; b < rows * cols; ++b) table[b] += s[b];
    }
    std::vector<double> est(d);
    for (Index l = 0; l < d; ++l) {
      std::vector<double> e;
      for (int j = 0; j < rows; ++j)
        e.push_back(kernels::count_sketch_sign(coef[j], l) *
                    table[j * cols + kernels::count_sketch_bucket(coef[j], cols, l)]);
      std::sort(e.begin(), e.end());
      est[l] = e[(rows - 1) / 2];  // the lower median
    }
    std::vector<Index> chosen;
    std::vector<double> delta;
    if (pool > 0) {
      const auto cand = host_top(est, pool);
      std::vector<double> w(pool, 0.0);
      for (Index t = 0; t < pool; ++t)
        for (int r = 0; r < m; ++r) w[t] += v[r][cand[t]];
      for (Index t : host_top(w, k)) chosen.push_back(cand[t]), delta.push_back(w[t] / m);
    } else {
      for (Index l : host_top(est, k)) chosen.push_back(l), delta.push_back(est[l] / m);
    }
    for (std::size_t t = 0; t < chosen.size(); ++t) {
      x[chosen[t]] -= delta[t];
      for (int r = 0; r < m; ++r) u[r][chosen[t]] = v[r][chosen[t]] = 0;
    }
  }
  return {{"params", x}, {"momentum", u[rank]}, {"error", v[rank]}, {"sketch", table}};
}

TEST(compressed, sketched_sgd_matches_the_host_reference) {
  const int m = world_size();
  const std::vector<std::vector<std::string>> cases = {
      {"sketch.candidates=2", "optimizer.momentum=0.9"},
      {"sketch.candidates=0", "optimizer.weight_decay=0.01"},
      {"sketch.error_feedback=false", "sketch.rows=4"},
  };
  for (auto sets : cases) {
    SCOPED_TRACE(sets[0] + " " + sets[1]);
    for (const char* s : {"algorithm.name=sketched_sgd", "sketch.cols=12", "sketch.k=6"})
      sets.push_back(s);
    const Config c = deck(sets);
    expect_state(state_of(run(c)), sketched_reference(c, m, test::world_rank()));
  }
}

// Every coordinate chosen every step (k = d, one round): each step applies the mean of the
// v_i = lr g_i and resets them, which is minibatch SGD exactly (up to rounding).
TEST(compressed, sketched_sgd_with_k_equal_d_is_minibatch_sgd) {
  const auto sketched = run(deck({"algorithm.name=sketched_sgd", "sketch.rows=1", "sketch.cols=40",
                                  "sketch.k=40", "sketch.candidates=1"}));
  const auto minibatch = run(deck({"algorithm.name=minibatch_sgd"}));
  for (std::size_t j = 0; j < minibatch.final_params.size(); ++j)
    EXPECT_NEAR(sketched.final_params[j], minibatch.final_params[j],
                1e-12 * std::max(1.0, std::fabs(minibatch.final_params[j])));
}

TEST(compressed, sketched_bytes_match_the_formula) {
  const double m = world_size();
  const Index steps = 29, d = 40;
  for (Index p : {0, 2, 100}) {
    const auto out = run(deck({"algorithm.name=sketched_sgd", "sketch.rows=3", "sketch.cols=10",
                               "sketch.k=5", "sketch.candidates=" + std::to_string(p)}));
    // sizeof(Scalar) (rows*cols + min(P k, d)) per step: one or two allreduces.
    const double per_step = 8.0 * (3 * 10 + std::min(p * 5, d));
    EXPECT_EQ(out.traffic.calls, steps * (p > 0 ? 2 : 1));
    EXPECT_EQ(out.traffic.payload_bytes, steps * per_step);
    EXPECT_DOUBLE_EQ(out.traffic.wire_bytes, 2 * (m - 1) / m * steps * per_step);
  }
}

TEST(compressed, sketched_sgd_converges_on_least_squares_and_logistic_regression) {
  // Top-k with error feedback applies every coordinate eventually: noise-free least squares
  // converges to the optimum.
  const auto ls = run(
      deck({"algorithm.name=sketched_sgd", "run.steps=1500", "data.noise=0", "optimizer.lr=0.05",
            "optimizer.momentum=0.5", "sketch.cols=40", "sketch.k=10", "sketch.candidates=2"}));
  EXPECT_LT(ls.last.suboptimality, 1e-4);  // from F(x0) - F* ~ 2.5
  // 7850 parameters, 10x fewer numbers per step than dense.
  const Config fashion = parse_config(
      "run: {steps: 150}\ndata: {kind: fashion_mnist, limit: 4000}\nmodel: {kind: logistic}\n"
      "algorithm: {name: sketched_sgd}\noptimizer: {lr: 0.05, batch: 32, momentum: 0.5}\n"
      "sketch: {rows: 5, cols: 100, k: 50, candidates: 5}\n",
      "fashion", {}, world_size());
  const auto out = run(fashion);
  EXPECT_GT(out.last.test_acc, 0.6);
  EXPECT_EQ(out.traffic.payload_bytes, 150 * 4.0 * (500 + 250));
}

}  // namespace
