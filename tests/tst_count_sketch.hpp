// Backend-agnostic tests of the count sketch (docs/algorithms.md §4): TEST_EXECSPACE is defined by
// the generated per-backend source (cmake/TestHarness.cmake). Hashes are checked against the
// formula computed here with plain 128-bit arithmetic, the kernels against host loops.
#include <olsgd/core/rng.hpp>
#include <olsgd/kernels/count_sketch.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <test_helpers.hpp>
#include <vector>

namespace {

using Space = TEST_EXECSPACE;
using Mem = Space::memory_space;
using Sketch = olsgd::kernels::CountSketch<Mem>;
using olsgd::Index;
using olsgd::kernels::top_abs_indices;
using olsgd::test::to_host;

template <class T>
Kokkos::View<T*, Mem> to_device(const std::vector<T>& h) {
  return olsgd::test::to_device<Mem>(h);
}

constexpr std::uint64_t kP = (std::uint64_t(1) << 61) - 1;

// The formula of docs/algorithms.md §4 written out directly: reduce after every product.
std::uint64_t mod_p(unsigned __int128 x) {
  return static_cast<std::uint64_t>(x % kP);
}

struct RowHash {
  std::uint64_t a, b, c1, c2, c3, c4;
  Index bucket(Index l, Index cols) const {
    return static_cast<Index>(mod_p(static_cast<unsigned __int128>(a) * l + b) % cols);
  }
  int sign(Index l) const {
    std::uint64_t s = mod_p(static_cast<unsigned __int128>(c1) * l + c2);
    s = mod_p(static_cast<unsigned __int128>(s) * l + c3);
    s = mod_p(static_cast<unsigned __int128>(s) * l + c4);
    return 2 * static_cast<int>(s % 2) - 1;
  }
};

RowHash reference_row(std::uint64_t seed, int j) {
  const olsgd::CounterRng rng(seed, olsgd::Stream::Sketch, static_cast<std::uint32_t>(j));
  const auto draw = [&](std::uint64_t i, std::uint64_t lo) { return lo + rng.u64(i) % (kP - lo); };
  return {draw(0, 1), draw(1, 0), draw(2, 1), draw(3, 0), draw(4, 0), draw(5, 0)};
}

// S[j*c + h_j(l)] += s_j(l) v_l in increasing l, in double.
std::vector<double> reference_sketch(const Sketch& cs, const std::vector<double>& v) {
  std::vector<double> s(cs.table_size(), 0.0);
  for (int j = 0; j < cs.rows(); ++j)
    for (Index l = 0; l < cs.dim(); ++l) s[j * cs.cols() + cs.bucket(j, l)] += cs.sign(j, l) * v[l];
  return s;
}

std::vector<double> reference_query(const Sketch& cs, const std::vector<double>& table) {
  std::vector<double> est(cs.dim());
  std::vector<double> vals(cs.rows());
  for (Index l = 0; l < cs.dim(); ++l) {
    for (int j = 0; j < cs.rows(); ++j)
      vals[j] = cs.sign(j, l) * table[j * cs.cols() + cs.bucket(j, l)];
    std::sort(vals.begin(), vals.end());
    est[l] = vals[(vals.size() - 1) / 2];  // lower median for even rows
  }
  return est;
}

std::vector<double> normals(Index n, std::uint64_t seed, double scale) {
  const olsgd::CounterRng rng(seed, olsgd::Stream::Noise, 0);
  std::vector<double> v(n);
  for (Index i = 0; i < n; ++i) v[i] = scale * rng.normal(i);
  return v;
}

// Small integers: every partial sum of a bucket is exact in float and double.
std::vector<double> small_integers(Index n, std::uint64_t seed) {
  const olsgd::CounterRng rng(seed, olsgd::Stream::Noise, 1);
  std::vector<double> v(n);
  for (Index i = 0; i < n; ++i) v[i] = static_cast<double>(rng.below(i, 17)) - 8.0;
  return v;
}

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return {v.begin(), v.end()};
}

template <class T>
std::vector<T> run_sketch(const Sketch& cs, const std::vector<double>& v) {
  Kokkos::View<T*, Mem> table("table", cs.table_size());
  Space exec;
  cs.sketch(exec, to_device(cast<T>(v)), table);
  exec.fence();
  return to_host(table);
}

