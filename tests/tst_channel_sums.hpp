// Backend-agnostic test of the per-channel sums (batch norm, a convolution's bias gradient):
// bitwise equal to a host loop in the order the header states, so every backend and thread
// count gives the same bits, and so does every split of a plane's lanes over threads (the
// host's one thread per plane and a GPU's one thread per lane both run here).
#include <olsgd/kernels/channel_sums.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <test_helpers.hpp>
#include <vector>

namespace {

using Space = TEST_EXECSPACE;
using olsgd::kernels::ChannelSums;
using olsgd::kernels::kChannelSumLanes;

// Sample j's plane of channel c in kChannelSumLanes interleaved sums added pairwise, then the
// samples in order.
double reference_sum(const std::vector<double>& x, long n, long C, long plane, long c) {
  double total = 0;
  for (long j = 0; j < n; ++j) {
    double lane[kChannelSumLanes] = {};
    for (long q = 0; q < plane; ++q) lane[q % kChannelSumLanes] += x[(j * C + c) * plane + q];
    for (int w = kChannelSumLanes / 2; w > 0; w /= 2)
      for (int l = 0; l < w; ++l) lane[l] += lane[l + w];
    total += lane[0];
  }
  return total;
}

// Channel c's sums of x and of c - x (no product: a GPU compiler may fuse a multiply into the
// addition), as sums(0, c) and sums(1, c), with G threads per plane. A free function: nvcc
// refuses a device lambda in a test body, a private member. The partials hold `rows` samples
// (n when negative).
template <int G>
Kokkos::View<double**, Space::memory_space> device_sums(
    const Kokkos::View<double*, Space::memory_space>& x, long n, long C, long plane,
    long rows = -1) {
  const auto partial =
      olsgd::kernels::channel_partials<Space, G>("partial", 2, C, rows < 0 ? n : rows);
  Kokkos::View<double**, Space::memory_space> sums("sums", 2, C);
  olsgd::kernels::channel_sums<2>(
      Space(), "test_channel_sums", n, C, plane, partial,
      KOKKOS_LAMBDA(long c, long i) {
        return ChannelSums<2>{{x(i), c - x(i)}};
      },
      KOKKOS_LAMBDA(long c, const ChannelSums<2>& s) {
        sums(0, c) = s.v[0];
        sums(1, c) = s.v[1];
      },
      olsgd::kernels::ChannelSumThreads<G>{});
  return sums;
}

template <int G>
void expect_documented_order() {
  SCOPED_TRACE("threads per plane " + std::to_string(G));
  struct Shape {
    long n, C, plane;
  };
  // Planes shorter than, equal to and longer than the lanes, with and without a remainder; and
  // a batch whose partials outgrow a GPU team's shared memory.
  for (const Shape shape :
       {Shape{3, 5, 1}, Shape{3, 5, 3}, Shape{3, 5, 7}, Shape{3, 5, 8}, Shape{3, 5, 9},
        Shape{3, 5, 14}, Shape{3, 5, 49}, Shape{3, 5, 784}, Shape{2100, 2, 3}}) {
    const long n = shape.n, C = shape.C, plane = shape.plane;
    SCOPED_TRACE("n " + std::to_string(n) + ", C " + std::to_string(C) + ", plane " +
                 std::to_string(plane));
    std::vector<double> x(n * C * plane);
    for (std::size_t i = 0; i < x.size(); ++i)
      x[i] = std::sin(0.37 * i + 0.1) * std::pow(10.0, static_cast<double>(i % 7) - 3);
    const auto xd = olsgd::test::to_device<Space::memory_space>(x);
    const auto h =
        Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), device_sums<G>(xd, n, C, plane));
    std::vector<double> shifted(x.size());
    for (long c = 0; c < C; ++c) {
      for (std::size_t i = 0; i < x.size(); ++i) shifted[i] = static_cast<double>(c) - x[i];
      EXPECT_EQ(h(0, c), reference_sum(x, n, C, plane, c)) << "channel " << c;
      EXPECT_EQ(h(1, c), reference_sum(shifted, n, C, plane, c)) << "channel " << c;
    }
  }
}

// The backend's own split (kChannelSumThreads) is one of these.
TEST(kernels, channel_sums_are_bitwise_the_documented_order_for_every_split_of_the_lanes) {
  expect_documented_order<1>();
  expect_documented_order<2>();
  expect_documented_order<4>();
  expect_documented_order<8>();
}

// A layer that skipped reserve() hands over partials too small for its batch: refused before a
// kernel writes past their end.
TEST(kernels, channel_sums_refuse_partials_smaller_than_the_batch) {
  const long n = 4, C = 3, plane = 5;
  const auto xd = olsgd::test::to_device<Space::memory_space>(std::vector<double>(n * C * plane));
  EXPECT_THROW(device_sums<1>(xd, n, C, plane, n - 1), std::invalid_argument);
  EXPECT_THROW(device_sums<4>(xd, n, C, plane, 0), std::invalid_argument);
  EXPECT_NO_THROW(device_sums<4>(xd, n, C, plane, n));
}

}  // namespace
