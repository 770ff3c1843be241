// Local SGD on real MPI ranks (registered at 1, 2 and 4) against a host reference written
// straight from docs/algorithms.md §1c (double precision, no Kokkos in the rule): one level,
// and two levels (groups averaging every tau steps, everyone every H tau).
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <reference.hpp>
#include <string>
#include <test_helpers.hpp>
#include <vector>

namespace {

using namespace olsgd;

using test::world_rank;
using test::world_size;

const char* kDeck = R"(
run: {seed: 9, steps: 61, log_every: 1000}
data: {samples: 256, features: 10, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
algorithm: {name: local_sgd, tau: 3}
)";

Config deck(const std::vector<std::string>& sets) {
  return parse_config(kDeck, "local-sgd-test", sets, world_size());
}

// §1c for all m ranks at once: local steps, and at the end of every tau steps the average over
// the rank's group (groups of g consecutive ranks) or, every H tau steps, over all ranks.
test::State reference(const Config& c, int m, int rank) {
  const Index d = c.data.features;
  const auto& o = c.optimizer;
  const auto& a = c.algorithm;
  const bool two = a.group_size != "none";
  const int g = !two ? m : a.group_size == "node" ? m : std::stoi(a.group_size);
  const Index every = a.tau * (two ? a.group_rounds : 1);
  const test::HostLeastSquares ls(c, m);
  std::vector<std::vector<double>> x(m, std::vector<double>(d, 0.0)), v = x;
  auto average = [&](int first, int n) {
    for (Index j = 0; j < d; ++j) {
      double sum = 0;
      for (int r = first; r < first + n; ++r) sum += x[r][j];
      for (int r = first; r < first + n; ++r) x[r][j] = sum / n;
    }
  };
  for (Index k = 0; k < c.run.steps; ++k) {
    for (int r = 0; r < m; ++r) test::local_opt(x[r], v[r], ls.gradient(r, k, x[r]), o, o.lr);
    if ((k + 1) % every == 0)
      average(0, m);
    else if (two && (k + 1) % a.tau == 0)
      for (int first = 0; first < m; first += g) average(first, g);
  }
  test::State out{{"params", x[rank]}};
  if (o.momentum > 0) out["momentum"] = v[rank];
  return out;
}

test::State run(const Config& c, std::string* name = nullptr) {
  comm::Communicator comm(MPI_COMM_WORLD);
  const RunOutcome out = run_training(c, comm, test::keeping_final_state());
  if (name) *name = out.algorithm;
  return test::State(out.final_state.begin(), out.final_state.end());
}

void expect_matches_reference(const std::vector<std::string>& sets) {
  const Config c = deck(sets);
  test::expect_state(run(c), reference(c, world_size(), world_rank()));
}

TEST(local_sgd, one_level_matches_the_host_reference) {
  expect_matches_reference({});
  expect_matches_reference({"optimizer.momentum=0.9", "algorithm.tau=4"});
}

TEST(local_sgd, two_levels_match_the_host_reference) {
  for (const char* size : {"1", "node"})
    for (const char* rounds : {"1", "3"})
      expect_matches_reference({std::string("algorithm.group_size=") + size,
                                std::string("algorithm.group_rounds=") + rounds});
  if (world_size() % 2 == 0) {
    expect_matches_reference({"algorithm.group_size=2", "algorithm.group_rounds=2"});
    expect_matches_reference(
        {"algorithm.group_size=2", "algorithm.group_rounds=4", "optimizer.momentum=0.9"});
  }
}

TEST(local_sgd, groups_of_one_are_local_sgd_with_tau_h_tau) {
  std::string name;
  const test::State two = run(deck({"algorithm.group_size=1", "algorithm.group_rounds=2"}), &name);
  EXPECT_EQ(name, "local_sgd_two_level");
  EXPECT_EQ(two, run(deck({"algorithm.tau=6"})));
}

TEST(local_sgd, two_levels_count_each_level_with_its_network) {
  // 60 steps, tau 3, H 2: 10 averages over everyone (the comm.* network) and, in groups of 2,
  // 10 in the group between them (the comm.group_* network); 10 doubles each. Each level's
  // delay, latency and bandwidth differ, so a term lost or taken from the other level shows.
  const int m = world_size(), k = m % 2 == 0 ? 2 : 1;
  const Config c = deck({"run.steps=60", "algorithm.group_size=" + std::to_string(k),
                         "algorithm.group_rounds=2", "comm.delay_s=0.001", "comm.latency_s=0.002",
                         "comm.bandwidth_Bps=20000", "comm.group_delay_s=0.0003",
                         "comm.group_latency_s=0.001", "comm.group_bandwidth_Bps=160000"});
  comm::Communicator comm(MPI_COMM_WORLD);
  const RunOutcome out = run_training(c, comm, {});
  const int group_averages = k > 1 ? 10 : 0;
  EXPECT_EQ(out.traffic.calls, 10 + group_averages);
  EXPECT_DOUBLE_EQ(out.traffic.payload_bytes, (10 + group_averages) * 10.0 * sizeof(double));
  EXPECT_EQ(out.syncs.count, 10 + group_averages);
  const double bytes = 10.0 * sizeof(double);
  EXPECT_NEAR(
      out.syncs.delay,
      10 * (0.001 + 0.002 + bytes / 20000) + group_averages * (0.0003 + 0.001 + bytes / 160000),
      1e-12);
}

}  // namespace
