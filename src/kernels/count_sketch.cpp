// Host-side hash construction of the count sketch (docs/algorithms.md §4): exact arithmetic mod
// p = 2^61 - 1, done once, so the kernels only read precomputed buckets and signs.
#include <olsgd/core/rng.hpp>
#include <olsgd/kernels/count_sketch.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace olsgd::kernels {

namespace {

constexpr std::uint64_t kPrime = (std::uint64_t(1) << 61) - 1;

// a*b mod p for a, b < p: with x = hi 2^61 + lo, 2^61 = 1 (mod p) gives x = hi + lo (mod p).
std::uint64_t mulmod(std::uint64_t a, std::uint64_t b) {
  const unsigned __int128 x = static_cast<unsigned __int128>(a) * b;
  std::uint64_t r = static_cast<std::uint64_t>(x & kPrime) + static_cast<std::uint64_t>(x >> 61);
  return r >= kPrime ? r - kPrime : r;
}

// (a*x + b) mod p for a, b, x < p.
std::uint64_t affine(std::uint64_t a, std::uint64_t x, std::uint64_t b) {
  const std::uint64_t r = mulmod(a, x) + b;  // < 2p < 2^62
  return r >= kPrime ? r - kPrime : r;
}

}  // namespace

CountSketchCoefficients count_sketch_coefficients(std::uint64_t seed, int row) {
  const CounterRng rng(seed, Stream::Sketch, static_cast<std::uint32_t>(row));
  const auto any = [&rng](std::uint64_t i) { return rng.u64(i) % kPrime; };
  const auto nonzero = [&rng](std::uint64_t i) { return 1 + rng.u64(i) % (kPrime - 1); };
  return {nonzero(0), any(1), nonzero(2), any(3), any(4), any(5)};
}

// l < 2^31 < p, so l is its own residue.
Index count_sketch_bucket(const CountSketchCoefficients& k, Index cols, Index l) {
  return static_cast<Index>(affine(k.a, static_cast<std::uint64_t>(l), k.b) %
                            static_cast<std::uint64_t>(cols));
}

int count_sketch_sign(const CountSketchCoefficients& k, Index l) {
  const auto x = static_cast<std::uint64_t>(l);
  const std::uint64_t h = affine(affine(affine(k.c1, x, k.c2), x, k.c3), x, k.c4);
  return static_cast<int>(h & 1) * 2 - 1;
}

namespace detail {

void validate_count_sketch(Index dim, int rows, Index cols) {
  constexpr Index max32 = std::numeric_limits<std::int32_t>::max();
  if (rows < 1 || rows > kMaxSketchRows)
    throw std::invalid_argument("CountSketch: rows must be in [1, " +
                                std::to_string(kMaxSketchRows) + "], got " + std::to_string(rows));
  if (cols < 1 || cols > max32)
    throw std::invalid_argument("CountSketch: cols must be in [1, 2^31), got " +
                                std::to_string(cols));
  if (dim < 1 || dim > max32)
    throw std::invalid_argument("CountSketch: dim must be in [1, 2^31), got " +
                                std::to_string(dim));
}

void fill_count_sketch_hashes(Index dim, int rows, Index cols, std::uint64_t seed,
                              std::int32_t* codes, Index* offsets, std::int32_t* members) {
  validate_count_sketch(dim, rows, cols);
  const Index buckets = rows * cols;
  // Counting sort by (row, bucket); filling in increasing l keeps each bucket's members sorted.
  std::fill(offsets, offsets + buckets + 1, Index(0));
  for (int j = 0; j < rows; ++j) {
    const CountSketchCoefficients k = count_sketch_coefficients(seed, j);
    std::int32_t* row = codes + j * dim;
    for (Index l = 0; l < dim; ++l) {
      const Index b = count_sketch_bucket(k, cols, l);
      row[l] = encode_signed(static_cast<std::int32_t>(b), count_sketch_sign(k, l));
      ++offsets[j * cols + b + 1];
    }
  }
  for (Index b = 0; b < buckets; ++b) offsets[b + 1] += offsets[b];
  std::vector<Index> next(offsets, offsets + buckets);
  for (int j = 0; j < rows; ++j) {
    const std::int32_t* row = codes + j * dim;
    for (Index l = 0; l < dim; ++l) {
      const std::int32_t code = row[l];
      const int sign = decode_negative(code) ? -1 : 1;
      members[next[j * cols + decode_position(code)]++] =
          encode_signed(static_cast<std::int32_t>(l), sign);
    }
  }
}

}  // namespace detail

}  // namespace olsgd::kernels
