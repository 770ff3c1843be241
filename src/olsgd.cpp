// The olsgd driver: olsgd DECK [--set key=value ...] [--check] [--help] [--version]
// Parses and validates the deck on every rank, trains, writes metrics.csv, syncs.csv and
// summary.json.
// Bad input of any kind ends with one line on stderr and exit code 2.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/comm/environment.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/core/memory_usage.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/core/signals.hpp>
#include <olsgd/deck/deck.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/checkpoint.hpp>
#include <olsgd/io/metrics_csv.hpp>
#include <olsgd/io/output_lock.hpp>
#include <olsgd/io/progress.hpp>
#include <olsgd/run/preflight.hpp>
#include <olsgd/run/run_summary.hpp>
#include <olsgd/run/trainer.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: olsgd DECK [--set key=value ...] [--restart CHECKPOINT] [--check] [--timers]\n"
    "       olsgd --help | --version\n"
    "\n"
    "Trains the model a YAML deck describes with distributed SGD over the MPI ranks it is\n"
    "launched on (e.g. mpirun -np 2 olsgd inputs/quickstart.yaml), writing\n"
    "metrics.csv, syncs.csv and summary.json into <run.output_dir>.\n"
    "\n"
    "  --set key=value  override a deck key (repeatable), e.g. --set algorithm.tau=4\n"
    "  --restart FILE   continue from an HDF5 checkpoint (or 'latest' in checkpoint.dir);\n"
    "                   the same as --set checkpoint.restart=FILE\n"
    "  --check          validate the deck, and the files it names, for this rank count and\n"
    "                   exit (nothing is written)\n"
    "  --timers         print each phase (Kokkos Tools region): calls, total, mean\n"
    "  --help           this text and every deck key with its default\n"
    "  --version        build information\n"
    "Kokkos options (--kokkos-...) are passed to Kokkos.\n"
    "SIGTERM, SIGINT or SIGUSR1 to the olsgd processes checkpoint the run within two\n"
    "checkpoint.signal_every intervals and end it with exit 0 on every rank. Through a launcher\n"
    "send SIGUSR1 (mpirun and srun forward it, then exit 0): on SIGTERM or SIGINT mpirun exits 1\n"
    "and kills the ranks after 2 x odls_base_sigkill_timeout s; srun kills them on SIGTERM.\n"
    "Exit codes: 0 success, 2 bad input (deck, command line, files), 3 training diverged\n"
    "(summary.json written, no checkpoint of the diverged state), 1 other failures (a\n"
    "failed write: full disk, file size limit).\n"
    "\n"
    "Deck keys (section.key, default, meaning):\n";

struct CommandLine {
  std::string deck;
  std::vector<std::string> overrides;
  bool check = false, help = false, version = false, timers = false;
};

CommandLine parse_command_line(int argc, char** argv) {
  CommandLine cl;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--kokkos-", 0) == 0) continue;  // Kokkos' own, read by Kokkos::initialize
    if (a == "--help" || a == "-h")
      cl.help = true;
    else if (a == "--version")
      cl.version = true;
    else if (a == "--timers")
      cl.timers = true;
    else if (a == "--check")
      cl.check = true;
    else if (a == "--set") {
      if (i + 1 >= argc) throw olsgd::InputError("command line", "--set needs key=value");
      cl.overrides.push_back(argv[++i]);
    } else if (a.rfind("--set=", 0) == 0) {
      cl.overrides.push_back(a.substr(6));
    } else if (a == "--restart") {
      if (i + 1 >= argc) throw olsgd::InputError("command line", "--restart needs a checkpoint");
      cl.overrides.push_back(std::string("checkpoint.restart=") + argv[++i]);
    } else if (!a.empty() && a[0] == '-')
      throw olsgd::InputError("command line", "unknown option '" + a + "' (see --help)");
    else if (cl.deck.empty())
      cl.deck = a;
    else
      throw olsgd::InputError("command line",
                              "more than one deck given ('" + cl.deck + "', '" + a + "')");
  }
  if (cl.deck.empty() && !cl.help && !cl.version)
    throw olsgd::InputError("command line",
                            "no deck given (usage: olsgd DECK [--set key=value ...]; see --help)");
  return cl;
}

