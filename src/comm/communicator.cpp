#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/error.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>
#include <thread>

#include "mpi_check.hpp"
#include "watchdog.hpp"

namespace olsgd::comm {

template <>
MPI_Datatype mpi_datatype<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_datatype<double>() {
  return MPI_DOUBLE;
}

using detail::check;

Communicator::Communicator(MPI_Comm comm) {
  check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  // Errors come back as codes we turn into exceptions, instead of aborting the job mutely.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  check(MPI_Barrier(comm_), "MPI_Barrier");
  epoch_ = Request::Clock::now();
}

Communicator::Communicator(MPI_Comm comm, const Communicator& parent)
    : epoch_(parent.epoch_),
      waits_(parent.waits_),
      traffic_(parent.traffic_),
      progress_(parent.progress_),
      comm_(comm),
      stage_(parent.stage_) {
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

std::unique_ptr<Communicator> Communicator::split(int color, int key) const {
  MPI_Comm sub = MPI_COMM_NULL;
  check(MPI_Comm_split(comm_, color, key, &sub), "MPI_Comm_split");
  return std::unique_ptr<Communicator>(new Communicator(sub, *this));
}

std::unique_ptr<Communicator> Communicator::split_by_node() const {
  MPI_Comm sub = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &sub),
        "MPI_Comm_split_type");
  return std::unique_ptr<Communicator>(new Communicator(sub, *this));
}

double Communicator::job_seconds() const {
  return std::chrono::duration<double>(Request::Clock::now() - epoch_).count();
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

double Communicator::count(std::size_t bytes, double wire_bytes) {
  const double delay = network_.seconds(bytes);
  traffic_->calls += 1;
  traffic_->payload_bytes += static_cast<double>(bytes);
  traffic_->wire_bytes += wire_bytes;
  traffic_->delay_s += delay;
  return delay;
}

double Communicator::count_allreduce(std::size_t bytes) {
  return count(bytes, 2.0 * (size_ - 1) / size_ * static_cast<double>(bytes));
}

double Communicator::count_allgather(std::size_t bytes) {
  return count(bytes, static_cast<double>(size_ - 1) * static_cast<double>(bytes));
}

void Communicator::post_time(Request::State& s, double delay) {
  s.epoch = epoch_;
  s.delay = delay;
  s.totals = waits_;
  s.post_s[0] = job_seconds();
  check(MPI_Iallreduce(&s.post_s[0], &s.post_s[1], 1, MPI_DOUBLE, MPI_MAX, comm_, &s.requests[1]),
        "MPI_Iallreduce (post times)");
}

void Communicator::finish_blocking(Request::State& s) {
  check(MPI_Wait(&s.requests[1], MPI_STATUS_IGNORE), "MPI_Wait (post times)");
  const auto mpi_done = Request::Clock::now();
  std::this_thread::sleep_until(s.ready_at());  // the injected network, from the last post
  Request::book_wait(s, s.epoch + detail::seconds(s.post_s[0]), mpi_done, Request::Clock::now());
}

bool Communicator::start_progress_thread() {
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE) return false;
  if (!progress_) progress_ = std::make_shared<ProgressThread>();
  return true;
}

double Communicator::calibrate_allreduce(std::size_t bytes, int repetitions) {
  std::vector<double> buf((bytes + sizeof(double) - 1) / sizeof(double), 1.0);
  std::vector<double> t(repetitions);
  for (int r = 0; r < repetitions; ++r) {
    check(MPI_Barrier(comm_), "MPI_Barrier");
    const double t0 = MPI_Wtime();
    sum_uncounted(buf);
    t[r] = MPI_Wtime() - t0;
  }
  // The fastest repetition: other load only ever adds time (a descheduled rank holds the
  // collective for a time slice), which is not the network's cost. Every rank must use the
  // same figure: the slowest rank's.
  return max_uncounted(*std::min_element(t.begin(), t.end()));
}

namespace {
// Grown, never shrunk; no zero fill: every use writes what it reads. Pinned allocations are
// slow (milliseconds), so they are kept across collectives.
template <class Buffer>
void grow(Buffer& b, std::size_t bytes) {
  if (b.extent(0) < bytes)
    b = Buffer(Kokkos::view_alloc(Kokkos::WithoutInitializing, "olsgd::staging"), bytes);
}

// One copy to or from a staging buffer, complete on return, its time booked in `totals`.
// Callers fence the kernels that wrote a device source first, so this is the copy alone.
template <class Dst, class Src>
void copy_staged(const ExecSpace& exec, const Dst& dst, const Src& src, WaitTotals& totals) {
  const auto start = std::chrono::steady_clock::now();
  Kokkos::deep_copy(exec, dst, src);
  exec.fence();
  totals.staging_s +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}
}  // namespace

