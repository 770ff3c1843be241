#include <olsgd/comm/request.hpp>

#include <algorithm>
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

Request::Clock::time_point Request::State::ready_at() const {
  return epoch + detail::seconds(post_s[1] + delay);
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
    check(MPI_Testall(2, s.requests, &flag, MPI_STATUSES_IGNORE), "MPI_Testall");
    s.mpi_done = flag != 0;
  }
  return s.mpi_done;
}

bool Request::test() {
  if (!active()) return true;
  if (!mpi_complete_nonblocking() || Clock::now() < state_->ready_at()) return false;
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
    check(MPI_Waitall(2, s.requests, MPI_STATUSES_IGNORE), "MPI_Waitall");
    s.mpi_done = true;
  }
  const auto mpi_done = Clock::now();
  std::this_thread::sleep_until(s.ready_at());  // the injected delay's remainder, if any
  const auto end = Clock::now();
  if (s.totals) book_wait(s, start, mpi_done, end);
  finish();
  return std::chrono::duration<double>(end - start).count();
}

void Request::book_wait(const State& s, Clock::time_point start, Clock::time_point mpi_done,
                        Clock::time_point end) {
  auto secs = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };
  const auto last_post = s.epoch + detail::seconds(s.post_s[1]);
  s.totals->peer_s += secs(std::clamp(last_post, start, end) - start);
  const auto delivered = std::clamp(s.ready_at(), start, end);
  if (mpi_done > delivered) s.totals->mpi_late_s += secs(mpi_done - delivered);
}

void Request::finish() {
  auto state = std::move(state_);  // inactive from here on, even if on_complete throws
  if (state->on_complete) state->on_complete();
}

}  // namespace olsgd::comm
