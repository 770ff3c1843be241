#pragma once
// An RAII handle on one in-flight non-blocking collective.
// - Completes exactly once: wait() after completion is a no-op, never a second MPI_Wait.
// - Never leaks: the destructor completes an active request (the collective's buffers must
//   outlive it), also during exception unwinding.
// - Injected network delay: the request counts as complete no earlier than the last rank's
//   post time plus the delay, like a slow network that cannot deliver an average before every
//   part has arrived; wait() sleeps only the remainder.
// - Waiting for a peer vs for the network: an algorithm collective carries a second, one-number
//   collective, the latest post time over the ranks (on the job clock). The part of a wait that
//   lies before that time is waiting for a slower rank, not for the network; wait() adds it to
//   the communicator's WaitTotals.
// - With a ProgressThread, only the helper thread calls MPI on the request; test()/wait()
//   then read the helper's verdict.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace olsgd::comm {

class ProgressThread;

// Where a rank's time held by algorithm collectives went, beyond its own posting:
// - peer_s: before the last rank had posted its part (waiting for a slower peer);
// - mpi_late_s: after the injected network would have delivered (last post + delay) while MPI
//   had not yet completed: the real transport, or progress that stalled because some rank was
//   not inside an MPI call (Open MPI moves a non-blocking collective only inside MPI calls).
// - staging_s: copying between device memory and the host staging buffers MPI reads (device
//   builds, or host memory when a test forces staging; 0 where MPI reads the Views directly).
// Cumulative; shared by the communicator and its requests.
struct WaitTotals {
  double peer_s = 0;
  double mpi_late_s = 0;
  double staging_s = 0;
};

class Request {
 public:
  using Clock = std::chrono::steady_clock;

  Request() = default;
  ~Request();
  Request(Request&&) noexcept = default;
  Request& operator=(Request&& other);
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  bool active() const { return state_ != nullptr; }
  // Drives progress (unless a helper thread does); true once complete, delay included.
  bool test();
  // Blocks until complete, delay included. Returns the seconds spent blocked.
  double wait();

  // The shared state of one request; public for Communicator and ProgressThread only.
  struct State {
    // The collective, and the max over ranks of the post times (MPI_REQUEST_NULL when the
    // request does not track them: bookkeeping).
    MPI_Request requests[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    // This rank's post time, then the latest over the ranks (seconds on the job clock).
    double post_s[2] = {0, 0};
    Clock::time_point epoch;  // the job clock's zero (Communicator::job_seconds)
    double delay = 0;         // injected network seconds, counted from the last post
    // Where wait() books its time (WaitTotals); null for bookkeeping.
    std::shared_ptr<WaitTotals> totals;
    Clock::time_point ready_at() const;  // last post + delay (once the max is known)
    std::function<void()> on_complete;   // e.g. copy a staging buffer back to the device
    // A ProgressThread owns the MPI calls while true; it hands them back (false) if it stops
    // first. Changes only under `mutex`.
    std::atomic<bool> helped{false};
    std::mutex mutex;
    std::condition_variable done_cv;
    bool mpi_done = false;  // guarded by mutex while helped
    int mpi_error = MPI_SUCCESS;
  };
  explicit Request(std::shared_ptr<State> state) : state_(std::move(state)) {}
  // Books a wait from `start` to `end`, MPI done at `mpi_done`, in s.totals.
  static void book_wait(const State& s, Clock::time_point start, Clock::time_point mpi_done,
                        Clock::time_point end);

 private:
  bool mpi_complete_nonblocking();
  void finish();

  std::shared_ptr<State> state_;
};

}  // namespace olsgd::comm
