// The olsgd binary as users run it: every bad-input class ends with exactly one line on
// stderr and exit code 2 (also through mpirun), outputs are written, and the same deck
// run twice gives bitwise-identical metrics (wall-clock columns aside).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Result {
  int code = -1;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/olsgd-cli-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs olsgd with `args` directly (ranks = 0) or under mpiexec with `ranks` ranks, the
  // whole command line after `prefix` (e.g. "env -u VAR ").
  Result run(const std::string& args, int ranks = 0, const std::string& prefix = "") const {
    std::string cmd = prefix;
    if (ranks > 0)
      cmd = std::string(OLSGD_MPIEXEC) + " " + std::to_string(ranks) + " " +
            OLSGD_MPIEXEC_PREFLAGS + " ";
    cmd += std::string(OLSGD_BINARY) + " " + args + " >" + (dir_ / "out").string() + " 2>" +
           (dir_ / "err").string();
    const int status = std::system(cmd.c_str());
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(dir_ / "out");
    r.err = slurp(dir_ / "err");
    return r;
  }

  // Asserts the one-line-and-exit-2 contract and returns the line.
  std::string expect_input_error(const Result& r) const {
    EXPECT_EQ(r.code, 2) << r.err;
    const auto l = lines(r.err);
    EXPECT_EQ(l.size(), 1u) << r.err;
    if (l.empty()) return {};
    EXPECT_EQ(l[0].rfind("olsgd: error: ", 0), 0u) << l[0];
    return l[0];
  }

  fs::path dir_;
};

TEST_F(Cli, every_bad_deck_gives_one_line_naming_file_and_key_and_exit_2) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(OLSGD_TEST_DECKS) / "bad")) {
    const std::string deck = entry.path().string();
    SCOPED_TRACE(deck);
    const std::string first = lines(slurp(entry.path())).at(0);
    ASSERT_EQ(first.rfind("# expect: ", 0), 0u) << "each bad deck states its expected message";
    const std::string expected = first.substr(10);
    const fs::path outdir = dir_ / "out-bad";
    const std::string line =
        expect_input_error(run(deck + " --set run.output_dir=" + outdir.string()));
    EXPECT_NE(line.find("olsgd: error: " + deck), std::string::npos) << line;
    EXPECT_NE(line.find(expected), std::string::npos) << line << "\nexpected: " << expected;
    EXPECT_FALSE(fs::exists(outdir)) << "a refused run must write nothing";
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST_F(Cli, command_line_errors) {
  const std::string deck = std::string(OLSGD_INPUTS) + "/least_squares.yaml";
  EXPECT_NE(expect_input_error(run("")).find("no deck given"), std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " --frobnicate")).find("unknown option '--frobnicate'"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " --set")).find("--set needs key=value"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " --restart")).find("--restart needs a checkpoint"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " " + deck)).find("more than one deck"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " --set algorithm.tau=-3"))
                .find("--set algorithm.tau=-3: algorithm.tau: must be an integer >= 1, got '-3'"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run(deck + " --set=run.stpes=3"))
                .find("run.stpes: unknown key (did you mean run.steps?)"),
            std::string::npos);
  EXPECT_NE(expect_input_error(run((dir_ / "missing.yaml").string()))
                .find("missing.yaml: cannot open the deck"),
            std::string::npos);
}

TEST_F(Cli, help_version_and_check) {
  Result h = run("--help");
  EXPECT_EQ(h.code, 0);
  EXPECT_EQ(h.out.rfind("usage: olsgd DECK", 0), 0u) << h.out;  // ours, not Kokkos' help
  EXPECT_EQ(h.out.find("kokkos-threads"), std::string::npos);
  EXPECT_NE(h.out.find("algorithm.tau"), std::string::npos);
  // Nothing ahead of the answer, even where Kokkos 3.x would advise on OMP_PROC_BIND.
  Result v = run("--version", 0, "env -u OMP_PROC_BIND ");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("olsgd ", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("Kokkos "), std::string::npos) << v.out;
  EXPECT_EQ(run("--help", 0, "env -u OMP_PROC_BIND ").out.rfind("usage: olsgd DECK", 0), 0u);
  Result c =
      run(std::string(OLSGD_INPUTS) + "/least_squares.yaml --kokkos-disable-warnings --check");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("OK for 1 rank;"), std::string::npos) << c.out;
}

