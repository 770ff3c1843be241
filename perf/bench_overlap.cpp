// Round time of local SGD and Overlap-Local-SGD under an injected network delay equal to
// the compute time of tau local steps, measured in one run (mpirun -np 2) and reported as
// ratios to the compute-only round time (local SGD that never syncs). Overlap is run three
// ways: MPI_Test every local step, no progress calls, and a progress thread.
// Expected: local SGD ~ 2.0 (compute, then the whole delay); Overlap ~ 1.0 (delay hidden).
// `--deck FILE` runs the cases on that deck instead of the built-in least-squares one (d = 512):
// a larger model, e.g. inputs/peers/mlp_local_sgd.yaml, shows what the staging copies of a GPU
// build (model to host buffers and back at every average: `staging ms`) take from a round.
// `--host-staging` takes that path on a host build too (host memory through the same buffers).
//   mpirun -np 2 build/perf/bench_overlap [--deck FILE] [--host-staging] [--set key=value ...]
//                                         [--json FILE]
#include <olsgd/comm/environment.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/deck/deck.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/json.hpp>
#include <olsgd/run/trainer.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

const char* kDeck = R"(
run: {seed: 7, steps: 2400, log_every: 100000, progress: false}
data: {samples: 16384, features: 512, noise: 0.1, min_eig: 0.05, max_eig: 1.0}
optimizer: {lr: 0.03, batch: 64}
algorithm: {name: local_sgd, tau: 8}
comm: {progress_thread: false}
)";

struct Case {
  std::string label;
  std::vector<std::string> sets;
  // Per sync, mean over ranks: exposed = peer (a slower rank had not posted) + network part;
  // mpi_late = of the network part, MPI still busy after the injected delay had passed.
  // staging = copies between device memory and MPI's host buffers (0 on a host build).
  double round_s = 0, hidden = 0, exposed_s = 0, peer_s = 0, mpi_late_s = 0, staging_s = 0;
};

// Seconds per round of tau steps, metrics excluded (the slowest rank's).
double round_seconds(const olsgd::RunOutcome& out, const olsgd::Config& c,
                     olsgd::comm::Communicator& comm) {
  const double rounds = static_cast<double>(c.run.steps) / c.algorithm.tau;
  return comm.max_uncounted(out.train_s - out.timers.seconds(olsgd::Phase::Metrics)) / rounds;
}

}  // namespace

