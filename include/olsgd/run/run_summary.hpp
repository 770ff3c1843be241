#pragma once
// The machine-readable run report (summary.json): deck, build, platform, timings, traffic
// and final metrics. Written by rank 0 to a temporary name, then renamed into place.
#include <olsgd/core/config.hpp>
#include <olsgd/run/outcome.hpp>

#include <string>
#include <vector>

namespace olsgd::run {

// Facts gathered on all ranks that the summary reports (max over ranks where timed).
struct RunFacts {
  int ranks = 1;
  int threads_per_rank = 1;
  int mpi_thread_level = 0;
  double train_s_max = 0;     // slowest rank
  double peak_rss_bytes = 0;  // the largest resident set of any rank (getrusage)
  // The same from the first step on (data loading's transient excluded); NaN if unknown.
  double training_peak_rss_bytes = 0;
  std::vector<std::string> overrides;
};

// Before training: refuses (InputError) a folder where the summary or its temporary file will
// go, so a long run does not learn of it only at its end.
void check_run_summary_path(const std::string& path);

// After training: a failed write or rename is a RunError, and leaves no temporary file.
void write_run_summary(const std::string& path, const Config& config, const RunOutcome& outcome,
                       const RunFacts& facts);

}  // namespace olsgd::run
