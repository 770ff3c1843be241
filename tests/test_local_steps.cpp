// Time-budgeted rounds of Overlap-Local-SGD on real MPI ranks (registered at 1, 2 and 4): a
// slowed rank takes fewer local steps, the anchor is the step-weighted average of what the
// ranks posted, and a run replayed from its syncs.csv repeats it bit for bit.
#include <olsgd/algo/local_steps.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/data/sampler.hpp>
#include <olsgd/data/synthetic.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/io/metrics_csv.hpp>
#include <olsgd/model/least_squares.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <test_helpers.hpp>

namespace fs = std::filesystem;

namespace {

using namespace olsgd;
using test::world_rank;
using test::world_size;

const char* kDeck = R"(
run: {seed: 7, steps: 48, log_every: 8, progress: false}
data: {samples: 256, features: 12, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
algorithm: {name: overlap_local_sgd, tau: 4, alpha: 0.6, local_steps: timed}
)";

Config deck(const std::vector<std::string>& sets) {
  return parse_config(kDeck, "local-steps-test", sets, world_size());
}

TEST(local_steps, weights_follow_the_named_rule) {
  EXPECT_EQ(round_weight("steps", 6), 6.0);
  EXPECT_EQ(round_weight("equal", 6), 1.0);
  EXPECT_EQ(round_weight("inverse", 4), 0.25);
}

// Drives the algorithm directly to see each sync's buffers and counts, its rounds' models
// weighed by `rule` (algorithm.step_weighting).
void check_a_slow_rank_and_the_weighted_anchor(const std::string& rule) {
  const int last = world_size() - 1;
  // The last rank's step takes 20000 fast steps (a fast step is over a microsecond): past the
  // 10 ms budget after one. The others fit all four in it unless descheduled for most of it.
  const Config c = deck({"run.steps=24", "algorithm.round_budget_s=0.01",
                         "straggler.rank=" + std::to_string(last), "straggler.factor=20000",
                         "algorithm.step_weighting=" + rule});
  comm::Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size();
  const auto data = make_synthetic_least_squares<double>(c.data, c.run.seed, comm.rank(), m);
  LeastSquares<double> model(data, c.optimizer.batch);
  Timers timers;
  TrainingContext<double> ctx{ExecSpace(), model, comm, timers, c};
  auto algo = make_algorithm(ctx);
  std::vector<std::vector<double>> used, posted;
  std::vector<std::vector<int>> counts;
  algo->set_sync_observer(
      [&](const SyncRecord& r, const SyncBuffers<double>& b) {
        EXPECT_EQ(r.sync, static_cast<std::int64_t>(used.size()) + 1);
        used.push_back(test::to_host(b.anchor_used));
        posted.push_back(test::to_host(b.posted));
        counts.push_back(r.local_steps);
      },
      /*with_buffers=*/true);
  const MinibatchSampler sampler(c.run.seed, comm.rank(), data.rows(), c.optimizer.batch);
  for (Index k = 0; k < c.run.steps; ++k) algo->step(k, sampler.sample(ExecSpace(), k), false);
  algo->finish();
  ASSERT_EQ(used.size(), 6u);  // every record released, the last one by finish()

  std::vector<int> total(static_cast<std::size_t>(m), 0);
  for (const auto& n : counts) {
    ASSERT_EQ(n.size(), static_cast<std::size_t>(m));
    for (int r = 0; r < m; ++r) {
      EXPECT_GE(n[r], 1);
      EXPECT_LE(n[r], 4);
      total[r] += n[r];
    }
  }
  if (m > 1) {
    EXPECT_EQ(total[last], 6) << "the slowed rank took one step a round";
    EXPECT_GT(total[0], total[last]);
  }
  // Sync j pulls toward sum_i w(n_i) x_i / sum_i w(n_i) of the parts posted at sync j - 1,
  // each part being w(n_i) times that rank's pulled model.
  EXPECT_EQ(used[0], std::vector<double>(c.data.features, 0.0));  // x0 until the first average
  for (std::size_t j = 1; j < used.size(); ++j) {
    std::vector<double> sum = posted[j - 1];
    comm.sum_uncounted(sum);
    double weights = 0;
    for (int n : counts[j - 1]) weights += round_weight(rule, n);
    for (std::size_t i = 0; i < sum.size(); ++i)
      EXPECT_NEAR(used[j][i], sum[i] / weights, 1e-14 * std::max(1.0, std::fabs(sum[i])))
          << "sync " << j + 1 << " element " << i;
  }
}

TEST(local_steps, a_slow_rank_takes_fewer_steps_and_the_anchor_is_the_weighted_average) {
  for (const char* rule : {"steps", "equal", "inverse"}) {
    SCOPED_TRACE(rule);
    check_a_slow_rank_and_the_weighted_anchor(rule);
  }
}

struct Recorded {
  RunOutcome out;
  std::vector<std::vector<int>> counts;
};

// Trains `c`; rank 0 writes syncs.csv to `syncs` when given, as the driver does.
Recorded record(const Config& c, const fs::path& syncs = {}) {
  comm::Communicator comm(MPI_COMM_WORLD);
  std::unique_ptr<io::SyncsCsv> csv;
  if (!syncs.empty() && comm.rank() == 0) csv = std::make_unique<io::SyncsCsv>(syncs.string());
  Recorded r;
  RunObservers obs;
  obs.on_sync = [&](const SyncRecord& s) {
    r.counts.push_back(s.local_steps);
    if (csv) csv->write(s);
  };
  r.out = run_training(c, comm, test::keeping_final_state(obs));
  if (csv) csv->close();
  MPI_Barrier(MPI_COMM_WORLD);  // the file is complete before any rank reads it
  return r;
}

TEST(local_steps, a_replay_of_the_recorded_counts_repeats_the_run_bit_for_bit) {
  test::SharedTempDir dir("olsgd-steps");
  ASSERT_FALSE(dir.path.empty());
  const fs::path syncs = dir.path / "syncs.csv";
  // Random slow steps make the counts vary round to round; the budget is measured.
  const Recorded timed =
      record(deck({"straggler.random_prob=0.3", "straggler.random_factor=20"}), syncs);
  ASSERT_EQ(timed.counts.size(), 12u);
  int fewest = 4;  // the slow steps cut some rounds short: the replay has decisions to follow
  for (const auto& n : timed.counts)
    fewest = std::min(fewest, *std::min_element(n.begin(), n.end()));
  EXPECT_LT(fewest, 4);
  // The replay runs at full speed, with the counts from the file instead of the clock.
  const Recorded replay = record(deck({"algorithm.replay_steps=" + syncs.string()}));
  EXPECT_EQ(replay.counts, timed.counts);
  ASSERT_EQ(replay.out.final_state.size(), timed.out.final_state.size());
  for (std::size_t s = 0; s < timed.out.final_state.size(); ++s)
    EXPECT_EQ(replay.out.final_state[s], timed.out.final_state[s])
        << timed.out.final_state[s].first;
  // (NaN on one rank: its last slot may be idle, with no minibatch loss.)
  const double a = replay.out.last.loss, b = timed.out.last.loss;
  EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << a << " vs " << b;
}

TEST(local_steps, checkpoints_wait_for_a_round_end_and_a_replay_restarts_bit_for_bit) {
  if (!io::checkpoints_available()) GTEST_SKIP() << "built without HDF5";
  test::SharedTempDir dir("olsgd-steps");
  ASSERT_FALSE(dir.path.empty());
  const fs::path syncs = dir.path / "syncs.csv";
  const std::string ckpt = "checkpoint.dir=" + (dir.path / "ckpt").string();
  // Due every 6 steps, inside a round of 4 at 6, 18, 30 and 42: written at the round ends.
  const Recorded timed = record(deck({"straggler.random_prob=0.3", "straggler.random_factor=20",
                                      "checkpoint.every=6", "checkpoint.keep_last=100", ckpt}),
                                syncs);
  std::vector<Index> written;
  for (const auto& f : fs::directory_iterator(dir.path / "ckpt"))
    written.push_back(std::stoll(f.path().stem().string().substr(5)));  // ckpt-<step>.h5
  std::sort(written.begin(), written.end());
  EXPECT_EQ(written, (std::vector<Index>{8, 12, 20, 24, 32, 36, 44, 48}));
  MPI_Barrier(MPI_COMM_WORLD);
  // The replay stopped at step 20 and continued from its checkpoint ends as the timed run did.
  const std::string replay = "algorithm.replay_steps=" + syncs.string();
  const std::string ckpt2 = "checkpoint.dir=" + (dir.path / "ckpt2").string();
  record(deck({replay, ckpt2, "run.steps=20", "checkpoint.every=20"}));
  const Recorded resumed = record(deck({replay, ckpt2, "checkpoint.restart=latest"}));
  EXPECT_EQ(resumed.out.first_step, 20);
  for (std::size_t s = 0; s < timed.out.final_state.size(); ++s)
    EXPECT_EQ(resumed.out.final_state[s], timed.out.final_state[s])
        << timed.out.final_state[s].first;
}

TEST(local_steps, fixed_rounds_record_no_counts_and_take_every_step) {
  const Recorded fixed = record(deck({"algorithm.local_steps=fixed"}));
  ASSERT_EQ(fixed.counts.size(), 12u);
  for (const auto& n : fixed.counts) EXPECT_TRUE(n.empty());
  EXPECT_TRUE(std::isnan(fixed.out.round_budget_s));
}

}  // namespace
