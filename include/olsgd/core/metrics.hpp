#pragma once
// What the driver loop measures: one MetricsRow per logged step, one SyncRecord per
// synchronisation. Values that are not known for a run (e.g. the distance to an unknown
// optimum) are NaN.
#include <cstdint>
#include <limits>
#include <vector>

namespace olsgd {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

struct MetricsRow {
  std::int64_t step = 0;  // steps completed
  double epoch = 0;       // steps done / steps per epoch (NaN without samples)
  double wall_s = 0;      // since the start of training
  double lr = 0;
  double loss = kUnknown;           // minibatch loss of this step, averaged over ranks
  double full_loss = kUnknown;      // F(xbar) over all data
  double suboptimality = kUnknown;  // F(xbar) - F*
  double dist_opt = kUnknown;       // ||xbar - x*||^2
  double consensus = kUnknown;      // (1/m) sum_i ||x_i - xbar||^2
  double bytes_payload = 0;         // cumulative, this rank, handed to collectives
  double bytes_wire = 0;            // cumulative, this rank, estimated on the wire
  double t_compute = 0;             // cumulative seconds per phase (rank 0)
  double t_comm = 0;
  double t_wait = 0;
  double t_peer = 0;              // of t_comm + t_wait, spent waiting for a slower rank's post
  double delay_injected = 0;      // cumulative injected network delay, this rank
  double hidden_frac = kUnknown;  // 1 - exposed / network time, over all syncs so far
  double test_loss = kUnknown;    // of xbar on the held-out set, at evaluation steps
  double test_acc = kUnknown;
};

// One synchronisation (a collective of the algorithm) as this rank saw it.
struct SyncRecord {
  std::int64_t sync = 0;         // 1, 2, ...
  std::int64_t step = 0;         // steps done when it happened
  double t_compute = 0;          // compute seconds since the previous sync
  double t_exposed = 0;          // seconds the training thread was held by communication here:
                                 // a blocking collective, or posting + waiting on a request;
                                 // + what held it between syncs (MPI_Test progress calls, a
                                 // checkpoint's wait): Algorithm::hold_for_next_sync
  double t_wait = 0;             // of which inside a wait on a non-blocking request
  double t_peer = 0;             // of t_exposed, the seconds before the last rank had posted its
                                 // part: waiting for a slower peer, which no network explains
  double t_network = 0;          // what the collective costs when nothing hides it: a calibrated
                                 // blocking allreduce of the same size + the injected delay
  double delay = 0;              // the injected delay of this sync's collective
  double levels = kUnknown;      // quantization levels s of this sync's message (qsgd, dq_sgd)
  std::vector<int> local_steps;  // timed rounds: each rank's local steps in the round it ends

  // Exposed time the network explains: what held the rank after the last rank had posted.
  double network_exposed() const { return t_exposed - t_peer; }
  // 1 - network-exposed / network, clamped to [0, 1]: the fraction of the network time that
  // compute hid (a wait for a slow peer is not the network's); NaN without a network time.
  static double hidden(double network_exposed, double network) {
    if (!(network > 0)) return kUnknown;
    const double h = 1.0 - network_exposed / network;
    return h < 0 ? 0.0 : (h > 1 ? 1.0 : h);
  }
  double hidden_frac() const { return hidden(network_exposed(), t_network); }
};

// Running totals over a rank's syncs.
struct SyncTotals {
  std::int64_t count = 0;
  double t_compute = 0, t_exposed = 0, t_wait = 0, t_peer = 0, t_network = 0, delay = 0;
  std::int64_t timed_rounds = 0;    // syncs that recorded local steps
  std::vector<double> local_steps;  // each rank's local steps over them

  void add(const SyncRecord& r) {
    ++count;
    t_compute += r.t_compute;
    t_exposed += r.t_exposed;
    t_wait += r.t_wait;
    t_peer += r.t_peer;
    t_network += r.t_network;
    delay += r.delay;
    if (!r.local_steps.empty()) ++timed_rounds;
    if (local_steps.size() < r.local_steps.size()) local_steps.resize(r.local_steps.size());
    for (std::size_t i = 0; i < r.local_steps.size(); ++i) local_steps[i] += r.local_steps[i];
  }
  double network_exposed() const { return t_exposed - t_peer; }
  double hidden_frac() const { return SyncRecord::hidden(network_exposed(), t_network); }
};

}  // namespace olsgd
