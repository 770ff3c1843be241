// Counter-based RNG: known-answer vectors of Philox4x32-10 (Random123's kat_vectors),
// distribution moments, and the minibatch sampler's reproducibility.
#include <olsgd/core/rng.hpp>
#include <olsgd/data/sampler.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace {

using olsgd::CounterRng;
using olsgd::Philox4x32;

void expect_block(std::array<std::uint32_t, 4> c, std::array<std::uint32_t, 2> k,
                  std::array<std::uint32_t, 4> expected) {
  const Philox4x32 r = Philox4x32::block(c.data(), k.data());
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], expected[i]) << "word " << i;
}

TEST(rng, philox4x32_10_known_answers) {
  expect_block({0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  expect_block({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu},
               {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  expect_block({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u},
               {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST(rng, normal_and_uniform_moments) {
  const CounterRng rng(42, olsgd::Stream::Features, 3);
  const int n = 200000;
  double s1 = 0, s2 = 0, u1 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal(i);
    s1 += z;
    s2 += z * z;
    const double u = rng.uniform(i);
    ASSERT_GT(u, 0.0);
    ASSERT_LT(u, 1.0);
    u1 += u;
  }
  const double mean = s1 / n, var = s2 / n - mean * mean;
  // 5-sigma bounds: sd(mean) = 1/sqrt(n), sd(var) = sqrt(2/n).
  EXPECT_LT(std::fabs(mean), 5.0 / std::sqrt(n));
  EXPECT_LT(std::fabs(var - 1.0), 5.0 * std::sqrt(2.0 / n));
  EXPECT_LT(std::fabs(u1 / n - 0.5), 5.0 * std::sqrt(1.0 / 12 / n));
}

TEST(rng, streams_and_seeds_are_independent) {
  const CounterRng a(1, olsgd::Stream::Features, 0), b(1, olsgd::Stream::Labels, 0),
      c(2, olsgd::Stream::Features, 0), d(1, olsgd::Stream::Features, 1);
  EXPECT_NE(a.u64(7), b.u64(7));
  EXPECT_NE(a.u64(7), c.u64(7));
  EXPECT_NE(a.u64(7), d.u64(7));
  EXPECT_EQ(a.u64(7), CounterRng(1, olsgd::Stream::Features, 0).u64(7));
}

std::vector<olsgd::Index> draw(const olsgd::MinibatchSampler& s, olsgd::Index step) {
  auto idx = s.sample(olsgd::ExecSpace(), step);
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), idx);
  return std::vector<olsgd::Index>(h.data(), h.data() + h.extent(0));
}

TEST(sampler, batches_are_reproducible_in_range_and_vary) {
  const olsgd::MinibatchSampler s(9, 1, 100, 64), same(9, 1, 100, 64), other_rank(9, 0, 100, 64);
  const auto b0 = draw(s, 5);
  EXPECT_EQ(b0, draw(same, 5));
  EXPECT_NE(b0, draw(s, 6));
  EXPECT_NE(b0, draw(other_rank, 5));
  for (auto i : b0) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, 100);
  }
}

}  // namespace
