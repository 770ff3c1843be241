#pragma once
// How the ranks combine what they send, kept apart from when an algorithm communicates and
// from its local step (as PyTorch keeps its averagers, comm hooks and local optimizer apart),
// with non-blocking requests first-class: an exchange posts now and completes later.
//
// AnchorExchange: the model average behind Overlap-Local-SGD's anchor, one round in flight.
//   GradientExchange: the blocking per-step gradient average of minibatch SGD.
// Plain ones send the numbers (plain_exchange.hpp); quantized ones send QSGD messages
// (quantized_exchange.hpp). A new exchange is its own files, one line in the registry
// (algo/registry.cpp) and its test.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/flat_state.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/timers.hpp>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace olsgd {

// Fragment f of `fragments` over d numbers (a streaming sync): [first, second), contiguous, the
// sizes differing by at most one.
inline std::pair<Index, Index> fragment_range(Index d, int fragments, int f) {
  return {d * f / fragments, d * (f + 1) / fragments};
}

// The state segments of an exchange that averages the models themselves: send (this rank's
// part, the request's send buffer) | anchor (where the average lands; x0 until the first).
template <class Scalar>
struct SendAndAnchor {
  const FlatState<Scalar>* state = nullptr;
  std::size_t send = 0, anchor = 0;
  void declare(FlatState<Scalar>& s, Index d) {
    send = s.add("send", static_cast<std::size_t>(d));
    anchor = s.add("anchor", static_cast<std::size_t>(d));
    state = &s;
  }
  // After allocation, with x0 in the state's first segment.
  void start(const ExecSpace& exec) const {
    Kokkos::deep_copy(exec, state->segment(anchor), state->segment(0));
    exec.fence();
  }
};

// Runs a piece of an exchange's work as the algorithm's compute (fenced, timed, counted).
using ComputeTimer = std::function<void(const std::function<void()>&)>;

// What an exchange works with; the algorithm's, and outlives the exchange.
struct ExchangeContext {
  ExecSpace exec;
  comm::Communicator& comm;
  Timers& timers;
  ComputeTimer compute;
  std::uint64_t seed = 1;
  std::string source;  // the deck, for messages
  // The model's running statistics (batch norm), the last `buffers` of its d numbers: an anchor
  // exchange that compresses sends them exactly (as distributed trainers leave buffers
  // uncompressed), since a compressed move could turn a running variance negative. (Gradient
  // exchanges never see them: the statistics take no gradient.)
  Index buffers = 0;
};

template <class Scalar>
class AnchorExchange {
 public:
  // What the algorithm writes before post(): `buffer` = scale * its model (the plain average),
  // or its model minus the anchor when `difference` (an encoded move away from the anchor).
  struct Message {
    Vector<Scalar> buffer;
    double scale = 1;
    bool difference = false;
  };

  virtual ~AnchorExchange() = default;
  // Adds the segments the exchange keeps in the checkpointed state (the anchor at least),
  // before the state is allocated.
  virtual void declare(FlatState<Scalar>& state) = 0;
  // After allocation, with x0 in the state's first segment: the anchor starts at x0.
  virtual void start(const FlatState<Scalar>& state) = 0;
  virtual Vector<Scalar> anchor() const = 0;
  virtual Message message() const = 0;
  static constexpr int kAll = -1;  // every fragment
  // Splits the exchange into `fragments` contiguous ranges (fragment_range), each averaged by
  // its own request, completed and posted on its own. Before start(). An exchange that cannot
  // split throws std::logic_error (the deck check keeps such runs out).
  virtual void split(int fragments) {
    if (fragments != 1)
      throw std::logic_error("this anchor exchange does not split into fragments");
  }
  // Waits for the exchange of `fragment` (or kAll) posted last and moves its average into that
  // range of anchor(); the wait goes to Phase::Wait. Nothing posted: leaves the anchor.
  virtual void complete(int fragment) = 0;
  // Lets MPI advance the requests in flight (Open MPI progresses only inside MPI calls).
  virtual void progress() = 0;
  // Encodes `fragment` (or kAll) of message() (step k's random stream where it draws) and
  // posts it.
  virtual void post(Index k, int fragment) = 0;
  // A weighted average (time-budgeted rounds): this rank's next part counts `weight` times,
  // the anchor becomes sum_i w_i x_i / sum_i w_i, and `steps` (the local steps behind the
  // part) travels beside it for the record. Call before message(). An exchange that cannot
  // weigh its parts throws std::logic_error (the deck check keeps such runs out).
  virtual void weigh(double /*weight*/, int /*steps*/) {
    throw std::logic_error("this anchor exchange does not weigh its parts");
  }
  // The local steps behind each rank's part of the average completed last, in rank order
  // (empty when unweighted or none completed).
  virtual const std::vector<int>& steps_by_rank() const {
    static const std::vector<int> none;
    return none;
  }
  // Seconds one exchange (of one fragment) costs when nothing hides it, and the injected part.
  virtual double network_seconds() const = 0;
  virtual double injected_seconds() const = 0;

  // Two levels (§2f): an anchor round is inner_rounds() rounds of tau steps, and at the end of
  // each the algorithm calls average_group(x): x = the average of its group's models
  // (blocking), which costs group_network_seconds() unhidden, group_injected_seconds() of it
  // injected. One level: one round, and no group.
  virtual Index inner_rounds() const { return 1; }
  virtual void average_group(const Vector<Scalar>& /*x*/) {}
  virtual double group_network_seconds() const { return 0; }
  virtual double group_injected_seconds() const { return 0; }
};

template <class Scalar>
class GradientExchange {
 public:
  virtual ~GradientExchange() = default;
  // Combines the ranks' gradients in `grad` (blocking) and returns the factor the local step
  // scales it by (1/m where `grad` then holds the sum). Fills the sync record's timings.
  virtual double reduce(Index k, const Vector<Scalar>& grad, SyncRecord& record) = 0;
  // Host state a checkpoint carries (e.g. the levels in force).
  virtual void save_host(HostState&) const {}
  virtual void load_host(const HostState&) {}
};

// Builds an algorithm's anchor exchange once the algorithm can hand it its context, for d
// parameters, with the calibrated cost of one d-vector allreduce.
template <class Scalar>
using AnchorExchangeFactory = std::function<std::unique_ptr<AnchorExchange<Scalar>>(
    const ExchangeContext&, Index d, double calibrated_s)>;

template <class Scalar>
using GradientExchangeFactory = std::function<std::unique_ptr<GradientExchange<Scalar>>(
    const ExchangeContext&, Index d, double calibrated_s)>;

// One entry per anchor exchange (`algorithm.anchor_compression`), as for the algorithms.
template <class Scalar>
using AnchorExchangeMaker = std::unique_ptr<AnchorExchange<Scalar>> (*)(const ExchangeContext&,
                                                                        const Config&, Index d,
                                                                        double calibrated_s);
struct AnchorExchangeEntry {
  const char* name;
  const char* summary;
  const char* suffix;  // added to the algorithm's name in outputs and checkpoints ("" for none)
  std::vector<std::string> (*keys)(const Config&);  // deck keys it reads
  double state_copies;                              // d-vectors it adds to the state
  // Bytes of scratch (message buffers) for d numbers of `scalar_bytes` on `ranks` ranks.
  double (*scratch)(const Config&, double d, double scalar_bytes, int ranks);
  AnchorExchangeMaker<float> make_float;
  AnchorExchangeMaker<double> make_double;
};

}  // namespace olsgd
