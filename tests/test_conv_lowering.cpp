// The convolution's lowering kernels, im2col and col2im, bitwise against host loops written
// from their definitions: padded "same" convolutions, windows as large as the plane or larger,
// strided, unpadded and 1x1 ones, a chunk in the middle of the batch, and col2im both writing
// and adding to the input gradient. The finite-difference tests would pass a lowering that is
// wrong the same way forward and backward; these would not.
#include <olsgd/core/types.hpp>
#include <olsgd/model/network_spec.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <test_helpers.hpp>
#include <vector>

#include "model/network/layers.hpp"

namespace {

using olsgd::Index;
using Scalar = float;

struct Lowering {
  Index c, h, w, k, s, pad;
};

// The convolution as the network planner places it (two output channels).
olsgd::PlannedLayer conv_plan(const Lowering& l) {
  const std::string spec = "conv 2 k=" + std::to_string(l.k) + " s=" + std::to_string(l.s) +
                           " p=" + std::to_string(l.pad) + " nobias";
  return olsgd::plan_network(olsgd::parse_network_spec(spec), {l.c, l.h, l.w}, 2).layers.front();
}

std::vector<Scalar> values(std::size_t n, double phase) {
  std::vector<Scalar> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<Scalar>(std::sin(0.37 * i + phase));
  return v;
}

bool same_bits(Scalar a, Scalar b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// The case's shapes, the batch (n samples) and the chunk lowered (samples n0 .. n0 + nb).
struct Case {
  Lowering l;
  Index n, n0, nb;
};

const Case kCases[] = {
    {{2, 5, 7, 3, 1, 1}, 3, 1, 2},    // 3x3 "same", a middle chunk
    {{1, 4, 4, 5, 1, 2}, 1, 0, 1},    // padding half the plane
    {{3, 6, 6, 1, 1, 0}, 2, 0, 2},    // 1x1: the plane itself
    {{2, 1, 2, 3, 1, 1}, 2, 1, 1},    // one row: only the middle row of taps is inside
    {{1, 3, 2, 7, 1, 3}, 1, 0, 1},    // window larger than the plane
    {{2, 7, 7, 3, 2, 1}, 3, 1, 2},    // strided
    {{3, 5, 4, 2, 1, 0}, 2, 0, 2},    // unpadded, output smaller
    {{2, 8, 8, 1, 2, 0}, 2, 1, 1},    // 1x1 stride-2 projection
    {{1, 14, 14, 5, 1, 0}, 2, 0, 2},  // LeNet-5's second convolution
};

// The input pixel column (c, kh, kw) at output (oh, ow) reads, or -1 for padding.
Index tap(const Lowering& l, Index oh, Index ow, Index kh, Index kw) {
  const Index ih = oh * l.s - l.pad + kh, iw = ow * l.s - l.pad + kw;
  return ih < 0 || ih >= l.h || iw < 0 || iw >= l.w ? -1 : ih * l.w + iw;
}

}  // namespace

TEST(conv_lowering, im2col_is_the_definition_bit_for_bit) {
  for (const Case& t : kCases) {
    const Lowering& l = t.l;
    SCOPED_TRACE(::testing::Message() << "C " << l.c << " H " << l.h << " W " << l.w << " k " << l.k
                                      << " s " << l.s << " p " << l.pad << " n0 " << t.n0);
    const olsgd::PlannedLayer plan = conv_plan(l);
    const olsgd::net::Conv<Scalar> conv(plan);
    const Index P = plan.out.h * plan.out.w, kk = l.c * l.k * l.k;
    const auto in = values(t.n * l.c * l.h * l.w, 0.1);
    // NaN where nothing should be left: an element the kernel skips fails the comparison.
    auto col = olsgd::test::to_device<olsgd::MemSpace>(
        std::vector<Scalar>(kk * t.nb * P, std::numeric_limits<Scalar>::quiet_NaN()));
    const auto in_d = olsgd::test::to_device<olsgd::MemSpace>(in);
    conv.im2col(olsgd::ExecSpace(), in_d.data(), t.n0, t.nb, col.data());
    const auto got = olsgd::test::to_host(col);
    Index wrong = 0;
    for (Index c = 0; c < l.c; ++c)
      for (Index kh = 0; kh < l.k; ++kh)
        for (Index kw = 0; kw < l.k; ++kw)
          for (Index j = 0; j < t.nb; ++j)
            for (Index oh = 0; oh < plan.out.h; ++oh)
              for (Index ow = 0; ow < plan.out.w; ++ow) {
                const Index i = tap(l, oh, ow, kh, kw);
                const Scalar want = i < 0 ? Scalar(0) : in[((t.n0 + j) * l.c + c) * l.h * l.w + i];
                const Index row = (c * l.k + kh) * l.k + kw;
                wrong += !same_bits(got[row * t.nb * P + j * P + oh * plan.out.w + ow], want);
              }
    EXPECT_EQ(wrong, 0);
  }
}

// col2im adds each column element into the pixel it was read from, the taps in (kh, kw) order
// for every pixel (the order fixes the bits); samples outside the chunk stay untouched.
TEST(conv_lowering, col2im_is_the_definition_bit_for_bit) {
  for (const Case& t : kCases)
    for (const bool accumulate : {false, true}) {
      const Lowering& l = t.l;
      SCOPED_TRACE(::testing::Message()
                   << "C " << l.c << " H " << l.h << " W " << l.w << " k " << l.k << " s " << l.s
                   << " p " << l.pad << " n0 " << t.n0 << " accumulate " << accumulate);
      const olsgd::PlannedLayer plan = conv_plan(l);
      const olsgd::net::Conv<Scalar> conv(plan);
      const Index P = plan.out.h * plan.out.w, kk = l.c * l.k * l.k, plane = l.h * l.w;
      const auto col = values(kk * t.nb * P, 0.7);
      std::vector<Scalar> want = values(t.n * l.c * plane, 1.9);
      auto din = olsgd::test::to_device<olsgd::MemSpace>(want);
      const auto col_d = olsgd::test::to_device<olsgd::MemSpace>(col);
      conv.col2im(olsgd::ExecSpace(), col_d.data(), t.n0, t.nb, din.data(), accumulate);
      const auto got = olsgd::test::to_host(din);
      for (Index j = 0; j < t.nb; ++j)
        for (Index c = 0; c < l.c; ++c) {
          Scalar* p = want.data() + ((t.n0 + j) * l.c + c) * plane;
          if (!accumulate) std::fill(p, p + plane, Scalar(0));
          for (Index kh = 0; kh < l.k; ++kh)
            for (Index kw = 0; kw < l.k; ++kw)
              for (Index oh = 0; oh < plan.out.h; ++oh)
                for (Index ow = 0; ow < plan.out.w; ++ow) {
                  const Index i = tap(l, oh, ow, kh, kw);
                  const Index row = (c * l.k + kh) * l.k + kw;
                  if (i >= 0) p[i] += col[row * t.nb * P + j * P + oh * plan.out.w + ow];
                }
        }
      Index wrong = 0;
      for (std::size_t i = 0; i < want.size(); ++i) wrong += !same_bits(got[i], want[i]);
      EXPECT_EQ(wrong, 0);
    }
}