void* Communicator::staging(std::size_t bytes) {
  grow(staging_, bytes);
  return staging_.data();
}

Communicator::StagingBuffer Communicator::async_staging(std::size_t bytes) {
  // A request in flight holds a copy of its View: the first buffer no request holds, else a
  // new one. The pool grows to the most requests in flight at once (an exchange's fragments).
  auto free = std::find_if(async_staging_.begin(), async_staging_.end(),
                           [](const StagingBuffer& b) { return b.use_count() == 1; });
  if (free == async_staging_.end()) free = async_staging_.insert(free, StagingBuffer());
  grow(*free, bytes);
  return *free;
}

template <class Scalar>
void Communicator::allreduce_sum(const ExecSpace& exec, const Vector<Scalar>& v, Traffic traffic) {
  Activity::Collective mark;
  const std::size_t n = v.extent(0);
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("allreduce of more than INT_MAX elements is not supported");
  const bool algorithm = traffic == Traffic::Algorithm;
  Request::State timing;
  if (algorithm) post_time(timing, count_allreduce(n * sizeof(Scalar)));
  exec.fence();  // the kernels that wrote v must be done before MPI reads it
  if (!stage_) {
    check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), mpi_datatype<Scalar>(),
                        MPI_SUM, comm_),
          "MPI_Allreduce");
  } else {
    Staged<Scalar> host(static_cast<Scalar*>(staging(n * sizeof(Scalar))), n);
    copy_staged(exec, host, v, *waits_);
    check(MPI_Allreduce(MPI_IN_PLACE, host.data(), static_cast<int>(n), mpi_datatype<Scalar>(),
                        MPI_SUM, comm_),
          "MPI_Allreduce");
    copy_staged(exec, v, host, *waits_);
  }
  if (algorithm) finish_blocking(timing);
}

template <class Scalar>
Request Communicator::iallreduce_sum(const ExecSpace& exec, const Vector<Scalar>& send,
                                     const Vector<Scalar>& recv) {
  const std::size_t n = send.extent(0);
  if (n > static_cast<std::size_t>(INT_MAX) || recv.extent(0) != n)
    throw std::runtime_error("iallreduce_sum: sizes differ or exceed INT_MAX");
  auto state = std::make_shared<Request::State>();
  post_time(*state, count_allreduce(n * sizeof(Scalar)));
  exec.fence();  // the kernels that wrote `send` must be done before MPI reads it
  Scalar* send_ptr = send.data();
  Scalar* recv_ptr = recv.data();
  if (stage_) {
    // Stage through host buffers that stay put until the request completes.
    auto buffer = async_staging(2 * n * sizeof(Scalar));
    send_ptr = reinterpret_cast<Scalar*>(buffer.data());
    recv_ptr = send_ptr + n;
    copy_staged(exec, Staged<Scalar>(send_ptr, n), send, *waits_);
    state->on_complete = [exec, recv, host = Staged<Scalar>(recv_ptr, n), buffer, totals = waits_] {
      copy_staged(exec, recv, host, *totals);
    };
  }
  check(MPI_Iallreduce(send_ptr, recv_ptr, static_cast<int>(n), mpi_datatype<Scalar>(), MPI_SUM,
                       comm_, &state->requests[0]),
        "MPI_Iallreduce");
  if (progress_) progress_->adopt(state);
  return Request(std::move(state));
}

template void Communicator::allreduce_sum<float>(const ExecSpace&, const Vector<float>&, Traffic);
template void Communicator::allreduce_sum<double>(const ExecSpace&, const Vector<double>&, Traffic);
template Request Communicator::iallreduce_sum<float>(const ExecSpace&, const Vector<float>&,
                                                     const Vector<float>&);
template Request Communicator::iallreduce_sum<double>(const ExecSpace&, const Vector<double>&,
                                                      const Vector<double>&);