// --check looks at the restart the deck asks for: which checkpoint `latest` continues, at which
// step, what the restart changes with care; and it writes nothing, not even run.output_dir.
TEST_F(Cli, check_names_the_checkpoint_a_restart_continues_and_touches_nothing) {
  const std::string run_sets = std::string(OLSGD_INPUTS) +
                               "/least_squares.yaml --set run.steps=40 --set data.samples=512"
                               " --set data.features=16 --set run.progress=false"
                               " --set checkpoint.every=20 --set checkpoint.dir=" +
                               (dir_ / "ck").string();
  const Result trained = run(run_sets + " --set run.output_dir=" + (dir_ / "a").string());
  ASSERT_EQ(trained.code, 0) << trained.err;
  const std::string fresh = " --set run.output_dir=" + (dir_ / "b").string();
  const Result c = run(run_sets + fresh + " --set run.steps=60 --set optimizer.lr=0.01" +
                           " --restart latest --check",
                       2);
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_NE(c.out.find("OK for 2 ranks; 60 steps of 4 per epoch; "), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("; resumes from " + (dir_ / "ck" / "ckpt-40.h5").string() +
                       " at step 40 (written on 1 rank: resharded)\n"),
            std::string::npos)
      << c.out;
  EXPECT_NE(c.err.find("olsgd: warning: " + (dir_ / "ck" / "ckpt-40.h5").string() +
                       ": optimizer.lr: the checkpoint was written with "),
            std::string::npos)
      << c.err;
  EXPECT_FALSE(fs::exists(dir_ / "b")) << "--check created run.output_dir";
  std::vector<std::string> kept;
  for (const auto& e : fs::directory_iterator(dir_ / "ck")) kept.push_back(e.path().filename());
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<std::string>{"ckpt-20.h5", "ckpt-40.h5"}));
}

// A run without checkpoint.every still writes one on a stop signal: in a folder of another run's
// later checkpoints it would land among them, and `--restart latest` would pick theirs. The run
// (and --check) say so once; neither refuses, as a run that is never stopped writes nothing.
TEST_F(Cli, a_run_checkpointing_only_on_a_stop_signal_warns_of_later_checkpoints_in_its_folder) {
  const std::string ck = (dir_ / "ck").string();
  const std::string deck = std::string(OLSGD_INPUTS) +
                           "/least_squares.yaml --set data.samples=512 --set data.features=16"
                           " --set run.progress=false --set checkpoint.dir=" +
                           ck;
  ASSERT_EQ(run(deck + " --set run.steps=40 --set checkpoint.every=20 --set run.output_dir=" +
                (dir_ / "a").string())
                .code,
            0);
  const std::string warning =
      "olsgd: warning: checkpoint.dir " + ck +
      ": holds ckpt-40.h5 from an earlier run, and this run starts fresh: "
      "continue that run with --restart latest, or move those checkpoints "
      "away or set another checkpoint.dir (this run's would mix with them); "
      "this run writes a checkpoint only if a stop signal comes\n";
  const std::string fresh =
      deck + " --set run.steps=5 --set run.output_dir=" + (dir_ / "b").string();
  for (const char* check : {"", " --check"}) {
    SCOPED_TRACE(check);
    const Result r = run(fresh + check, 2);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, warning);
  }
}

// A failure one rank meets alone (here an allocation: its address space capped by ulimit -v)
// while the other waits in a collective: one line, "olsgd: fatal (rank 1): ...", the message's
// first (Kokkos adds a traceback notice), and MPI_Abort ends the job with exit 1. Nothing is
// written: the outputs open once the data are loaded.
TEST_F(Cli, a_rank_out_of_memory_ends_the_job_with_one_fatal_line) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  GTEST_SKIP() << "ASan reserves terabytes of address space: ulimit -v cannot cap it";
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan reserves terabytes of address space: ulimit -v cannot cap it";
#endif
#if OLSGD_DEVICE_BUILD
  GTEST_SKIP() << "a GPU runtime maps more address space at start-up than the cap allows";
