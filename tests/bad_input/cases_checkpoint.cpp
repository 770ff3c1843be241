// Bad-input cases: checkpoint. Most first write a good checkpoint with the tiny run, then
// restart from it with a deck or rank count that must be refused, or with a system call of the
// next checkpoint write failing; `after` checks that the good checkpoint is still there, byte
// for byte.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <stdexcept>

#include "bad_input.hpp"

namespace olsgd::bad_input {
namespace {

fs::path good_path(const fs::path& dir) {
  return dir / "out" / "checkpoints" / "ckpt-20.h5";
}

// `run` (40 steps), checkpointing at step 20, on `ranks`; keeps the
// checkpoint's bytes in `bytes`.
std::string good_checkpoint(const fs::path& dir, const std::string& run, int ranks,
                            std::string& bytes) {
  const Result r =
      run_olsgd(run + " --set checkpoint.every=20 --set run.progress=false", dir, ranks);
  if (r.code != 0) throw std::runtime_error("the good run failed: " + r.err);
  bytes = read_file(good_path(dir));
  if (bytes.empty()) throw std::runtime_error("the good run wrote no checkpoint");
  return good_path(dir).string();
}

// A tiny run on 512 Fashion-MNIST images (the model is set by the case).
std::string image_run(const fs::path& dir) {
  return inputs("logistic_fashion.yaml") +
         " --set run.steps=40 --set run.log_every=10 --set run.eval_every=0 --set data.limit=512"
         " --set run.progress=false --set run.output_dir=" +
         (dir / "out").string();
}

// A case that restarts a good checkpoint (written by `base` with `good_sets` on `good_ranks`)
// with `restart_sets` on 2 ranks; the good file must survive unchanged and no .tmp appear.
Case refused_restart(std::string name, std::string good_sets, std::string restart_sets,
                     std::string message, int good_ranks = 2,
                     std::string (*base)(const fs::path&) = &tiny_run) {
  auto bytes = std::make_shared<std::string>();
  return Case(
      std::move(name),
      [=](const fs::path& dir) {
        const std::string path = good_checkpoint(dir, base(dir) + good_sets, good_ranks, *bytes);
        return base(dir) + " --set run.progress=false --restart " + path + restart_sets;
      },
      std::move(message), 2, 2,
      [bytes](const fs::path& dir, const Result&) {
        if (read_file(good_path(dir)) != *bytes)
          throw std::runtime_error("the good checkpoint changed or vanished");
        if (fs::exists(good_path(dir).string() + ".tmp"))
          throw std::runtime_error("a .tmp was left");
      });
}

// A fresh run with `sets` into the folder of the good checkpoints (ckpt-20, ckpt-40): refused
// with `message`, the good checkpoint kept byte for byte.
Case refused_fresh_run(std::string name, std::string sets, std::string message) {
  auto bytes = std::make_shared<std::string>();
  return Case(
      std::move(name),
      [=](const fs::path& dir) {
        good_checkpoint(dir, tiny_run(dir), 2, *bytes);
        return tiny_run(dir) + sets;
      },
      std::move(message), 2, 2,
      [bytes](const fs::path& dir, const Result&) {
        if (read_file(good_path(dir)) != *bytes)
          throw std::runtime_error("the good checkpoint changed or vanished");
      });
}

// A restart from the good checkpoints (ckpt-20, ckpt-40) whose next checkpoint, ckpt-60, meets
// `call` failing on `suffix`: exit 1 with `message`, and every file there before kept byte for
// byte, with no .tmp left.
Case failed_write(std::string name, const std::string& call, const std::string& suffix,
                  std::string message, int after = 0) {
  auto before = std::make_shared<std::map<std::string, std::string>>();
  const auto folder = [](const fs::path& dir) { return dir / "out" / "checkpoints"; };
  return with_io_fault(
      Case(
          std::move(name),
          [=](const fs::path& dir) {
            std::string bytes;
            good_checkpoint(dir, tiny_run(dir), 2, bytes);
            for (const auto& e : fs::directory_iterator(folder(dir)))
              (*before)[e.path().filename().string()] = read_file(e.path());
            if (before->size() != 2) throw std::runtime_error("expected ckpt-20 and ckpt-40");
            return tiny_run(dir) + " --set run.steps=60 --set checkpoint.every=20 --restart latest";
          },
          std::move(message), 1, 2,
          [=](const fs::path& dir, const Result&) {
            for (const auto& [file, bytes] : *before)
              if (read_file(folder(dir) / file) != bytes)
                throw std::runtime_error(file + " changed or vanished");
            EXPECT_FALSE(fs::exists(folder(dir) / "ckpt-60.h5.tmp")) << "a .tmp was left";
          }),
      call, suffix, after);
}

// Refusals each met twice: by the run, and by --check before it.
const char* const kEarlierRun =
    R"(checkpoint\.dir .*/out/checkpoints: holds ckpt-40\.h5 from an earlier run, and this run )"
    R"(starts fresh: continue that run with --restart latest, or move those checkpoints away or )"
    R"(set another checkpoint\.dir \(this run's would mix with them\)$)";
const char* const kMomentumRemoved =
    R"(ckpt-20\.h5: checkpoint has momentum buffers \(optimizer\.momentum 0\.9\), )"
    R"(the deck has optimizer\.momentum=0; restart with optimizer\.momentum=0\.9$)";
const char* const kSeedChanged =
    R"(ckpt-20\.h5: run\.seed: the checkpoint was written with 42, this run has 7; restart with )"
    R"(the same value$)";

// The message of a checkpoint ckpt-60 not written because of `why` (a regex), ckpt-40 kept.
std::string ckpt_60_not_written(const std::string& why) {
  return R"(ckpt-60\.h5: checkpoint not written: )" + why +
         R"(; the run stops here, and .*/ckpt-40\.h5 is still the latest complete checkpoint$)";
}

}  // namespace

std::vector<Case> checkpoint_cases() {
  return {
      // Checkpoints past where a periodically checkpointing run starts: another run's, or the
      // rest of the trajectory a restart abandons.
      refused_fresh_run("ckpt_folder_of_an_earlier_run", " --set checkpoint.every=20", kEarlierRun),
      // --check looks at the checkpoints as the run would: the same refusals, nothing touched.
      refused_fresh_run("check_sees_a_folder_of_an_earlier_run",
                        " --set checkpoint.every=20 --check", kEarlierRun),
      refused_restart("check_sees_a_changed_seed", "", " --set run.seed=7 --check", kSeedChanged),
      refused_restart("check_sees_a_restart_past_the_end", "", " --set run.steps=10 --check",
                      R"(ckpt-20\.h5: checkpoint at step 20 is past run\.steps \(10\)$)"),
      // The state's size, where the deck gives the shape: a segment switched off or on, by its
      // key, as the run names it.
      refused_restart("check_sees_momentum_removed", " --set optimizer.momentum=0.9", " --check",
                      kMomentumRemoved),
      refused_restart("check_sees_momentum_added", "", " --set optimizer.momentum=0.9 --check",
                      R"(ckpt-20\.h5: checkpoint has no momentum buffers \(optimizer\.momentum )"
                      R"(0\), the deck has optimizer\.momentum=0\.9; restart with )"
                      R"(optimizer\.momentum=0$)"),
      // A restart continues metrics.csv; one whose header is not this olsgd's is refused, not
      // emptied of its rows.
      {"ckpt_metrics_csv_header_changed",
       [](const fs::path& dir) {
         std::string bytes;
         good_checkpoint(dir, tiny_run(dir), 2, bytes);
         const fs::path metrics = dir / "out" / "metrics.csv";
         const std::string csv = read_file(metrics);
         write_file(metrics, "edited," + csv);
         return tiny_run(dir) + " --restart latest";
       },
       R"(out/metrics\.csv: its header is not the one this olsgd writes \(another version )"
       R"(wrote it, or it was edited\), so its rows cannot be continued; move it away to )"
       R"(continue the run here$)",
       2, 2,
       [](const fs::path& dir, const Result&) {
         EXPECT_EQ(read_file(dir / "out" / "metrics.csv").rfind("edited,step,", 0), 0u);
       }},
      {"ckpt_restart_is_a_pipe",
       [](const fs::path& dir) {
         make_fifo(dir / "c.h5");
         return tiny_run(dir) + " --restart " + (dir / "c.h5").string();
       },
       R"(c\.h5: not a regular file \(a pipe, socket or device\), not a checkpoint \(an HDF5 )"
       R"(file\)$)",
       2, 2},
      refused_restart("ckpt_folder_past_the_restart", "", " --set checkpoint.every=20",
                      R"(checkpoint\.dir .*/out/checkpoints: holds ckpt-40\.h5, past this run's )"
                      R"(restart at step 20: move those checkpoints away or set another )"
                      R"(checkpoint\.dir \(this run's would mix with them\)$)"),
      refused_restart("ckpt_momentum_removed", " --set optimizer.momentum=0.9", "",
                      kMomentumRemoved),
      refused_restart("ckpt_seed_changed", "", " --set run.seed=7", kSeedChanged),
      refused_restart("ckpt_samples_changed", "", " --set data.samples=1024",
                      R"(ckpt-20\.h5: data\.samples: the checkpoint was written with 512, this )"
                      R"(run has 1024; restart with the same value$)"),
      refused_restart("ckpt_partition_changed", "", " --set data.partition=contiguous",
                      R"(ckpt-20\.h5: data\.partition: the checkpoint was written with iid, this )"
                      R"(run has contiguous; restart with the same value$)"),
      // A checkpoint of one network restarted as another: the key that differs is named.
      refused_restart("ckpt_another_network", " --set model.kind=lenet5",
                      " --set model.kind=resnet20",
                      R"(ckpt-20\.h5: model\.kind: the checkpoint was written with lenet5, this )"
                      R"(run has resnet20; restart with the same value$)",
                      2, &image_run),
      refused_restart(
          "ckpt_other_layers",
          " --set model.kind=cnn --set 'model.layers=conv 4 k=3 p=1, bn, relu, maxpool 2'",
          " --set model.kind=cnn --set 'model.layers=conv 4 k=3 p=1, relu, maxpool 2'",
          R"(ckpt-20\.h5: model\.layers: the checkpoint was written with conv 4 k=3 )"
          R"(p=1, bn, relu, maxpool 2, this run has conv 4 k=3 p=1, relu, maxpool 2; )"
          R"(restart with the same value$)",
          2, &image_run),
      {"ckpt_truncated",
       [](const fs::path& dir) {
         std::string bytes;
         good_checkpoint(dir, tiny_run(dir), 2, bytes);
         const fs::path cut = dir / "truncated.h5";
         write_file(cut, bytes.substr(0, bytes.size() / 2));
         return tiny_run(dir) + " --restart " + cut.string();
       },
       R"(truncated\.h5: truncated checkpoint: \d+ of \d+ bytes$)", 2, 2},
      {"check_sees_a_damaged_checkpoint",
       [](const fs::path& dir) {
         write_file(dir / "cut.h5", std::string(600, 'x'));
         return tiny_run(dir) + " --check --restart " + (dir / "cut.h5").string();
       },
       R"(cut\.h5: not an olsgd checkpoint \(no seal; truncated, corrupted or another file\)$)"},
      {"ckpt_random_bytes",
       [](const fs::path& dir) {
         std::string noise(4096, '\0');
         unsigned x = 12345;
         for (char& c : noise) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
         write_file(dir / "random.h5", noise);
         return tiny_run(dir) + " --restart " + (dir / "random.h5").string();
       },
       R"(random\.h5: not an olsgd checkpoint \(no seal; truncated, corrupted or another file\)$)",
       2, 2},
      {"ckpt_missing_file",
       [](const fs::path& dir) {
         return tiny_run(dir) + " --restart " + (dir / "none.h5").string();
       },
       R"(none\.h5: checkpoint not found$)", 2, 2},
      {"ckpt_dir_is_a_file",
       [](const fs::path& dir) {
         write_file(dir / "ck", "not a folder");
         return tiny_run(dir) + " --restart latest --set checkpoint.dir=" + (dir / "ck").string();
       },
       R"(checkpoint\.dir .*/ck: not a folder \(a file of that name is in the way\)$)", 2, 2},
      // A checkpoint folder nobody may list: refused before training, its checkpoint kept.
      with_prefix({"ckpt_dir_unreadable",
                   [](const fs::path& dir) {
                     std::string bytes;
                     good_checkpoint(dir, tiny_run(dir), 2, bytes);
                     fs::permissions(dir / "out" / "checkpoints", fs::perms::none);
                     return tiny_run(dir) + " --restart latest";
                   },
                   R"(checkpoint\.dir .*/checkpoints: cannot read it: Permission denied$)", 2, 2,
                   [](const fs::path& dir, const Result&) {
                     fs::permissions(dir / "out" / "checkpoints", fs::perms::owner_all);
                     if (!fs::exists(good_path(dir)))
                       throw std::runtime_error("the good checkpoint vanished");
                   }},
                  as_plain_user()),
      // A checkpoint file nobody may read: refused, and kept.
      with_prefix({"ckpt_file_unreadable",
                   [](const fs::path& dir) {
                     std::string bytes;
                     const std::string path = good_checkpoint(dir, tiny_run(dir), 2, bytes);
                     fs::permissions(path, fs::perms::none);
                     return tiny_run(dir) + " --restart " + path;
                   },
                   R"(ckpt-20\.h5: cannot open the checkpoint$)", 2, 2,
                   [](const fs::path& dir, const Result&) {
                     fs::permissions(good_path(dir), fs::perms::owner_read);
                     if (!fs::exists(good_path(dir)))
                       throw std::runtime_error("the good checkpoint vanished");
                   }},
                  as_plain_user()),
      // checkpoint.every with a folder that cannot take checkpoints: refused before the first
      // step (no metrics written), not at the first checkpoint.
      {"ckpt_dir_cannot_be_created",
       [](const fs::path& dir) {
         write_file(dir / "file", "x");
         return tiny_run(dir) +
                " --set checkpoint.every=10 --set checkpoint.dir=" + (dir / "file" / "ck").string();
       },
       R"(checkpoint\.dir .*/file/ck: cannot create: .*/file is a file, not a folder$)", 2, 2,
       [](const fs::path& dir, const Result&) {
         if (fs::exists(dir / "out" / "metrics.csv") && fs::file_size(dir / "out" / "metrics.csv"))
           throw std::runtime_error("the run trained before refusing its checkpoint folder");
       }},
      with_prefix({"ckpt_dir_not_writable",
                   [](const fs::path& dir) {
                     fs::create_directories(dir / "ck");
                     fs::permissions(dir / "ck", fs::perms::owner_read | fs::perms::owner_exec);
                     return tiny_run(dir) + " --set checkpoint.every=10 --set checkpoint.dir=" +
                            (dir / "ck").string();
                   },
                   R"(checkpoint\.dir .*/ck: cannot write in it: Permission denied$)", 2, 2,
                   [](const fs::path& dir, const Result&) {
                     fs::permissions(dir / "ck", fs::perms::owner_all);
                     if (!fs::is_empty(dir / "ck"))
                       throw std::runtime_error("the refused run left a file in checkpoint.dir");
                   }},
                  as_plain_user()),
      // Each system call of a checkpoint write failing (an I/O error, the same on any disk):
      // one line, exit 1, and the checkpoints before it kept.
      failed_write(
          "ckpt_write_fails", "pwrite", "ckpt-60.h5.tmp",
          ckpt_60_not_written(R"(writing .*/ckpt-60\.h5\.tmp failed: Input/output error)")),
      // Past the HDF5 records, at a rank's row (the first writes copy HDF5's layout).
      failed_write("ckpt_write_fails_at_a_row", "pwrite", "ckpt-60.h5.tmp",
                   ckpt_60_not_written(R"(writing .*/ckpt-60\.h5\.tmp failed: Input/output error)"),
                   2),
      failed_write("ckpt_reserve_fails", "fallocate", "ckpt-60.h5.tmp",
                   ckpt_60_not_written(R"(reserving \d+ KiB for it failed: Input/output error)")),
      failed_write(
          "ckpt_close_fails", "close", "ckpt-60.h5.tmp",
          ckpt_60_not_written(R"(closing .*/ckpt-60\.h5\.tmp failed: Input/output error)")),
      failed_write("ckpt_seal_fails", "fopen", "ckpt-60.h5.tmp",
                   ckpt_60_not_written(
                       R"(cannot reopen .*/ckpt-60\.h5\.tmp to seal it: Input/output error)")),
      failed_write(
          "ckpt_fsync_fails", "fsync", "ckpt-60.h5.tmp",
          ckpt_60_not_written(R"(fsync of .*/ckpt-60\.h5\.tmp failed: Input/output error)")),
      failed_write("ckpt_rename_fails", "rename", "ckpt-60.h5.tmp",
                   ckpt_60_not_written(
                       R"(cannot rename .*/ckpt-60\.h5\.tmp to ckpt-60\.h5: Input/output error)")),
      // After the rename: the new file is complete but may not survive a crash, so the run
      // stops and removes none of the older ones.
      failed_write("ckpt_folder_sync_fails", "fsync", "/checkpoints",
                   R"(ckpt-60\.h5: checkpoint written, but a crash may lose it: fsync of )"
                   R"(.*/checkpoints failed: Input/output error; the run stops here, and )"
                   R"(.*/ckpt-40\.h5 is kept$)"),
  };
}

}  // namespace olsgd::bad_input
