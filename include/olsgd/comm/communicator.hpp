#pragma once
// The MPI communicator the algorithms talk through: collectives on flat device Views (one
// buffer, one call) with byte accounting. Device memory that the host cannot address is
// staged through a persistent host buffer, page-locked where the backend has such memory (a
// copy to or from pageable memory is synchronous and bounced through the driver's own pinned
// buffer); host-accessible memory goes to MPI directly (or is staged too when a test asks, so
// the device path runs and is checked on the host).
#include <olsgd/comm/progress_thread.hpp>
#include <olsgd/comm/request.hpp>
#include <olsgd/core/types.hpp>

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace olsgd::comm {

template <class T>
MPI_Datatype mpi_datatype();

// Who a collective's bytes are counted for: the algorithm's own traffic, or bookkeeping
// (metrics, setup) that a real training job would not send.
enum class Traffic { Algorithm, Bookkeeping };

// Bytes handed to collectives, a wire estimate (ring allreduce: 2(m-1)/m * payload), and
// the network delay injected into them.
struct TrafficCounter {
  std::int64_t calls = 0;
  double payload_bytes = 0;
  double wire_bytes = 0;
  double delay_s = 0;
};

// An injected network: each algorithm collective of `bytes` completes no earlier than
// delay_s + latency_s + bytes / bandwidth_Bps after it started (bandwidth 0: infinite).
struct NetworkModel {
  double delay_s = 0;
  double latency_s = 0;
  double bandwidth_Bps = 0;
  double seconds(std::size_t bytes) const {
    return delay_s + latency_s +
           (bandwidth_Bps > 0 ? static_cast<double>(bytes) / bandwidth_Bps : 0.0);
  }
};

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm);  // duplicates `comm`
  ~Communicator();
  // A level of a hierarchy: the ranks of this communicator that pass the same `color`, ordered
  // by `key`. It counts its algorithm traffic and waits into this one's totals (the run's),
  // shares the job clock, the staging rule and the progress thread (start that first); its
  // injected network starts empty. Collective over this communicator.
  std::unique_ptr<Communicator> split(int color, int key) const;
  // The same for the ranks that share this rank's node (MPI_COMM_TYPE_SHARED).
  std::unique_ptr<Communicator> split_by_node() const;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm raw() const { return comm_; }

  // v = sum over ranks of v, in place, as one collective.
  template <class Scalar>
  void allreduce_sum(const ExecSpace& exec, const Vector<Scalar>& v,
                     Traffic traffic = Traffic::Algorithm);

  // Starts recv = sum over ranks of send (MPI_Iallreduce; algorithm traffic). `send` must
  // stay unmodified and both must stay allocated until the request completes.
  template <class Scalar>
  Request iallreduce_sum(const ExecSpace& exec, const Vector<Scalar>& send,
                         const Vector<Scalar>& recv);

  // recv = the concatenation of every rank's `send` in rank order (MPI_Allgather; algorithm
  // traffic: payload = bytes of `send`, wire = (m - 1) * payload, the bytes a ring allgather
  // moves per rank). `recv` holds size() * send.extent(0) words.
  void allgather(const ExecSpace& exec, const WordVector& send, const WordVector& recv);

  // Rank r's range of `send` (the ranges are consecutive, `counts[r]` long, in rank order)
  // summed over the ranks into rank r's `mine` (MPI_Reduce_scatter; algorithm traffic:
  // payload = bytes of `send`, wire = (m - 1) / m of it).
  template <class Scalar>
  void reduce_scatter_sum(const ExecSpace& exec, const Vector<Scalar>& send,
                          const Vector<Scalar>& mine, const std::vector<int>& counts);
  // In place: every rank's range of `v` (as for reduce_scatter_sum) to every rank
  // (MPI_Allgatherv; algorithm traffic: payload = this rank's range, wire = (m - 1) x it).
  template <class Scalar>
  void allgather_ranges(const ExecSpace& exec, const Vector<Scalar>& v,
                        const std::vector<int>& counts);
  // The same started as MPI_Iallgather: `send` must stay unmodified and both allocated until
  // the request completes (the injected network delays its completion, as for iallreduce).
  Request iallgather(const ExecSpace& exec, const WordVector& send, const WordVector& recv);

  // Starts recv = every rank's `n` host doubles of `send`, in rank order (MPI_Iallgather): a
  // few numbers that travel with an algorithm collective posted just before (a weighted
  // average's weights). Their bytes count as that collective's, with no call or injected
  // delay of their own. Both buffers must stay put until the request completes.
  Request iallgather_beside(const double* send, int n, double* recv);

  // Whether every rank passed the same value (bookkeeping: 16 bytes, not algorithm traffic).
  // For decisions taken from reduced data that must agree on all ranks (docs/algorithms.md §0).
  bool same_on_all_ranks(std::uint64_t value) const;

  // The injected network model for algorithm collectives (none by default).
  void set_network_model(const NetworkModel& model) { network_ = model; }
  const NetworkModel& network_model() const { return network_; }
  // Hands in-flight requests to a helper thread. Returns false, and starts nothing, when the
  // MPI library does not provide MPI_THREAD_MULTIPLE.
  bool start_progress_thread();
  bool has_progress_thread() const { return progress_ != nullptr; }

  // Seconds this rank was held by algorithm collectives before the last rank had posted its
  // part (waiting for a slower peer, not for the network), cumulative. Each algorithm
  // collective carries a one-number MPI_MAX of the post times for it.
  double peer_wait_s() const { return waits_->peer_s; }
  // Where the rest of the collectives' waits went (comm/request.hpp).
  const WaitTotals& wait_totals() const { return *waits_; }
  // The job clock: seconds since the ranks left the barrier in the constructor. Shared by the
  // ranks to within that barrier's exit skew (microseconds on one node, plus clock drift).
  double job_seconds() const;

  // Fastest of `repetitions` blocking allreduces of `bytes` (bookkeeping, no injected delay):
  // what an algorithm's collective costs on this network when nothing hides it.
  double calibrate_allreduce(std::size_t bytes, int repetitions = 5);
  // What an algorithm allreduce of `bytes` costs when nothing hides it: calibrated above, plus
  // the injected network. Collective.
  double unhidden_allreduce_s(std::size_t bytes) {
    return calibrate_allreduce(bytes) + network_.seconds(bytes);
  }

  // Sums for bookkeeping (metrics, setup); NOT counted as algorithm traffic.
  void sum_uncounted(std::vector<double>& values) const;
  double sum_uncounted(double value) const;

  double max_uncounted(double value) const;
  // Starts value = max over ranks of value in place (bookkeeping, MPI_Iallreduce): a decision
  // all ranks reach together without stopping them all at one point. `value` must stay put
  // until the request completes.
  Request imax_uncounted(int& value);

  // Collective: if any rank passes a non-empty `local_error`, every rank throws an
  // InputError carrying the message of the lowest such rank. Keeps ranks from diverging
  // (some training, some exiting) when only some of them hit bad input.
  void agree_or_throw(const std::string& local_error) const;
  // Collective: the message of the lowest rank whose `local_error` is non-empty, on every
  // rank, or "" when there is none.
  std::string agree(const std::string& local_error) const;
  // Collective: rank `root`'s `text` on every rank (at most 2 GiB).
  std::string broadcast(const std::string& text, int root = 0) const;

  // Stage host-accessible Views through the host buffers as well, the path device memory
  // always takes (for tests: it then runs on a host-only build). Off: direct where possible.
  void force_host_staging(bool on) { stage_ = on || !kHostAccessible; }
  bool stages() const { return stage_; }
  // Staging buffers the non-blocking collectives have allocated: the most ever in flight at once.
  std::size_t async_staging_buffers() const { return async_staging_.size(); }

  const TrafficCounter& traffic() const { return *traffic_; }
  // Continues the counts of a run restarted from a checkpoint.
  void restore_traffic(const TrafficCounter& t) { *traffic_ = t; }

 private:
  static constexpr bool kHostAccessible =
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible;
#ifdef KOKKOS_HAS_SHARED_HOST_PINNED_SPACE
  using StagingSpace = Kokkos::SharedHostPinnedSpace;  // Kokkos 4: HostSpace on host builds
