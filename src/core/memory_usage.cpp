#include <olsgd/core/memory_usage.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <sys/resource.h>

namespace olsgd {
namespace {
bool peak_was_reset = false;
double peak_before_reset = 0;

double rusage_peak_bytes() {
  struct rusage usage = {};
  getrusage(RUSAGE_SELF, &usage);
  return 1024.0 * static_cast<double>(usage.ru_maxrss);  // Linux reports KiB
}
}  // namespace

double peak_rss_bytes() {
  // Linux derives ru_maxrss from the same high-water mark that a reset clears: keep the peak
  // from before the reset.
  const double now = rusage_peak_bytes();
  return now > peak_before_reset ? now : peak_before_reset;
}

bool reset_peak_rss() {
  peak_before_reset = peak_rss_bytes();
  std::ofstream f("/proc/self/clear_refs");
  peak_was_reset = f && (f << "5").flush();  // 5: reset the peak resident set (Linux >= 4.0)
  return peak_was_reset;
}

double peak_rss_since_reset_bytes() {
  if (!peak_was_reset) return std::nan("");
  std::ifstream status("/proc/self/status");
  std::string key;
  double kib = 0;
  while (status >> key) {
    if (key == "VmHWM:" && status >> kib) return 1024.0 * kib;
    status.ignore(1 << 20, '\n');
  }
  return std::nan("");
}

}  // namespace olsgd
