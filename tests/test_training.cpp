// Whole training runs on real MPI ranks (registered at 1, 2 and 4): minibatch SGD and
// local SGD converge to the known least-squares optimum, local SGD with tau = 1 follows
// minibatch SGD, bytes match the formula, and runs are bitwise reproducible.
#include <olsgd/algo/straggler.hpp>
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/model/network_spec.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

using test::world_size;

// A well-conditioned noise-free problem: SGD converges linearly to x* (interpolation).
const char* kDeck = R"(
run: {seed: 3, steps: 400, log_every: 20}
data: {samples: 1024, features: 16, noise: 0.0, min_eig: 0.25, max_eig: 1.0}
optimizer: {lr: 0.15, batch: 8}
)";

struct TrainedRun {
  RunOutcome out;
  std::vector<MetricsRow> rows;
};

// host_staging: every collective goes through the host staging buffers, the path device
// memory takes on a GPU build.
TrainedRun train(std::vector<std::string> sets, bool host_staging = false) {
  const Config cfg = parse_config(kDeck, "test-deck", sets, world_size());
  comm::Communicator comm(MPI_COMM_WORLD);
  comm.force_host_staging(host_staging);
  TrainedRun run;
  RunObservers obs;
  obs.on_row = [&](const MetricsRow& r) { run.rows.push_back(r); };
  run.out = run_training(cfg, comm, test::keeping_final_state(obs));
  return run;
}

double initial_gap(const TrainedRun& r) {
  // F(x0) - F* with x0 = 0 is 1/2 x*^T H x*; the first logged row is already far below it,
  // so bound convergence against the first row instead.
  return r.rows.front().suboptimality;
}

TEST(training, minibatch_and_local_sgd_converge_to_the_optimum) {
  for (const char* algo : {"minibatch_sgd", "local_sgd"}) {
    SCOPED_TRACE(algo);
    std::vector<std::string> sets = {std::string("algorithm.name=") + algo};
    if (std::strcmp(algo, "local_sgd") == 0) sets.push_back("algorithm.tau=4");
    const TrainedRun r = train(sets);
    ASSERT_TRUE(r.out.optimum_known);
    EXPECT_LT(r.out.fstar, 1e-14);  // noise-free labels: x* interpolates (F* = 0 up to rounding)
    ASSERT_EQ(r.rows.size(), 20u);
    // Stated tolerance: 400 steps take F(xbar) - F* below 1e-12 and ||xbar - x*||^2
    // below 1e-11 (linear convergence, rate about 1 - lr * min_eig per step).
    EXPECT_LT(r.out.last.suboptimality, 1e-12) << "first row " << initial_gap(r);
    EXPECT_LT(r.out.last.dist_opt, 1e-11);
    EXPECT_LT(r.out.last.suboptimality, 1e-8 * initial_gap(r));
  }
}

TEST(training, noisy_labels_reach_the_sgd_noise_floor) {
  const TrainedRun r = train({"data.noise=0.1", "run.steps=600"});
  ASSERT_TRUE(r.out.optimum_known);
  EXPECT_GT(r.out.fstar, 0.0);
  // Constant-step SGD stalls at a floor of order lr * noise^2 * tr(H) / (batch * m);
  // here about 1e-4 at most. Well below the start, well above zero.
  EXPECT_LT(r.out.last.suboptimality, 1e-3);
  EXPECT_LT(r.out.last.suboptimality, 1e-2 * initial_gap(r));
}

TEST(training, local_sgd_with_tau_1_follows_minibatch_sgd) {
  const TrainedRun mb = train({"algorithm.name=minibatch_sgd", "data.noise=0.2"});
  const TrainedRun local = train({"algorithm.name=local_sgd", "algorithm.tau=1", "data.noise=0.2"});
  ASSERT_EQ(mb.out.final_params.size(), local.out.final_params.size());
  for (std::size_t j = 0; j < mb.out.final_params.size(); ++j)
    EXPECT_NEAR(local.out.final_params[j], mb.out.final_params[j],
                1e-12 * std::max(1.0, std::fabs(mb.out.final_params[j])))
        << j;
  for (std::size_t i = 0; i < mb.rows.size(); ++i)
    EXPECT_NEAR(local.rows[i].full_loss, mb.rows[i].full_loss, 1e-12 * mb.rows[i].full_loss);
}

