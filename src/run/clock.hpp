#pragma once
// The clock the run layer times its phases with (setup, checkpoints, training, wall time).
#include <chrono>

namespace olsgd::run {

using Clock = std::chrono::steady_clock;

inline double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace olsgd::run
