// Overlap-Local-SGD on real MPI ranks (registered at 1, 2 and 4) against a plain host
// reference written straight from docs/algorithms.md §2 (double precision, no Kokkos in the
// rule), the one-round staleness of the anchor checked directly, and the edge cases.
#include <olsgd/algo/registry.hpp>
#include <olsgd/data/sampler.hpp>
#include <olsgd/data/synthetic.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/model/least_squares.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <map>
#include <reference.hpp>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

using test::world_rank;
using test::world_size;

const char* kDeck = R"(
run: {seed: 5, steps: 61, log_every: 1000}
data: {samples: 256, features: 12, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
algorithm: {name: overlap_local_sgd, tau: 4, alpha: 0.6}
)";

Config deck(const std::vector<std::string>& sets) {
  return parse_config(kDeck, "overlap-test", sets, world_size());
}

using test::State;

// docs/algorithms.md §2 for all m ranks at once, on the host. Data and batches come from the
// library's generator and sampler; the update rule below is the reference.
State reference(const Config& c, int m, int rank) {
  const Index d = c.data.features;
  const auto& o = c.optimizer;
  const auto& a = c.algorithm;
  struct Rank {
    std::vector<double> x, v, send, bm;
  };
  const test::HostLeastSquares ls(c, m);
  std::vector<Rank> ranks(m);
  for (int r = 0; r < m; ++r) {
    ranks[r].x.assign(d, 0.0);  // x0 = 0
    ranks[r].v.assign(d, 0.0);
    ranks[r].send.assign(d, 0.0);
    ranks[r].bm.assign(d, 0.0);
  }
  std::vector<double> z(d, 0.0);  // the anchor: x0 until the first average arrives
  // Two levels (§2f): groups of g consecutive ranks (a node: all of them here) average their
  // models every tau steps; the anchor round is H such rounds.
  const bool two = a.group_size != "none";
  const int g = !two ? 1 : a.group_size == "node" ? m : std::stoi(a.group_size);
  const Index round = a.tau * (two ? a.group_rounds : 1);
  // With F fragments (§2e) fragment f syncs (f+1) tau/F steps into each round, on its range.
  const int F = static_cast<int>(a.fragments);
  const Index period = round / F;
  std::vector<std::vector<double>> pending(F);  // each fragment's sum posted last, in flight
  auto range = [&](int f) { return std::make_pair(d * f / F, d * (f + 1) / F); };
  for (Index k = 0; k < c.run.steps; ++k) {
    for (int r = 0; r < m; ++r)  // lines 1-2
      test::local_opt(ranks[r].x, ranks[r].v, ls.gradient(r, k, ranks[r].x), o, o.lr);
    if (two && (k + 1) % a.tau == 0)
      for (int first = 0; first < m; first += g)
        for (Index j = 0; j < d; ++j) {
          double sum = 0;
          for (int r = first; r < first + g; ++r) sum += ranks[r].x[j];
          for (int r = first; r < first + g; ++r) ranks[r].x[j] = sum / g;
        }
    if ((k + 1) % period != 0) continue;  // line 4
    const int f = static_cast<int>(((k + 1) / period - 1) % F);
    const auto [lo, hi] = range(f);
    if (!pending[f].empty())  // line 5: one-round-stale average
      for (Index j = lo; j < hi; ++j) z[j] = pending[f][j - lo];
    for (int r = 0; r < m; ++r) {
      Rank& R = ranks[r];
      for (Index j = lo; j < hi; ++j) {
        R.x[j] = (1 - a.alpha) * R.x[j] + a.alpha * z[j];  // line 6
        if (a.anchor_momentum == 0) {                      // line 7
          R.send[j] = R.x[j] / m;
        } else {
          R.bm[j] = a.anchor_momentum * R.bm[j] + (z[j] - R.x[j]) / o.lr;
          R.send[j] = (z[j] - o.lr * R.bm[j]) / m;
        }
      }
    }
    pending[f].assign(hi - lo, 0.0);  // line 8: the allreduce of the sends
    for (int r = 0; r < m; ++r)
      for (Index j = lo; j < hi; ++j) pending[f][j - lo] += ranks[r].send[j];
  }
  for (int f = 0; f < F; ++f)  // the final wait
    for (Index j = range(f).first; j < range(f).second && !pending[f].empty(); ++j)
      z[j] = pending[f][j - range(f).first];
  State out{{"params", ranks[rank].x}, {"send", ranks[rank].send}, {"anchor", z}};
  if (o.momentum > 0) out["momentum"] = ranks[rank].v;
  if (a.anchor_momentum > 0) out["anchor_momentum"] = ranks[rank].bm;
  return out;
}

