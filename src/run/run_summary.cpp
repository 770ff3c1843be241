#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/core/signals.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/json.hpp>
#include <olsgd/run/run_summary.hpp>

#include <mpi.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace olsgd::run {
namespace {

using io::BuildInfo;
using io::JsonWriter;

const char* thread_level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "single";
    case MPI_THREAD_FUNNELED:
      return "funneled";
    case MPI_THREAD_SERIALIZED:
      return "serialized";
    case MPI_THREAD_MULTIPLE:
      return "multiple";
    default:
      return "unknown";
  }
}

void write_row(JsonWriter& j, const MetricsRow& r) {
  j.value("step", std::int64_t{r.step});
  j.value("epoch", r.epoch);
  j.value("loss", r.loss);
  j.value("full_loss", r.full_loss);
  j.value("suboptimality", r.suboptimality);
  j.value("dist_opt", r.dist_opt);
  j.value("consensus", r.consensus);
  j.value("test_loss", r.test_loss);
  j.value("test_acc", r.test_acc);
}

}  // namespace

void check_run_summary_path(const std::string& path) {
  for (const std::string& p : {path, path + ".tmp"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec))
      throw InputError(p, "a folder is in the way of the run summary (summary.json); move it");
    require_writable_file(p, "file for the run summary (summary.json); move it");
  }
}