TEST(training, bytes_match_the_formula) {
  const int m = world_size();
  const double d = 16, steps = 400;
  const TrainedRun mb = train({"algorithm.name=minibatch_sgd"});
  EXPECT_EQ(mb.out.traffic.calls, 400);
  EXPECT_EQ(mb.out.traffic.payload_bytes, steps * d * sizeof(double));
  EXPECT_DOUBLE_EQ(mb.out.traffic.wire_bytes, 2.0 * (m - 1) / m * steps * d * sizeof(double));
  const TrainedRun local =
      train({"algorithm.name=local_sgd", "algorithm.tau=8", "run.precision=float32"});
  EXPECT_EQ(local.out.traffic.calls, 50);  // floor(400 / 8)
  EXPECT_EQ(local.out.traffic.payload_bytes, 50 * d * sizeof(float));
}

TEST(training, consensus_is_zero_for_minibatch_and_positive_between_local_syncs) {
  const TrainedRun mb = train({"algorithm.name=minibatch_sgd", "data.noise=0.2"});
  for (const auto& row : mb.rows) EXPECT_LT(row.consensus, 1e-28);
  // tau = 7 never lines up with log_every = 20 except at 140, 280: rows between syncs.
  const TrainedRun local = train({"algorithm.name=local_sgd", "algorithm.tau=7", "data.noise=0.2"});
  const bool multi = world_size() > 1;
  for (const auto& row : local.rows) {
    if (row.step % 7 == 0 || !multi)
      EXPECT_LT(row.consensus, 1e-28) << row.step;
    else
      EXPECT_GT(row.consensus, 0.0) << row.step;
  }
}

TEST(training, float32_and_momentum_runs_converge) {
  const TrainedRun f = train({"run.precision=float32"});
  EXPECT_LT(f.out.last.suboptimality, 1e-9);  // float32 rounding floor
  const TrainedRun hb = train({"optimizer.momentum=0.5", "optimizer.lr=0.075"});
  EXPECT_LT(hb.out.last.suboptimality, 1e-12);
  const TrainedRun nag =
      train({"optimizer.momentum=0.5", "optimizer.nesterov=true", "optimizer.lr=0.075"});
  EXPECT_LT(nag.out.last.suboptimality, 1e-12);
}

// The learning models on Fashion-MNIST (Debian's dataset-fashion-mnist), a 4000-image subset.
TEST(training, logistic_and_mlp_learn_fashion_mnist) {
  const char* deck = R"(
run: {seed: 3, steps: 150, log_every: 50}
data: {kind: fashion_mnist, limit: 4000}
optimizer: {lr: 0.05, batch: 32, momentum: 0.9}
algorithm: {name: overlap_local_sgd, tau: 4}
)";
  for (const char* model : {"logistic", "mlp"})
    for (const char* partition : {"iid", "dirichlet"}) {
      SCOPED_TRACE(std::string(model) + ", " + partition);
      const Config c = parse_config(
          deck, "fashion",
          {std::string("model.kind=") + model, std::string("data.partition=") + partition},
          world_size());
      EXPECT_EQ(c.run.precision, Precision::Float32);  // the learning models' default
      comm::Communicator comm(MPI_COMM_WORLD);
      const RunOutcome out = run_training(c, comm, test::keeping_final_state());
      // 150 steps of 32 images per rank: far above chance (10%) on the 10000 test images.
      EXPECT_GT(out.last.test_acc, 0.6);
      EXPECT_LT(out.last.test_loss, 1.2);
    }
}

