// Communication on real MPI ranks: the allreduce of a flat View, its byte accounting, and
// the collective agreement on errors.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/error.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace {

using olsgd::comm::Communicator;

// v(i) = base + step * i. Kernels stay out of TEST bodies: nvcc rejects a KOKKOS_LAMBDA in a
// private member function (GoogleTest's TestBody).
void fill_affine(const olsgd::Vector<double>& v, double base, double step) {
  Kokkos::parallel_for(
      "fill", Kokkos::RangePolicy<olsgd::ExecSpace>(0, v.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i) { v(i) = base + step * i; });
}

TEST(comm, allreduce_sums_a_flat_view_in_place_and_counts_bytes) {
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size(), r = comm.rank();
  const std::size_t n = 1000;
  olsgd::Vector<double> v("v", n);
  fill_affine(v, r, 0.5);
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

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// rank + i on each rank: the sum is m(m-1)/2 + m*i.
olsgd::Vector<double> ramp(std::size_t n, int rank) {
  olsgd::Vector<double> v("ramp", n);
  Kokkos::parallel_for(
      "fill", Kokkos::RangePolicy<olsgd::ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::size_t i) { v(i) = rank + 1.0 * i; });
  return v;
}

void expect_ramp_sum(const olsgd::Vector<double>& v, int m) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  for (std::size_t i = 0; i < h.extent(0); ++i)
    ASSERT_DOUBLE_EQ(h(i), m * (m - 1) / 2.0 + m * 1.0 * i);
}

void nonblocking_allreduce_round_trip(Communicator& comm) {
  const int m = comm.size();
  auto send = ramp(300, comm.rank());
  olsgd::Vector<double> recv("recv", 300);
  olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, recv);
  EXPECT_TRUE(req.active());
  while (!req.test()) {
  }
  EXPECT_FALSE(req.active());
  expect_ramp_sum(recv, m);
  EXPECT_EQ(req.wait(), 0.0);  // completing twice is a no-op, never a second MPI_Wait
  EXPECT_TRUE(req.test());
  EXPECT_EQ(comm.traffic().calls, 1);
  EXPECT_EQ(comm.traffic().payload_bytes, 300 * sizeof(double));
}

TEST(request, nonblocking_allreduce_completes_once) {
  Communicator comm(MPI_COMM_WORLD);
  nonblocking_allreduce_round_trip(comm);
}

TEST(request, a_progress_thread_gives_the_same_result) {
  int level = 0;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE) GTEST_SKIP() << "MPI_THREAD_MULTIPLE not provided";
  Communicator comm(MPI_COMM_WORLD);
  ASSERT_TRUE(comm.start_progress_thread());
  nonblocking_allreduce_round_trip(comm);
  auto send = ramp(50, comm.rank());
  olsgd::Vector<double> recv("recv", 50);
  olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, recv);
  req.wait();
  expect_ramp_sum(recv, comm.size());
}

TEST(request, the_destructor_and_move_assignment_complete_in_flight_requests) {
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size();
  auto send = ramp(64, comm.rank());
  olsgd::Vector<double> a("a", 64), b("b", 64);
  try {
    olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, a);
    throw std::runtime_error("unwinding with a request in flight");
  } catch (const std::runtime_error&) {
  }
  expect_ramp_sum(a, m);  // the destructor waited: the buffer holds the result
  olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, b);
  Kokkos::deep_copy(a, 0.0);
  req = comm.iallreduce_sum(olsgd::ExecSpace(), send, a);  // completes the first one first
  expect_ramp_sum(b, m);
  req.wait();
  expect_ramp_sum(a, m);
}

TEST(request, two_requests_in_flight_keep_their_own_buffers) {
  // Where device memory is staged through host buffers (CUDA), each request needs its own;
  // the second here is larger, so a shared buffer would also be reallocated under the first.
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size();
  auto send = ramp(64, comm.rank() + 1000), big = ramp(5000, comm.rank());
  olsgd::Vector<double> a("a", 64), b("b", 5000);
  olsgd::comm::Request first = comm.iallreduce_sum(olsgd::ExecSpace(), send, a);
  olsgd::comm::Request second = comm.iallreduce_sum(olsgd::ExecSpace(), big, b);
  first.wait();
  second.wait();
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), a);
  for (std::size_t i = 0; i < h.extent(0); ++i)
    ASSERT_DOUBLE_EQ(h(i), 1000.0 * m + m * (m - 1) / 2.0 + m * 1.0 * i);
  expect_ramp_sum(b, m);
}