State run(const Config& c) {
  comm::Communicator comm(MPI_COMM_WORLD);
  const RunOutcome out = run_training(c, comm, test::keeping_final_state());
  return State(out.final_state.begin(), out.final_state.end());
}

void expect_matches_reference(const std::vector<std::string>& sets) {
  const Config c = deck(sets);
  test::expect_state(run(c), reference(c, world_size(), world_rank()));
}

TEST(overlap, plain_variant_matches_the_host_reference) {
  expect_matches_reference({});
  expect_matches_reference({"algorithm.tau=3", "optimizer.momentum=0.9", "optimizer.nesterov=true",
                            "optimizer.weight_decay=1e-3", "run.steps=75"});
}

TEST(overlap, momentum_variant_matches_the_host_reference) {
  expect_matches_reference({"algorithm.name=overlap_local_sgd_momentum",
                            "algorithm.anchor_momentum=0.7", "algorithm.tau=2"});
  expect_matches_reference({"algorithm.name=overlap_local_sgd_momentum",
                            "algorithm.anchor_momentum=0.5", "optimizer.momentum=0.9",
                            "algorithm.alpha=0.3", "run.steps=64"});
}

TEST(overlap, fragments_match_the_host_reference) {
  // 12 parameters in 2, 4 and 3 fragments (tau 4, 4, 6): ranges of 6, 3 and 4, staggered.
  expect_matches_reference({"algorithm.fragments=2"});
  expect_matches_reference({"algorithm.fragments=4", "optimizer.momentum=0.5"});
  expect_matches_reference({"algorithm.fragments=3", "algorithm.tau=6", "run.steps=67"});
  expect_matches_reference({"algorithm.name=overlap_local_sgd_momentum", "algorithm.fragments=2",
                            "algorithm.anchor_momentum=0.5"});
}

TEST(overlap, fragments_send_the_same_bytes_in_bursts_f_times_smaller) {
  // 15 whole rounds of tau 4: 15 allreduces of 12 numbers, or 60 of 3.
  const std::vector<std::string> sets = {"run.steps=60", "comm.latency_s=0.002"};
  auto with = sets;
  with.push_back("algorithm.fragments=4");
  const Config whole = deck(sets), split = deck(with);
  comm::Communicator comm_a(MPI_COMM_WORLD), comm_b(MPI_COMM_WORLD);  // traffic counted apart
  const RunOutcome a = run_training(whole, comm_a, {}), b = run_training(split, comm_b, {});
  EXPECT_EQ(b.traffic.payload_bytes, a.traffic.payload_bytes);
  EXPECT_EQ(a.traffic.calls, 15);
  EXPECT_EQ(b.traffic.calls, 60);
  EXPECT_EQ(a.peak_step_payload_bytes, 12 * sizeof(double));
  EXPECT_EQ(b.peak_step_payload_bytes, 3 * sizeof(double));
  // Each sync's unhidden network time is its measured allreduce + the injected latency.
  for (const RunOutcome* o : {&a, &b}) {
    EXPECT_GE(o->syncs.t_network / o->syncs.count, 0.002);
    EXPECT_NEAR(o->syncs.delay / o->syncs.count, 0.002, 1e-12);
  }
}

TEST(overlap, every_second_spent_communicating_is_held_by_a_sync) {
  // The MPI_Test progress calls between syncs hold the training thread too (on one core per
  // rank, the transport's copies happen inside them), and so does a checkpoint's wait for the
  // average in flight: the next sync counts them, so at every round's end the syncs' held time
  // adds up to the rank's whole communication time.
  const test::SharedTempDir tmp{"olsgd-held"};
  std::vector<std::vector<std::string>> variants = {
      {"comm.progress_thread=false", "comm.progress_every=1"},
      {"comm.progress_thread=false", "comm.progress_every=3", "algorithm.fragments=2"},
      {"comm.progress_thread=false", "algorithm.group_size=1", "algorithm.group_rounds=2"},
      {"comm.progress_thread=false", "algorithm.anchor_compression=quantize", "quantize.bits=4"},
      {"comm.progress_thread=true"},
      {"algorithm.name=slowmo", "algorithm.slowmo_base=overlap_local_sgd",
       "algorithm.slowmo_period=8", "comm.progress_thread=false"},
  };
  if (io::checkpoints_available())
    variants.push_back({"comm.progress_thread=false", "checkpoint.every=8",
                        "checkpoint.dir=" + (tmp.path / "ck").string()});
  for (auto sets : variants) {
    std::string label;
    for (const auto& s : sets) label += s + " ";
    sets.insert(sets.end(), {"run.steps=64", "run.log_every=4", "comm.latency_s=0.0005"});
    double held = 0;
    int rows = 0;
    RunObservers obs;
    obs.on_sync = [&](const SyncRecord& r) { held += r.t_exposed; };
    obs.on_row = [&](const MetricsRow& row) {
      // Rows carry rank 0's phase times; every 4 steps ends a round (and its syncs).
      if (world_rank() != 0 || row.step == 0) return;
      ++rows;
      EXPECT_NEAR(held, row.t_comm + row.t_wait, 1e-12) << label << "at step " << row.step;
    };
    comm::Communicator comm(MPI_COMM_WORLD);
    run_training(deck(sets), comm, obs);
    if (world_rank() == 0) {
      EXPECT_EQ(rows, 16) << label;
    }
  }
}