// Batch norm's running statistics are part of the model: a model-averaging sync averages them
// like the weights (every rank holds the same bits afterwards), and no optimizer step moves
// them (weight decay would shrink them toward zero).
TEST(training, batch_norm_statistics_are_averaged_with_the_model_at_every_sync) {
  const char* deck = R"(
run: {seed: 3, steps: 20, log_every: 10, eval_every: 0}
data: {kind: fashion_mnist, limit: 512}
model: {kind: cnn, layers: "bn, conv 3 k=3 p=1, bn, relu, maxpool 4, block 4 s=2"}
optimizer: {lr: 0.05, batch: 8, momentum: 0.9}
algorithm: {name: local_sgd, tau: 5}
)";
  auto run = [&](const std::string& weight_decay) {
    const Config c =
        parse_config(deck, "bn", {"optimizer.weight_decay=" + weight_decay}, world_size());
    comm::Communicator comm(MPI_COMM_WORLD);
    return run_training(c, comm, test::keeping_final_state());
  };
  const RunOutcome out = run("0.5"), no_decay = run("0");
  const auto plan = plan_network(
      parse_network_spec("bn, conv 3 k=3 p=1, bn, relu, maxpool 4, block 4 s=2"), {1, 28, 28}, 10);
  const std::vector<double>& x = out.final_state.at(0).second;
  ASSERT_EQ(out.final_state.at(0).first, "params");
  ASSERT_EQ(static_cast<Index>(x.size()), plan.total());
  // Running statistics: the input's (1 channel), the conv's (3), the block's three (4 each).
  ASSERT_EQ(plan.buffers, 2 + 2 * 3 + 3 * 2 * 4);
  const std::vector<double> tail(x.begin() + plan.params, x.end());
  // They moved (means start at 0, variances at 1) and stayed positive where they are variances.
  EXPECT_NE(tail[0], 0.0);
  EXPECT_GT(tail[1], 0.0);
  EXPECT_NE(tail[1], 1.0);
  // The input's statistics depend on the batches alone: a strong weight decay must leave them
  // as they are without it (applied to them, it would shrink them by 1 - lr wd per step).
  const std::vector<double>& y = no_decay.final_state.at(0).second;
  EXPECT_EQ(tail[0], y[plan.params]);
  EXPECT_EQ(tail[1], y[plan.params + 1]);
  // Step 20 ends with a sync: every rank holds the same model, statistics included.
  std::vector<double> first = x;
  MPI_Bcast(first.data(), static_cast<int>(first.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x[i], first[i]) << "element " << i;
}

// The outer rules with a momentum (SlowMo's slow momentum, Overlap's anchor momentum) act on
// the trained parameters only: the running statistics get the plain average (or pull) of the
// method without the momentum. Extrapolated like the weights, a running variance overshoots the
// average and goes negative. The input's batch norm sees the data alone, so its statistics
// must come out as they do without the momentum.
TEST(training, outer_momentum_leaves_the_running_statistics_to_the_plain_average) {
  const char* deck = R"(
run: {seed: 3, steps: 24, log_every: 12, eval_every: 0}
data: {kind: fashion_mnist, limit: 512}
model: {kind: cnn, layers: "bn, conv 3 k=3 p=1, bn, relu, maxpool 4, block 4 s=2"}
optimizer: {lr: 0.05, batch: 8}
algorithm: {tau: 4, alpha: 0.5}
)";
  auto tail = [&](std::vector<std::string> sets) {
    const Config c = parse_config(deck, "bn", sets, world_size());
    comm::Communicator comm(MPI_COMM_WORLD);
    const RunOutcome out = run_training(c, comm, test::keeping_final_state());
    const auto plan = plan_network(parse_network_spec(c.model.layers), {1, 28, 28}, 10);
    const std::vector<double>& x = out.final_state.at(0).second;
    return std::vector<double>(x.begin() + plan.params, x.end());
  };
  // Running variances: the input's (1 channel), the conv's (3), the block's three (4 each),
  // each layer's after its means.
  std::vector<std::size_t> variances{1, 5, 6, 7};
  for (std::size_t layer = 0; layer < 3; ++layer)
    for (std::size_t c = 0; c < 4; ++c) variances.push_back(8 + 8 * layer + 4 + c);
  const struct {
    std::vector<std::string> with, without;
  } cases[] = {
      {{"algorithm.name=slowmo", "algorithm.slow_momentum=0.9", "algorithm.slow_lr=1"},
       {"algorithm.name=local_sgd"}},
      {{"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.9"},
       {"algorithm.name=overlap_local_sgd"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.with.front());
    const std::vector<double> a = tail(c.with), b = tail(c.without);
    EXPECT_FLOAT_EQ(a[0], b[0]);  // the input's running mean and variance
    EXPECT_FLOAT_EQ(a[1], b[1]);
    for (std::size_t v : variances) EXPECT_GT(a[v], 0.0) << "running variance " << v;
  }
}