#endif
  const fs::path out = dir_ / "o";
  const std::string capped_rank_1 =
      "sh -c 'if [ \"${OMPI_COMM_WORLD_RANK:-$PMI_RANK}\" = 1 ]; then ulimit -v 300000; fi; "
      "exec \"$0\" \"$@\"' ";
  const std::string cmd =
      std::string(OLSGD_MPIEXEC) + " 2 " + OLSGD_MPIEXEC_PREFLAGS + " " + capped_rank_1 +
      OLSGD_BINARY + " " + OLSGD_INPUTS +
      "/quickstart.yaml --set run.steps=2 --set run.output_dir=" + out.string() + " >" +
      (dir_ / "out").string() + " 2>" + (dir_ / "err").string();
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
  const auto err = lines(slurp(dir_ / "err"));
  ASSERT_EQ(err.size(), 1u) << slurp(dir_ / "err");
  EXPECT_TRUE(std::regex_search(
      err[0], std::regex(R"(^olsgd: fatal \(rank 1\): (out of memory \(std::bad_alloc\)|Kokkos )"
                         R"(failed to allocate memory for label .*)$)")))
      << err[0];
  EXPECT_EQ(err[0].find("\\x0a"), std::string::npos) << err[0];
  EXPECT_FALSE(fs::exists(out / "metrics.csv"));
}

