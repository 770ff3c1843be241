// HDF5 checkpoints on real MPI ranks (registered at 1, 2 and 4): a run restarted from a
// checkpoint ends bitwise equal to the uninterrupted run, for every algorithm; writing one
// does not perturb the run; and every bad checkpoint is refused on all ranks with one message
// while the files already there survive.
#include <olsgd/core/error.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/run/trainer.hpp>

#include <gtest/gtest.h>
#include <hdf5.h>
#include <mpi.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/resource.h>
#include <test_helpers.hpp>
#include <thread>

namespace fs = std::filesystem;

namespace {

using namespace olsgd;
using test::world_rank;
using test::world_size;

const char* kDeck = R"(
run: {seed: 5, steps: 40, log_every: 1000, progress: false}
data: {samples: 256, features: 24, noise: 0.3, min_eig: 0.2, max_eig: 1.0}
optimizer: {lr: 0.05, batch: 4}
algorithm: {tau: 3}
)";

// A folder every rank agrees on (rank 0 makes it), removed at the end of the test.
class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.empty()); }
  Config deck(std::vector<std::string> sets, const std::string& sub = "run") const {
    sets.push_back("run.output_dir=" + (dir_ / sub).string());
    return parse_config(kDeck, "checkpoint-test", sets, world_size());
  }

  static RunOutcome run(const Config& c) {
    comm::Communicator comm(MPI_COMM_WORLD);
    return run_training(c, comm, test::keeping_final_state());
  }

  // The message every rank gets when the run is refused ("" if it was not): a refused restart
  // or folder (InputError), or a failed write (RunError).
  static std::string refusal(const Config& c) {
    try {
      run(c);
    } catch (const InputError& e) {
      return e.what();
    } catch (const RunError& e) {
      return std::string("run error: ") + e.what();
    }
    return "";
  }

  test::SharedTempDir tmp_{"olsgd-ckpt"};
  fs::path dir_ = tmp_.path;
};

void expect_bitwise_equal(const RunOutcome& got, const RunOutcome& want) {
  ASSERT_EQ(got.final_state.size(), want.final_state.size());
  for (std::size_t s = 0; s < want.final_state.size(); ++s) {
    const auto& [name, w] = want.final_state[s];
    SCOPED_TRACE(name);
    ASSERT_EQ(got.final_state[s].first, name);
    const auto& g = got.final_state[s].second;
    ASSERT_EQ(g.size(), w.size());
    for (std::size_t j = 0; j < w.size(); ++j) ASSERT_EQ(g[j], w[j]) << "element " << j;
  }
  EXPECT_EQ(got.traffic.payload_bytes, want.traffic.payload_bytes);
  EXPECT_EQ(got.traffic.calls, want.traffic.calls);
}