int main(int argc, char** argv) {
  olsgd::comm::Environment env(argc, argv);
  std::vector<std::string> user_sets;
  std::string json_path, deck_path;
  bool host_staging = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--set" && i + 1 < argc)
      user_sets.push_back(argv[++i]);
    else if (a == "--json" && i + 1 < argc)
      json_path = argv[++i];
    else if (a == "--deck" && i + 1 < argc)
      deck_path = argv[++i];
    else if (a == "--host-staging")
      host_staging = true;
  }
  try {
    olsgd::comm::Communicator comm(MPI_COMM_WORLD);
    comm.force_host_staging(host_staging);
    auto config = [&](std::vector<std::string> sets) {
      sets.insert(sets.begin(), user_sets.begin(), user_sets.end());
      // Quiet, and no output folder of the deck's left behind.
      for (const char* quiet : {"run.progress=false", "run.log_every=100000"})
        sets.insert(sets.begin(), quiet);
      return deck_path.empty() ? olsgd::parse_config(kDeck, "bench_overlap", sets, comm.size())
                               : olsgd::load_config(deck_path, sets, comm.size());
    };
    // 1. Compute only: local SGD that never syncs within the run.
    const olsgd::Config base = config({"algorithm.tau=100000"});
    olsgd::Config compute_only = base;
    const olsgd::RunOutcome c0 = olsgd::run_training(compute_only, comm, {});
    const olsgd::Index tau = config({}).algorithm.tau;
    const double rounds = static_cast<double>(base.run.steps) / tau;
    const double compute_round =
        comm.max_uncounted(c0.train_s - c0.timers.seconds(olsgd::Phase::Metrics)) / rounds;
    // 2. The injected delay: the compute time of tau local steps.
    char delay[64];
    std::snprintf(delay, sizeof delay, "comm.delay_s=%.9g", compute_round);

    std::vector<Case> cases = {
        {"local_sgd", {delay}},
        {"overlap, MPI_Test every step",
         {delay, "algorithm.name=overlap_local_sgd", "comm.progress_every=1"}},
        {"overlap, no progress calls",
         {delay, "algorithm.name=overlap_local_sgd", "comm.progress_every=0"}},
        // Last: once started, the communicator keeps its progress thread.
        {"overlap, progress thread",
         {delay, "algorithm.name=overlap_local_sgd", "comm.progress_every=0",
          "comm.progress_thread=true"}},
    };
    for (Case& k : cases) {
      const olsgd::Config c = config(k.sets);
      const olsgd::RunOutcome out = olsgd::run_training(c, comm, {});
      k.round_s = round_seconds(out, c, comm);
      const double syncs = static_cast<double>(out.syncs.count > 0 ? out.syncs.count : 1);
      std::vector<double> v = {out.syncs.t_exposed / syncs,  out.syncs.t_peer / syncs,
                               out.waits.mpi_late_s / syncs, out.waits.staging_s / syncs,
                               out.syncs.network_exposed(),  out.syncs.t_network};
      comm.sum_uncounted(v);
      k.exposed_s = v[0] / comm.size();
      k.peer_s = v[1] / comm.size();
      k.mpi_late_s = v[2] / comm.size();
      k.staging_s = v[3] / comm.size();
      k.hidden = olsgd::SyncRecord::hidden(v[4], v[5]);  // over all ranks' syncs
    }

    if (comm.rank() == 0) {
      std::printf("olsgd bench_overlap: %s, %d ranks, d=%lld, batch %lld, tau %lld, %lld steps\n",
                  deck_path.empty() ? "least squares" : deck_path.c_str(), comm.size(),
                  static_cast<long long>(c0.num_params),
                  static_cast<long long>(base.optimizer.batch), static_cast<long long>(tau),
                  static_cast<long long>(base.run.steps));
      std::printf("compute-only round %.3f ms; injected delay per sync = %.3f ms\n",
                  1e3 * compute_round, 1e3 * compute_round);
      std::printf(
          "per sync, mean over ranks: exposed = peer (a slower rank not yet posted) + "
          "network; MPI late = MPI busy after the delay; staging = device-host copies\n");
      std::printf("%-32s %10s %8s %8s %12s %9s %12s %11s\n", "case", "round ms", "ratio", "hidden",
                  "exposed ms", "peer ms", "MPI late ms", "staging ms");
      for (const Case& k : cases)
        std::printf("%-32s %10.3f %8.3f %8.3f %12.3f %9.3f %12.3f %11.3f\n", k.label.c_str(),
                    1e3 * k.round_s, k.round_s / compute_round, k.hidden, 1e3 * k.exposed_s,
                    1e3 * k.peer_s, 1e3 * k.mpi_late_s, 1e3 * k.staging_s);
      if (!json_path.empty()) {
        std::ofstream os(json_path);
        olsgd::io::JsonWriter j(os);
        const auto b = olsgd::io::build_info();
        j.begin_object().value("olsgd_git", b.git).value("ranks", comm.size());
        j.value("deck", deck_path.empty() ? "built-in least squares" : deck_path);
        j.value("params", static_cast<std::int64_t>(c0.num_params));
        j.value("compute_round_s", compute_round).value("delay_s", compute_round);
        j.begin_array("cases");
        for (const Case& k : cases)
          j.begin_object()
              .value("case", k.label)
              .value("round_s", k.round_s)
              .value("ratio_to_compute", k.round_s / compute_round)
              .value("hidden_frac", k.hidden)
              .value("exposed_s_per_sync", k.exposed_s)
              .value("peer_s_per_sync", k.peer_s)
              .value("mpi_late_s_per_sync", k.mpi_late_s)
              .value("staging_s_per_sync", k.staging_s)
              .end_object();
        j.end_array().end_object();
        std::printf("wrote %s\n", json_path.c_str());
      }
    }
  } catch (const std::exception& e) {
    if (env.rank() == 0) std::fprintf(stderr, "bench_overlap: %s\n", e.what());
    return 1;
  }
  return 0;
}
