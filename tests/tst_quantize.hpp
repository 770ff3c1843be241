// Backend-agnostic tests of the QSGD quantizer and its wire format (kernels/quantize.hpp):
// TEST_EXECSPACE is defined by the generated per-backend source (cmake/TestHarness.cmake).
#include <olsgd/kernels/quantize.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <reference.hpp>
#include <test_helpers.hpp>
#include <vector>

namespace {

using namespace olsgd;
using kernels::QuantizedFormat;
using Space = TEST_EXECSPACE;
using Words = Kokkos::View<std::uint32_t*, Space::memory_space>;
using olsgd::test::to_host;

template <class T>
Kokkos::View<T*, Space::memory_space> to_device(const std::vector<T>& h) {
  return olsgd::test::to_device<Space::memory_space>(h);
}

std::vector<double> wiggle(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(1.7 * i + 0.3) * (1 + (i % 7));
  return v;
}

// Quantizes v with the draws at counter `base` and decodes the one message again.
struct RoundTrip {
  QuantizedFormat f;
  Words words{"words", static_cast<std::size_t>(f.words())};
  Kokkos::View<double*, Space::memory_space> out{"out", static_cast<std::size_t>(f.dim)};

  std::vector<double> operator()(const Kokkos::View<double*, Space::memory_space>& v, double norm,
                                 const CounterRng& rng, std::uint64_t base) const {
    kernels::quantize_pack(Space(), v, norm, f, rng, base, words);
    kernels::dequantize_mean(Space(), words, 1, f, out);
    return to_host(out);
  }
};

TEST(Quantize, LevelBits) {
  EXPECT_EQ(kernels::level_bits(1), 1);
  EXPECT_EQ(kernels::level_bits(2), 2);
  EXPECT_EQ(kernels::level_bits(3), 2);
  EXPECT_EQ(kernels::level_bits(4), 3);
  EXPECT_EQ(kernels::level_bits(255), 8);
  EXPECT_EQ(kernels::level_bits(256), 9);
  EXPECT_EQ(kernels::level_bits(65535), 16);
}

TEST(Quantize, MessageSizeIsTheFormula) {
  // 4 (sizeof(Scalar)/4 + ceil(d/32)(1 + b)) bytes.
  EXPECT_EQ(kernels::quantized_format<float>(100, 15).bytes(), 4u * (1 + 4 * 5));
  EXPECT_EQ(kernels::quantized_format<double>(64, 1).bytes(), 4u * (2 + 2 * 2));
  EXPECT_EQ(kernels::quantized_format<float>(1, 65535).bytes(), 4u * (1 + 17));
}

TEST(Quantize, PackUnpackRoundTrip) {
  for (std::int64_t s : {1, 2, 7, 255, 65535}) {
    for (Index d : {1, 31, 32, 33, 100}) {
      SCOPED_TRACE("s=" + std::to_string(s) + " d=" + std::to_string(d));
      std::vector<std::int64_t> codes(d);
      for (Index l = 0; l < d; ++l) codes[l] = ((l * 7919 + 13) % (2 * s + 1)) - s;
      const auto f = kernels::quantized_format<double>(d, s);
      Words words("words", f.words());
      kernels::pack_codes(Space(), to_device(codes), 2.5, f, words);
      const auto w = to_host(words);
      Kokkos::View<const std::uint32_t*, Kokkos::HostSpace> hw(w.data(), w.size());
      EXPECT_EQ(kernels::unpack_norm<double>(hw, 0), 2.5);
      for (Index l = 0; l < d; ++l)
        ASSERT_EQ(kernels::unpack_code(hw, 0, f, f.bits(), l), codes[l]) << "element " << l;
      // Padding bits of the last group stay zero: the message is a function of the codes.
      if (d % 32) {
        for (std::size_t p = f.norm_words + (f.groups() - 1) * (1 + f.bits()); p < w.size(); ++p)
          EXPECT_EQ(w[p] >> (d % 32), 0u);
      }
    }
  }
}

TEST(Quantize, MatchesHostFormula) {
  const auto v = wiggle(77);
  double norm = 0;
  for (double x : v) norm += x * x;
  norm = std::sqrt(norm);
  const CounterRng rng(3, Stream::Quantize, 1);
  for (std::int64_t s : {1, 3, 16, 1000}) {
    const RoundTrip quantize{kernels::quantized_format<double>(77, s)};
    const auto got = quantize(to_device(v), norm, rng, 42);
    const auto want = olsgd::test::host_quantize(v, norm, s, rng, 42);
    for (std::size_t l = 0; l < v.size(); ++l)
      ASSERT_NEAR(got[l], want[l], 1e-14 * norm) << "s=" << s << " element " << l;
  }
  EXPECT_NEAR(kernels::norm2(Space(), to_device(v)), norm, 1e-13 * norm);
}

TEST(Quantize, ZeroVectorSendsZeros) {
  const auto f = kernels::quantized_format<float>(40, 7);
  Kokkos::View<float*, Space::memory_space> v("v", 40);
  Words words("words", f.words());
  kernels::quantize_pack(Space(), v, 0.0f, f, CounterRng(1, Stream::Quantize, 0), 0, words);
  for (auto w : to_host(words)) EXPECT_EQ(w, 0u);
}

// docs/algorithms.md C4.2: E Q(v) = v and E||Q(v) - v||^2 <= min(d/s^2, sqrt(d)/s) ||v||^2, and the
// exact variance (N/s)^2 sum p(1-p) is what the draws show.
TEST(Quantize, UnbiasedWithBoundedVariance) {
  const Index d = 64, draws = 20000;
  const auto v = wiggle(d);
  double norm2 = 0;
  for (double x : v) norm2 += x * x;
  const double norm = std::sqrt(norm2);
  const auto dv = to_device(v);
  const CounterRng rng(9, Stream::Quantize, 0);
  for (std::int64_t s : {1, 4, 32}) {
    SCOPED_TRACE("s=" + std::to_string(s));
    const RoundTrip quantize{kernels::quantized_format<double>(d, s)};
    std::vector<double> mean(d, 0.0);
    double err2 = 0;
    for (Index t = 0; t < draws; ++t) {
      const auto q = quantize(dv, norm, rng, std::uint64_t(t) << 32);
      for (Index l = 0; l < d; ++l) {
        mean[l] += q[l] / draws;
        err2 += (q[l] - v[l]) * (q[l] - v[l]) / draws;
      }
    }
    double exact = 0;  // (N/s)^2 sum p(1-p)
    for (Index l = 0; l < d; ++l) {
      const double r = s * std::fabs(v[l]) / norm, p = r - std::floor(r);
      exact += (norm / s) * (norm / s) * p * (1 - p);
      // Q_l takes two values N/s apart: its standard deviation is at most N/(2s).
      const double se = norm / (2.0 * s) / std::sqrt(double(draws));
      EXPECT_NEAR(mean[l], v[l], 5 * se) << "element " << l;
    }
    const double bound = std::min(double(d) / (s * s), std::sqrt(double(d)) / s) * norm2;
    EXPECT_LE(err2, bound);
    EXPECT_NEAR(err2, exact, 0.05 * exact);
  }
}

TEST(Quantize, MeanOfMessagesInRankOrder) {
  // Three "ranks" with known codes: the decoded mean is (1/m) sum_j N_j code_j / s.
  const Index d = 35;
  const std::int64_t s = 5;
  const auto f = kernels::quantized_format<float>(d, s);
  Words all("all", 3 * f.words());
  const float norms[3] = {1.0f, 2.0f, 0.5f};
  std::vector<std::vector<std::int64_t>> codes(3, std::vector<std::int64_t>(d));
  for (int j = 0; j < 3; ++j) {
    for (Index l = 0; l < d; ++l) codes[j][l] = (l + 2 * j) % (2 * s + 1) - s;
    auto part = Kokkos::subview(all, std::make_pair(j * f.words(), (j + 1) * f.words()));
    kernels::pack_codes(Space(), to_device(codes[j]), norms[j], f, part);
  }
  Kokkos::View<float*, Space::memory_space> out("out", d);
  kernels::dequantize_mean(Space(), all, 3, f, out);
  const auto got = to_host(out);
  for (Index l = 0; l < d; ++l) {
    double want = 0;
    for (int j = 0; j < 3; ++j) want += norms[j] * codes[j][l] / double(s) / 3;
    EXPECT_NEAR(got[l], want, 1e-6) << "element " << l;
  }
  EXPECT_NEAR(kernels::mean_squared_norm<float>(Space(), all, 3, f), (1 + 4 + 0.25) / 3, 1e-7);
}

}  // namespace
