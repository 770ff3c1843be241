// Communication on real MPI ranks: the allreduce of a flat View, its byte accounting, and
// the collective agreement on errors.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/error.hpp>

#include <gtest/gtest.h>

namespace {

using olsgd::comm::Communicator;

TEST(comm, allreduce_sums_a_flat_view_in_place_and_counts_bytes) {
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size(), r = comm.rank();
  const std::size_t n = 1000;
  olsgd::Vector<double> v("v", n);
  Kokkos::parallel_for(
      "fill", Kokkos::RangePolicy<olsgd::ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::size_t i) { v(i) = r + 0.5 * i; });
  comm.allreduce_sum(olsgd::ExecSpace(), v);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  for (std::size_t i = 0; i < n; ++i) ASSERT_DOUBLE_EQ(h(i), m * (m - 1) / 2.0 + m * 0.5 * i);

  EXPECT_EQ(comm.traffic().calls, 1);
  EXPECT_EQ(comm.traffic().payload_bytes, n * sizeof(double));
  EXPECT_DOUBLE_EQ(comm.traffic().wire_bytes, 2.0 * (m - 1) / m * n * sizeof(double));

  olsgd::Vector<float> f("f", 10);
  Kokkos::deep_copy(f, 1.0f);
  comm.allreduce_sum(olsgd::ExecSpace(), f, olsgd::comm::Traffic::Bookkeeping);
  auto fh = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), f);
  EXPECT_EQ(fh(9), static_cast<float>(m));
  EXPECT_EQ(comm.traffic().calls, 1);  // bookkeeping is not algorithm traffic
}

TEST(comm, scalar_reductions) {
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size();
  EXPECT_DOUBLE_EQ(comm.sum_uncounted(comm.rank() + 1.0), m * (m + 1) / 2.0);
  EXPECT_DOUBLE_EQ(comm.max_uncounted(static_cast<double>(comm.rank())), m - 1.0);
  std::vector<double> v = {1.0, static_cast<double>(comm.rank())};
  comm.sum_uncounted(v);
  EXPECT_DOUBLE_EQ(v[0], m);
}

TEST(comm, an_error_on_one_rank_reaches_every_rank) {
  Communicator comm(MPI_COMM_WORLD);
  comm.agree_or_throw("");  // nobody failed: no throw
  const int last = comm.size() - 1;
  const std::string mine =
      comm.rank() == last ? "data.bin: truncated on rank " + std::to_string(last) : "";
  try {
    comm.agree_or_throw(mine);
    FAIL() << "every rank must throw";
  } catch (const olsgd::InputError& e) {
    EXPECT_EQ(std::string(e.what()), "data.bin: truncated on rank " + std::to_string(last));
  }
}

}  // namespace
