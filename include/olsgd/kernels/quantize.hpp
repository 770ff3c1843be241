#pragma once
// The QSGD-type stochastic quantizer of QSGD and DQ-SGD (docs/algorithms.md §5) and its packed
// wire format.
//
//   Q_s(v)_l = N sign(v_l) q_l / s,  N = ||v||_2,  q_l = floor(r_l) + Bernoulli(r_l - floor(r_l)),
//   r_l = s |v_l| / N:  unbiased, E||Q(v) - v||^2 <= min(d/s^2, sqrt(d)/s) ||v||^2.
//
// Wire format of one rank's message, in 32-bit words:
//   [N, as Scalar: sizeof(Scalar)/4 words][group 0][group 1]...
// A group packs 32 consecutive elements as 1 + b bit planes, b = ceil(log2(s + 1)): word 0
// holds the signs (bit e set: element e negative), words 1..b the level q_e, least significant
// bit first. 32 elements fill 1 + b words exactly, so the only slack is the padding of the last
// group, and each group is packed by one thread with no atomics. The random draw of element l
// is a pure function of (seed, rank, step, l), so the message does not depend on the backend
// or thread count.
#include <olsgd/core/math.hpp>
#include <olsgd/core/rng.hpp>
#include <olsgd/core/types.hpp>

#include <Kokkos_Core.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace olsgd::kernels {

inline constexpr int kMaxLevelBits = 16;  // s <= 65535

// b = ceil(log2(s + 1)): the bits that hold a level in [0, s].
KOKKOS_INLINE_FUNCTION int level_bits(std::int64_t s) {
  int b = 0;
  while ((std::int64_t(1) << b) <= s) ++b;
  return b;
}

// The layout of one rank's message for d elements at s levels.
struct QuantizedFormat {
  Index dim = 0;
  std::int64_t levels = 1;  // s
  int norm_words = 1;       // sizeof(Scalar) / 4

  int bits() const { return level_bits(levels); }
  Index groups() const { return (dim + 31) / 32; }
  Index words() const { return norm_words + groups() * (1 + bits()); }
  std::size_t bytes() const { return static_cast<std::size_t>(words()) * sizeof(std::uint32_t); }
};

template <class Scalar>
QuantizedFormat quantized_format(Index dim, std::int64_t levels) {
  static_assert(sizeof(Scalar) % sizeof(std::uint32_t) == 0, "norm must fill whole words");
  return {dim, levels, static_cast<int>(sizeof(Scalar) / sizeof(std::uint32_t))};
}

// ||v||_2, accumulated in double.
template <class ExecSpace, class VView>
double norm2(const ExecSpace& exec, const VView& v) {
  double sum = 0;
  Kokkos::parallel_reduce(
      "olsgd::kernels::norm2", Kokkos::RangePolicy<ExecSpace>(exec, 0, v.extent(0)),
      KOKKOS_LAMBDA(const std::size_t i, double& acc) {
        const double x = v(i);
        acc += x * x;
      },
      sum);
  return std::sqrt(sum);
}

namespace detail {
// Packs the group of 32 elements starting at `first` (level(l) = |code|, `negative(l)` the
// sign bit) into words[base .. base + bits]. The levels are computed first, all 32 of them
// independent (so the CPU overlaps their random draws), then packed without a branch on a
// random bit (this kernel was ~125 cycles an element on the host before).
template <class Words, class Negative, class Level>
KOKKOS_INLINE_FUNCTION void pack_group(const Words& words, Index base, int bits, Index first,
                                       Index dim, const Negative& negative, const Level& level) {
  const int n = static_cast<int>(first + 32 < dim ? 32 : dim - first);
  std::uint32_t q[32];
  std::uint32_t signs = 0;
  for (int e = 0; e < n; ++e) {
    q[e] = level(first + e);
    signs |= static_cast<std::uint32_t>(negative(first + e) ? 1u : 0u) << e;
  }
  words(base) = signs;
  for (int p = 0; p < bits; ++p) {
    std::uint32_t plane = 0;
    for (int e = 0; e < n; ++e) plane |= ((q[e] >> p) & 1u) << e;
    words(base + 1 + p) = plane;
  }
}

template <class Scalar, class Words>
KOKKOS_INLINE_FUNCTION void write_norm(const Words& words, Index base, Scalar norm) {
  std::uint32_t w[sizeof(Scalar) / sizeof(std::uint32_t)];
  std::memcpy(w, &norm, sizeof(Scalar));
  for (std::size_t i = 0; i < sizeof(Scalar) / sizeof(std::uint32_t); ++i) words(base + i) = w[i];
}

template <class Scalar, class Words>
KOKKOS_INLINE_FUNCTION Scalar read_norm(const Words& words, Index base) {
  std::uint32_t w[sizeof(Scalar) / sizeof(std::uint32_t)];
  for (std::size_t i = 0; i < sizeof(Scalar) / sizeof(std::uint32_t); ++i) w[i] = words(base + i);
  Scalar norm;
  std::memcpy(&norm, w, sizeof(Scalar));
  return norm;
}
}  // namespace detail