TEST_F(Cli, rerunning_a_deck_with_another_algorithm_warns_about_unused_keys) {
  const Result r =
      run(std::string(OLSGD_INPUTS) + "/overlap_delay.yaml --set algorithm.name=local_sgd --check");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("olsgd: warning: " + std::string(OLSGD_INPUTS) +
                       "/overlap_delay.yaml:33: algorithm.alpha: not used with algorithm local_sgd "
                       "(ignored)"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, rank_count_errors_come_through_mpirun_as_one_line_and_exit_2) {
  const std::string deck = std::string(OLSGD_INPUTS) + "/least_squares.yaml";
  const std::string line = expect_input_error(run(deck + " --set data.samples=1001", 2));
  EXPECT_NE(line.find("data.samples: 1001 samples do not divide evenly over 2 ranks"),
            std::string::npos)
      << line;
}

TEST_F(Cli, missing_data_files_are_refused_on_all_ranks_and_nothing_is_written) {
  const fs::path out = dir_ / "never";
  const std::string line = expect_input_error(
      run(std::string(OLSGD_INPUTS) + "/quickstart.yaml --set data.path=" + dir_.string() +
              " --set run.output_dir=" + out.string(),
          2));
  EXPECT_NE(line.find(dir_.string() + "/train-labels-idx1-ubyte.gz: cannot open"),
            std::string::npos)
      << line;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(Cli, an_output_folder_that_cannot_be_created_is_refused) {
  const std::string deck = std::string(OLSGD_INPUTS) + "/least_squares.yaml";
  std::ofstream(dir_ / "file") << "x";  // a file where a folder should go
  const std::string line = expect_input_error(run(
      deck + " --set run.steps=10 --set run.output_dir=" + (dir_ / "file" / "sub").string(), 2));
  EXPECT_NE(line.find("run.output_dir: cannot create"), std::string::npos) << line;
}

TEST_F(Cli, a_full_standard_output_is_a_failed_write_not_a_silent_loss) {
  const std::string cmd = std::string(OLSGD_BINARY) + " " + OLSGD_INPUTS +
                          "/least_squares.yaml --set run.steps=20 --set data.samples=256 "
                          "--set run.output_dir=" +
                          (dir_ / "out").string() + " >/dev/full 2>" + (dir_ / "err").string();
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const auto l = lines(slurp(dir_ / "err"));
  ASSERT_EQ(l.size(), 1u) << slurp(dir_ / "err");
  EXPECT_EQ(l[0], "olsgd: error: standard output: write failed: No space left on device");
}

// A reader that goes away (olsgd ... | head) is a failed write too: exit 1 and the summary
// written, not a silent death by SIGPIPE (exit 141).
TEST_F(Cli, a_closed_pipe_on_standard_output_is_a_failed_write) {
  const std::string cmd = "sh -c '" + std::string(OLSGD_BINARY) + " " + OLSGD_INPUTS +
                          "/least_squares.yaml --set run.steps=20 --set data.samples=256 "
                          "--set run.progress=false --set run.output_dir=" +
                          (dir_ / "out").string() + " 2>" + (dir_ / "err").string() +
                          "; echo $? >" + (dir_ / "code").string() + "' | true";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_EQ(slurp(dir_ / "code"), "1\n");
  const auto l = lines(slurp(dir_ / "err"));
  ASSERT_EQ(l.size(), 1u) << slurp(dir_ / "err");
  EXPECT_EQ(l[0], "olsgd: error: standard output: write failed: Broken pipe");
  EXPECT_TRUE(fs::exists(dir_ / "out" / "summary.json"));
}

// Drops the wall-clock columns (wall_s, t_compute, t_comm, t_wait) from a metrics CSV.
std::string without_clock_columns(const std::string& csv) {
  std::string out;
  for (const auto& line : lines(csv)) {
    std::vector<std::string> cells;
    std::istringstream in(line);
    for (std::string c; std::getline(in, c, ',');) cells.push_back(c);
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (i != 2 && i < 11) out += cells[i] + ",";
    out += "\n";
  }
  return out;
}

TEST_F(Cli, the_quickstart_deck_trains_the_mlp_on_fashion_mnist_on_two_ranks) {
  const fs::path out = dir_ / "quickstart";
  const Result r = run(std::string(OLSGD_INPUTS) +
                           "/quickstart.yaml --set run.steps=200 --set run.eval_every=200 "
                           "--set run.output_dir=" +
                           out.string(),
                       2);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("test accuracy"), std::string::npos) << r.out;
  // 200 steps of 64 images per rank already classify far better than chance (10%).
  const auto rows = lines(slurp(out / "metrics.csv"));
  const std::string last = rows.back();
  const double acc = std::stod(last.substr(last.rfind(',') + 1));
  EXPECT_GT(acc, 0.6) << last;
  // The summary names the figure command, and it turns the folder into a PNG.
  EXPECT_NE(r.out.find("figures: scripts/plot " + out.string()), std::string::npos) << r.out;
  const std::string plot = std::string(OLSGD_INPUTS) + "/../scripts/plot " + out.string() + " >" +
                           (dir_ / "plot.out").string() + " 2>&1";
  ASSERT_EQ(std::system(plot.c_str()), 0) << slurp(dir_ / "plot.out");
  EXPECT_EQ(slurp(out / "figures.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
}

// CIFAR-10 is not packaged here: a folder of files in its binary format (a label byte and
// 3x32x32 pixel bytes per record), `records` in each of data_batch_1..5 and `test_records` in
// test_batch, with labels cycling through the classes.
fs::path cifar10_folder(const fs::path& dir, int records, int test_records) {
  const fs::path data = dir / "cifar-10-batches-bin";
  fs::create_directories(data);
  auto batch = [&](const std::string& name, int n, int salt) {
    std::ofstream f(data / name, std::ios::binary);
    for (int r = 0; r < n; ++r) {
      f.put(static_cast<char>((r + salt) % 10));
      for (int i = 0; i < 3 * 32 * 32; ++i) f.put(static_cast<char>((i * 7 + r * 13 + salt) % 251));
    }
  };
  for (int b = 1; b <= 5; ++b) batch("data_batch_" + std::to_string(b) + ".bin", records, b);
  batch("test_batch.bin", test_records, 9);
  return data;
}

// The ResNet-18 deck, 2 steps on 2 ranks from such a folder.
TEST_F(Cli, the_resnet18_deck_trains_on_a_cifar10_format_folder) {
  const fs::path data = cifar10_folder(dir_, 4, 4);
  const fs::path out = dir_ / "resnet18";
  const Result r =
      run(std::string(OLSGD_INPUTS) + "/resnet18_cifar10.yaml --set data.path=" + data.string() +
              " --set run.steps=2 --set run.log_every=1 --set run.eval_every=2"
              " --set optimizer.batch=2 --set checkpoint.every=0"
              " --set run.progress=false --set run.output_dir=" +
              out.string(),
          2);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("on resnet18 (cifar10), 11183562 parameters"), std::string::npos) << r.out;
  const auto rows = lines(slurp(out / "metrics.csv"));
  ASSERT_EQ(rows.size(), 3u) << slurp(out / "metrics.csv");  // header, steps 1 and 2
}

// The paper's decks (inputs/paper): each checked on 16 ranks, the number of workers it was
// written for, and the Overlap one trained 2 steps on 4 ranks (label skew, crops and flips, the
// CIFAR reader) from a CIFAR-format folder.
TEST_F(Cli, the_paper_decks_check_on_16_ranks_and_train_on_a_cifar10_format_folder) {
  const fs::path data = cifar10_folder(dir_, 40, 8);
  const std::string set_path = " --set data.path=" + data.string();
  for (const char* deck : {"overlap_local_sgd", "local_sgd", "minibatch_sgd", "slowmo"}) {
    SCOPED_TRACE(deck);
    const Result r =
        run(std::string(OLSGD_INPUTS) + "/paper/" + deck + ".yaml --check" + set_path, 16);
    ASSERT_EQ(r.code, 0) << r.err;
    // 300 epochs of 50000 images over 16 workers at 128: 25 steps each.
    EXPECT_NE(r.out.find("OK for 16 ranks; 7500 steps of 25 per epoch"), std::string::npos)
        << r.out;
  }
  const fs::path out = dir_ / "paper";
  const Result r = run(std::string(OLSGD_INPUTS) + "/paper/overlap_local_sgd.yaml" + set_path +
                           " --set run.steps=2 --set run.log_every=1 --set optimizer.batch=2"
                           " --set optimizer.schedule=constant --set optimizer.warmup=0"
                           " --set checkpoint.every_epochs=0 --set run.progress=false"
                           " --set run.output_dir=" +
                           out.string(),
                       4);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("overlap_local_sgd_momentum on resnet18 (cifar10)"), std::string::npos)
      << r.out;
  EXPECT_EQ(lines(slurp(out / "metrics.csv")).size(), 3u);  // header, steps 1 and 2
}

TEST_F(Cli, least_squares_on_two_ranks_writes_outputs_and_repeats_bitwise) {
  const std::string deck = std::string(OLSGD_INPUTS) +
                           "/least_squares.yaml --set run.steps=300 --set run.log_every=50 "
                           "--set data.samples=8192";
  std::string csv[2];
  for (int i = 0; i < 2; ++i) {
    const fs::path out = dir_ / ("run" + std::to_string(i));
    const Result r = run(deck + " --set run.output_dir=" + out.string(), 2);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("F(xbar)-F*"), std::string::npos) << r.out;
    csv[i] = slurp(out / "metrics.csv");
    const std::string json = slurp(out / "summary.json");
    for (const char* key : {"\"kokkos_version\"", "\"git\"", "\"ranks\": 2", "\"train_s\"",
                            "\"payload_bytes\"", "\"run.steps\": \"300\"", "\"host\""})
      EXPECT_NE(json.find(key), std::string::npos) << key << "\n" << json;
    EXPECT_FALSE(fs::exists(out / "summary.json.tmp"));
  }
  const auto rows = lines(csv[0]);
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[0].rfind("step,epoch,wall_s,lr,loss,", 0), 0u) << rows[0];
  EXPECT_EQ(without_clock_columns(csv[0]), without_clock_columns(csv[1]));
}

