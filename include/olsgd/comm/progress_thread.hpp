#pragma once
// A helper thread that drives in-flight requests to completion while the training thread
// computes (Open MPI progresses a non-blocking collective only inside MPI calls). It polls
// with MPI_Test and sleeps `interval` between polls, so it costs little CPU; it needs
// MPI_THREAD_MULTIPLE.
#include <olsgd/comm/request.hpp>

#include <atomic>
#include <thread>
#include <vector>

namespace olsgd::comm {

class ProgressThread {
 public:
  explicit ProgressThread(std::chrono::microseconds interval = std::chrono::microseconds(50));
  ~ProgressThread();
  ProgressThread(const ProgressThread&) = delete;
  ProgressThread& operator=(const ProgressThread&) = delete;

  // Hands the request's MPI calls to the helper thread.
  void adopt(const std::shared_ptr<Request::State>& state);

 private:
  void run();

  std::chrono::microseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::shared_ptr<Request::State>> pending_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace olsgd::comm
