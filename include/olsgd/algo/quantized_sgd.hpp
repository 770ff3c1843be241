#pragma once
// QSGD with fixed levels and DQ-SGD with levels chosen every step (ALGORITHMS.md §5).
// Every step each rank quantizes its gradient g_i (s levels, norm ||g_i||_2) and packs it
// (kernels/quantize.hpp); one MPI_Allgather hands every message to every rank, which decodes
// ghat = (1/m) sum_j Q(g_j) in rank order (the same bits on every rank) and takes the optimizer
// step with it. Momentum and weight decay act on ghat locally: x is replicated, so the decay
// term needs no communication.
//
// DQ-SGD picks s_t, the fewest levels in [min_levels, max_levels] whose quantization share of
// the error bound stays within eps_q / T:
//   min(d/s^2, sqrt(d)/s) w_t G_{t-1}^2 <= eps_q / T,  w_t = L lr^2 / (2m) (1 - lr mu)^(T-1-t),
// with G_{t-1}^2 = mean_j ||g_j||^2 of the previous step, which every rank knows from the norms
// in the messages it received (no extra message); s_0 = max_levels.
//
// Bytes per step and rank (what MPI_Allgather is handed): 4 (sizeof(Scalar)/4 +
// ceil(d/32) (1 + ceil(log2(s_t + 1)))); on the wire (m - 1) times that.
// State: params (replicated) | momentum (optional). The packed messages are scratch.
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/core/rng.hpp>

#include <cstdint>

namespace olsgd {

// The DQ-SGD level rule's inputs (ALGORITHMS.md §5).
struct LevelRule {
  Index dim = 1;
  int ranks = 1;
  Index steps = 1;  // T
  double lr = 0.1, smoothness = 1, strong_convexity = 0, target_error = 0.01;
  std::int64_t min_levels = 1, max_levels = 255;

  static LevelRule from(const Config& c, Index dim, int ranks);
  // s_t for step t given G_{t-1}^2 (the smallest admissible s; max_levels when none is).
  std::int64_t levels(Index t, double g2_prev) const;
};

template <class Scalar>
class QuantizedSgd final : public Algorithm<Scalar> {
 public:
  // `dynamic`: DQ-SGD levels; otherwise QSGD with s = 2^quantize.bits - 1.
  QuantizedSgd(TrainingContext<Scalar> ctx, bool dynamic);
  std::string name() const override { return dynamic_ ? "dq_sgd" : "qsgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;
  void save_host(HostState& h) const override {
    Algorithm<Scalar>::save_host(h);
    h["algorithm.levels"] = static_cast<double>(levels_);
  }
  void load_host(const HostState& h) override {
    Algorithm<Scalar>::load_host(h);
    levels_ = static_cast<std::int64_t>(h.at("algorithm.levels"));
  }

 private:
  bool dynamic_;
  LevelRule rule_;
  std::int64_t levels_;  // s of the next step
  CounterRng rng_;
  WordVector send_, recv_;  // sized for the most levels this run can use
};

}  // namespace olsgd
