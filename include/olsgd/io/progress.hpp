#pragma once
// The progress line on stderr (rank 0): silent for short runs, then one line every couple
// of seconds with the step, the rate and the last logged loss.
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/types.hpp>

#include <chrono>

namespace olsgd::io {

class Progress {
 public:
  explicit Progress(bool enabled, double interval_s = 2.0)
      : enabled_(enabled), interval_s_(interval_s), start_(Clock::now()), last_(start_) {}

  void row(const MetricsRow& r) { last_row_ = r; }
  void step(Index done, Index total);

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_;
  double interval_s_;
  Clock::time_point start_, last_;
  MetricsRow last_row_;
};

}  // namespace olsgd::io
