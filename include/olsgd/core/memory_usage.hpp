#pragma once
// This process's resident memory, for the run summary: the lifetime peak, and the peak since
// a reset, so that training's own peak is not hidden under the data loading's transient
// (a shard read and converted on the host before it moves into its View).

namespace olsgd {

// The largest resident set so far (getrusage, and the peak before any reset), bytes.
double peak_rss_bytes();
// Starts a new peak from the current resident set (Linux: /proc/self/clear_refs). False
// where the system cannot; peak_rss_since_reset_bytes() is then unknown.
bool reset_peak_rss();
// The largest resident set since reset_peak_rss() (Linux: VmHWM), bytes; NaN if unknown.
double peak_rss_since_reset_bytes();

}  // namespace olsgd
