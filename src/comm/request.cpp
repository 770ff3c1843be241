#include <olsgd/comm/request.hpp>

#include <thread>

#include "mpi_check.hpp"
#include "watchdog.hpp"

namespace olsgd::comm {
using detail::check;

Request::~Request() {
  if (!active()) return;
  try {
    wait();
  } catch (...) {
    // Destructors must not throw; the error already surfaced elsewhere or the job aborts.
  }
}

Request& Request::operator=(Request&& other) {
  if (this != &other) {
    if (active()) wait();  // never drop an in-flight collective
    state_ = std::move(other.state_);
  }
  return *this;
}

bool Request::mpi_complete_nonblocking() {
  State& s = *state_;
  if (s.helped) {
    std::lock_guard<std::mutex> lock(s.mutex);
    check(s.mpi_error, "MPI_Test (progress thread)");
    if (s.helped) return s.mpi_done;
  }
  if (!s.mpi_done) {
    int flag = 0;
    check(MPI_Test(&s.request, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    s.mpi_done = flag != 0;
  }
  return s.mpi_done;
}

bool Request::test() {
  if (!active()) return true;
  if (!mpi_complete_nonblocking() || Clock::now() < state_->ready_at) return false;
  finish();
  return true;
}

double Request::wait() {
  if (!active()) return 0.0;
  Activity::Collective mark;
  const auto start = Clock::now();
  State& s = *state_;
  if (s.helped) {
    std::unique_lock<std::mutex> lock(s.mutex);
    s.done_cv.wait(lock, [&] { return s.mpi_done || s.mpi_error != MPI_SUCCESS || !s.helped; });
    check(s.mpi_error, "MPI_Test (progress thread)");
  }
  if (!s.mpi_done) {
    check(MPI_Wait(&s.request, MPI_STATUS_IGNORE), "MPI_Wait");
    s.mpi_done = true;
  }
  std::this_thread::sleep_until(s.ready_at);  // the injected delay's remainder, if any
  finish();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Request::finish() {
  auto state = std::move(state_);  // inactive from here on, even if on_complete throws
  if (state->on_complete) state->on_complete();
}

}  // namespace olsgd::comm