TEST(request, staged_collectives_give_what_direct_ones_give) {
  // The host staging path (always taken for device memory) forced on host memory.
  constexpr bool host_memory =
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, olsgd::MemSpace>::accessible;
  Communicator comm(MPI_COMM_WORLD);
  EXPECT_EQ(comm.stages(), !host_memory);  // direct wherever MPI can read the View
  comm.force_host_staging(true);
  ASSERT_TRUE(comm.stages());
  const int m = comm.size();
  auto v = ramp(700, comm.rank());
  comm.allreduce_sum(olsgd::ExecSpace(), v);
  expect_ramp_sum(v, m);
  double staging_s = comm.wait_totals().staging_s;
  EXPECT_GT(staging_s, 0.0);  // its two copies, timed
  // Two in flight at once, each with its own staging buffer, completed out of order.
  auto send = ramp(64, comm.rank()), big = ramp(5000, comm.rank());
  olsgd::Vector<double> a("a", 64), b("b", 5000);
  olsgd::comm::Request first = comm.iallreduce_sum(olsgd::ExecSpace(), send, a);
  olsgd::comm::Request second = comm.iallreduce_sum(olsgd::ExecSpace(), big, b);
  const double posted_s = comm.wait_totals().staging_s;
  EXPECT_GT(posted_s, staging_s);  // the copies out, at the posts
  second.wait();
  first.wait();
  EXPECT_GT(comm.wait_totals().staging_s, posted_s);  // and back, at completion
  expect_ramp_sum(a, m);
  expect_ramp_sum(b, m);
  // Done, their buffers serve the next two (pinned memory is slow to allocate).
  EXPECT_EQ(comm.async_staging_buffers(), 2u);
  first = comm.iallreduce_sum(olsgd::ExecSpace(), big, b);
  second = comm.iallreduce_sum(olsgd::ExecSpace(), send, a);
  first.wait();
  second.wait();
  expect_ramp_sum(a, m);
  expect_ramp_sum(b, m);
  EXPECT_EQ(comm.async_staging_buffers(), 2u);
  // Allgather, blocking and not: every rank's words in rank order.
  olsgd::WordVector words("words", 3), all("all", 3 * m), all2("all2", 3 * m);
  auto hw = Kokkos::create_mirror_view(words);
  for (int i = 0; i < 3; ++i) hw(i) = 100u * comm.rank() + i;
  Kokkos::deep_copy(words, hw);
  comm.allgather(olsgd::ExecSpace(), words, all);
  olsgd::comm::Request gather = comm.iallgather(olsgd::ExecSpace(), words, all2);
  gather.wait();
  for (const auto& out : {all, all2}) {
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
    for (int r = 0; r < m; ++r)
      for (int i = 0; i < 3; ++i) ASSERT_EQ(h(3 * r + i), 100u * r + i);
  }
  comm.force_host_staging(false);
  EXPECT_EQ(comm.stages(), !host_memory);  // device memory cannot go unstaged
  if (host_memory) {                       // direct: no copy, none booked
    staging_s = comm.wait_totals().staging_s;
    comm.allreduce_sum(olsgd::ExecSpace(), v);
    EXPECT_EQ(comm.wait_totals().staging_s, staging_s);
  }
}

TEST(comm, split_levels_reduce_scatter_and_gather_ranges_into_the_parents_totals) {
  Communicator world(MPI_COMM_WORLD);
  const int m = world.size(), r = world.rank();
  // Groups of two consecutive ranks where there are two (a last odd rank alone), and the
  // members of equal index across them.
  auto group = world.split(r / 2, r);
  auto cross = world.split(group->rank(), r);
  EXPECT_EQ(group->size(), (r / 2) * 2 + 1 < m ? 2 : 1);
  EXPECT_EQ(cross->size(), group->rank() == 0 ? (m + 1) / 2 : m / 2);
  for (const bool staged : {false, true}) {
    group->force_host_staging(staged);
    const int k = group->size();
    const std::vector<int> counts = k == 2 ? std::vector<int>{4, 3} : std::vector<int>{7};
    const olsgd::comm::TrafficCounter before = world.traffic();
    // Element i of the group's sum: the sum over the members q of 10 q + i.
    auto send = ramp(7, 10 * group->rank());
    olsgd::Vector<double> mine("mine", counts[group->rank()]);
    group->reduce_scatter_sum(olsgd::ExecSpace(), send, mine, counts);
    const int first = group->rank() == 0 ? 0 : 4, base = k == 2 ? 10 : 0;
    auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), mine);
    for (int i = 0; i < counts[group->rank()]; ++i) ASSERT_DOUBLE_EQ(h(i), base + k * (first + i));
    // Each member's range (its rank times 100) to both.
    olsgd::Vector<double> v("v", 7);
    Kokkos::deep_copy(Kokkos::subview(v, std::make_pair(first, first + counts[group->rank()])),
                      100.0 * (group->rank() + 1));
    group->allgather_ranges(olsgd::ExecSpace(), v, counts);
    auto hv = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
    for (int i = 0; i < 7; ++i) ASSERT_EQ(hv(i), k == 2 && i >= 4 ? 200.0 : 100.0) << i;
    // The split's traffic is the parent's: payload 7 and 4 or 3 (or 7) numbers.
    const olsgd::comm::TrafficCounter& after = world.traffic();
    EXPECT_EQ(after.calls - before.calls, 2);
    EXPECT_DOUBLE_EQ(after.payload_bytes - before.payload_bytes,
                     (7 + counts[group->rank()]) * sizeof(double));
    EXPECT_DOUBLE_EQ(after.wire_bytes - before.wire_bytes,
                     ((k - 1.0) / k * 7 + (k - 1.0) * counts[group->rank()]) * sizeof(double));
  }
  // Waits on a level are the parent's too: a group member waits for the other's late post.
  if (m >= 2) {
    const double peer_before = world.peer_wait_s();
    if (r == 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto x = ramp(7, r);
    group->allreduce_sum(olsgd::ExecSpace(), x);
    if (r == 0) {
      EXPECT_GE(world.peer_wait_s() - peer_before, 0.04);
    }
  }
}

