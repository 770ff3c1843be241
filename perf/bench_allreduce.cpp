// Model averaging of the flat parameter View (what local SGD does at a sync:
// Communicator::allreduce_sum in place, the 1/m having been folded into the step kernel
// before it, see Algorithm::local_step) against a bare MPI_Allreduce of the same bytes from
// a std::vector, 1 KiB ... 64 MiB, measured in one run with the two alternating. Reported:
// median seconds of each (the slowest rank's), and bare / olsgd (goal >= 0.95: no extra
// copies or passes). `--with-scale` adds the separate 1/m pass olsgd used to make, to show
// what folding it saved.
//   mpirun -np 2 build/perf/bench_allreduce [--json FILE] [--max-mib 64] [--max-reps 2000]
//                                           [--with-scale]
// (--max-reps caps the repetitions of each size: the smoke run's few keep it short on a
// loaded machine, where every barrier of oversubscribed ranks waits for the scheduler.)
#include <olsgd/comm/communicator.hpp>
#include <olsgd/comm/environment.hpp>
#include <olsgd/io/build_info.hpp>
#include <olsgd/io/json.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using Scalar = float;

struct Row {
  std::size_t bytes = 0;
  int reps = 0;
  double bare_s = 0, olsgd_s = 0;
};

double median(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  olsgd::comm::Environment env(argc, argv);
  std::string json_path;
  std::size_t max_mib = 64;
  int max_reps = 2000;
  bool with_scale = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--with-scale") with_scale = true;
    if (i + 1 == argc) break;
    if (a == "--json") json_path = argv[++i];
    if (a == "--max-mib") max_mib = std::stoul(argv[++i]);
    if (a == "--max-reps") max_reps = std::max(1, std::stoi(argv[++i]));
  }
  olsgd::comm::Communicator comm(MPI_COMM_WORLD);
  const olsgd::ExecSpace exec;
  const Scalar inv_m = Scalar(1) / static_cast<Scalar>(comm.size());
  std::vector<Row> rows;
  for (std::size_t bytes = 1024; bytes <= max_mib << 20; bytes *= 4) {
    const std::size_t n = bytes / sizeof(Scalar);
    olsgd::Vector<Scalar> v("params", n);
    Kokkos::deep_copy(v, Scalar(1));
    std::vector<Scalar> bare(n, Scalar(1));
    // About 0.3 s per size and variant, at least 5 and at most 2000 repetitions.
    const int reps = std::min(
        max_reps, static_cast<int>(std::clamp<double>(0.3 / (bytes / 2e9 + 20e-6), 5, 2000)));
    std::vector<double> t_bare, t_olsgd;
    for (int r = 0; r < reps + 1; ++r) {  // the first of each is a warm-up
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      MPI_Allreduce(MPI_IN_PLACE, bare.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
      if (r > 0) t_bare.push_back(MPI_Wtime() - t0);
      MPI_Barrier(MPI_COMM_WORLD);
      t0 = MPI_Wtime();
      comm.allreduce_sum(exec, v);
      if (with_scale) olsgd::kernels::scale(exec, v, inv_m);
      exec.fence();
      if (r > 0) t_olsgd.push_back(MPI_Wtime() - t0);
    }
    rows.push_back(
        {bytes, reps, comm.max_uncounted(median(t_bare)), comm.max_uncounted(median(t_olsgd))});
  }
  if (comm.rank() == 0) {
    std::printf("olsgd bench_allreduce: %d ranks, float32, median of each size, slowest rank%s\n",
                comm.size(), with_scale ? ", olsgd with a separate 1/m pass" : "");
    std::printf("%10s %6s %12s %12s %12s %10s\n", "bytes", "reps", "bare us", "olsgd us",
                "bare GB/s", "bare/olsgd");
    for (const Row& r : rows)
      std::printf("%10zu %6d %12.2f %12.2f %12.3f %10.3f\n", r.bytes, r.reps, 1e6 * r.bare_s,
                  1e6 * r.olsgd_s, r.bytes / r.bare_s / 1e9, r.bare_s / r.olsgd_s);
    if (!json_path.empty()) {
      std::ofstream os(json_path);
      olsgd::io::JsonWriter j(os);
      const auto b = olsgd::io::build_info();
      j.begin_object()
          .value("olsgd_git", b.git)
          .value("ranks", comm.size())
          .value("separate_scale_pass", with_scale);
      j.begin_array("sizes");
      for (const Row& r : rows)
        j.begin_object()
            .value("bytes", static_cast<std::int64_t>(r.bytes))
            .value("reps", r.reps)
            .value("bare_s", r.bare_s)
            .value("olsgd_s", r.olsgd_s)
            .value("ratio_bare_over_olsgd", r.bare_s / r.olsgd_s)
            .end_object();
      j.end_array().end_object();
      std::printf("wrote %s\n", json_path.c_str());
    }
  }
  return 0;
}
