// The compared systems on real MPI ranks (registered at 1, 2 and 4): accelerated minibatch
// SGD (AC-SA) and SlowMo against host references written from docs/algorithms.md §1b and §3,
// SlowMo's special cases, bytes against the formula, and convergence.
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <map>
#include <reference.hpp>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;
using test::expect_state;
using test::State;
using test::world_rank;
using test::world_size;

const char* kDeck = R"(
run: {seed: 6, steps: 37, log_every: 1000}
data: {samples: 256, features: 10, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
)";

Config deck(const std::vector<std::string>& sets) {
  return parse_config(kDeck, "compared-test", sets, world_size());
}

RunOutcome run(const Config& c) {
  comm::Communicator comm(MPI_COMM_WORLD);
  return run_training(c, comm, test::keeping_final_state());
}

State state_of(const RunOutcome& out) {
  return State(out.final_state.begin(), out.final_state.end());
}

// docs/algorithms.md §1b (AC-SA), all ranks on the host.
State accelerated_reference(const Config& c, int m) {
  const Index d = c.data.features;
  const test::HostLeastSquares ls(c, m);
  std::vector<double> x(d, 0.0), x_ag(d, 0.0), x_md(d);
  for (Index k = 0; k < c.run.steps; ++k) {
    const double t = k + 1.0, a = 2 / (t + 1), gamma_t = c.optimizer.lr * (t + 1) / 2;
    for (Index j = 0; j < d; ++j) x_md[j] = a * x[j] + (1 - a) * x_ag[j];
    std::vector<double> gbar(d, 0.0);
    for (int r = 0; r < m; ++r) {
      const auto g = ls.gradient(r, k, x_md);
      for (Index j = 0; j < d; ++j) gbar[j] += g[j] / m;
    }
    for (Index j = 0; j < d; ++j) {
      x[j] -= gamma_t * (gbar[j] + c.optimizer.weight_decay * x_md[j]);
      x_ag[j] = a * x[j] + (1 - a) * x_ag[j];
    }
  }
  return {{"params", x_ag}, {"x", x}, {"x_md", x_md}};
}

// docs/algorithms.md §3, all ranks on the host: LOCAL_OPT (§0) steps; every `period` steps the
// outer update; at the other multiples of tau the base's own sync: a local-SGD average, or
// lines 5-8 of Overlap-Local-SGD (§2, plain variant).
State slowmo_reference(const Config& c, int m, int rank) {
  const Index d = c.data.features;
  const auto& a = c.algorithm;
  const auto& o = c.optimizer;
  const Index period = a.slowmo_period > 0 ? a.slowmo_period : a.tau;
  const bool overlap = a.slowmo_base == "overlap_local_sgd";
  const test::HostLeastSquares ls(c, m);
  std::vector<std::vector<double>> x(m, std::vector<double>(d, 0.0)), v = x, send = x;
  std::vector<double> x0(d, 0.0), u(d, 0.0), z(d, 0.0), pending;
  for (Index k = 0; k < c.run.steps; ++k) {
    for (int r = 0; r < m; ++r) test::local_opt(x[r], v[r], ls.gradient(r, k, x[r]), o, o.lr);
    if ((k + 1) % period == 0) {
      for (Index j = 0; j < d; ++j) {
        double xbar = 0;
        for (int r = 0; r < m; ++r) xbar += x[r][j] / m;
        u[j] = a.slow_momentum * u[j] + (x0[j] - xbar) / o.lr;
        x0[j] -= a.slow_lr * o.lr * u[j];
        for (int r = 0; r < m; ++r) {
          x[r][j] = x0[j];
          if (a.slowmo_buffers == "reset") v[r][j] = 0;
        }
      }
    } else if ((k + 1) % a.tau == 0 && !overlap) {
      for (Index j = 0; j < d; ++j) {
        double xbar = 0;
        for (int r = 0; r < m; ++r) xbar += x[r][j] / m;
        for (int r = 0; r < m; ++r) x[r][j] = xbar;
      }
    } else if ((k + 1) % a.tau == 0) {
      if (!pending.empty()) z = pending;
      pending.assign(d, 0.0);
      for (int r = 0; r < m; ++r)
        for (Index j = 0; j < d; ++j) {
          x[r][j] = (1 - a.alpha) * x[r][j] + a.alpha * z[j];
          send[r][j] = x[r][j] / m;
          pending[j] += send[r][j];
        }
    }
  }
  State s{{"params", x[rank]}, {"outer", x0}, {"slow_momentum", u}};
  if (o.momentum > 0) s["momentum"] = v[rank];
  if (overlap) {
    if (!pending.empty()) z = pending;  // the final wait
    s["send"] = send[rank];
    s["anchor"] = z;
  }
  return s;
}

TEST(compared, accelerated_minibatch_sgd_matches_the_host_reference) {
  // The element type spelled out: nvcc (EDG) cannot deduce it from a mixed braced list.
  const std::vector<std::vector<std::string>> cases = {
      {}, {"optimizer.weight_decay=0.01", "run.steps=24"}};
  for (auto sets : cases) {
    sets.push_back("algorithm.name=accelerated_minibatch_sgd");
    sets.push_back("optimizer.lr=0.02");
    const Config c = deck(sets);
    expect_state(state_of(run(c)), accelerated_reference(c, world_size()));
  }
}