// Runs `f` on rank 0 (output files are rank 0's) and rethrows its InputError or RunError on
// every rank, so all ranks end together with rank 0's message.
template <class F>
void on_rank0_together(const olsgd::comm::Communicator& comm, F f) {
  std::string input, failed;
  if (comm.rank() == 0) {
    try {
      f();
    } catch (const olsgd::InputError& e) {
      input = e.what();
    } catch (const olsgd::RunError& e) {
      failed = e.what();
    }
  }
  comm.agree_or_throw(input);
  if (const std::string m = comm.agree(failed); !m.empty()) throw olsgd::RunError(m);
}

// The files rank 0 writes while training. A failed write is kept (not thrown from inside an
// observer, where the other ranks could not follow) until the trainer asks at the next
// metrics row, and the run ends there on every rank.
struct Outputs {
  olsgd::io::OutputLock lock;  // taken before any file in the folder is touched
  std::unique_ptr<olsgd::io::MetricsCsv> metrics;
  std::unique_ptr<olsgd::io::SyncsCsv> syncs;
  std::string failure;

  template <class F>
  void guard(F f) {
    if (!failure.empty()) return;
    try {
      f();
    } catch (const olsgd::RunError& e) {
      failure = e.what();
    }
  }
  void close() {
    if (metrics) metrics->close();
    if (syncs) syncs->close();
  }
};

// Rank 0 prepares the output folder and files; every rank learns whether it worked. A run
// restarted at step `first` continues the files of the run it resumes.
void open_outputs(Outputs& out, const olsgd::Config& cfg, const olsgd::comm::Communicator& comm,
                  olsgd::Index first) {
  on_rank0_together(comm, [&] {
    olsgd::run::check_output_dir(cfg.run.output_dir);
    std::error_code ec;
    std::filesystem::create_directories(cfg.run.output_dir, ec);
    if (ec)
      throw olsgd::InputError(cfg.run.output_dir, "run.output_dir: cannot create: " + ec.message());
    const std::string dir = cfg.run.output_dir;
    out.lock = olsgd::io::OutputLock(dir);
    // Every file checked before any is truncated: a refused run leaves the last run's whole.
    olsgd::run::check_output_files(dir, first > 0);
    if (first > 0) {
      out.metrics = std::make_unique<olsgd::io::MetricsCsv>(dir + "/metrics.csv", first);
      out.syncs = std::make_unique<olsgd::io::SyncsCsv>(dir + "/syncs.csv", first);
    } else {
      out.metrics = std::make_unique<olsgd::io::MetricsCsv>(dir + "/metrics.csv");
      out.syncs = std::make_unique<olsgd::io::SyncsCsv>(dir + "/syncs.csv");
    }
  });
}

// --timers: every phase (a Kokkos Tools region of the same name) with its calls, this rank's
// total and mean, and the slowest rank's total; collective, rank 0 prints.
void print_timers(const olsgd::RunOutcome& out, const olsgd::comm::Communicator& comm) {
  using olsgd::Phase;
  const bool root = comm.rank() == 0;
  if (root)
    std::printf("  %-26s %10s %12s %12s %14s\n", "region (rank 0)", "calls", "total s", "mean us",
                "max rank s");
  auto line = [&](const char* name, std::int64_t calls, double total) {
    const double slowest = comm.max_uncounted(total);
    if (root)
      std::printf("  %-26s %10lld %12.4f %12.2f %14.4f\n", name, static_cast<long long>(calls),
                  total, calls ? 1e6 * total / calls : 0.0, slowest);
  };
  for (Phase p : {Phase::Compute, Phase::Comm, Phase::Wait, Phase::Metrics})
    line(olsgd::phase_region(p), out.timers.calls(p), out.timers.seconds(p));
  line("olsgd::io::checkpoint", 0, out.checkpoint_s);
  line("olsgd::setup", 1, out.setup_s);
  line("olsgd::train (all)", 1, out.train_s);
}

