#include "watchdog.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "mpi_check.hpp"

namespace olsgd::comm {
namespace {
using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}
double seconds_since(std::int64_t ns) {
  return (now_ns() - ns) * 1e-9;
}

// One heartbeat: {step, waiting since (ns, 0 = not waiting)}; step -1 says goodbye.
constexpr int kTag = 7;
constexpr std::int64_t kGoodbye = -1;
}  // namespace

std::atomic<std::int64_t> Activity::step_{0};
std::atomic<std::int64_t> Activity::since_{0};
std::atomic<int> Activity::watched_{0};

Activity::Collective::Collective()
    : outer_(watched_.load(std::memory_order_relaxed) > 0 && since_.load() == 0) {
  if (outer_) since_.store(now_ns());
}
Activity::Collective::~Collective() {
  if (outer_) since_.store(0);
}

Watchdog::Watchdog(MPI_Comm comm, double timeout_s)
    : timeout_s_(timeout_s), period_s_(std::clamp(timeout_s / 5, 0.01, 1.0)) {
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE)
    throw std::runtime_error("needs MPI_THREAD_MULTIPLE, which this MPI library does not provide");
  detail::check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  ++Activity::watched_;
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  --Activity::watched_;
  MPI_Comm_free(&comm_);
}

void Watchdog::run() {
  const auto period = std::chrono::duration<double>(period_s_);
  if (rank_ != 0) {
    // Heartbeats to rank 0 until told to stop; then a goodbye it waits for.
    std::int64_t beat[2];
    MPI_Request req = MPI_REQUEST_NULL;
    for (;;) {
      const bool last = stop_;
      MPI_Wait(&req, MPI_STATUS_IGNORE);
      beat[0] = last ? kGoodbye : Activity::step();
      beat[1] = Activity::waiting_since();
      MPI_Isend(beat, 2, MPI_INT64_T, 0, kTag, comm_, &req);
      if (last) break;
      const std::int64_t since = Activity::waiting_since();
      if (since != 0 && seconds_since(since) > 2 * timeout_s_ + 10 * period_s_) {
        std::fprintf(stderr,
                     "olsgd: error: rank %d: a collective at step %lld has waited %.1f s, more "
                     "than twice comm.timeout_s (%g s), and rank 0 has not ended the job; "
                     "aborting\n",
                     rank_, static_cast<long long>(Activity::step()), seconds_since(since),
                     timeout_s_);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      std::this_thread::sleep_for(period);
    }
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    return;
  }
  // Rank 0: the last word of every rank, and when it came.
  struct Seen {
    std::int64_t step = 0, since = 0, heard = now_ns();
    bool gone = false;
  };
  std::vector<Seen> seen(size_);
  std::vector<std::int64_t> buf(2 * size_);
  std::vector<MPI_Request> reqs(size_, MPI_REQUEST_NULL);
  for (int r = 1; r < size_; ++r) MPI_Irecv(&buf[2 * r], 2, MPI_INT64_T, r, kTag, comm_, &reqs[r]);
  for (;;) {
    int pending = 0;
    for (int r = 1; r < size_; ++r) {
      if (seen[r].gone) continue;
      int flag = 0;
      MPI_Test(&reqs[r], &flag, MPI_STATUS_IGNORE);
      while (flag) {
        seen[r].heard = now_ns();
        if (buf[2 * r] == kGoodbye) {
          seen[r].gone = true;
          break;
        }
        seen[r].step = buf[2 * r];
        seen[r].since = buf[2 * r + 1];
        MPI_Irecv(&buf[2 * r], 2, MPI_INT64_T, r, kTag, comm_, &reqs[r]);
        MPI_Test(&reqs[r], &flag, MPI_STATUS_IGNORE);
      }
      pending += !seen[r].gone;
    }
    if (stop_ && pending == 0) return;
    seen[0].step = Activity::step();
    seen[0].since = Activity::waiting_since();
    // Steady clocks of one node agree; across nodes a rank's wait is judged by rank 0 from
    // when it last reported waiting, which errs on the late side by one period.
    double waited = 0;
    std::int64_t at_step = 0;
    for (int r = 0; r < size_; ++r)
      if (!seen[r].gone && seen[r].since != 0 && seconds_since(seen[r].since) > waited) {
        waited = seconds_since(seen[r].since);
        at_step = seen[r].step;
      }
    if (waited > timeout_s_) {
      std::string who;
      for (int r = 0; r < size_; ++r) {
        const double quiet = seconds_since(seen[r].heard);
        // A live rank reports every period; three missed in a row is silence.
        const bool silent = r != 0 && quiet > 3 * period_s_;
        const bool behind = seen[r].since == 0 || seen[r].step < at_step;
        if (!silent && !behind) continue;
        char line[160];
        std::snprintf(
            line, sizeof line, "%srank %d (%s)", who.empty() ? "" : ", ", r,
            silent
                ? ("silent for " + std::to_string(static_cast<int>(quiet)) + " s: stopped or dead")
                      .c_str()
                : ("still at step " + std::to_string(seen[r].step) + ", not in the collective")
                      .c_str());
        who += line;
      }
      std::fprintf(stderr,
                   "olsgd: error: a collective at step %lld waited %.1f s (comm.timeout_s = %g) "
                   "for %s; aborting the job\n",
                   static_cast<long long>(at_step), waited, timeout_s_,
                   who.empty() ? "a rank that did not arrive" : who.c_str());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
    std::this_thread::sleep_for(period);
  }
}

}  // namespace olsgd::comm