TEST(count_sketch, hashes_match_formula) {
  const std::uint64_t seed = 0x5eed;
  const Index dim = 2000, cols = 37;
  const int rows = 5;
  Sketch cs(dim, rows, cols, seed);
  EXPECT_EQ(cs.rows(), rows);
  EXPECT_EQ(cs.cols(), cols);
  EXPECT_EQ(cs.dim(), dim);
  EXPECT_EQ(cs.table_size(), rows * cols);
  for (int j = 0; j < rows; ++j) {
    const RowHash h = reference_row(seed, j);
    const auto k = cs.coefficients(j);
    EXPECT_EQ(k.a, h.a);
    EXPECT_EQ(k.b, h.b);
    EXPECT_EQ(k.c1, h.c1);
    EXPECT_EQ(k.c2, h.c2);
    EXPECT_EQ(k.c3, h.c3);
    EXPECT_EQ(k.c4, h.c4);
    for (std::uint64_t x : {h.a, h.b, h.c1, h.c2, h.c3, h.c4}) EXPECT_LT(x, kP);
    EXPECT_GT(h.a, 0u);
    EXPECT_GT(h.c1, 0u);
    for (Index l = 0; l < dim; ++l) {
      ASSERT_EQ(cs.bucket(j, l), h.bucket(l, cols)) << "row " << j << " l " << l;
      ASSERT_EQ(cs.sign(j, l), h.sign(l)) << "row " << j << " l " << l;
    }
  }
  // Rows differ, and so do seeds.
  EXPECT_NE(cs.coefficients(0).a, cs.coefficients(1).a);
  EXPECT_NE(Sketch(dim, rows, cols, seed + 1).coefficients(0).a, cs.coefficients(0).a);
}

TEST(count_sketch, buckets_and_signs_are_roughly_uniform) {
  const Index dim = 100000, cols = 100;
  const int rows = 3;
  Sketch cs(dim, rows, cols, 7);
  for (int j = 0; j < rows; ++j) {
    std::vector<Index> count(cols, 0);
    Index plus = 0;
    for (Index l = 0; l < dim; ++l) {
      const Index b = cs.bucket(j, l);
      ASSERT_GE(b, 0);
      ASSERT_LT(b, cols);
      const int s = cs.sign(j, l);
      ASSERT_TRUE(s == 1 || s == -1);
      ++count[b];
      plus += s > 0;
    }
    // 1000 expected per bucket, standard deviation about 31.
    for (Index b = 0; b < cols; ++b) {
      EXPECT_GT(count[b], 800) << "row " << j << " bucket " << b;
      EXPECT_LT(count[b], 1200) << "row " << j << " bucket " << b;
    }
    // Half the signs +1, standard deviation 158.
    EXPECT_NEAR(static_cast<double>(plus), dim / 2.0, 1000.0) << "row " << j;
  }
}

TEST(count_sketch, sketch_matches_host_reference_and_repeats_bitwise) {
  Sketch cs(5000, 5, 50, 11);
  const std::vector<double> v = normals(cs.dim(), 3, 1.0);
  const std::vector<double> ref = reference_sketch(cs, v);

  // double: the same additions in the same order as the host loop, so the same bits.
  const std::vector<double> sd = run_sketch<double>(cs, v);
  EXPECT_EQ(sd, ref);
  EXPECT_EQ(run_sketch<double>(cs, v), sd);

  // float: within the rounding bound of ~100 terms (n eps sum |v_l|), and repeatable.
  const std::vector<float> sf = run_sketch<float>(cs, v);
  std::vector<double> bound(cs.table_size(), 0.0);
  for (int j = 0; j < cs.rows(); ++j)
    for (Index l = 0; l < cs.dim(); ++l) bound[j * cs.cols() + cs.bucket(j, l)] += std::fabs(v[l]);
  for (Index k = 0; k < cs.table_size(); ++k)
    ASSERT_NEAR(sf[k], ref[k], 1e-5 * bound[k]) << "bucket " << k;
  EXPECT_EQ(run_sketch<float>(cs, v), sf);
}