TEST(overlap, each_fragment_is_charged_the_bandwidth_of_the_largest) {
  // 12 parameters in 5 fragments: 2, 2, 3, 2, 3 numbers. Every fragment's injected delay is the
  // largest one's, 3 doubles at 100 kB/s (the first, 2 doubles, would undercharge by a third).
  const Config c = deck(
      {"run.steps=60", "algorithm.tau=5", "algorithm.fragments=5", "comm.bandwidth_Bps=100000"});
  comm::Communicator comm(MPI_COMM_WORLD);
  const RunOutcome o = run_training(c, comm, {});
  ASSERT_GT(o.syncs.count, 0);
  EXPECT_NEAR(o.syncs.delay / o.syncs.count, 3 * sizeof(double) / 1e5, 1e-12);
}

TEST(overlap, two_levels_match_the_host_reference) {
  // Groups of 1, of every rank (node) and of 2; H = 1, 2, 3; 61 steps end inside a round.
  const int m = world_size();
  for (const char* size : {"1", "node"})
    for (const char* rounds : {"1", "2", "3"})
      expect_matches_reference({std::string("algorithm.group_size=") + size,
                                std::string("algorithm.group_rounds=") + rounds});
  if (m % 2 == 0) {
    expect_matches_reference({"algorithm.group_size=2", "algorithm.group_rounds=2"});
    expect_matches_reference({"algorithm.group_size=2", "algorithm.group_rounds=3",
                              "optimizer.momentum=0.9", "algorithm.tau=3"});
    expect_matches_reference({"algorithm.name=overlap_local_sgd_momentum",
                              "algorithm.anchor_momentum=0.5", "algorithm.group_size=2",
                              "algorithm.group_rounds=2"});
  }
}

TEST(overlap, groups_of_one_at_h_1_are_flat_overlap_bit_for_bit) {
  // The cross level then holds every rank and the whole model: the same sum as flat Overlap.
  EXPECT_EQ(run(deck({"algorithm.group_size=1"})), run(deck({})));
}

TEST(overlap, two_levels_send_one_range_per_rank_across_groups) {
  // d = 12 doubles, tau 4, H 2, 48 steps: 12 group averages, 6 of them also anchor rounds.
  const int m = world_size(), k = m % 2 == 0 ? 2 : 1, groups = m / k;
  const Config c = deck({"run.steps=48", "algorithm.group_size=" + std::to_string(k),
                         "algorithm.group_rounds=2", "comm.latency_s=0.002"});
  comm::Communicator comm(MPI_COMM_WORLD);
  const RunOutcome out = run_training(c, comm, {});
  const double model = 12 * sizeof(double), range = model / k;
  // Inside a group: an allreduce of the model per inner round, a reduce-scatter and an
  // allgather of the ranges per anchor round (none for groups of one); across: one range.
  const double inside = k > 1 ? 12 * model + 6 * (model + range) : 0;
  const double inside_wire =
      k > 1 ? 12 * 2.0 * (k - 1) / k * model + 6 * ((k - 1.0) / k * model + (k - 1) * range) : 0;
  EXPECT_EQ(out.traffic.calls, (k > 1 ? 12 + 6 * 2 : 0) + 6);
  EXPECT_DOUBLE_EQ(out.traffic.payload_bytes, inside + 6 * range);
  EXPECT_DOUBLE_EQ(out.traffic.wire_bytes, inside_wire + 6 * 2.0 * (groups - 1) / groups * range);
  // The injected latency is the slow link's only: the 6 anchor rounds carry it, the 6 group
  // averages between them none.
  EXPECT_EQ(out.syncs.count, 12);
  EXPECT_NEAR(out.syncs.delay, 6 * 0.002, 1e-12);
  EXPECT_EQ(out.algorithm, "overlap_local_sgd_two_level");
}

