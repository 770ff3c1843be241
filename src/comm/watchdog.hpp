#pragma once
// The collective timeout (comm.timeout_s): a rank that hangs or dies must not leave the
// others waiting forever.
//
// Every rank marks where it is: the step it works on and, while inside a collective (a
// blocking one, or a wait on a non-blocking one), since when (`Activity`, process-wide). A
// helper thread per rank sends that to rank 0 every `period` on a communicator of its own;
// rank 0's helper watches every rank: once some rank has waited in a collective longer than
// the timeout, it names the ranks that did not arrive (behind in steps, or silent: stopped
// or dead) on stderr and aborts the job. A rank whose wait exceeds the timeout by far
// without word from rank 0 aborts on its own. Needs MPI_THREAD_MULTIPLE.
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

namespace olsgd::comm {

// What this process is doing, for the watchdog. Set by the training loop (step) and by the
// communicator and requests (collectives).
class Activity {
 public:
  static void set_step(std::int64_t step) { step_.store(step, std::memory_order_relaxed); }
  static std::int64_t step() { return step_.load(std::memory_order_relaxed); }
  // Nanoseconds (steady clock) since when this rank waits in a collective, or 0.
  static std::int64_t waiting_since() { return since_.load(std::memory_order_relaxed); }

  // Marks the scope of one collective call.
  class Collective {
   public:
    Collective();
    ~Collective();
    Collective(const Collective&) = delete;
    Collective& operator=(const Collective&) = delete;

   private:
    bool outer_;  // nested marks (a collective inside a wait) keep the outer start
  };

 private:
  friend class Watchdog;
  static std::atomic<std::int64_t> step_;
  static std::atomic<std::int64_t> since_;
  // Watchdogs alive in this process; without one a mark reads no clock (a 1 KiB
  // average costs under a microsecond, a clock read tens of nanoseconds).
  static std::atomic<int> watched_;
};

class Watchdog {
 public:
  // Collective over `comm`. Throws std::runtime_error without MPI_THREAD_MULTIPLE.
  Watchdog(MPI_Comm comm, double timeout_s);
  // Collective: every rank says goodbye to rank 0 before the helpers stop.
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void run();

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  double timeout_s_, period_s_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace olsgd::comm
