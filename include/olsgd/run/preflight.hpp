#pragma once
// The files a run will touch, looked at before it starts and without changing any: by
// `olsgd --check` (all of them) and by the run itself (its outputs, before it truncates one).
#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/types.hpp>

#include <string>
#include <vector>

namespace olsgd::run {

// Refuses (InputError) a run.output_dir that is a file, or that lies under one (nothing could
// create it). A missing folder passes: the run creates it.
void check_output_dir(const std::string& output_dir);

// Refuses (InputError) output files in `output_dir` that the run could not write: a folder,
// pipe or socket in the place of summary.json (or its temporary), metrics.csv or syncs.csv; a
// CSV file it may not write; and, when `resuming`, a CSV whose header is not this olsgd's
// (its rows could not be continued).
void check_output_files(const std::string& output_dir, bool resuming);

struct FilesVerdict {
  std::string restart;  // "resumes from <file> at step N", or "" (a fresh start)
  // The run's own warnings: the restart's keys changed with care, checkpoints a stop signal's
  // would land among (checkpoint.every 0); one line each.
  std::vector<std::string> warnings;
};

// Rank-local: every data file the deck names is a readable regular file; the checkpoint a
// restart continues (checkpoint.restart, or the newest in checkpoint.dir for `latest`) is
// sealed, not past run.steps (when `steps_known`) and written with a deck this one may
// continue, on any rank count (`ranks`: this run's), holding the parameters and the state's
// size that `need` (the run's estimate; null where the data decide the shape) gives;
// run.output_dir and checkpoint.dir hold nothing the run would refuse, and no other run holds
// run.output_dir now. Throws InputError with the message the run would give.
FilesVerdict check_files(const Config& config, bool steps_known, int ranks,
                         const MemoryEstimate* need);

}  // namespace olsgd::run
