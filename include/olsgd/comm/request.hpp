#pragma once
// An RAII handle on one in-flight non-blocking collective.
// - Completes exactly once: wait() after completion is a no-op, never a second MPI_Wait.
// - Never leaks: the destructor completes an active request (the collective's buffers must
//   outlive it), also during exception unwinding.
// - Injected network delay: the request counts as complete no earlier than its post time
//   plus the delay, like a slow network; wait() sleeps only the remainder.
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
    MPI_Request request = MPI_REQUEST_NULL;
    Clock::time_point ready_at;         // post time + injected delay
    std::function<void()> on_complete;  // e.g. copy a staging buffer back to the device
    // A ProgressThread owns the MPI calls while true; it hands them back (false) if it stops
    // first. Changes only under `mutex`.
    std::atomic<bool> helped{false};
    std::mutex mutex;
    std::condition_variable done_cv;
    bool mpi_done = false;  // guarded by mutex while helped
    int mpi_error = MPI_SUCCESS;
  };
  explicit Request(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  bool mpi_complete_nonblocking();
  void finish();

  std::shared_ptr<State> state_;
};

}  // namespace olsgd::comm
