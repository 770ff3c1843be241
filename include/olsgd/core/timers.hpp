#pragma once
// Phase timers. Each phase is also a Kokkos Tools region, so a Kokkos Tools connector
// (kernel-timer, space-time-stack) shows the same phases the metrics report.
#include <Kokkos_Core.hpp>

#include <array>
#include <chrono>
#include <cstdint>

namespace olsgd {

// The phases a step's time is split into; the metrics CSV reports compute/comm/wait.
enum class Phase { Compute = 0, Comm, Wait, Metrics, Count };

const char* phase_region(Phase p);

class Timers {
 public:
  using Clock = std::chrono::steady_clock;

  double seconds(Phase p) const { return total_[static_cast<int>(p)]; }
  std::int64_t calls(Phase p) const { return calls_[static_cast<int>(p)]; }
  void add(Phase p, double s) {
    total_[static_cast<int>(p)] += s;
    ++calls_[static_cast<int>(p)];
  }
  void reset() {
    total_.fill(0.0);
    calls_.fill(0);
  }

  // Times a scope and marks it as a Kokkos Tools region.
  class Scope {
   public:
    Scope(Timers& timers, Phase phase) : timers_(timers), phase_(phase), start_(Clock::now()) {
      Kokkos::Profiling::pushRegion(phase_region(phase));
    }
    ~Scope() {
      Kokkos::Profiling::popRegion();
      timers_.add(phase_, std::chrono::duration<double>(Clock::now() - start_).count());
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Timers& timers_;
    Phase phase_;
    Clock::time_point start_;
  };

 private:
  std::array<double, static_cast<int>(Phase::Count)> total_{};
  std::array<std::int64_t, static_cast<int>(Phase::Count)> calls_{};
};

inline const char* phase_region(Phase p) {
  switch (p) {
    case Phase::Compute:
      return "olsgd::algo::compute";
    case Phase::Comm:
      return "olsgd::comm::collective";
    case Phase::Wait:
      return "olsgd::comm::wait";
    case Phase::Metrics:
      return "olsgd::io::metrics";
    default:
      return "olsgd::unknown";
  }
}

}  // namespace olsgd