TEST(compared, slowmo_matches_the_host_reference) {
  const std::vector<std::vector<std::string>> cases = {
      {"algorithm.tau=4", "algorithm.slow_momentum=0.5"},
      {"algorithm.tau=3", "algorithm.slow_momentum=0.7", "algorithm.slow_lr=0.8",
       "optimizer.momentum=0.9", "optimizer.nesterov=true"},
      {"algorithm.tau=5", "algorithm.slow_momentum=0.6", "optimizer.momentum=0.9",
       "algorithm.slowmo_buffers=reset", "optimizer.weight_decay=1e-3"},
      // Inner local-SGD averages every 2 steps, outer every 6.
      {"algorithm.tau=2", "algorithm.slowmo_period=6", "algorithm.slow_momentum=0.5"},
      // Over Overlap-Local-SGD: anchor pulls every 3 steps, exact outer update every 9.
      {"algorithm.tau=3", "algorithm.slowmo_period=9", "algorithm.slowmo_base=overlap_local_sgd",
       "algorithm.slow_momentum=0.5", "algorithm.alpha=0.5", "optimizer.momentum=0.9"},
  };
  for (auto sets : cases) {
    sets.push_back("algorithm.name=slowmo");
    const Config c = deck(sets);
    expect_state(state_of(run(c)), slowmo_reference(c, world_size(), world_rank()));
  }
}

TEST(compared, slowmo_special_cases) {
  // beta = 0, alpha = 1: local SGD (up to rounding).
  const auto slow = run(deck({"algorithm.name=slowmo", "algorithm.tau=4",
                              "algorithm.slow_momentum=0", "algorithm.slow_lr=1"}));
  const auto local = run(deck({"algorithm.name=local_sgd", "algorithm.tau=4"}));
  for (std::size_t j = 0; j < local.final_params.size(); ++j)
    EXPECT_NEAR(slow.final_params[j], local.final_params[j],
                1e-12 * std::max(1.0, std::fabs(local.final_params[j])));
  // tau = 1, plain SGD base: minibatch SGD with heavy-ball momentum beta and lr alpha * gamma.
  const auto slow1 = run(deck({"algorithm.name=slowmo", "algorithm.tau=1",
                               "algorithm.slow_momentum=0.6", "algorithm.slow_lr=0.5"}));
  const auto heavy =
      run(deck({"algorithm.name=minibatch_sgd", "optimizer.momentum=0.6", "optimizer.lr=0.025"}));
  for (std::size_t j = 0; j < heavy.final_params.size(); ++j)
    EXPECT_NEAR(slow1.final_params[j], heavy.final_params[j],
                1e-12 * std::max(1.0, std::fabs(heavy.final_params[j])));
}

TEST(compared, bytes_match_the_formula) {
  const double d = 10, m = world_size();
  const auto acc = run(deck({"algorithm.name=accelerated_minibatch_sgd", "optimizer.lr=0.02"}));
  EXPECT_EQ(acc.traffic.calls, 37);
  EXPECT_EQ(acc.traffic.payload_bytes, 37 * d * sizeof(double));
  EXPECT_DOUBLE_EQ(acc.traffic.wire_bytes, 2 * (m - 1) / m * 37 * d * sizeof(double));
  const auto slow = run(deck({"algorithm.name=slowmo", "algorithm.tau=4"}));
  EXPECT_EQ(slow.traffic.calls, 9);  // floor(37 / 4)
  EXPECT_EQ(slow.traffic.payload_bytes, 9 * d * sizeof(double));
  // Inner averages at the multiples of tau = 2 that are not multiples of 6, outer at those:
  // one d-vector every 2 steps either way.
  const auto inner =
      run(deck({"algorithm.name=slowmo", "algorithm.tau=2", "algorithm.slowmo_period=6"}));
  EXPECT_EQ(inner.traffic.calls, 18);
  EXPECT_EQ(inner.traffic.payload_bytes, 18 * d * sizeof(double));
}

TEST(compared, both_converge_on_least_squares_and_logistic_regression) {
  for (const char* algo : {"accelerated_minibatch_sgd", "slowmo"}) {
    SCOPED_TRACE(algo);
    std::vector<std::string> sets = {std::string("algorithm.name=") + algo, "run.steps=400",
                                     "data.noise=0", "optimizer.lr=0.05"};
    if (std::string(algo) == "slowmo") sets.push_back("algorithm.tau=4");
    const auto ls = run(deck(sets));
    // From F(x0) - F* ~ 2.5: AC-SA with b = 4 and growing gamma_t is the slower of the two.
    EXPECT_LT(ls.last.suboptimality, std::string(algo) == "slowmo" ? 1e-7 : 1e-2);
    const Config fashion = parse_config(
        "run: {steps: 150}\ndata: {kind: fashion_mnist, limit: 4000}\nmodel: {kind: logistic}\n"
        "optimizer: {lr: 0.05, batch: 32}\n",
        "fashion", {std::string("algorithm.name=") + algo}, world_size());
    EXPECT_GT(run(fashion).last.test_acc, 0.6);
  }
}

}  // namespace