void print_summary(const olsgd::Config& cfg, const olsgd::RunOutcome& out,
                   const olsgd::run::RunFacts& facts) {
  const int ranks = facts.ranks, threads = facts.threads_per_rank;
  const auto& r = out.last;
  std::printf("olsgd: %s on %s (%s), %lld parameters, %lld samples per rank, %s x %d threads, %s\n",
              out.algorithm.c_str(), cfg.model.kind.c_str(), cfg.data.kind.c_str(),
              static_cast<long long>(out.num_params), static_cast<long long>(out.shard_samples),
              olsgd::plural(ranks, "rank").c_str(), threads,
              olsgd::precision_name(cfg.run.precision));
  std::printf(
      "  steps %lld   train %.3f s (setup %.3f s): compute %.3f s, comm %.3f s, metrics %.3f s\n",
      static_cast<long long>(out.steps_done), out.train_s, out.setup_s,
      out.timers.seconds(olsgd::Phase::Compute), out.timers.seconds(olsgd::Phase::Comm),
      out.timers.seconds(olsgd::Phase::Metrics));
  std::printf("  final minibatch loss %.6g   consensus %.3g", r.loss, r.consensus);
  if (out.optimum_known)
    std::printf("   F(xbar)-F* %.6g   ||xbar-x*||^2 %.6g", r.suboptimality, r.dist_opt);
  std::printf("\n");
  if (!std::isnan(r.test_acc))
    std::printf("  test accuracy %.2f%%   test loss %.4f (averaged model, held-out set)\n",
                100 * r.test_acc, r.test_loss);
  std::printf(
      "  sent per rank: %.0f bytes payload (at most %.0f in one step), %.0f bytes wire estimate, "
      "%lld collectives\n",
      out.traffic.payload_bytes, out.peak_step_payload_bytes, out.traffic.wire_bytes,
      static_cast<long long>(out.traffic.calls));
  const auto& sy = out.syncs;
  std::printf(
      "  syncs %lld: held %.3f s (%.3f s of it in waits) = %.3f s waiting for slower ranks + "
      "%.3f s by the network; unhidden the network takes %.3f s (%.3f s of it injected): "
      "hidden %.0f%%\n",
      static_cast<long long>(sy.count), sy.t_exposed, sy.t_wait, sy.t_peer, sy.network_exposed(),
      sy.t_network, sy.delay, 100 * sy.hidden_frac());
  if (sy.timed_rounds > 0) {
    std::printf("  timed rounds: %.3g ms of compute each; local steps per round by rank:",
                1e3 * out.round_budget_s);
    for (double total : sy.local_steps) std::printf(" %.2f", total / sy.timed_rounds);
    std::printf("\n");
  }
  constexpr double kMiB = 1 << 20;
  std::printf(
      "  peak memory %.1f MiB per rank (largest; %.1f MiB while training), algorithm state "
      "%.1f MiB; estimated before allocating: %s\n",
      facts.peak_rss_bytes / kMiB, facts.training_peak_rss_bytes / kMiB, out.state_bytes / kMiB,
      out.memory.describe().c_str());
  std::printf(
      "  wrote metrics.csv, syncs.csv and summary.json in %s; figures: scripts/plot %s "
      "(installed: olsgd-plot)\n",
      cfg.run.output_dir.c_str(), cfg.run.output_dir.c_str());
}