void Communicator::allgather(const ExecSpace& exec, const WordVector& send,
                             const WordVector& recv) {
  Activity::Collective mark;
  const std::size_t n = send.extent(0);
  if (n > static_cast<std::size_t>(INT_MAX) || recv.extent(0) != n * size_)
    throw std::runtime_error("allgather: receive buffer is not size() * send, or too large");
  Request::State timing;
  post_time(timing, count_allgather(n * sizeof(std::uint32_t)));
  exec.fence();  // the kernels that wrote `send` must be done before MPI reads it
  if (!stage_) {
    check(MPI_Allgather(send.data(), static_cast<int>(n), MPI_UINT32_T, recv.data(),
                        static_cast<int>(n), MPI_UINT32_T, comm_),
          "MPI_Allgather");
  } else {
    auto* buf = static_cast<std::uint32_t*>(staging((size_ + 1) * n * sizeof(std::uint32_t)));
    Staged<std::uint32_t> host_send(buf, n), host_recv(buf + n, n * size_);
    copy_staged(exec, host_send, send, *waits_);
    check(MPI_Allgather(host_send.data(), static_cast<int>(n), MPI_UINT32_T, host_recv.data(),
                        static_cast<int>(n), MPI_UINT32_T, comm_),
          "MPI_Allgather");
    copy_staged(exec, recv, host_recv, *waits_);
  }
  finish_blocking(timing);
}

Request Communicator::iallgather(const ExecSpace& exec, const WordVector& send,
                                 const WordVector& recv) {
  const std::size_t n = send.extent(0);
  if (n > static_cast<std::size_t>(INT_MAX) || recv.extent(0) != n * size_)
    throw std::runtime_error("iallgather: receive buffer is not size() * send, or too large");
  auto state = std::make_shared<Request::State>();
  post_time(*state, count_allgather(n * sizeof(std::uint32_t)));
  exec.fence();  // the kernels that wrote `send` must be done before MPI reads it
  std::uint32_t* send_ptr = send.data();
  std::uint32_t* recv_ptr = recv.data();
  if (stage_) {
    auto buffer = async_staging((size_ + 1) * n * sizeof(std::uint32_t));
    send_ptr = reinterpret_cast<std::uint32_t*>(buffer.data());
    recv_ptr = send_ptr + n;
    copy_staged(exec, Staged<std::uint32_t>(send_ptr, n), send, *waits_);
    state->on_complete = [exec, recv, host = Staged<std::uint32_t>(recv_ptr, n * size_), buffer,
                          totals = waits_] { copy_staged(exec, recv, host, *totals); };
  }
  check(MPI_Iallgather(send_ptr, static_cast<int>(n), MPI_UINT32_T, recv_ptr, static_cast<int>(n),
                       MPI_UINT32_T, comm_, &state->requests[0]),
        "MPI_Iallgather");
  if (progress_) progress_->adopt(state);
  return Request(std::move(state));
}

Request Communicator::iallgather_beside(const double* send, int n, double* recv) {
  const double bytes = static_cast<double>(n) * sizeof(double);
  traffic_->payload_bytes += bytes;
  traffic_->wire_bytes += static_cast<double>(size_ - 1) * bytes;
  auto state = std::make_shared<Request::State>();  // no post times, no delay: it rides along
  check(MPI_Iallgather(send, n, MPI_DOUBLE, recv, n, MPI_DOUBLE, comm_, &state->requests[0]),
        "MPI_Iallgather");
  if (progress_) progress_->adopt(state);
  return Request(std::move(state));
}

