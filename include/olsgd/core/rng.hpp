#pragma once
// Counter-based random numbers (Philox4x32-10, Salmon et al. SC'11): a draw is a pure
// function of (seed, stream, counter), so any kernel thread can draw any number without
// shared state, and results do not depend on the thread count or the backend.
#include <olsgd/core/math.hpp>

#include <Kokkos_Core.hpp>

#include <cstdint>

namespace olsgd {

// What a stream of numbers is for; keeps unrelated draws independent under one seed.
enum class Stream : std::uint32_t {
  Features = 1,
  Labels = 2,
  Optimum = 3,
  Sampling = 4,
  Init = 5,
  Straggler = 6,
  Partition = 7,
  Noise = 8,
  Sketch = 9,     // count-sketch hash coefficients (Sketched SGD)
  Quantize = 10,  // stochastic rounding of the quantizers (QSGD, DQ-SGD)
  Augment = 11,   // crops and flips of training images
};

struct Philox4x32 {
  std::uint32_t v[4];

  // One Philox4x32-10 block for counter `c` and key `k`.
  KOKKOS_INLINE_FUNCTION static Philox4x32 block(const std::uint32_t c[4],
                                                 const std::uint32_t k[2]) {
    constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    std::uint32_t x0 = c[0], x1 = c[1], x2 = c[2], x3 = c[3];
    std::uint32_t k0 = k[0], k1 = k[1];
    for (int round = 0; round < 10; ++round) {
      const std::uint64_t p0 = static_cast<std::uint64_t>(M0) * x0;
      const std::uint64_t p1 = static_cast<std::uint64_t>(M1) * x2;
      const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32),
                          lo0 = static_cast<std::uint32_t>(p0);
      const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32),
                          lo1 = static_cast<std::uint32_t>(p1);
      x0 = hi1 ^ x1 ^ k0;
      x1 = lo1;
      x2 = hi0 ^ x3 ^ k1;
      x3 = lo0;
      k0 += W0;
      k1 += W1;
    }
    return {{x0, x1, x2, x3}};
  }
};

// Draws of one (seed, stream, substream) triple, indexed by a 64-bit counter.
class CounterRng {
 public:
  KOKKOS_INLINE_FUNCTION CounterRng(std::uint64_t seed, Stream stream, std::uint32_t substream)
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)},
        stream_(static_cast<std::uint32_t>(stream)),
        substream_(substream) {}

  KOKKOS_INLINE_FUNCTION Philox4x32 bits(std::uint64_t counter) const {
    const std::uint32_t c[4] = {static_cast<std::uint32_t>(counter),
                                static_cast<std::uint32_t>(counter >> 32), substream_, stream_};
    return Philox4x32::block(c, key_);
  }

  // 64 uniformly random bits.
  KOKKOS_INLINE_FUNCTION std::uint64_t u64(std::uint64_t counter) const {
    const Philox4x32 r = bits(counter);
    return (static_cast<std::uint64_t>(r.v[1]) << 32) | r.v[0];
  }

  // Uniform integer in [0, n); the modulo bias is below 2^-40 for n < 2^24.
  KOKKOS_INLINE_FUNCTION std::uint64_t below(std::uint64_t counter, std::uint64_t n) const {
    return u64(counter) % n;
  }

  // Uniform double in (0, 1).
  KOKKOS_INLINE_FUNCTION double uniform(std::uint64_t counter) const {
    return to_open_unit(u64(counter));
  }

  // Standard normal (Box-Muller on two 53-bit uniforms of one block).
  KOKKOS_INLINE_FUNCTION double normal(std::uint64_t counter) const {
    const Philox4x32 r = bits(counter);
    const double u1 = to_open_unit((static_cast<std::uint64_t>(r.v[1]) << 32) | r.v[0]);
    const double u2 = to_open_unit((static_cast<std::uint64_t>(r.v[3]) << 32) | r.v[2]);
    constexpr double two_pi = 6.283185307179586476925286766559;
    return math::sqrt(-2.0 * math::log(u1)) * math::cos(two_pi * u2);
  }

 private:
  KOKKOS_INLINE_FUNCTION static double to_open_unit(std::uint64_t x) {
    return (static_cast<double>(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // 2^-53
  }

  std::uint32_t key_[2];
  std::uint32_t stream_;
  std::uint32_t substream_;
};

}  // namespace olsgd