template <class T>
void expect_exactly_linear() {
  Sketch cs(20000, 5, 100, 21);
  const std::vector<double> v1 = small_integers(cs.dim(), 1), v2 = small_integers(cs.dim(), 2);
  std::vector<double> sum(v1.size());
  for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = v1[i] + v2[i];
  const std::vector<T> s1 = run_sketch<T>(cs, v1), s2 = run_sketch<T>(cs, v2);
  const std::vector<T> s12 = run_sketch<T>(cs, sum);
  bool nonzero = false;
  for (Index k = 0; k < cs.table_size(); ++k) {
    ASSERT_EQ(s1[k] + s2[k], s12[k]) << "bucket " << k;
    nonzero = nonzero || s12[k] != 0;
  }
  EXPECT_TRUE(nonzero);
}

TEST(count_sketch, linear_exactly_float) {
  expect_exactly_linear<float>();
}
TEST(count_sketch, linear_exactly_double) {
  expect_exactly_linear<double>();
}

TEST(count_sketch, query_is_the_lower_median) {
  for (int rows : {1, 2, 4, 5, 16}) {
    SCOPED_TRACE(rows);
    Sketch cs(3000, rows, 40, 100 + rows);
    // Distinct values, so the lower and upper medians differ for even rows.
    const std::vector<double> table = normals(cs.table_size(), rows, 1.0);
    const std::vector<double> ref = reference_query(cs, table);
    Kokkos::View<double*, Mem> est("est", cs.dim());
    Space exec;
    cs.query(exec, to_device(table), est);
    exec.fence();
    EXPECT_EQ(to_host(est), ref);  // selection and negation only: exact

    Kokkos::View<float*, Mem> estf("estf", cs.dim());
    cs.query(exec, to_device(cast<float>(table)), estf);
    exec.fence();
    const std::vector<float> got = to_host(estf);
    for (Index l = 0; l < cs.dim(); ++l) ASSERT_EQ(got[l], static_cast<float>(ref[l])) << l;
  }
}

// d = 10000 standard normal entries with k = 10 planted at 50-100 times that; the noise of one
// estimate is about sqrt(d / cols) times the entries' (one bucket holds d / cols of them).
constexpr Index kPlantedDim = 10000, kPlanted = 10;

struct PlantedVector {
  std::vector<double> v;
  std::vector<Index> planted;  // ascending
};

PlantedVector planted_vector(std::uint64_t seed) {
  PlantedVector p{normals(kPlantedDim, seed, 1.0), {}};
  const olsgd::CounterRng rng(seed, olsgd::Stream::Init, 0);
  std::set<Index> planted;
  for (std::uint64_t c = 0; static_cast<Index>(planted.size()) < kPlanted; ++c) {
    const Index l = static_cast<Index>(rng.below(3 * c, kPlantedDim));
    if (!planted.insert(l).second) continue;
    const double mag = 50.0 + 50.0 * rng.uniform(3 * c + 1);
    p.v[l] = rng.below(3 * c + 2, 2) != 0 ? mag : -mag;
  }
  p.planted.assign(planted.begin(), planted.end());
  return p;
}

// The `count` largest sketch estimates (5 rows) of the planted vector, in float as trained.
std::vector<Index> top_estimates(const PlantedVector& p, Index cols, std::uint64_t seed,
                                 Index count) {
  Sketch cs(kPlantedDim, 5, cols, seed);
  Kokkos::View<float*, Mem> table("table", cs.table_size()), est("est", kPlantedDim);
  Space exec;
  cs.sketch(exec, to_device(cast<float>(p.v)), table);
  cs.query(exec, table, est);
  exec.fence();
  const auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), est);
  return top_abs_indices(host, count);
}

double recall(const PlantedVector& p, const std::vector<Index>& found) {
  Index hits = 0;
  for (Index l : found) hits += std::binary_search(p.planted.begin(), p.planted.end(), l);
  return static_cast<double>(hits) / static_cast<double>(p.planted.size());
}