#else
  using StagingSpace = Kokkos::HostSpace;  // Kokkos 3 (host builds only here)
#endif
  using StagingBuffer = Kokkos::View<unsigned char*, StagingSpace>;
  template <class T>
  using Staged = Kokkos::View<T*, StagingSpace, Kokkos::MemoryUnmanaged>;  // into a buffer

  // Count an algorithm collective of `bytes` payload; return the injected delay it must take.
  double count_allreduce(std::size_t bytes);
  double count_allgather(std::size_t bytes);
  double count(std::size_t bytes, double wire_bytes);
  // Starts the max of the post times beside an algorithm collective posted now, whose
  // injected network takes `delay` from the last post.
  void post_time(Request::State& s, double delay);
  // Ends a blocking algorithm collective started with post_time(): waits for the latest post,
  // sleeps until it + the delay, and books the whole call in the WaitTotals.
  void finish_blocking(Request::State& s);
  // Host buffer for staging, grown on demand.
  void* staging(std::size_t bytes);
  // Host buffer of `bytes` for one staged non-blocking collective; the request keeps it alive
  // until MPI is done with it. Taken from a pool of persistent ones that no request in flight
  // holds: two requests in flight never share staging memory.
  StagingBuffer async_staging(std::size_t bytes);

  // A split of `parent` over `comm` (owned).
  Communicator(MPI_Comm comm, const Communicator& parent);

  NetworkModel network_;
  Request::Clock::time_point epoch_;
  // Shared with the communicators split from this one (their traffic and waits are the run's).
  std::shared_ptr<WaitTotals> waits_ = std::make_shared<WaitTotals>();
  std::shared_ptr<TrafficCounter> traffic_ = std::make_shared<TrafficCounter>();
  std::shared_ptr<ProgressThread> progress_;
  std::vector<StagingBuffer> async_staging_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  StagingBuffer staging_;
  bool stage_ = !kHostAccessible;
};

}  // namespace olsgd::comm