TEST_F(CheckpointTest, restart_continues_the_exact_trajectory_of_every_algorithm) {
  const std::vector<std::vector<std::string>> algorithms = {
      {"algorithm.name=minibatch_sgd", "optimizer.momentum=0.9"},
      {"algorithm.name=accelerated_minibatch_sgd", "optimizer.lr=0.02"},
      {"algorithm.name=local_sgd", "optimizer.momentum=0.9", "optimizer.nesterov=true"},
      {"algorithm.name=local_sgd", "algorithm.group_size=node", "algorithm.group_rounds=3"},
      {"algorithm.name=overlap_local_sgd", "optimizer.momentum=0.5"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5"},
      // Fragments in flight at a checkpoint land early, each in its own range.
      {"algorithm.name=overlap_local_sgd", "algorithm.tau=6", "algorithm.fragments=3",
       "optimizer.momentum=0.5"},
      {"algorithm.name=overlap_local_sgd", "algorithm.tau=6", "algorithm.fragments=2",
       "algorithm.anchor_compression=quantize", "quantize.bits=3"},
      // Two levels: the cross-group average in flight lands and is gathered early.
      {"algorithm.name=overlap_local_sgd", "algorithm.tau=2", "algorithm.group_size=1",
       "algorithm.group_rounds=3", "optimizer.momentum=0.5"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5",
       "algorithm.group_size=node", "algorithm.group_rounds=2"},
      // Messages in flight at a checkpoint reach the anchor early, with the same bits.
      {"algorithm.name=overlap_local_sgd", "algorithm.anchor_compression=quantize",
       "quantize.bits=3", "optimizer.momentum=0.5"},
      {"algorithm.name=slowmo", "optimizer.momentum=0.9"},
      {"algorithm.name=slowmo", "algorithm.slowmo_base=overlap_local_sgd",
       "algorithm.slowmo_period=9"},
      {"algorithm.name=sketched_sgd", "sketch.cols=10", "sketch.k=5", "optimizer.momentum=0.9"},
      {"algorithm.name=qsgd", "quantize.bits=3"},
      {"algorithm.name=dq_sgd", "quantize.target_error=0.5", "quantize.max_levels=1000",
       "quantize.strong_convexity=0.2"},
      // Batch norm's running statistics travel in the flat state, averaged at every sync.
      {"algorithm.name=overlap_local_sgd", "data.kind=fashion_mnist", "data.limit=256",
       "model.kind=cnn", "model.layers=conv 3 k=3 p=1, bn, relu, maxpool 4, block 4 s=2",
       "optimizer.momentum=0.9", "optimizer.weight_decay=0.01"},
      // Crops and flips drawn by a counter the checkpoint carries.
      {"algorithm.name=local_sgd", "data.kind=fashion_mnist", "data.limit=256", "model.kind=cnn",
       "model.layers=conv 3 k=3 p=1, relu, maxpool 4", "data.augment=crop_flip",
       "data.crop_padding=2", "optimizer.momentum=0.9"},
      // The step size follows the step, restarted or not.
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5",
       "optimizer.schedule=cosine", "optimizer.warmup=10", "optimizer.warmup_start=0.1",
       "optimizer.base_batch=2"},
      // The noisy quadratic keys its draws by a counter the checkpoint carries.
      {"algorithm.name=local_sgd", "data.kind=synthetic_quadratic", "model.kind=quadratic",
       "data.noise=0.5", "data.zeta=0.3"},
  };
  int case_number = 0;
  for (const auto& sets : algorithms) {
    SCOPED_TRACE(sets[0] + (sets.size() > 1 ? " " + sets[1] : ""));
    // Each case in its own folders: a fresh run refuses a folder with another's checkpoints.
    const std::string n = std::to_string(case_number++);
    auto plain = sets, every = sets, resumed = sets;
    const auto reference = run(deck(plain, "plain" + n));
    // Checkpoints at 13, 26 and 39 (keep_last 2: the first goes) ...
    every.push_back("checkpoint.every=13");
    const auto checkpointed = run(deck(every, "every" + n));
    expect_bitwise_equal(checkpointed, reference);  // writing them changes nothing
    const fs::path ckpts = dir_ / ("every" + n) / "checkpoints";
    EXPECT_EQ(checkpointed.last_checkpoint, (ckpts / "ckpt-39.h5").string());
    EXPECT_FALSE(fs::exists(ckpts / "ckpt-13.h5"));
    const std::string ckpt = (ckpts / "ckpt-26.h5").string();
    // ... and a run that starts from the one at 26 ends where the uninterrupted one did.
    resumed.push_back("checkpoint.restart=" + ckpt);
    const auto continued = run(deck(resumed, "resumed" + n));
    EXPECT_EQ(continued.first_step, 26);
    EXPECT_EQ(continued.restarted_from, ckpt);
    expect_bitwise_equal(continued, reference);
  }
}