TEST(request, injected_delay_behaves_like_a_slow_network) {
  Communicator comm(MPI_COMM_WORLD);
  const double delay = 0.05;
  comm.set_network_model({delay, 0, 0});
  auto send = ramp(16, comm.rank());
  olsgd::Vector<double> recv("recv", 16);

  // Nothing overlaps: wait() holds the caller for the whole delay.
  auto t0 = Clock::now();
  olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, recv);
  EXPECT_FALSE(req.test());  // not before post time + delay
  req.wait();
  EXPECT_GE(seconds_since(t0), delay);

  // Work longer than the delay: the request is complete when the work ends. (The delay runs
  // from the last post: the ranks post together, whatever held one of them before.)
  MPI_Barrier(MPI_COMM_WORLD);
  req = comm.iallreduce_sum(olsgd::ExecSpace(), send, recv);
  std::this_thread::sleep_for(std::chrono::duration<double>(1.5 * delay));
  const double blocked = req.wait();
  EXPECT_LT(blocked, 0.5 * delay) << "a request past its delay must not wait for it again";

  // A blocking collective returns no earlier than start + delay, and counts the delay.
  t0 = Clock::now();
  comm.allreduce_sum(olsgd::ExecSpace(), recv);
  EXPECT_GE(seconds_since(t0), delay);
  EXPECT_DOUBLE_EQ(comm.traffic().delay_s, 3 * delay);

  // alpha-beta: latency + bytes / bandwidth.
  const olsgd::comm::NetworkModel ab{0.0, 1e-3, 1e6};
  EXPECT_DOUBLE_EQ(ab.seconds(4000), 1e-3 + 4e-3);
}

// The last rank posts `late` seconds after the others: their waits before its post are
// waiting for a peer, what follows is the network (here the injected delay, counted from the
// last post, as a real network cannot deliver an average before its last part arrives).
TEST(request, waits_split_into_peer_and_network) {
  Communicator comm(MPI_COMM_WORLD);
  const int m = comm.size(), last = m - 1;
  // Long enough that a rank descheduled for tens of milliseconds (4 ASan ranks on 2 busy
  // cores) cannot turn one part into the other.
  const double delay = 0.2, late = m > 1 ? 0.2 : 0.0;
  comm.set_network_model({delay, 0, 0});
  auto send = ramp(16, comm.rank());
  olsgd::Vector<double> recv("recv", 16);
  auto post_late = [&] {
    if (comm.rank() == last) std::this_thread::sleep_for(std::chrono::duration<double>(late));
  };

  // Blocking: every rank returns no earlier than the last post + delay. (Each part starts
  // together: only `late` may separate the posts, not how late a rank came to the test.)
  MPI_Barrier(MPI_COMM_WORLD);
  auto t0 = Clock::now();
  post_late();
  comm.allreduce_sum(olsgd::ExecSpace(), recv);
  // (The others left the barrier at other moments, so only the last rank's own clock says
  // exactly when the last post was.)
  EXPECT_GE(seconds_since(t0), (comm.rank() == last ? late : 0.0) + delay);
  double peer = comm.peer_wait_s();
  if (comm.rank() == last) {
    EXPECT_LT(peer, 0.01 + 0.25 * late);  // the last to post waits for nobody
  } else {
    EXPECT_GT(peer, 0.5 * late);
    EXPECT_LT(peer, late + 0.5 * delay);  // the delay after the last post is the network's
  }

  // Non-blocking, waited for at once: the same split, booked by wait().
  MPI_Barrier(MPI_COMM_WORLD);
  post_late();
  olsgd::comm::Request req = comm.iallreduce_sum(olsgd::ExecSpace(), send, recv);
  const double waited = req.wait();
  const double peer2 = comm.peer_wait_s() - peer;
  if (comm.rank() == last) {
    EXPECT_LT(peer2, 0.01 + 0.25 * late);
    // (The wait starts a little after this rank's post, which the delay counts from.)
    EXPECT_GE(waited, 0.9 * delay);
  } else {
    EXPECT_GT(peer2, 0.5 * late);
    EXPECT_GE(waited, peer2 + 0.9 * delay);
  }
  // MPI itself finished long before the delay ran out: nothing is booked as MPI late.
  EXPECT_LT(comm.wait_totals().mpi_late_s, delay);

  // Bookkeeping collectives book nothing.
  peer = comm.peer_wait_s();
  post_late();
  comm.max_uncounted(1.0);
  EXPECT_EQ(comm.peer_wait_s(), peer);
}

}  // namespace
