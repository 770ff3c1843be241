#pragma once
// Wall time of work on an execution space, fenced on both sides (the benchmarks' manual time).
#include <olsgd/core/types.hpp>

#include <chrono>

namespace olsgd::bench {

template <class F>
double timed(const ExecSpace& exec, const F& f) {
  using Clock = std::chrono::steady_clock;
  exec.fence();
  const auto t0 = Clock::now();
  f();
  exec.fence();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace olsgd::bench
