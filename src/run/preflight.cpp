#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/data/loader.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/io/csv_writer.hpp>
#include <olsgd/io/metrics_csv.hpp>
#include <olsgd/io/output_lock.hpp>
#include <olsgd/run/preflight.hpp>
#include <olsgd/run/run_summary.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "checkpointer.hpp"

namespace olsgd::run {

void check_output_dir(const std::string& output_dir) {
  if (const std::string problem = folder_problem(output_dir); !problem.empty())
    throw InputError(output_dir, "run.output_dir: " + problem);
}

void check_output_files(const std::string& output_dir, bool resuming) {
  check_run_summary_path(output_dir + "/summary.json");
  io::CsvWriter::check_target(output_dir + "/metrics.csv", io::MetricsCsv::header(), resuming);
  io::CsvWriter::check_target(output_dir + "/syncs.csv", io::SyncsCsv::header(), resuming);
}

FilesVerdict check_files(const Config& config, bool steps_known, int ranks,
                         const MemoryEstimate* need) {
  namespace fs = std::filesystem;
  for (const DataFile& file : data_files(config.data)) {
    require_regular_file(file.path, file.kind);
    std::FILE* f = std::fopen(file.path.c_str(), "rb");
    if (!f) throw InputError(file.path, std::string("cannot open: ") + std::strerror(errno));
    std::fclose(f);
  }

  FilesVerdict verdict;
  const CheckpointConfig& ck = config.checkpoint;
  std::string path = ck.restart;
  if (path == "latest") path = io::latest_checkpoint(ck.dir);  // "": none yet, a fresh start
  Index resumed = 0;
  if (!path.empty()) {
    io::CheckpointInfo expect = deck_checkpoint_info(config);
    if (need) {
      expect.num_params = static_cast<Index>(need->params);
      expect.state_values = static_cast<Index>(need->state_bytes / need->scalar_bytes);
    }
    io::CheckpointInfo info = io::inspect_checkpoint(path, expect);
    if (steps_known) refuse_past_the_end(path, info.step, config.run.steps);
    resumed = info.step;
    verdict.restart = "resumes from " + path + " at step " + std::to_string(info.step);
    if (info.ranks != ranks)
      verdict.restart += " (written on " + plural(info.ranks, "rank") + ": resharded)";
    verdict.warnings = std::move(info.warnings);
  }
  if (ck.every > 0 || ck.every_epochs > 0) {
    if (const std::string problem = io::checkpoint_dir_problem(ck.dir, resumed); !problem.empty())
      throw InputError("", problem);
  } else if (std::string w = stop_checkpoint_warning(config, resumed); !w.empty()) {
    verdict.warnings.push_back(std::move(w));
  }

  const std::string& out = config.run.output_dir;
  check_output_dir(out);
  std::error_code ec;
  if (fs::is_directory(out, ec)) {
    io::OutputLock::check(out);
    check_output_files(out, !path.empty());
  }
  return verdict;
}

}  // namespace olsgd::run