TEST_F(Cli, timers_print_every_phase_and_the_summary_records_peak_memory) {
  const fs::path out = dir_ / "timers";
  const Result r = run(std::string(OLSGD_INPUTS) +
                           "/least_squares.yaml --set run.steps=64 --set data.samples=4096 "
                           "--set algorithm.tau=8 --timers --set run.output_dir=" +
                           out.string(),
                       2);
  ASSERT_EQ(r.code, 0) << r.err;
  // 64 steps, tau 8: compute = 64 gradients + 64 local steps (the 1/m of the 8 blocking
  // averages is folded into the step before each: no third pass).
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(olsgd::algo::compute +128 )"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(olsgd::comm::collective +8 )"))) << r.out;
  for (const char* region : {"olsgd::comm::wait", "olsgd::io::metrics", "olsgd::setup"})
    EXPECT_NE(r.out.find(region), std::string::npos) << region << "\n" << r.out;
  const std::string json = slurp(out / "summary.json");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(json, m, std::regex(R"("peak_rss_bytes_max_over_ranks": (\d+))")))
      << json;
  EXPECT_GT(std::stod(m[1]), 1e6);  // a real resident set, not a placeholder
  const double lifetime = std::stod(m[1]);
  ASSERT_TRUE(
      std::regex_search(json, m, std::regex(R"("training_peak_rss_bytes_max_over_ranks": (\d+))")))
      << json;
  EXPECT_GT(std::stod(m[1]), 1e6);       // the peak since the first step: what training holds,
  EXPECT_LE(std::stod(m[1]), lifetime);  // never above the whole run's
}

}  // namespace
