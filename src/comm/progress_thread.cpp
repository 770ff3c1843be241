#include <olsgd/comm/progress_thread.hpp>

#include <algorithm>

namespace olsgd::comm {

ProgressThread::ProgressThread(std::chrono::microseconds interval)
    : interval_(interval), thread_([this] { run(); }) {}

ProgressThread::~ProgressThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void ProgressThread::adopt(const std::shared_ptr<Request::State>& state) {
  state->helped = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(state);
  }
  wake_.notify_one();
}

void ProgressThread::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || !pending_.empty(); });
    if (stop_) {
      // Hand requests still pending back to their owners, who then complete them.
      for (const auto& s : pending_) {
        {
          std::lock_guard<std::mutex> state_lock(s->mutex);
          s->helped = false;
        }
        s->done_cv.notify_all();
      }
      return;
    }
    auto work = pending_;
    lock.unlock();
    std::vector<Request::State*> finished;
    for (const auto& s : work) {
      int flag = 0;
      const int rc = MPI_Testall(2, s->requests, &flag, MPI_STATUSES_IGNORE);
      if (flag || rc != MPI_SUCCESS) {
        {
          std::lock_guard<std::mutex> state_lock(s->mutex);
          s->mpi_done = flag != 0;
          s->mpi_error = rc;
        }
        s->done_cv.notify_all();
        finished.push_back(s.get());
      }
    }
    lock.lock();
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(),
                                  [&](const auto& s) {
                                    return std::find(finished.begin(), finished.end(), s.get()) !=
                                           finished.end();
                                  }),
                   pending_.end());
    if (!pending_.empty()) wake_.wait_for(lock, interval_, [&] { return stop_; });
  }
}

}  // namespace olsgd::comm