namespace {
// Offsets of consecutive ranges of `counts`, and their total.
std::vector<int> offsets(const std::vector<int>& counts, std::size_t& total) {
  std::vector<int> out(counts.size());
  total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    out[r] = static_cast<int>(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  return out;
}
}  // namespace

template <class Scalar>
void Communicator::reduce_scatter_sum(const ExecSpace& exec, const Vector<Scalar>& send,
                                      const Vector<Scalar>& mine, const std::vector<int>& counts) {
  Activity::Collective mark;
  std::size_t n = 0;
  offsets(counts, n);
  if (counts.size() != static_cast<std::size_t>(size_) || send.extent(0) != n ||
      mine.extent(0) != static_cast<std::size_t>(counts[rank_]) ||
      n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("reduce_scatter_sum: the ranges do not cover the buffers");
  Request::State timing;
  post_time(timing, count(n * sizeof(Scalar), (size_ - 1.0) / size_ * n * sizeof(Scalar)));
  exec.fence();  // the kernels that wrote `send` must be done before MPI reads it
  if (!stage_) {
    check(MPI_Reduce_scatter(send.data(), mine.data(), counts.data(), mpi_datatype<Scalar>(),
                             MPI_SUM, comm_),
          "MPI_Reduce_scatter");
  } else {
    auto* buf = static_cast<Scalar*>(staging((n + mine.extent(0)) * sizeof(Scalar)));
    Staged<Scalar> host_send(buf, n), host_mine(buf + n, mine.extent(0));
    copy_staged(exec, host_send, send, *waits_);
    check(MPI_Reduce_scatter(host_send.data(), host_mine.data(), counts.data(),
                             mpi_datatype<Scalar>(), MPI_SUM, comm_),
          "MPI_Reduce_scatter");
    copy_staged(exec, mine, host_mine, *waits_);
  }
  finish_blocking(timing);
}

template <class Scalar>
void Communicator::allgather_ranges(const ExecSpace& exec, const Vector<Scalar>& v,
                                    const std::vector<int>& counts) {
  Activity::Collective mark;
  std::size_t n = 0;
  const std::vector<int> displs = offsets(counts, n);
  if (counts.size() != static_cast<std::size_t>(size_) || v.extent(0) != n ||
      n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("allgather_ranges: the ranges do not cover the buffer");
  const std::size_t mine = static_cast<std::size_t>(counts[rank_]) * sizeof(Scalar);
  Request::State timing;
  post_time(timing, count(mine, (size_ - 1.0) * mine));
  exec.fence();  // the kernels that wrote `v` must be done before MPI reads it
  auto gather = [&](Scalar* data) {
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(),
                         mpi_datatype<Scalar>(), comm_),
          "MPI_Allgatherv");
  };
  if (!stage_) {
    gather(v.data());
  } else {
    Staged<Scalar> host(static_cast<Scalar*>(staging(n * sizeof(Scalar))), n);
    copy_staged(exec, host, v, *waits_);
    gather(host.data());
    copy_staged(exec, v, host, *waits_);
  }
  finish_blocking(timing);
}

#define OLSGD_LEVEL_COLLECTIVES(Scalar)                                                         \
  template void Communicator::reduce_scatter_sum<Scalar>(                                       \
      const ExecSpace&, const Vector<Scalar>&, const Vector<Scalar>&, const std::vector<int>&); \
  template void Communicator::allgather_ranges<Scalar>(const ExecSpace&, const Vector<Scalar>&, \
                                                       const std::vector<int>&);
OLSGD_LEVEL_COLLECTIVES(float)
OLSGD_LEVEL_COLLECTIVES(double)
#undef OLSGD_LEVEL_COLLECTIVES

bool Communicator::same_on_all_ranks(std::uint64_t value) const {
  Activity::Collective mark;
  // max(v) and max(~v) = ~min(v) in one call: all equal iff max == min.
  std::uint64_t v[2] = {value, ~value};
  check(MPI_Allreduce(MPI_IN_PLACE, v, 2, MPI_UINT64_T, MPI_MAX, comm_), "MPI_Allreduce");
  return v[0] == ~v[1];
}

void Communicator::sum_uncounted(std::vector<double>& values) const {
  Activity::Collective mark;
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                      MPI_SUM, comm_),
        "MPI_Allreduce");
}

double Communicator::sum_uncounted(double value) const {
  Activity::Collective mark;
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return value;
}

double Communicator::max_uncounted(double value) const {
  Activity::Collective mark;
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return value;
}

Request Communicator::imax_uncounted(int& value) {
  auto state = std::make_shared<Request::State>();  // bookkeeping: no post times, no delay
  check(MPI_Iallreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MAX, comm_, &state->requests[0]),
        "MPI_Iallreduce");
  if (progress_) progress_->adopt(state);
  return Request(std::move(state));
}

std::string Communicator::agree(const std::string& local_error) const {
  Activity::Collective mark;
  int first = local_error.empty() ? size_ : rank_;
  check(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  if (first == size_) return {};
  return broadcast(local_error, first);
}

std::string Communicator::broadcast(const std::string& text, int root) const {
  Activity::Collective mark;
  if (rank_ == root && text.size() > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("broadcast of more than 2 GiB is not supported");
  int len = static_cast<int>(text.size());
  check(MPI_Bcast(&len, 1, MPI_INT, root, comm_), "MPI_Bcast");
  std::string out = rank_ == root ? text : std::string(static_cast<std::size_t>(len), ' ');
  check(MPI_Bcast(out.data(), len, MPI_CHAR, root, comm_), "MPI_Bcast");
  return out;
}

void Communicator::agree_or_throw(const std::string& local_error) const {
  const std::string message = agree(local_error);
  if (!message.empty()) throw InputError("", message);
}

}  // namespace olsgd::comm