TEST(count_sketch, recovers_planted_heavy_hitters) {
  const std::uint64_t seeds[] = {1, 2, 3, 4};
  for (std::uint64_t seed : seeds) {
    SCOPED_TRACE(seed);
    const PlantedVector p = planted_vector(seed);
    // cols = 20k: the top 2k estimates hold every planted index (Sketched SGD's candidate set
    // with P = 2). The top k alone can hold a few impostors: a coordinate that shares a bucket
    // with a planted one in 3 of the 5 rows (chance ~1e-3 each at k/cols = 1/20) inherits its size.
    const std::vector<Index> candidates = top_estimates(p, 20 * kPlanted, seed, 2 * kPlanted);
    EXPECT_EQ(recall(p, candidates), 1.0);
    // cols = 100k: the top k are exactly the planted set.
    EXPECT_EQ(top_estimates(p, 100 * kPlanted, seed, kPlanted), p.planted);
  }
  // Averaged over the seeds, recall of the top k grows with the columns; with as many columns
  // as planted entries, collisions and the bucket noise (~30 times the entries') drown them.
  double prev = 0;
  for (Index mult : {1, 2, 5, 20, 100}) {
    double r = 0;
    for (std::uint64_t seed : seeds)
      r += recall(planted_vector(seed),
                  top_estimates(planted_vector(seed), mult * kPlanted, seed, kPlanted)) /
           4;
    SCOPED_TRACE(mult);
    EXPECT_GE(r, prev);
    if (mult == 1) {
      EXPECT_LT(r, 0.5);
    }
    prev = r;
  }
  EXPECT_EQ(prev, 1.0);
}

TEST(count_sketch, top_abs_indices_ties_order_and_edges) {
  const std::vector<double> v = {1, -3, 3, 2, -3, 0};
  EXPECT_EQ(top_abs_indices(v.data(), 6, 2), (std::vector<Index>{1, 2}));
  EXPECT_EQ(top_abs_indices(v.data(), 6, 3), (std::vector<Index>{1, 2, 4}));
  EXPECT_EQ(top_abs_indices(v.data(), 6, 4), (std::vector<Index>{1, 2, 3, 4}));
  EXPECT_EQ(top_abs_indices(v.data(), 6, 6), (std::vector<Index>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(top_abs_indices(v.data(), 6, 0).empty());
  EXPECT_TRUE(top_abs_indices(v.data(), 0, 0).empty());
  EXPECT_THROW(top_abs_indices(v.data(), 6, 7), std::invalid_argument);
  EXPECT_THROW(top_abs_indices(v.data(), 6, -1), std::invalid_argument);

  // All equal: the lowest indices win.
  const std::vector<float> flat(100, -0.5f);
  EXPECT_EQ(top_abs_indices(flat.data(), 100, 3), (std::vector<Index>{0, 1, 2}));
  // A NaN ranks first (and the comparator stays a strict weak order).
  std::vector<double> nan = {1, std::numeric_limits<double>::quiet_NaN(), 5, 4};
  EXPECT_EQ(top_abs_indices(nan.data(), 4, 2), (std::vector<Index>{1, 2}));

  // Against a full sort on a larger input with many ties.
  std::vector<double> big(5000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = ((i * 7919) % 101) * (i % 2 ? 1.0 : -1.0);
  std::vector<Index> order(big.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<Index>(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](Index a, Index b) { return std::fabs(big[a]) > std::fabs(big[b]); });
  for (Index count : {1, 37, 500, 4999}) {
    std::vector<Index> want(order.begin(), order.begin() + count);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(top_abs_indices(big.data(), static_cast<Index>(big.size()), count), want) << count;
  }
  // The View overload.
  Kokkos::View<double*, Kokkos::HostSpace> hv("hv", 6);
  for (int i = 0; i < 6; ++i) hv(i) = v[i];
  EXPECT_EQ(top_abs_indices(hv, 2), (std::vector<Index>{1, 2}));
}

TEST(count_sketch, invalid_arguments_throw) {
  EXPECT_THROW(Sketch(100, 0, 10, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(100, -1, 10, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(100, 17, 10, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(100, 5, 0, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(0, 5, 10, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(-3, 5, 10, 1), std::invalid_argument);
  EXPECT_THROW(Sketch(Index(1) << 31, 5, 10, 1), std::invalid_argument);  // before allocating
  EXPECT_NO_THROW(Sketch(1, 1, 1, 1));
  EXPECT_NO_THROW(Sketch(10, 16, 3, 1));

  Sketch cs(100, 3, 10, 1);
  Kokkos::View<double*, Mem> v("v", 100), table("table", 30), wrong("wrong", 29);
  Space exec;
  EXPECT_THROW(cs.sketch(exec, wrong, table), std::invalid_argument);
  EXPECT_THROW(cs.sketch(exec, v, wrong), std::invalid_argument);
  EXPECT_THROW(cs.query(exec, wrong, v), std::invalid_argument);
  EXPECT_THROW(cs.query(exec, table, wrong), std::invalid_argument);
}

}  // namespace