// Sketched SGD with weight decay on a network with batch norm: the running statistics get no
// momentum and no error feedback (decay fed into them, they took top-k slots every step only
// for keep_buffers to discard the update), so those parts of u and v stay exactly zero.
TEST(training, sketched_sgd_keeps_the_running_statistics_out_of_its_buffers) {
  const auto [out, plan] = test::run_batch_norm_cnn(R"(
run: {seed: 3, steps: 12, log_every: 12, eval_every: 0}
optimizer: {lr: 0.05, batch: 8, momentum: 0.9, weight_decay: 0.01}
algorithm: {name: sketched_sgd}
sketch: {rows: 3, cols: 64, k: 16}
)",
                                                    "sketch-bn");
  int checked = 0;
  for (const auto& [name, values] : out.final_state) {
    if (name != "momentum" && name != "error") continue;
    ASSERT_EQ(static_cast<Index>(values.size()), plan.total()) << name;
    for (Index i = plan.params; i < plan.total(); ++i)
      EXPECT_EQ(values[static_cast<std::size_t>(i)], 0.0) << name << " element " << i;
    // The trained part did move.
    EXPECT_TRUE(std::any_of(values.begin(), values.begin() + plan.params, [](double v) {
      return v != 0.0;
    })) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 2);
}

// docs/algorithms.md C6.1 on the heterogeneous quadratic, noise-free: local SGD (K local steps)
// converges to its fixed point x_LS = sum_i e_i c_i / sum_i e_i, e_i = 1 - (1 - eta a_i)^K,
// not to x*; minibatch SGD converges to x*.
TEST(training, heterogeneous_quadratic_local_sgd_fixed_point_and_minibatch_optimum) {
  const char* deck = R"(
run: {seed: 8, steps: 1600, log_every: 1600}
data: {kind: synthetic_quadratic, features: 8, min_eig: 0.1, max_eig: 1.0, zeta: 2.0, noise: 0}
model: {kind: quadratic}
optimizer: {lr: 0.5}
)";
  const int m = world_size();
  const Index K = 8;
  comm::Communicator comm(MPI_COMM_WORLD);
  const Config local =
      parse_config(deck, "qhet", {"algorithm.name=local_sgd", "algorithm.tau=8"}, m);
  const RunOutcome lo = run_training(local, comm, test::keeping_final_state());
  const QuadraticProblem q = make_quadratic_problem(local.data, local.run.seed, m);
  if (m > 1) {
    EXPECT_NEAR(lo.zeta_star, 2.0, 1e-12);
  }
  for (Index j = 0; j < q.d; ++j) {
    double num = 0, den = 0;
    for (int i = 0; i < m; ++i) {
      const double e = 1 - std::pow(1 - 0.5 * q.a[i][j], static_cast<double>(K));
      num += e * q.c[i][j];
      den += e;
    }
    EXPECT_NEAR(lo.final_params[j], num / den, 1e-10) << j;  // ends on a sync: x_i = xbar
  }
  if (m > 1) {  // the fixed point is biased
    EXPECT_GT(lo.last.suboptimality, 1e-3);
  }
  const Config mb = parse_config(deck, "qhet", {"algorithm.name=minibatch_sgd"}, m);
  const RunOutcome mo = run_training(mb, comm, test::keeping_final_state());
  EXPECT_LT(mo.last.suboptimality, 1e-20);
  EXPECT_LT(mo.last.dist_opt, 1e-18);
}

TEST(training, the_same_deck_twice_gives_bitwise_identical_results) {
  const std::vector<std::string> sets = {"algorithm.tau=3", "data.noise=0.3",
                                         "optimizer.momentum=0.9", "optimizer.lr=0.02"};
  const TrainedRun a = train(sets), b = train(sets);
  ASSERT_EQ(a.rows.size(), b.rows.size());
  auto same = [](double x, double y) { return std::memcmp(&x, &y, sizeof x) == 0; };
  for (std::size_t i = 0; i < a.rows.size(); ++i) {
    const MetricsRow &x = a.rows[i], &y = b.rows[i];
    EXPECT_TRUE(same(x.loss, y.loss) && same(x.full_loss, y.full_loss) &&
                same(x.dist_opt, y.dist_opt) && same(x.consensus, y.consensus) &&
                same(x.bytes_payload, y.bytes_payload))
        << "row " << i;
  }
  EXPECT_EQ(0, std::memcmp(a.out.final_params.data(), b.out.final_params.data(),
                           a.out.final_params.size() * sizeof(double)));
}

