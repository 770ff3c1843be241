// Bad-input and fault cases: output paths, failed writes (a full disk is /dev/full; a file
// size limit is ulimit -f), a folder another run holds, and training that diverges.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "bad_input.hpp"

namespace olsgd::bad_input {
namespace {

// The tiny run whose output file `name` is /dev/full, with extra arguments.
Case::Prepare full_disk_at(std::string name, std::string extra = "") {
  return [name, extra](const fs::path& dir) {
    fs::create_directories(dir / "out");
    fs::create_symlink("/dev/full", dir / "out" / name);
    return tiny_run(dir) + " " + extra;
  };
}

void expect_no_checkpoint_past(const fs::path& folder, int step) {
  for (const auto& e : fs::directory_iterator(folder)) {
    const std::string f = e.path().filename().string();
    ASSERT_EQ(f.rfind("ckpt-", 0), 0u) << f;
    EXPECT_LE(std::atoi(f.c_str() + 5), step) << f << ": a checkpoint of a diverged state";
  }
}

// Runs the command with a 16 KiB file system mounted over {dir}/out (root and unshare(1)).
const char* const kSmallDisk =
    "unshare -m sh -c 'mount -t tmpfs -o size=16k tmpfs {dir}/out && exec \"$0\" \"$@\"'";

// An output folder this (plain) user may read but not write, run with `extra`: refused for its
// lock file, and nothing written.
Case not_writable(std::string name, std::string extra) {
  return with_prefix({std::move(name),
                      [extra](const fs::path& dir) {
                        fs::create_directories(dir / "out");
                        fs::permissions(dir / "out", fs::perms::owner_read | fs::perms::owner_exec);
                        return tiny_run(dir) + extra;
                      },
                      "out: run.output_dir: cannot create its lock file: Permission denied", 2, 2,
                      [](const fs::path& dir, const Result&) {
                        fs::permissions(dir / "out", fs::perms::owner_all);
                        EXPECT_TRUE(fs::is_empty(dir / "out"));
                      }},
                     as_plain_user());
}

// A long run holds the output folder; this one (the tiny run with `extra`) must refuse before
// touching its files.
Case held_by_another_run(std::string name, std::string extra) {
  return {std::move(name),
          [extra](const fs::path& dir) {
            const std::string holder = std::string(OLSGD_BINARY) + " " + tiny_run(dir) +
                                       " --set run.steps=100000000 >/dev/null 2>&1 & echo $! > " +
                                       (dir / "holder.pid").string();
            EXPECT_EQ(std::system(holder.c_str()), 0);
            const fs::path lock = dir / "out" / ".olsgd.lock";
            for (int i = 0; i < 600 && !(fs::exists(lock) && fs::file_size(lock) > 0); ++i)
              std::this_thread::sleep_for(std::chrono::milliseconds(100));
            return tiny_run(dir) + extra;
          },
          "out: run.output_dir: in use by another olsgd run \\(pid [0-9]+ on ",
          2,
          2,
          [](const fs::path& dir, const Result&) {
            const std::string pid = read_file(dir / "holder.pid");
            EXPECT_EQ(std::system(("kill " + pid).c_str()), 0) << "the holder ended early";
          }};
}

}  // namespace

std::vector<Case> output_cases() {
  return {
      {"output_dir_is_a_file",
       [](const fs::path& dir) {
         write_file(dir / "file", "x");
         return tiny_run(dir) + " --set run.output_dir=" + (dir / "file" / "sub").string();
       },
       "/sub: run\\.output_dir: cannot create: .*/file is a file, not a folder$", 2, 2},
      // --check sees it too, and the folder itself being a file.
      {"check_sees_an_output_dir_that_is_a_file",
       [](const fs::path& dir) {
         write_file(dir / "file", "x");
         return tiny_run(dir) + " --check --set run.output_dir=" + (dir / "file").string();
       },
       "/file: run\\.output_dir: not a folder \\(a file of that name is in the way\\)$"},
      {"metrics_csv_is_a_folder",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out" / "metrics.csv");
         return tiny_run(dir);
       },
       "out/metrics\\.csv: is a folder, not a CSV file", 2, 2},
      // Every output file is checked before any is truncated: the last run's metrics stay.
      {"syncs_csv_is_a_folder_and_metrics_csv_is_kept",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out" / "syncs.csv");
         write_file(dir / "out" / "metrics.csv", "the last run's rows\n");
         return tiny_run(dir);
       },
       "out/syncs\\.csv: is a folder, not a CSV file", 2, 2,
       [](const fs::path& dir, const Result&) {
         EXPECT_EQ(read_file(dir / "out" / "metrics.csv"), "the last run's rows\n");
       }},
      // A pipe nobody reads would block the run forever at open.
      {"metrics_csv_is_a_pipe",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out");
         make_fifo(dir / "out" / "metrics.csv");
         return tiny_run(dir);
       },
       "out/metrics\\.csv: is a pipe or socket, not a CSV file", 2, 2},
      {"summary_tmp_is_a_pipe",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out");
         make_fifo(dir / "out" / "summary.json.tmp");
         return tiny_run(dir);
       },
       "out/summary\\.json\\.tmp: is a pipe or socket, not a file "
       "for the run summary \\(summary\\.json\\); move it$",
       2, 2},
      // Found before training, not when the summary is written at the end.
      {"summary_is_a_folder",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out" / "summary.json" / "keep");
         return tiny_run(dir);
       },
       "out/summary\\.json: a folder is in the way of the run summary \\(summary\\.json\\); "
       "move it$",
       2, 2,
       [](const fs::path& dir, const Result&) {
         EXPECT_TRUE(fs::exists(dir / "out" / "summary.json" / "keep")) << "the folder is kept";
         EXPECT_FALSE(fs::exists(dir / "out" / "metrics.csv")) << "a refused run writes nothing";
       }},
      {"summary_tmp_is_a_folder",
       [](const fs::path& dir) {
         fs::create_directories(dir / "out" / "summary.json.tmp");
         return tiny_run(dir);
       },
       "out/summary\\.json\\.tmp: a folder is in the way of the run summary", 2, 2},
      not_writable("output_dir_not_writable", ""),
      not_writable("check_sees_an_output_dir_it_cannot_write", " --check"),
      {"metrics_on_a_full_disk", full_disk_at("metrics.csv"),
       "out/metrics.csv: write failed: No space left on device", 1, 2},
      {"syncs_on_a_full_disk", full_disk_at("syncs.csv"),
       "out/syncs.csv: write failed: No space left on device", 1, 2},
      {"summary_on_a_full_disk", full_disk_at("summary.json.tmp"),
       "out/summary.json: cannot write the run summary", 1, 2,
       [](const fs::path& dir, const Result&) {
         EXPECT_FALSE(fs::exists(dir / "out" / "summary.json")) << "no half-written summary";
         EXPECT_FALSE(fs::exists(fs::symlink_status(dir / "out" / "summary.json.tmp")))
             << "the temporary file is removed";
       }},
      // A real full disk: a 16 KiB tmpfs over the output folder, in a mount namespace of the
      // run's own (it vanishes with the run).
      with_prefix({"output_folder_fills_up",
                   [](const fs::path& dir) {
                     fs::create_directories(dir / "out");
                     return tiny_run(dir) + " --set run.log_every=1 --set run.steps=400";
                   },
                   "out/(metrics|syncs).csv: write failed: No space left on device", 1},
                  kSmallDisk),
      held_by_another_run("output_dir_held_by_another_run", ""),
      held_by_another_run("check_sees_an_output_dir_held_by_another_run", " --check"),
      {"training_diverges",
       [](const fs::path& dir) { return tiny_run(dir) + " --set optimizer.lr=1e30"; },
       "training diverged at step 10: .* is (inf|nan) \\(lower optimizer.lr", 3, 2,
       [](const fs::path& dir, const Result&) {
         EXPECT_NE(read_file(dir / "out" / "summary.json").find("\"diverged\": \"training"),
                   std::string::npos);
       }},
      {"a_diverged_state_never_replaces_a_checkpoint",
       [](const fs::path& dir) {
         return tiny_run(dir) +
                " --set run.steps=400 --set run.log_every=400 --set checkpoint.every=20 "
                "--set checkpoint.keep_last=1 --set optimizer.lr=50";
       },
       "training diverged before step [0-9]+: [0-9]+ non-finite numbers in the state; no "
       "checkpoint written",
       3, 0,
       [](const fs::path& dir, const Result& r) {
         const fs::path ck = dir / "out" / "checkpoints";
         ASSERT_TRUE(fs::exists(ck));
         EXPECT_FALSE(fs::is_empty(ck)) << "the last good checkpoint is kept";
         const auto at = r.err.find("before step ");
         expect_no_checkpoint_past(ck, std::atoi(r.err.c_str() + at + 12) - 20);
       }},
  };
}

}  // namespace olsgd::bad_input
