#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/error.hpp>

#include <climits>
#include <stdexcept>
#include <string>

namespace olsgd::comm {

template <>
MPI_Datatype mpi_datatype<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_datatype<double>() {
  return MPI_DOUBLE;
}

namespace {
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(msg, len));
}
}  // namespace

Communicator::Communicator(MPI_Comm comm) {
  check(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  // Errors come back as codes we turn into exceptions, instead of aborting the job mutely.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Communicator::~Communicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void Communicator::count_allreduce(std::size_t bytes) {
  traffic_.calls += 1;
  traffic_.payload_bytes += static_cast<double>(bytes);
  traffic_.wire_bytes += 2.0 * (size_ - 1) / size_ * static_cast<double>(bytes);
}

void* Communicator::staging(std::size_t bytes) {
  if (staging_.size() < bytes) staging_.resize(bytes);
  return staging_.data();
}

template <class Scalar>
void Communicator::allreduce_sum(const ExecSpace& exec, const Vector<Scalar>& v, Traffic traffic) {
  const std::size_t n = v.extent(0);
  if (n > static_cast<std::size_t>(INT_MAX))
    throw std::runtime_error("allreduce of more than INT_MAX elements is not supported");
  exec.fence();  // the kernels that wrote v must be done before MPI reads it
  if constexpr (Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible) {
    check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), mpi_datatype<Scalar>(),
                        MPI_SUM, comm_),
          "MPI_Allreduce");
  } else {
    Kokkos::View<Scalar*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged> host(
        static_cast<Scalar*>(staging(n * sizeof(Scalar))), n);
    Kokkos::deep_copy(exec, host, v);
    exec.fence();
    check(MPI_Allreduce(MPI_IN_PLACE, host.data(), static_cast<int>(n), mpi_datatype<Scalar>(),
                        MPI_SUM, comm_),
          "MPI_Allreduce");
    Kokkos::deep_copy(exec, v, host);
    exec.fence();
  }
  if (traffic == Traffic::Algorithm) count_allreduce(n * sizeof(Scalar));
}

template void Communicator::allreduce_sum<float>(const ExecSpace&, const Vector<float>&, Traffic);
template void Communicator::allreduce_sum<double>(const ExecSpace&, const Vector<double>&, Traffic);

void Communicator::sum_uncounted(std::vector<double>& values) const {
  check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE,
                      MPI_SUM, comm_),
        "MPI_Allreduce");
}

double Communicator::sum_uncounted(double value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_SUM, comm_), "MPI_Allreduce");
  return value;
}

double Communicator::max_uncounted(double value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
  return value;
}

void Communicator::agree_or_throw(const std::string& local_error) const {
  int first = local_error.empty() ? size_ : rank_;
  check(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
  if (first == size_) return;
  int len = static_cast<int>(local_error.size());
  check(MPI_Bcast(&len, 1, MPI_INT, first, comm_), "MPI_Bcast");
  std::string message = rank_ == first ? local_error : std::string(len, ' ');
  check(MPI_Bcast(message.data(), len, MPI_CHAR, first, comm_), "MPI_Bcast");
  throw InputError("", message);
}

}  // namespace olsgd::comm