TEST(training, staging_collectives_through_host_buffers_changes_no_bit) {
  // What a GPU build does with device Views (copy to a host buffer, MPI, copy back; the
  // non-blocking ones copy back on completion), run here on host memory: blocking and
  // overlapped allreduces, blocking and overlapped allgathers.
  const std::vector<std::vector<std::string>> cases = {
      {"algorithm.name=local_sgd", "algorithm.tau=4", "optimizer.momentum=0.9"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.tau=4",
       "algorithm.anchor_momentum=0.5"},
      {"algorithm.name=overlap_local_sgd", "algorithm.tau=4",
       "algorithm.anchor_compression=quantize"},
      {"algorithm.name=qsgd"},
  };
  for (const auto& sets : cases) {
    SCOPED_TRACE(sets.front());
    const TrainedRun direct = train(sets), staged = train(sets, true);
    ASSERT_EQ(direct.out.final_params.size(), staged.out.final_params.size());
    EXPECT_EQ(0, std::memcmp(direct.out.final_params.data(), staged.out.final_params.data(),
                             direct.out.final_params.size() * sizeof(double)));
    EXPECT_EQ(direct.out.traffic.payload_bytes, staged.out.traffic.payload_bytes);
    EXPECT_LT(staged.rows.back().suboptimality, 1e-2 * initial_gap(staged));  // it trained
    // The copies are timed where they happen, and only there.
    EXPECT_GT(staged.out.waits.staging_s, 0.0);
    if (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
      EXPECT_EQ(direct.out.waits.staging_s, 0.0);
    }
  }
}

}  // namespace

namespace {

TEST(straggler, factors_are_deterministic_per_seed_rank_and_step) {
  StragglerConfig s;
  EXPECT_EQ(straggler_factor(s, 1, 0, 5), 1.0);  // default: nobody is slow
  s.rank = 1;
  s.factor = 3;
  EXPECT_EQ(straggler_factor(s, 1, 1, 5), 3.0);
  EXPECT_EQ(straggler_factor(s, 1, 0, 5), 1.0);
  s = StragglerConfig{};
  s.random_prob = 0.25;
  s.random_factor = 2;
  int slow = 0;
  for (Index k = 0; k < 20000; ++k) {
    const double f = straggler_factor(s, 9, 2, k);
    ASSERT_TRUE(f == 1.0 || f == 2.0);
    ASSERT_EQ(f, straggler_factor(s, 9, 2, k));  // same draw every time
    slow += f > 1;
  }
  EXPECT_NEAR(slow / 20000.0, 0.25, 5 * std::sqrt(0.25 * 0.75 / 20000));
  int differ = 0;
  for (Index k = 0; k < 1000; ++k)
    differ += straggler_factor(s, 9, 2, k) != straggler_factor(s, 9, 3, k);
  EXPECT_GT(differ, 100);  // ranks draw independently
}

TEST(straggler, slow_ranks_compute_the_same_numbers) {
  const std::vector<std::string> sets = {"algorithm.tau=4", "run.steps=60", "data.noise=0.2"};
  auto with = sets;
  with.insert(with.end(), {"straggler.rank=0", "straggler.factor=3", "straggler.random_prob=0.3",
                           "straggler.random_factor=2"});
  const TrainedRun fast = train(sets), slow = train(with);
  EXPECT_EQ(fast.out.final_params, slow.out.final_params);
  EXPECT_EQ(fast.rows.back().loss, slow.rows.back().loss);
}

TEST(straggler, waiting_for_it_is_booked_as_peer_wait_not_network) {
  if (world_size() < 2) GTEST_SKIP() << "needs a peer";
  const int last = world_size() - 1;
  const TrainedRun r = train({"algorithm.name=local_sgd", "algorithm.tau=4", "run.steps=24",
                              "straggler.rank=" + std::to_string(last), "straggler.factor=1000"});
  const SyncTotals& s = r.out.syncs;
  ASSERT_GT(s.count, 0);
  double most = s.t_peer;  // the longest any rank waited for a peer
  MPI_Allreduce(MPI_IN_PLACE, &most, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  if (comm::Communicator(MPI_COMM_WORLD).rank() == last) {
    // The slowest rank waits for nobody (a peer descheduled now and then aside).
    EXPECT_LT(s.t_peer, 0.25 * most);
  } else {
    EXPECT_GT(s.t_peer, 0.5 * s.t_exposed);  // most of it is the straggler
    EXPECT_NEAR(s.network_exposed(), s.t_exposed - s.t_peer, 1e-12);
  }
  EXPECT_EQ(r.rows.back().t_peer, s.t_peer);  // metrics.csv reports the same total
}

}  // namespace