int run(const CommandLine& cl, const olsgd::comm::Environment& env) {
  const bool root = env.rank() == 0;
  if (cl.help) {
    if (root) std::cout << kUsage << olsgd::config_help();
    return 0;
  }
  if (cl.version) {
    if (root) std::cout << olsgd::io::version_line() << "\n";
    return 0;
  }
  olsgd::comm::Communicator comm(MPI_COMM_WORLD);
  // Rank 0 reads the deck (once per job, and a pipe has one reader) and sends its text; every
  // rank parses the same text, so every rank reaches the same verdict.
  std::string text, unreadable;
  if (root) {
    try {
      text = olsgd::read_deck(cl.deck);
    } catch (const olsgd::InputError& e) {
      unreadable = e.what();
    }
  }
  comm.agree_or_throw(unreadable);
  const olsgd::Config cfg =
      olsgd::parse_config(comm.broadcast(text), cl.deck, cl.overrides, env.size());
  if (root)
    for (const auto& w : cfg.warnings)
      std::fprintf(stderr, "olsgd: warning: %s\n", olsgd::printable(w).c_str());
  olsgd::io::refuse_checkpoints_if_unavailable(cfg);
  if (cl.check) {
    const olsgd::ProblemShape shape = olsgd::shape_from_deck(cfg, env.rank(), env.size());
    std::string memory = "memory per rank known once the LIBSVM file is read";
    std::string length;
    olsgd::Config resolved = cfg;
    std::optional<olsgd::MemoryEstimate> need;
    if (shape.known) {
      need = olsgd::check_memory(cfg, shape, comm);
      memory = "needs about " + need->describe();
      // The run's length and schedule against the sizes the data kind has (a folder with fewer
      // images changes the epochs' steps: the run checks again once it has read them).
      const double rows = static_cast<double>(shape.train_rows);
      olsgd::resolve_epochs(
          resolved, static_cast<olsgd::Index>(cfg.data.replicate ? rows : comm.sum_uncounted(rows)),
          env.size());
      length = std::to_string(resolved.run.steps) + " steps";
      if (resolved.run.steps_per_epoch > 0)
        length += " of " + std::to_string(resolved.run.steps_per_epoch) + " per epoch";
      length += "; ";
    }
    // The files last: their messages are the run's own, and the run checks the deck first.
    olsgd::run::FilesVerdict files;
    on_rank0_together(comm, [&] {
      // Epochs count the data's samples, known for certain only once the run reads them.
      files = olsgd::run::check_files(resolved, cfg.run.epochs == 0, env.size(),
                                      need ? &*need : nullptr);
      for (const auto& w : files.warnings)
        std::fprintf(stderr, "olsgd: warning: %s\n", olsgd::printable(w).c_str());
    });
    if (root)
      std::printf("%s: OK for %s; %s%s%s\n", cl.deck.c_str(),
                  olsgd::plural(env.size(), "rank").c_str(), length.c_str(), memory.c_str(),
                  files.restart.empty() ? "" : ("; " + files.restart).c_str());
    return 0;
  }

  Outputs files;  // created once the data are known to be good
  olsgd::io::Progress progress(root && cfg.run.progress);
  olsgd::RunObservers obs;
  obs.on_row = [&](const olsgd::MetricsRow& row) {
    if (files.metrics) files.guard([&] { files.metrics->write(row); });
    progress.row(row);
  };
  obs.on_sync = [&](const olsgd::SyncRecord& sync) {
    if (files.syncs) files.guard([&] { files.syncs->write(sync); });
  };
  obs.output_failure = [&] { return files.failure; };
  obs.on_step = [&](olsgd::Index done, olsgd::Index total) { progress.step(done, total); };
  obs.on_ready = [&](olsgd::Index first) {
    open_outputs(files, cfg, comm, first);
    olsgd::reset_peak_rss();  // from here on: training's own peak, apart from loading's
  };
  const olsgd::RunOutcome out = olsgd::run_training(cfg, comm, obs);
  on_rank0_together(comm, [&] {
    if (!files.failure.empty()) throw olsgd::RunError(files.failure);
    files.close();
  });

  olsgd::run::RunFacts facts;
  facts.ranks = comm.size();
  // The host's threads: on a GPU build ExecSpace's concurrency is the device's resident threads.
  facts.threads_per_rank = Kokkos::DefaultHostExecutionSpace().concurrency();
  facts.mpi_thread_level = env.thread_level();
  facts.train_s_max = comm.max_uncounted(out.train_s);
  // The training peak first: the whole run's, read after it, is then never below it.
  const double training_peak = olsgd::peak_rss_since_reset_bytes();  // NaN: unknown
  // The kernel's two counters (getrusage's maxrss, /proc's VmHWM) can differ by a few pages
  // under ASan's allocator; the whole run's peak is never below training's by definition.
  const double whole = olsgd::peak_rss_bytes();
  facts.peak_rss_bytes =
      comm.max_uncounted(std::isnan(training_peak) ? whole : std::max(whole, training_peak));
  facts.training_peak_rss_bytes =
      comm.max_uncounted(std::isnan(training_peak) ? -1.0 : training_peak);
  if (facts.training_peak_rss_bytes < 0) facts.training_peak_rss_bytes = std::nan("");
  facts.overrides = cl.overrides;
  on_rank0_together(comm, [&] {
    olsgd::run::write_run_summary(cfg.run.output_dir + "/summary.json", cfg, out, facts);
    if (!out.restarted_from.empty())
      std::printf("olsgd: resumed from %s at step %lld\n", out.restarted_from.c_str(),
                  static_cast<long long>(out.first_step));
    print_summary(cfg, out, facts);
    if (out.stop_signal && out.last_checkpoint.empty()) {
      std::printf("olsgd: stopped by %s after step %lld of %lld; no checkpoint (%s)\n",
                  olsgd::signal_name(out.stop_signal), static_cast<long long>(out.steps_done),
                  static_cast<long long>(out.steps),
                  olsgd::io::checkpoints_available() ? "none written" : "built without HDF5");
    } else if (out.stop_signal) {
      std::string again = cl.deck;
      for (const auto& o : cl.overrides)
        if (o.rfind("checkpoint.restart=", 0) != 0) again += " --set " + o;
      std::printf(
          "olsgd: stopped by %s after step %lld of %lld; checkpoint %s\n"
          "  resume on %s with: olsgd %s --restart %s\n",
          olsgd::signal_name(out.stop_signal), static_cast<long long>(out.steps_done),
          static_cast<long long>(out.steps), out.last_checkpoint.c_str(),
          olsgd::plural(comm.size(), "rank").c_str(), again.c_str(), out.last_checkpoint.c_str());
    }
    // A full or closed stdout loses the summary the user reads: a failure like any other write.
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      throw olsgd::RunError(std::string("standard output: write failed: ") + std::strerror(errno));
  });
  // Every rank has the same rows, so every rank stops alike; the summary above records it.
  if (!out.diverged.empty()) throw olsgd::DivergedError(out.diverged);
  if (cl.timers) print_timers(out, comm);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Parsed before MPI and Kokkos start, so that --help and --version start no Kokkos (Kokkos
  // 3.x would print its OMP_PROC_BIND advice on stdout ahead of the answer); a bad command
  // line is reported below, once the ranks are known.
  CommandLine cl;
  std::optional<olsgd::InputError> bad_command_line;
  try {
    cl = parse_command_line(argc, argv);
  } catch (const olsgd::InputError& e) {
    bad_command_line = e;
  }
  olsgd::comm::Environment env(argc, argv, !cl.help && !cl.version);
  // At once, not when training starts: a batch system may send its stop signal while the
  // deck and data are still loading, and the default action would kill the rank.
  olsgd::install_stop_signals();
  // A file size limit (ulimit -f) then fails a write with EFBIG, reported like a full disk,
  // instead of killing the rank mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  // Likewise a closed pipe (olsgd ... | head): EPIPE, reported as a failed write of standard
  // output, instead of a silent death by SIGPIPE with no summary.
  std::signal(SIGPIPE, SIG_IGN);
  // Errors every rank sees alike (bad input, an agreed failure): rank 0 speaks for all.
  auto report = [&](const char* message, int code) {
    if (env.rank() == 0) std::fprintf(stderr, "olsgd: error: %s\n", message);
    return code;
  };
  try {
    if (bad_command_line) throw *bad_command_line;
    if (!env.kokkos_error().empty()) throw olsgd::InputError("command line", env.kokkos_error());
    return run(cl, env);
  } catch (const olsgd::InputError& e) {
    return report(e.what(), olsgd::kExitInput);
  } catch (const olsgd::RunError& e) {
    return report(e.what(), olsgd::kExitFailure);
  } catch (const olsgd::DivergedError& e) {
    return report(e.what(), olsgd::kExitDiverged);
  } catch (const std::exception& e) {
    // Anything else may strike one rank alone while the others wait in a collective. One line:
    // the message's first (Kokkos follows an allocation failure with a traceback notice).
    std::string what =
        dynamic_cast<const std::bad_alloc*>(&e) ? "out of memory (std::bad_alloc)" : e.what();
    what = what.substr(0, what.find('\n'));
    while (!what.empty() && what.back() == ' ') what.pop_back();
    std::fprintf(stderr, "olsgd: fatal (rank %d): %s\n", env.rank(),
                 olsgd::printable(what).c_str());
    std::fflush(stderr);
    if (env.size() > 1) MPI_Abort(MPI_COMM_WORLD, olsgd::kExitFailure);
    return olsgd::kExitFailure;
  }
}
