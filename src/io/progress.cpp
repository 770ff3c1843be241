#include <olsgd/io/progress.hpp>

#include <cmath>
#include <cstdio>

namespace olsgd::io {

void Progress::step(Index done, Index total) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (done == 1) start_ = last_ = now;  // time the loop, not the setup before it
  if (std::chrono::duration<double>(now - last_).count() < interval_s_ && done != total) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < interval_s_) return;  // short runs stay quiet
  last_ = now;
  std::fprintf(stderr, "[olsgd] step %lld/%lld (%3.0f%%)  %.1f s", static_cast<long long>(done),
               static_cast<long long>(total), 100.0 * done / total, elapsed);
  if (done < total) std::fprintf(stderr, ", ~%.1f s left", elapsed / done * (total - done));
  if (!std::isnan(last_row_.loss)) std::fprintf(stderr, "  loss %.4g", last_row_.loss);
  if (!std::isnan(last_row_.suboptimality))
    std::fprintf(stderr, "  F-F* %.3g", last_row_.suboptimality);
  if (!std::isnan(last_row_.hidden_frac))
    std::fprintf(stderr, "  comm %.1f s (slower ranks %.1f s), hidden %.0f%%",
                 last_row_.t_comm + last_row_.t_wait, last_row_.t_peer,
                 100 * last_row_.hidden_frac);
  std::fprintf(stderr, "\n");
}

}  // namespace olsgd::io