// A step decay at step 20 is a restart at 20 with the smaller lr, to the bit: the scheduled
// step size reaches the local step and every rule that has one (the anchor momentum's 1/lr,
// SlowMo's slow step, AC-SA's gamma). Halving is exact, so both runs see the same doubles.
TEST_F(CheckpointTest, a_step_decay_is_a_restart_at_the_milestone_with_the_smaller_lr) {
  const std::vector<std::vector<std::string>> algorithms = {
      {"algorithm.name=local_sgd", "optimizer.momentum=0.9", "optimizer.nesterov=true"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5"},
      {"algorithm.name=slowmo", "optimizer.momentum=0.9"},
      {"algorithm.name=accelerated_minibatch_sgd", "optimizer.lr=0.02"},
  };
  int case_number = 0;
  for (const auto& sets : algorithms) {
    SCOPED_TRACE(sets[0]);
    const std::string n = std::to_string(case_number++);  // each case in its own folders
    const double lr = sets.back() == "optimizer.lr=0.02" ? 0.02 : 0.05;
    auto scheduled = sets, first = sets, second = sets;
    for (const char* s :
         {"optimizer.schedule=step", "optimizer.milestones=20", "optimizer.decay=0.5"})
      scheduled.push_back(s);
    const auto reference = run(deck(scheduled, "scheduled"));
    first.push_back("checkpoint.every=20");
    run(deck(first, "first" + n));
    second.push_back("optimizer.lr=" + format_double(lr / 2));
    second.push_back("checkpoint.restart=" +
                     (dir_ / ("first" + n) / "checkpoints" / "ckpt-20.h5").string());
    const auto by_hand = run(deck(second, "second" + n));
    EXPECT_EQ(by_hand.first_step, 20);
    expect_bitwise_equal(by_hand, reference);
    // (and the decay is not a no-op: the run without it ends elsewhere)
    const auto constant = run(deck(sets, "constant"));
    EXPECT_NE(constant.final_state[0].second, reference.final_state[0].second);
  }
}

TEST_F(CheckpointTest, latest_picks_the_newest_and_starts_fresh_when_there_is_none) {
  const auto fresh = run(deck({"checkpoint.restart=latest", "checkpoint.every=10"}));
  EXPECT_EQ(fresh.first_step, 0);
  EXPECT_EQ(fresh.restarted_from, "");
  // The last step is checkpointed too: a finished run can be continued from where it ended.
  const auto again = run(deck({"checkpoint.restart=latest"}));
  EXPECT_EQ(again.first_step, 40);
  EXPECT_EQ(again.restarted_from, (dir_ / "run" / "checkpoints" / "ckpt-40.h5").string());
  EXPECT_EQ(again.final_params, fresh.final_params);
}

// A folder holding checkpoints past where this run starts (another run's, or the rest of the
// trajectory a restart abandons) is refused before training, and nothing in it is touched:
// this run's checkpoints would interleave with them, rotation could remove this run's newest,
// and `latest` would pick theirs.
TEST_F(CheckpointTest, a_folder_with_checkpoints_past_the_start_is_refused_and_kept) {
  run(deck({"checkpoint.every=10"}, "a"));  // keeps ckpt-30 and ckpt-40
  const fs::path ckpts = dir_ / "a" / "checkpoints";
  MPI_Barrier(MPI_COMM_WORLD);
  const std::string at_30 = test::bytes_of(ckpts / "ckpt-30.h5"),
                    at_40 = test::bytes_of(ckpts / "ckpt-40.h5");
  ASSERT_FALSE(at_40.empty());
  EXPECT_EQ(refusal(deck({"checkpoint.every=10"}, "a")),
            "checkpoint.dir " + ckpts.string() +
                ": holds ckpt-40.h5 from an earlier run, and this run starts fresh: continue that "
                "run with --restart latest, or move those checkpoints away or set another "
                "checkpoint.dir (this run's would mix with them)");
  const std::string rewind = "checkpoint.restart=" + (ckpts / "ckpt-30.h5").string();
  EXPECT_EQ(refusal(deck({"checkpoint.every=10", rewind}, "a")),
            "checkpoint.dir " + ckpts.string() +
                ": holds ckpt-40.h5, past this run's restart at step 30: move those checkpoints "
                "away or set another checkpoint.dir (this run's would mix with them)");
  // Without periodic checkpoints the same restart runs; so does `latest`, which is the newest.
  EXPECT_EQ(run(deck({rewind}, "a")).first_step, 30);
  EXPECT_EQ(run(deck({"checkpoint.every=10", "checkpoint.restart=latest"}, "a")).first_step, 40);
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(test::bytes_of(ckpts / "ckpt-30.h5"), at_30);
  EXPECT_EQ(test::bytes_of(ckpts / "ckpt-40.h5"), at_40);
}

// Only regular files named ckpt-<step>.h5 with a step that fits count as checkpoints: a folder
// of that name or a step of 20 digits is passed over (never parsed into an abort, never
// removed by rotation).
TEST_F(CheckpointTest, names_that_are_not_checkpoints_are_passed_over) {
  const fs::path ckpts = dir_ / "b" / "checkpoints";
  if (world_rank() == 0) {
    fs::create_directories(ckpts / "ckpt-7.h5");
    std::ofstream(ckpts / "ckpt-99999999999999999999.h5") << "not a checkpoint";
    std::ofstream(ckpts / "ckpt--3.h5") << "not a checkpoint";
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const auto out = run(deck({"checkpoint.every=10", "checkpoint.keep_last=1"}, "b"));
  EXPECT_EQ(out.last_checkpoint, (ckpts / "ckpt-40.h5").string());
  EXPECT_EQ(run(deck({"checkpoint.restart=latest"}, "b")).first_step, 40);
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_TRUE(fs::is_directory(ckpts / "ckpt-7.h5"));
  EXPECT_TRUE(fs::exists(ckpts / "ckpt-99999999999999999999.h5"));
  EXPECT_TRUE(fs::exists(ckpts / "ckpt--3.h5"));
  EXPECT_FALSE(fs::exists(ckpts / "ckpt-30.h5"));  // rotation still works around them
}

// HDF5 lays a checkpoint out in /dev/shm; a layout whose writer was killed meanwhile is removed
// by the next write, and one whose process is alive, or one made just now, is left alone.
TEST_F(CheckpointTest, the_next_write_removes_a_layout_a_killed_writer_left) {
  if (access("/dev/shm", W_OK | X_OK) != 0) GTEST_SKIP() << "no /dev/shm here";
  long pid_max = 0;
  std::ifstream("/proc/sys/kernel/pid_max") >> pid_max;
  ASSERT_GT(pid_max, 0);
  // No process has a pid past pid_max; this test's own pid keeps the name its own.
  const fs::path killed = "/dev/shm/olsgd-layout-" + std::to_string(pid_max + getpid()) + ".h5";
  const fs::path alive = "/dev/shm/olsgd-layout-" + std::to_string(getppid()) + ".h5";
  const fs::path just_now =
      "/dev/shm/olsgd-layout-" + std::to_string(pid_max + getpid() + 1) + ".h5";
  if (world_rank() == 0) {
    const auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
    for (const auto& [path, text] :
         {std::pair{killed, "left by a killed run"}, std::pair{alive, "a live process"},
          std::pair{just_now, "a writer out of sight"}}) {
      std::ofstream(path) << text;
      if (path != just_now) fs::last_write_time(path, hour_ago);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  run(deck({"checkpoint.every=20"}));
  if (world_rank() == 0) {
    EXPECT_FALSE(fs::exists(killed));
    EXPECT_TRUE(fs::exists(alive));
    EXPECT_TRUE(fs::exists(just_now));
    fs::remove(alive);
    fs::remove(just_now);
  }
}

TEST_F(CheckpointTest, the_file_names_what_it_holds) {
  run(deck({"algorithm.name=overlap_local_sgd", "checkpoint.every=20"}));
  const std::string path = (dir_ / "run" / "checkpoints" / "ckpt-20.h5").string();
  if (world_rank() == 0) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    for (const char* ds : {"/state/params", "/state/send", "/state/anchor", "/deck", "/build",
                           "/checksum", "/host/comm.payload_bytes", "/host/algorithm.syncs"})
      EXPECT_GT(H5Lexists(f, ds, H5P_DEFAULT), 0) << ds;
    for (const char* attr : {"format_version", "algorithm", "ranks", "num_params", "step"})
      EXPECT_GT(H5Aexists(f, attr), 0) << attr;
    int ranks = 0;
    const hid_t a = H5Aopen(f, "ranks", H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_INT, &ranks);
    H5Aclose(a);
    EXPECT_EQ(ranks, world_size());
    H5Fclose(f);
  }
}

// Damages a copy of a good checkpoint on rank 0, then restarts from it.
class BadCheckpoint : public CheckpointTest {
 protected:
  void SetUp() override {
    CheckpointTest::SetUp();
    run(deck({"checkpoint.every=20"}, "good"));
    good_ = (dir_ / "good" / "checkpoints" / "ckpt-20.h5").string();
  }
  std::string damaged(const std::string& name, const std::function<void(const std::string&)>& f) {
    const std::string path = (dir_ / name).string();
    if (world_rank() == 0) {
      fs::copy_file(good_, path);
      f(path);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return path;
  }
  void expect_refused(const std::string& path, const std::string& message,
                      std::vector<std::string> sets = {}) {
    sets.push_back("checkpoint.restart=" + path);
    const std::string got = refusal(deck(sets, "restarted"));
    EXPECT_NE(got.find(message), std::string::npos) << got;
    EXPECT_EQ(got.find('\n'), std::string::npos) << "one line: " << got;
    // Refused before anything is written, and the good checkpoint is untouched.
    EXPECT_FALSE(fs::exists(dir_ / "restarted" / "metrics.csv"));
    EXPECT_TRUE(fs::exists(good_));
  }
  std::string good_;
};

TEST_F(BadCheckpoint, a_missing_file) {
  expect_refused((dir_ / "nope.h5").string(), "nope.h5: checkpoint not found");
}

TEST_F(BadCheckpoint, a_truncated_file) {
  const auto path = damaged("truncated.h5",
                            [](const std::string& p) { fs::resize_file(p, fs::file_size(p) / 2); });
  expect_refused(path, "truncated.h5: truncated checkpoint: ");
}

TEST_F(BadCheckpoint, a_file_that_is_not_hdf5) {
  const auto path = damaged("text.h5", [](const std::string& p) { std::ofstream(p) << "hello"; });
  expect_refused(path, "text.h5: not an olsgd checkpoint (no seal");
}

// Flips one bit of rank 0's x_0 in the file.
void flip_a_bit_of_the_params(const std::string& p) {
  const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, "/state/params", H5P_DEFAULT);
  const haddr_t offset = H5Dget_offset(d);  // contiguous layout: the data start here
  H5Dclose(d);
  H5Fclose(f);
  std::fstream io(p, std::ios::in | std::ios::out | std::ios::binary);
  io.seekg(static_cast<std::streamoff>(offset) + 3);
  char c = 0;
  io.read(&c, 1);
  c ^= 0x10;
  io.seekp(static_cast<std::streamoff>(offset) + 3);
  io.write(&c, 1);
}

TEST_F(BadCheckpoint, a_flipped_bit_breaks_the_seal) {
  const auto path = damaged("flipped.h5", flip_a_bit_of_the_params);
  expect_refused(path, "flipped.h5: corrupted checkpoint: the file checksum does not match");
}

TEST_F(BadCheckpoint, a_flipped_bit_under_a_new_seal_fails_the_data_checksum) {
  const auto path = damaged("resealed.h5", [](const std::string& p) {
    flip_a_bit_of_the_params(p);
    io::seal_checkpoint(p);
  });
  // Rank 0's row is the damaged one; every rank reports rank 0's finding.
  expect_refused(path, "corrupted checkpoint: the checksum of rank 0's data does not match");
}

TEST_F(BadCheckpoint, a_newer_format_version) {
  const auto path = damaged("newer.h5", [](const std::string& p) {
    const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
    const int v = io::kCheckpointFormat + 1;
    H5Awrite(a, H5T_NATIVE_INT, &v);
    H5Aclose(a);
    H5Fclose(f);
    io::seal_checkpoint(p);  // as a newer olsgd would have sealed it
  });
  expect_refused(path, "checkpoint format 2 is newer than this olsgd reads (1)");
}

// A file that passes its seal (resealed after the edit, as a tool or another program might)
// but lacks what olsgd writes: each is refused with what is missing, never a crash in HDF5.
TEST_F(BadCheckpoint, resealed_without_its_parts) {
  const auto edited = [&](const char* name, const std::function<void(hid_t)>& edit) {
    return damaged(name, [&](const std::string& p) {
      const hid_t f = H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
      edit(f);
      H5Fclose(f);
      io::seal_checkpoint(p);
    });
  };
  expect_refused(edited("no_format.h5", [](hid_t f) { H5Adelete(f, "format_version"); }),
                 "no_format.h5: not an olsgd checkpoint (no format_version attribute)");
  expect_refused(edited("no_step.h5", [](hid_t f) { H5Adelete(f, "step"); }),
                 "no_step.h5: corrupted checkpoint: ");
  expect_refused(edited("no_host.h5", [](hid_t f) { H5Ldelete(f, "host", H5P_DEFAULT); }),
                 "no_host.h5: corrupted checkpoint: no /host");
  expect_refused(edited("no_checksum.h5", [](hid_t f) { H5Ldelete(f, "checksum", H5P_DEFAULT); }),
                 "no_checksum.h5: corrupted checkpoint: ");
  expect_refused(edited("no_ranks.h5",
                        [](hid_t f) {
                          const hid_t a = H5Aopen(f, "ranks", H5P_DEFAULT);
                          const int zero = 0;
                          H5Awrite(a, H5T_NATIVE_INT, &zero);
                          H5Aclose(a);
                        }),
                 "no_ranks.h5: corrupted checkpoint: written on 0 ranks");
}

TEST_F(BadCheckpoint, another_algorithm_or_model_size_or_precision) {
  expect_refused(good_,
                 "ckpt-20.h5: algorithm.name: the checkpoint was written with local_sgd, this run "
                 "has minibatch_sgd; restart with the same value",
                 {"algorithm.name=minibatch_sgd"});
  expect_refused(good_,
                 "data.features: the checkpoint was written with 24, this run has 25; restart "
                 "with the same value",
                 {"data.features=25"});
  expect_refused(good_,
                 "run.precision: the checkpoint was written with float64, this run has float32; "
                 "restart with the same value",
                 {"run.precision=float32"});
  expect_refused(good_, "checkpoint at step 20 is past run.steps (10)", {"run.steps=10"});
}

// Runs `c` on the first `ranks` ranks of the world (the others wait); true on those ranks.
bool run_on_first(int ranks, const Config& c, RunOutcome& out) {
  MPI_Comm sub;
  const bool in = world_rank() < ranks;
  MPI_Comm_split(MPI_COMM_WORLD, in ? 0 : MPI_UNDEFINED, world_rank(), &sub);
  if (in) {
    {
      comm::Communicator comm(sub);
      out = run_training(c, comm, test::keeping_final_state());
    }
    MPI_Comm_free(&sub);
  }
  // The ranks left out wait without spinning: on a small machine they would take the cores of
  // the ranks that run.
  MPI_Request done;
  MPI_Ibarrier(MPI_COMM_WORLD, &done);
  for (int flag = 0; !flag;) {
    MPI_Test(&done, &flag, MPI_STATUS_IGNORE);
    if (!flag) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return in;
}

// The mean over the first `ranks` ranks of the world of each segment of their `state` (the
// others pass an empty one), on every rank.
std::vector<std::vector<double>> mean_of_first(
    int ranks, const std::vector<std::pair<std::string, std::vector<double>>>& state) {
  std::vector<int> sizes;
  for (const auto& segment : state) sizes.push_back(static_cast<int>(segment.second.size()));
  int segments = static_cast<int>(sizes.size());
  MPI_Bcast(&segments, 1, MPI_INT, 0, MPI_COMM_WORLD);
  sizes.resize(static_cast<std::size_t>(segments));
  MPI_Bcast(sizes.data(), segments, MPI_INT, 0, MPI_COMM_WORLD);
  std::vector<std::vector<double>> mean(static_cast<std::size_t>(segments));
  for (int s = 0; s < segments; ++s) {
    mean[s] = s < static_cast<int>(state.size()) ? state[s].second : std::vector<double>{};
    mean[s].resize(static_cast<std::size_t>(sizes[s]), 0.0);
    MPI_Allreduce(MPI_IN_PLACE, mean[s].data(), sizes[s], MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (double& v : mean[s]) v /= ranks;
  }
  return mean;
}

// A requeued job on more or fewer ranks: every rank starts from the mean state of the ranks
// that wrote the checkpoint, so the averaged model, and with it the loss, carries over.
TEST_F(CheckpointTest, a_restart_on_another_rank_count_continues_from_the_mean_state) {
  const std::vector<std::pair<int, int>> moves = {{4, 2}, {2, 4}, {2, 1}, {1, 2}};
  const std::vector<std::vector<std::string>> algorithms = {
      {"algorithm.name=overlap_local_sgd", "optimizer.momentum=0.5"},
      {"algorithm.name=overlap_local_sgd_momentum", "algorithm.anchor_momentum=0.5"},
      {"algorithm.name=local_sgd", "optimizer.momentum=0.9"},
      {"algorithm.name=sketched_sgd", "sketch.cols=10", "sketch.k=5", "optimizer.momentum=0.9"},
      {"algorithm.name=dq_sgd", "quantize.target_error=0.5", "quantize.max_levels=1000",
       "quantize.strong_convexity=0.2"},
      {"algorithm.name=slowmo", "optimizer.momentum=0.5"},
  };
  int tried = 0;
  for (const auto& [from, to] : moves) {
    if (std::max(from, to) > world_size()) continue;
    for (const auto& algo : algorithms) {
      SCOPED_TRACE(std::to_string(from) + " -> " + std::to_string(to) + " ranks, " + algo[0]);
      const std::string sub = "m" + std::to_string(from) + "_" + std::to_string(tried++);
      auto sets = algo;
      sets.insert(sets.end(), {"run.log_every=10", "run.steps=30", "checkpoint.every=30",
                               "run.output_dir=" + (dir_ / sub).string()});
      RunOutcome before, at, after;
      run_on_first(from, parse_config(kDeck, "checkpoint-test", sets, from), before);
      double loss = before.last.full_loss;  // F(xbar) at step 30, from rank 0 (a writer)
      MPI_Bcast(&loss, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
      const auto mean = mean_of_first(from, before.final_state);
      sets.back() = "run.output_dir=" + (dir_ / (sub + "_to")).string();
      sets.push_back("checkpoint.restart=" + (dir_ / sub / "checkpoints" / "ckpt-30.h5").string());
      if (run_on_first(to, parse_config(kDeck, "checkpoint-test", sets, to), at)) {
        EXPECT_EQ(at.last.step, 30);
        EXPECT_NEAR(at.last.full_loss, loss, 0.01 * loss);  // the stated 1% bound; in fact ~1e-15
        EXPECT_NEAR(at.last.full_loss, loss, 1e-9 * loss);
        EXPECT_EQ(at.last.consensus, 0.0);  // every rank starts from the same model
        // Every segment (model, anchor, momenta, error feedback, outer iterate) is the mean.
        // (No ASSERT here: a rank leaving early would leave the others in a collective.)
        EXPECT_EQ(at.final_state.size(), mean.size());
        for (std::size_t seg = 0; seg < std::min(mean.size(), at.final_state.size()); ++seg) {
          const auto& [name, got] = at.final_state[seg];
          const std::vector<double>& want = mean[seg];
          EXPECT_EQ(got.size(), want.size()) << name;
          int wrong = 0;
          for (std::size_t i = 0; i < std::min(got.size(), want.size()) && wrong < 3; ++i)
            if (!(std::fabs(got[i] - want[i]) <= 1e-12 * (1 + std::fabs(want[i]))))
              ADD_FAILURE() << name << " element " << i << ": " << got[i] << ", mean " << want[i],
                  ++wrong;
        }
      }
      // And training goes on (near the noise floor a loss may rise a little: no divergence).
      sets.push_back("run.steps=60");
      if (run_on_first(to, parse_config(kDeck, "checkpoint-test", sets, to), after)) {
        EXPECT_EQ(after.last.step, 60);
        EXPECT_LT(after.last.full_loss, 1.1 * loss);
      }
    }
  }
  if (tried == 0) GTEST_SKIP() << "needs 2 or 4 ranks";
}

// The keys that define the data and the random streams: a resumed run with another value
// would silently continue another run.
TEST_F(BadCheckpoint, a_key_that_defines_the_data_or_the_random_streams_is_refused_by_name) {
  expect_refused(good_,
                 "ckpt-20.h5: run.seed: the checkpoint was written with 5, this run has 7; "
                 "restart with the same value",
                 {"run.seed=7"});
  expect_refused(good_, "data.samples: the checkpoint was written with 256, this run has 512",
                 {"data.samples=512"});
  expect_refused(good_,
                 "data.partition: the checkpoint was written with iid, this run has "
                 "contiguous",
                 {"data.partition=contiguous"});
  expect_refused(good_, "data.noise: the checkpoint was written with 0.3, this run has 0.1",
                 {"data.noise=0.1"});
  expect_refused(good_, "algorithm.tau: the checkpoint was written with 3, this run has 4",
                 {"algorithm.tau=4"});
  expect_refused(good_,
                 "ckpt-20.h5: the checkpoint was written with run.seed 5, data.noise 0.3; this "
                 "run has run.seed 7, data.noise 0.1; restart with the same values",
                 {"run.seed=7", "data.noise=0.1"});
}

// A key the run's algorithm does not read changes nothing, so a restart may change it; the
// same key is refused where the algorithm reads it.
TEST_F(BadCheckpoint, a_key_the_algorithm_does_not_read_may_change) {
  const Config c = deck(
      {"checkpoint.restart=" + good_, "sketch.k=7", "quantize.bits=8", "algorithm.slow_lr=0.5"},
      "unread");
  EXPECT_EQ(run(c).first_step, 20);
  run(deck({"checkpoint.every=20", "algorithm.name=qsgd"}, "qsgd"));
  expect_refused((dir_ / "qsgd" / "checkpoints" / "ckpt-20.h5").string(),
                 "quantize.bits: the checkpoint was written with 4, this run has 8",
                 {"algorithm.name=qsgd", "quantize.bits=8"});
}

// A deck without the momentum the file holds (or with momentum the file lacks): the file is
// good, and the message says what differs in the deck's words, not "corrupted".
TEST_F(CheckpointTest, momentum_switched_off_or_on_is_refused_naming_the_key) {
  run(deck({"checkpoint.every=20", "optimizer.momentum=0.9"}, "with"));
  run(deck({"checkpoint.every=20"}, "without"));
  const std::string with = (dir_ / "with" / "checkpoints" / "ckpt-20.h5").string();
  const std::string without = (dir_ / "without" / "checkpoints" / "ckpt-20.h5").string();
  EXPECT_EQ(refusal(deck({"checkpoint.restart=" + with}, "r1")),
            with +
                ": checkpoint has momentum buffers (optimizer.momentum 0.9), the deck has "
                "optimizer.momentum=0; restart with optimizer.momentum=0.9");
  EXPECT_EQ(refusal(deck({"checkpoint.restart=" + without, "optimizer.momentum=0.5"}, "r2")),
            without +
                ": checkpoint has no momentum buffers (optimizer.momentum 0), the deck has "
                "optimizer.momentum=0.5; restart with optimizer.momentum=0");
  // The same momentum resumes.
  EXPECT_EQ(run(deck({"checkpoint.restart=" + with, "optimizer.momentum=0.9"}, "r3")).first_step,
            20);
}

// What a restart may change: more steps, other outputs, another cadence, another network
// resume silently; a step size resumes with a warning naming both values.
TEST_F(CheckpointTest, a_restart_may_change_what_does_not_define_the_run) {
  run(deck({"checkpoint.every=20"}));
  const std::string ckpt = (dir_ / "run" / "checkpoints" / "ckpt-20.h5").string();
  const auto resumed = run(deck({"checkpoint.restart=" + ckpt, "run.steps=50", "run.log_every=7",
                                 "run.name=again", "checkpoint.every=0", "checkpoint.keep_last=5",
                                 "comm.timeout_s=60", "comm.delay_s=0.0001", "optimizer.lr=0.01"},
                                "elsewhere"));
  EXPECT_EQ(resumed.first_step, 20);
  // The warnings read_checkpoint returns (restore prints them on rank 0).
  const Config now = deck({"optimizer.lr=0.01", "run.steps=50"});
  auto deck_text = [](const Config& c) {
    std::string text;
    for (const auto& [key, value] : config_values(c)) text += key + ": " + value + "\n";
    return text;
  };
  comm::Communicator comm(MPI_COMM_WORLD);
  FlatState<double> state("test");
  state.add("params", 24);
  state.allocate();
  HostState host = {{"algorithm.syncs", 0},
                    {"comm.calls", 0},
                    {"comm.delay_s", 0},
                    {"comm.payload_bytes", 0},
                    {"comm.wire_bytes", 0}};
  io::CheckpointInfo expect;
  expect.algorithm = "local_sgd";
  expect.ranks = world_size();
  expect.num_params = 24;
  expect.precision = "float64";
  expect.deck = deck_text(now);
  const io::CheckpointInfo info = io::read_checkpoint(ckpt, expect, state, host, comm);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_EQ(info.warnings[0], ckpt +
                                  ": optimizer.lr: the checkpoint was written with 0.05, this "
                                  "run continues with 0.01");
}

// What the deck does not explain (a reader whose segments or host values differ from the
// file's with the same deck) is refused before any row is read, naming the difference.
TEST_F(CheckpointTest, another_segment_size_or_host_value_is_refused_before_reading) {
  run(deck({"checkpoint.every=20"}));
  const std::string ckpt = (dir_ / "run" / "checkpoints" / "ckpt-20.h5").string();
  comm::Communicator comm(MPI_COMM_WORLD);
  io::CheckpointInfo expect;
  expect.algorithm = "local_sgd";
  expect.ranks = world_size();
  expect.num_params = 24;
  expect.precision = "float64";
  auto refused = [&](Index params, HostState host) {
    FlatState<double> state("test");
    state.add("params", static_cast<std::size_t>(params));
    state.allocate();
    try {
      io::read_checkpoint(ckpt, expect, state, host, comm);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const HostState host = {{"algorithm.syncs", 0},
                          {"comm.calls", 0},
                          {"comm.delay_s", 0},
                          {"comm.payload_bytes", 0},
                          {"comm.wire_bytes", 0}};
  EXPECT_EQ(refused(30, host),
            ckpt + ": the checkpoint's state 'params' holds 24 values per rank, this run's 30");
  HostState more = host;
  more["model.draws"] = 0;
  EXPECT_EQ(refused(24, more),
            ckpt + ": checkpoint has no host value 'model.draws', which this run needs");
  EXPECT_EQ(refused(24, host), "");
}

// Every deck key is in the restart table, so a new key is classified when it is added.
TEST(RestartChange, every_deck_key_is_classified) {
  for (const auto& [key, value] : config_values(Config{}))
    EXPECT_TRUE(io::restart_change_known(key)) << key << " has no restart rule";
  EXPECT_EQ(io::restart_change("run.seed"), io::RestartChange::Refuse);
  EXPECT_EQ(io::restart_change("data.partition"), io::RestartChange::Refuse);
  EXPECT_EQ(io::restart_change("data.path"), io::RestartChange::Warn);
  EXPECT_EQ(io::restart_change("optimizer.lr"), io::RestartChange::Warn);
  EXPECT_EQ(io::restart_change("run.steps"), io::RestartChange::Free);
  EXPECT_EQ(io::restart_change("checkpoint.every"), io::RestartChange::Free);
}

// A key switches its state segment on or off only by going to or from zero.
TEST(RestartChange, a_segment_is_switched_by_a_key_going_to_or_from_zero) {
  using io::RestartChange;
  auto change = [](const char* key, const char* was, const char* now) {
    return std::vector<io::DeckChange>{{key, was, now, RestartChange::Warn}};
  };
  EXPECT_EQ(io::switched_segment(change("optimizer.momentum", "0", "0.9")), "momentum");
  EXPECT_EQ(io::switched_segment(change("optimizer.momentum", "0.9", "0")), "momentum");
  EXPECT_EQ(io::switched_segment(change("optimizer.momentum", "0.9", "0.5")), "");
  EXPECT_EQ(io::switched_segment(change("algorithm.anchor_momentum", "0", "0.5")),
            "anchor_momentum");
  EXPECT_EQ(io::switched_segment(change("optimizer.lr", "0.1", "0")), "");
}

// A checkpoint written before the file recorded its segments' order still loads (the
// checksum then takes this run's order, which is the writer's for the same segments).
TEST_F(CheckpointTest, a_checkpoint_without_the_segment_order_still_loads) {
  run(deck({"checkpoint.every=20", "optimizer.momentum=0.9"}, "old"));
  const std::string path = (dir_ / "old" / "checkpoints" / "ckpt-20.h5").string();
  if (world_rank() == 0) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t g = H5Gopen2(f, "state", H5P_DEFAULT);
    ASSERT_GE(H5Adelete(g, "segments"), 0);
    H5Gclose(g);
    H5Fclose(f);
    io::seal_checkpoint(path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const auto resumed =
      run(deck({"checkpoint.restart=" + path, "optimizer.momentum=0.9"}, "resumed"));
  EXPECT_EQ(resumed.first_step, 20);
  const auto straight = run(deck({"optimizer.momentum=0.9"}, "straight"));
  expect_bitwise_equal(resumed, straight);
}

// `restart: latest` where checkpoint.dir is a file: refused, not a silent fresh start.
TEST_F(CheckpointTest, latest_in_a_checkpoint_dir_that_is_a_file_is_refused) {
  const fs::path file = dir_ / "not-a-folder";
  if (world_rank() == 0) std::ofstream(file) << "x";
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_EQ(
      refusal(deck({"checkpoint.restart=latest", "checkpoint.dir=" + file.string()})),
      "checkpoint.dir " + file.string() + ": not a folder (a file of that name is in the way)");
}

// A write that fails (here: past the file size limit of every rank) ends the run on every
// rank with one message, leaves no .tmp, and the previous checkpoint still loads.
TEST_F(CheckpointTest, a_failed_write_keeps_the_previous_checkpoint) {
  run(deck({"checkpoint.every=20", "run.steps=30"}));
  const fs::path ckpts = dir_ / "run" / "checkpoints";
  const std::string good = (ckpts / "ckpt-20.h5").string();
  const auto size = world_rank() == 0 ? fs::file_size(good) : 0;
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit low = old;
  low.rlim_cur = 4096;  // the checkpoint needs more; the outputs of the run fit
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &low), 0);
  const std::string got =
      refusal(deck({"checkpoint.every=20", "checkpoint.restart=latest", "run.steps=60"}));
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  // A failed write is not bad input: a RunError (exit 1).
  EXPECT_EQ(
      got.rfind("run error: " + (ckpts / "ckpt-40.h5").string() + ": checkpoint not written: ", 0),
      0u)
      << got;
  EXPECT_NE(got.find("the file size limit (ulimit -f)"), std::string::npos) << got;
  EXPECT_NE(
      got.find("; the run stops here, and " + good + " is still the latest complete checkpoint"),
      std::string::npos)
      << got;
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank() == 0) {
    EXPECT_FALSE(fs::exists(ckpts / "ckpt-40.h5.tmp"));
    EXPECT_FALSE(fs::exists(ckpts / "ckpt-40.h5"));
    EXPECT_EQ(fs::file_size(good), size);
  }
  EXPECT_EQ(run(deck({"checkpoint.restart=latest"})).first_step, 20);
}

}  // namespace