// Quantizes v at f.levels with norm `norm` (= ||v||_2 rounded to Scalar; it is what travels)
// and packs it into `words` (f.words() of them). Draws come from `rng` at counters
// counter_base + l.
template <class ExecSpace, class VView, class Words>
void quantize_pack(const ExecSpace& exec, const VView& v, typename VView::non_const_value_type norm,
                   const QuantizedFormat& f, const CounterRng& rng, std::uint64_t counter_base,
                   const Words& words) {
  using Scalar = typename VView::non_const_value_type;
  const Index d = f.dim;
  const int bits = f.bits(), nw = f.norm_words;
  const double s = static_cast<double>(f.levels);
  const std::uint32_t s_max = static_cast<std::uint32_t>(f.levels);
  const double scale = norm > 0 ? s / static_cast<double>(norm) : 0.0;
  Kokkos::parallel_for(
      "olsgd::kernels::quantize_pack", Kokkos::RangePolicy<ExecSpace>(exec, 0, f.groups()),
      KOKKOS_LAMBDA(const Index g) {
        if (g == 0) detail::write_norm<Scalar>(words, 0, norm);
        auto negative = [&](Index l) { return v(l) < 0; };
        auto level = [&](Index l) {
          const double r = scale * math::fabs(static_cast<double>(v(l)));
          // For 0 <= r < s the cast is floor(r), with no libm call where the build has no
          // SSE4.1 rounding instruction; r >= s (the norm's rounding) and a NaN from a
          // diverged model never reach the cast, whose result would be undefined there.
          std::uint32_t q = r > 0 ? (r < s ? static_cast<std::uint32_t>(r) : s_max) : 0u;
          if (rng.uniform(counter_base + static_cast<std::uint64_t>(l)) < r - q) ++q;
          return q < s_max ? q : s_max;  // r <= s up to rounding of the norm
        };
        detail::pack_group(words, nw + g * (1 + bits), bits, g * 32, d, negative, level);
      });
}

// Packs given signed levels (code = sign * q, |code| <= s) with norm `norm`: the format
// without the quantizer, for tests of the wire format.
template <class Scalar, class ExecSpace, class Codes, class Words>
void pack_codes(const ExecSpace& exec, const Codes& codes, Scalar norm, const QuantizedFormat& f,
                const Words& words) {
  const Index d = f.dim;
  const int bits = f.bits(), nw = f.norm_words;
  Kokkos::parallel_for(
      "olsgd::kernels::pack_codes", Kokkos::RangePolicy<ExecSpace>(exec, 0, f.groups()),
      KOKKOS_LAMBDA(const Index g) {
        if (g == 0) detail::write_norm<Scalar>(words, 0, norm);
        auto negative = [&](Index l) { return codes(l) < 0; };
        auto level = [&](Index l) {
          return static_cast<std::uint32_t>(codes(l) < 0 ? -codes(l) : codes(l));
        };
        detail::pack_group(words, nw + g * (1 + bits), bits, g * 32, d, negative, level);
      });
}

// Signed level of element l of the message at `base` (0 for q = 0 whatever the sign bit).
template <class Words>
KOKKOS_INLINE_FUNCTION std::int64_t unpack_code(const Words& words, Index base,
                                                const QuantizedFormat& f, int bits, Index l) {
  const Index group = base + f.norm_words + (l / 32) * (1 + bits);
  const int e = static_cast<int>(l % 32);
  std::int64_t q = 0;
  for (int p = 0; p < bits; ++p) q |= std::int64_t((words(group + 1 + p) >> e) & 1u) << p;
  return ((words(group) >> e) & 1u) ? -q : q;
}

// The norm in the message at `base`.
template <class Scalar, class Words>
KOKKOS_INLINE_FUNCTION Scalar unpack_norm(const Words& words, Index base) {
  return detail::read_norm<Scalar>(words, base);
}

// out = (1/m) sum_j Q_j over the m messages laid end to end in `all` (an allgather's receive
// buffer), ranks in order, so every rank computes the same bits. `accumulate`: out += instead.
template <class ExecSpace, class Words, class OutView>
void dequantize_mean(const ExecSpace& exec, const Words& all, int m, const QuantizedFormat& f,
                     const OutView& out, bool accumulate = false) {
  using Scalar = typename OutView::non_const_value_type;
  const int bits = f.bits();
  const Index words = f.words();
  const Scalar inv_s = Scalar(1) / static_cast<Scalar>(f.levels), inv_m = Scalar(1) / Scalar(m);
  Kokkos::parallel_for(
      "olsgd::kernels::dequantize_mean", Kokkos::RangePolicy<ExecSpace>(exec, 0, f.dim),
      KOKKOS_LAMBDA(const Index l) {
        Scalar acc = 0;
        for (int j = 0; j < m; ++j) {
          const Scalar n = unpack_norm<Scalar>(all, j * words);
          acc += n * static_cast<Scalar>(unpack_code(all, j * words, f, bits, l)) * inv_s;
        }
        if (accumulate)
          out(l) += acc * inv_m;
        else
          out(l) = acc * inv_m;
      });
}

// mean_j N_j^2 over the m messages in `all`: G^2 of the DQ-SGD level rule, known to every rank
// from what it received. Summed on the host in message order, so every rank gets the same bits
// whatever its thread count (the levels it picks size the next messages: ranks that disagreed
// would exchange messages of different lengths).
template <class Scalar, class ExecSpace, class Words>
double mean_squared_norm(const ExecSpace& exec, const Words& all, int m, const QuantizedFormat& f) {
  const Index words = f.words();
  Kokkos::View<double*, typename ExecSpace::memory_space> norms("olsgd::kernels::norms", m);
  Kokkos::parallel_for(
      "olsgd::kernels::unpack_norms", Kokkos::RangePolicy<ExecSpace>(exec, 0, m),
      KOKKOS_LAMBDA(const int j) { norms(j) = unpack_norm<Scalar>(all, j * words); });
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), norms);
  double sum = 0;
  for (int j = 0; j < m; ++j) sum += host(j) * host(j);
  return sum / m;
}

}  // namespace olsgd::kernels
