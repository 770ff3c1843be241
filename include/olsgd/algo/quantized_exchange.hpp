#pragma once
// The exchanges that send QSGD messages (kernels/quantize.hpp): each rank quantizes its
// vector at s levels with its norm and packs it; one MPI_(I)allgather hands every message to
// every rank, which decodes the mean (1/m) sum_j Q(v_j) in rank order, so every rank holds the
// same bits. Element l of the message after step k draws at counter k * 2^32 + l of the
// rank's Philox stream. Bytes per message: 4 (sizeof(Scalar)/4 + ceil(d/32) (1 + bits)).
//
// QuantizedAnchorExchange (Overlap's anchor; a combination none of the papers has): every rank
// holds the same anchor z; a message is the rank's move away from it, delta_i = x_i - z, and
// completing moves z += (1/m) sum_j Q(delta_j). Q is unbiased, so E[z] is the plain average.
// The model's running statistics (ExchangeContext::buffers) move exactly, by an
// MPI_Iallreduce beside the messages: z += (1/m) sum_j delta_j there.
// QuantizedGradientExchange (QSGD, DQ-SGD): the gradients, blocking, every step; DQ-SGD picks
// the levels of each step by LevelRule.
#include <olsgd/algo/exchange.hpp>
#include <olsgd/comm/request.hpp>
#include <olsgd/core/rng.hpp>
#include <olsgd/kernels/quantize.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace olsgd {

// DQ-SGD's level rule (docs/algorithms.md §5): s_t is the fewest levels in
// [min_levels, max_levels] whose quantization share of the error bound stays within eps_q / T:
//   min(d/s^2, sqrt(d)/s) w_t G_{t-1}^2 <= eps_q / T,  w_t = L lr^2 / (2m) (1 - lr mu)^(T-1-t),
// with G_{t-1}^2 = mean_j ||g_j||^2 of the previous step, which every rank knows from the norms
// in the messages it received (no extra message); s_0 = max_levels.
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

// Scratch bytes of the quantized exchanges for d numbers at `bits` on `ranks` ranks: this rank's
// message, everyone's, and the decoded vector (the memory estimate's figure).
double quantized_scratch_bytes(double d, double bits, double scalar_bytes, int ranks);

// State segment: anchor. The packed messages are scratch: complete() (also before a
// checkpoint) applies messages in flight to the anchor, which the next sync would have done
// with the same bits, so a restart continues the same trajectory. Split into fragments, each
// range is quantized with its own norm and travels in its own allgather (the running
// statistics in it, in their own allreduce).
template <class Scalar>
class QuantizedAnchorExchange final : public AnchorExchange<Scalar> {
 public:
  QuantizedAnchorExchange(const ExchangeContext& ctx, Index d, std::int64_t bits);
  void declare(FlatState<Scalar>& state) override;
  void start(const FlatState<Scalar>& state) override;
  Vector<Scalar> anchor() const override { return state_->segment(anchor_); }
  typename AnchorExchange<Scalar>::Message message() const override { return {delta_, 1, true}; }
  void split(int fragments) override { fragments_ = fragments; }
  void complete(int fragment) override;
  void progress() override;
  void post(Index k, int fragment) override;
  double network_seconds() const override { return injected_seconds(); }
  double injected_seconds() const override;

 private:
  // One fragment's messages (the whole vector unsplit): [first, split) quantized with its own
  // norm, [split, last) the running statistics in it, summed exactly.
  struct Part {
    Index first = 0, split = 0, last = 0;
    kernels::QuantizedFormat format;
    WordVector send, recv;                 // this rank's message; everyone's, in rank order
    Vector<Scalar> exact;                  // the ranks' moves over [split, last), summed
    comm::Request request, exact_request;  // posted at the fragment's last sync
    bool pending = false;                  // posted and not yet applied to the anchor
  };
  static Vector<Scalar> range(const Vector<Scalar>& v, Index first, Index last) {
    return Kokkos::subview(v, std::make_pair(first, last));
  }

  ExchangeContext ctx_;
  Index d_;
  std::int64_t levels_;
  int fragments_ = 1;
  CounterRng rng_;
  const FlatState<Scalar>* state_ = nullptr;
  std::size_t anchor_ = 0;
  Vector<Scalar> delta_;  // x_i - z at a sync
  std::vector<Part> parts_;
};

// Host state: algorithm.levels, the s of the next step.
template <class Scalar>
class QuantizedGradientExchange final : public GradientExchange<Scalar> {
 public:
  // `dynamic`: DQ-SGD levels by `rule`; otherwise QSGD with s = 2^bits - 1.
  QuantizedGradientExchange(const ExchangeContext& ctx, Index d, bool dynamic, std::int64_t bits,
                            const LevelRule& rule);
  double reduce(Index k, const Vector<Scalar>& grad, SyncRecord& record) override;
  void save_host(HostState& h) const override {
    h["algorithm.levels"] = static_cast<double>(levels_);
  }
  void load_host(const HostState& h) override {
    levels_ = static_cast<std::int64_t>(h.at("algorithm.levels"));
  }

 private:
  ExchangeContext ctx_;
  Index d_;
  bool dynamic_;
  LevelRule rule_;
  std::int64_t levels_;  // s of the next step
  CounterRng rng_;
  WordVector send_, recv_;  // sized for the most levels this run can use
};

}  // namespace olsgd