TEST(overlap, edge_cases_match_the_host_reference) {
  expect_matches_reference({"algorithm.alpha=0"});
  expect_matches_reference({"algorithm.alpha=1"});
  expect_matches_reference({"algorithm.tau=1"});
  expect_matches_reference({"algorithm.tau=1", "algorithm.name=overlap_local_sgd_momentum",
                            "algorithm.anchor_momentum=0.6"});
}

TEST(overlap, alpha_0_never_pulls_the_model) {
  // With alpha = 0 the model must follow local SGD that never syncs, bit for bit.
  const State overlap = run(deck({"algorithm.alpha=0"}));
  Config never_syncs = deck({});
  never_syncs.algorithm.name = "local_sgd";
  never_syncs.algorithm.tau = 1000;
  const State alone = run(never_syncs);
  EXPECT_EQ(overlap.at("params"), alone.at("params"));
}

TEST(overlap, alpha_1_replaces_every_model_by_the_stale_average) {
  // Right after each sync every rank holds x_i = z, the same on all ranks.
  const Config c = deck({"algorithm.alpha=1", "run.steps=64"});  // ends on a sync
  const State s = run(c);
  std::vector<double> mine = s.at("params"), first = mine;
  MPI_Bcast(first.data(), static_cast<int>(first.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  EXPECT_EQ(mine, first);
}

TEST(overlap, identical_data_and_seeds_keep_the_models_identical) {
  for (const char* algo : {"overlap_local_sgd", "overlap_local_sgd_momentum"}) {
    SCOPED_TRACE(algo);
    std::vector<std::string> sets = {"data.replicate=true", std::string("algorithm.name=") + algo,
                                     "optimizer.momentum=0.9"};
    if (std::strcmp(algo, "overlap_local_sgd_momentum") == 0)
      sets.push_back("algorithm.anchor_momentum=0.7");
    const State s = run(deck(sets));
    for (const auto& [name, mine] : s) {
      std::vector<double> first = mine;
      MPI_Bcast(first.data(), static_cast<int>(first.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
      EXPECT_EQ(mine, first) << name;  // bitwise, every segment
    }
  }
}

// Drives the algorithm directly to see the buffers of every sync.
TEST(overlap, the_anchor_of_sync_j_is_exactly_the_average_posted_at_sync_j_minus_1) {
  const Config c = deck({"run.steps=40", "algorithm.tau=3"});
  comm::Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size();
  const auto data = make_synthetic_least_squares<double>(c.data, c.run.seed, comm.rank(), m);
  LeastSquares<double> model(data, c.optimizer.batch);
  Timers timers;
  TrainingContext<double> ctx{ExecSpace(), model, comm, timers, c};
  auto algo = make_algorithm(ctx);
  std::vector<std::vector<double>> used, posted;
  algo->set_sync_observer(
      [&](const SyncRecord& r, const SyncBuffers<double>& b) {
        EXPECT_EQ(r.sync, static_cast<std::int64_t>(used.size()) + 1);
        used.push_back(test::to_host(b.anchor_used));
        posted.push_back(test::to_host(b.posted));
      },
      /*with_buffers=*/true);
  const MinibatchSampler sampler(c.run.seed, comm.rank(), data.rows(), c.optimizer.batch);
  for (Index k = 0; k < c.run.steps; ++k) algo->step(k, sampler.sample(ExecSpace(), k), false);
  algo->finish();
  ASSERT_EQ(used.size(), 13u);  // floor(40 / 3)

  EXPECT_EQ(used[0], std::vector<double>(c.data.features, 0.0));  // sync 1 pulls toward x0
  for (std::size_t j = 1; j < used.size(); ++j) {
    std::vector<double> average = posted[j - 1];  // sum over ranks of what sync j-1 posted
    comm.sum_uncounted(average);
    std::vector<double> now = posted[j];
    comm.sum_uncounted(now);
    double stale = 0, fresh = 0;
    for (std::size_t i = 0; i < average.size(); ++i) {
      EXPECT_NEAR(used[j][i], average[i], 1e-15 * std::max(1.0, std::fabs(average[i])));
      stale = std::max(stale, std::fabs(used[j][i] - average[i]));
      fresh = std::max(fresh, std::fabs(used[j][i] - now[i]));
    }
    EXPECT_GT(fresh, 1e6 * std::max(stale, 1e-300)) << "sync " << j + 1 << " used a fresh average";
  }
  // After the final wait, the anchor holds the average posted at the last sync.
  std::vector<double> last = posted.back();
  comm.sum_uncounted(last);
  const auto anchor = test::to_host(algo->state().segment("anchor"));
  for (std::size_t i = 0; i < last.size(); ++i) EXPECT_NEAR(anchor[i], last[i], 1e-15);
}

}  // namespace
