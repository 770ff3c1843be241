#pragma once
// The MPI communicator the algorithms talk through: collectives on flat device Views (one
// buffer, one call) with byte accounting. Device memory that the host cannot address is
// staged through a persistent host buffer; host-accessible memory goes to MPI directly.
#include <olsgd/core/types.hpp>

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace olsgd::comm {

template <class T>
MPI_Datatype mpi_datatype();

// Who a collective's bytes are counted for: the algorithm's own traffic, or bookkeeping
// (metrics, setup) that a real training job would not send.
enum class Traffic { Algorithm, Bookkeeping };

// Bytes handed to collectives, and a wire estimate (ring allreduce: 2(m-1)/m * payload).
struct TrafficCounter {
  std::int64_t calls = 0;
  double payload_bytes = 0;
  double wire_bytes = 0;
};

class Communicator {
 public:
  explicit Communicator(MPI_Comm comm);  // duplicates `comm`
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm raw() const { return comm_; }

  // v = sum over ranks of v, in place, as one collective.
  template <class Scalar>
  void allreduce_sum(const ExecSpace& exec, const Vector<Scalar>& v,
                     Traffic traffic = Traffic::Algorithm);

  // Sums for bookkeeping (metrics, setup); NOT counted as algorithm traffic.
  void sum_uncounted(std::vector<double>& values) const;
  double sum_uncounted(double value) const;

  double max_uncounted(double value) const;

  // Collective: if any rank passes a non-empty `local_error`, every rank throws an
  // InputError carrying the message of the lowest such rank. Keeps ranks from diverging
  // (some training, some exiting) when only some of them hit bad input.
  void agree_or_throw(const std::string& local_error) const;

  const TrafficCounter& traffic() const { return traffic_; }

 private:
  void count_allreduce(std::size_t bytes);
  // Host buffer for staging, grown on demand.
  void* staging(std::size_t bytes);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  TrafficCounter traffic_;
  std::vector<unsigned char> staging_;
};

}  // namespace olsgd::comm