void write_run_summary(const std::string& path, const Config& config, const RunOutcome& out,
                       const RunFacts& facts) {
  const std::string tmp = path + ".tmp";
  // Every failure removes the temporary file: a summary is whole or absent.
  const auto fail = [&](const std::string& why) {
    std::remove(tmp.c_str());
    throw RunError(path + ": " + why);
  };
  {
    std::ofstream os(tmp, std::ios::trunc);
    if (!os) fail(std::string("cannot write the run summary: ") + std::strerror(errno));
    JsonWriter j(os);
    const BuildInfo b = io::build_info();
    j.begin_object();
    j.begin_object("olsgd").value("version", b.version).value("git", b.git).end_object();

    j.begin_object("deck").value("path", config.source);
    j.begin_array("overrides");
    for (const auto& o : facts.overrides) j.value("", o);
    j.end_array();
    j.begin_object("values");
    for (const auto& [key, value] : config_values(config)) j.value(key, value);
    j.end_object().end_object();

    j.begin_object("build")
        .value("kokkos_version", b.kokkos_version)
        .value("default_execution_space", b.default_execution_space);
    j.begin_array("kokkos_backends");
    for (const auto& s : b.kokkos_backends) j.value("", s);
    j.end_array();
    j.value("kokkos_kernels_blas_tpl", b.blas_tpl)
        .value("compiler", b.compiler)
        .value("mpi_library", b.mpi_library)
        .value("hdf5", b.hdf5_version)
        .end_object();

    char host[256] = {};
    gethostname(host, sizeof host - 1);
    j.begin_object("platform")
        .value("host", std::string(host))
        .value("ranks", facts.ranks)
        .value("threads_per_rank", facts.threads_per_rank)
        .value("mpi_thread_level", thread_level_name(facts.mpi_thread_level));
    j.begin_object("env");
    for (const char* var : {"OMP_NUM_THREADS", "OMP_PROC_BIND", "OMP_PLACES"}) {
      const char* v = std::getenv(var);
      j.value(var, std::string(v ? v : ""));
    }
    j.end_object().end_object();

    j.begin_object("problem")
        .value("algorithm", out.algorithm)
        .value("params", std::int64_t{out.num_params})
        .value("samples_per_rank", std::int64_t{out.shard_samples})
        .value("optimum_known", out.optimum_known)
        .value("fstar", out.optimum_known ? out.fstar : kUnknown)
        .value("zeta_star", out.zeta_star)
        .end_object();

    // A run may resume from a checkpoint or stop early: rates count the steps this run did,
    // the traffic (restored from the checkpoint) every step so far.
    // What was estimated before allocating (largest rank), beside the peaks measured above.
    j.begin_object("memory_estimate")
        .value("total_bytes_per_rank", out.memory.total())
        .value("state_bytes", out.memory.state_bytes)
        .value("gradient_and_average_bytes", out.memory.work_bytes)
        .value("data_bytes", out.memory.data_bytes)
        .value("scratch_bytes", out.memory.scratch_bytes)
        .value("available_bytes_per_rank", out.memory_available)
        .end_object();

    j.begin_object("progress")
        .value("first_step", std::int64_t{out.first_step})
        .value("steps_done", std::int64_t{out.steps_done})
        .value("steps_requested", std::int64_t{out.steps})
        .value("steps_per_epoch", std::int64_t{out.steps_per_epoch})
        .value("completed", out.steps_done == out.steps)
        .value("stopped_by", out.stop_signal ? signal_name(out.stop_signal) : "")
        .value("diverged", out.diverged)
        .value("restarted_from", out.restarted_from)
        .value("last_checkpoint", out.last_checkpoint)
        .value("checkpoint_s", out.checkpoint_s)
        .end_object();

    const double steps = static_cast<double>(std::max<Index>(out.steps_done - out.first_step, 1));
    const double steps_total = static_cast<double>(std::max<Index>(out.steps_done, 1));
    j.begin_object("timings")
        .value("setup_s", out.setup_s)
        .value("train_s", out.train_s)
        .value("train_s_max_over_ranks", facts.train_s_max)
        .value("compute_s", out.timers.seconds(Phase::Compute))
        .value("comm_s", out.timers.seconds(Phase::Comm))
        .value("wait_s", out.timers.seconds(Phase::Wait))
        .value("metrics_s", out.timers.seconds(Phase::Metrics))
        .value("steps_per_s", steps / out.train_s)
        .value("samples_per_s_all_ranks",
               steps * config.optimizer.batch * facts.ranks / facts.train_s_max)
        .end_object();

    j.begin_object("traffic")
        .value("collectives", std::int64_t{out.traffic.calls})
        .value("payload_bytes", out.traffic.payload_bytes)
        .value("wire_bytes", out.traffic.wire_bytes)
        .value("payload_bytes_per_step", out.traffic.payload_bytes / steps_total)
        .value("peak_payload_bytes_in_one_step", out.peak_step_payload_bytes)
        .value("injected_delay_s", out.traffic.delay_s)
        .end_object();

    const SyncTotals& sy = out.syncs;
    j.begin_object("syncs")
        .value("count", std::int64_t{sy.count})
        .value("network_s_per_sync", out.network_s)
        .value("injected_delay_s_per_sync", sy.count ? sy.delay / sy.count : 0.0)
        .value("compute_s", sy.t_compute)
        .value("exposed_s", sy.t_exposed)
        .value("wait_s", sy.t_wait)
        .value("peer_wait_s", sy.t_peer)
        .value("network_exposed_s", sy.network_exposed())
        .value("mpi_late_s", out.waits.mpi_late_s)
        .value("staging_s", out.waits.staging_s)
        .value("network_s", sy.t_network)
        .value("hidden_frac", sy.hidden_frac())
        .value("round_budget_s", out.round_budget_s)
        .begin_array("local_steps_per_round_by_rank");
    for (double total : sy.local_steps) j.value("", total / static_cast<double>(sy.timed_rounds));
    j.end_array()
        .value("progress",
               out.progress_thread
                   ? "thread"
                   : "MPI_Test every " + std::to_string(config.comm.progress_every) + " steps")
        .end_object();

    // What the algorithm needs in theory (its flat state) beside what a rank really held at
    // its peak (the state, the data shard, model scratch, MPI and Kokkos), over the whole run
    // and from the first step on (loading's transient excluded).
    j.begin_object("memory")
        .value("state_bytes", out.state_bytes)
        .value("peak_rss_bytes_max_over_ranks", facts.peak_rss_bytes)
        .value("training_peak_rss_bytes_max_over_ranks", facts.training_peak_rss_bytes)
        .end_object();

    j.begin_object("final");
    write_row(j, out.last);
    j.end_object();
    j.end_object();
    if (!os.flush()) fail("cannot write the run summary (disk full?)");
    os.close();
    if (os.fail()) fail("cannot close the run summary (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    fail(std::string("cannot rename the run summary into place: ") + std::strerror(errno));
}

}  // namespace olsgd::run
