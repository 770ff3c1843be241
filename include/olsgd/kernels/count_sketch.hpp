#pragma once
// Count sketch of Sketched SGD (docs/algorithms.md §4, following csvec), and the host-side top-k
// selection the algorithm uses on the estimates.
//
//   CountSketch<Mem> cs(dim, rows, cols, seed);  // hashes built once on the host
//   cs.sketch(exec, v, table);   // table (rows*cols, row-major) = S(v), overwritten
//   cs.query(exec, table, est);  // est(l) = median_j s_j(l) table[j*cols + h_j(l)]
//   top_abs_indices(values, n, count);  // host: indices of the count largest |values|
//
// Hashes, per row j, with p = 2^61 - 1 and six coefficients drawn from the shared seed:
//   h_j(l) = ((a l + b) mod p) mod cols                              (2-wise independent)
//   s_j(l) = 2 ((((c1 l + c2) l + c3) l + c4) mod p mod 2) - 1      (4-wise independent)
// All ranks must use the same seed: only then is the sum of their tables the sketch of the sum.
//
// The sketch is a GATHER over a per-row inverse map (for each bucket, its coordinates in
// increasing order), one thread per bucket, not csvec's scatter with atomic adds: atomics
// would make the order of the additions, hence the bits of the table, and then the top-k
// choice, vary from run to run. Each bucket is summed in increasing l, so the table is bitwise
// the same for every thread count and backend. On a GPU, rows*cols threads (each summing
// about dim/cols terms) under-fill the device for small tables; a fixed-order hierarchical
// reduction would keep the determinism and fill it (future work).
//
// Memory in Mem: rows*dim int32 bucket codes (query), rows*dim int32 coordinate codes and
// rows*cols+1 offsets (sketch); plus a host copy of the bucket codes, free where Mem is
// host-accessible. Coordinates and buckets are stored as 32 bit, so dim and cols are below 2^31.
#include <olsgd/core/types.hpp>

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace olsgd::kernels {

inline constexpr int kMaxSketchRows = 16;  // the query's per-thread median buffer

// The six hash coefficients of one row, each in [0, p) with a and c1 in [1, p).
struct CountSketchCoefficients {
  std::uint64_t a, b;            // bucket
  std::uint64_t c1, c2, c3, c4;  // sign
};

// Coefficient i (a, b, c1, c2, c3, c4 in that order) of row j is drawn from
// CounterRng(seed, Stream::Sketch, j).u64(i), reduced mod p (or mod p-1, plus 1, for the
// nonzero ones); the modulo bias is below 2^-60.
CountSketchCoefficients count_sketch_coefficients(std::uint64_t seed, int row);
// h(l) and s(l) of one row, with exact 128-bit arithmetic mod p.
Index count_sketch_bucket(const CountSketchCoefficients& k, Index cols, Index l);
int count_sketch_sign(const CountSketchCoefficients& k, Index l);

namespace detail {

// A position (bucket or coordinate, >= 0) and a sign in one int32: x for +1, -1 - x for -1.
KOKKOS_INLINE_FUNCTION constexpr std::int32_t encode_signed(std::int32_t x, int sign) {
  return sign > 0 ? x : -1 - x;
}
KOKKOS_INLINE_FUNCTION constexpr std::int32_t decode_position(std::int32_t code) {
  return code >= 0 ? code : -1 - code;
}
KOKKOS_INLINE_FUNCTION constexpr bool decode_negative(std::int32_t code) {
  return code < 0;
}

// Throws std::invalid_argument unless 1 <= rows <= 16, 1 <= cols and 1 <= dim (both < 2^31).
void validate_count_sketch(Index dim, int rows, Index cols);

// Fills, on the host, codes[j*dim + l] = encode_signed(h_j(l), s_j(l)); offsets (rows*cols+1)
// and members (rows*dim): bucket k = j*cols + b holds members[offsets[k] .. offsets[k+1]) =
// encode_signed(l, s_j(l)) in increasing l.
void fill_count_sketch_hashes(Index dim, int rows, Index cols, std::uint64_t seed,
                              std::int32_t* codes, Index* offsets, std::int32_t* members);

}  // namespace detail

template <class MemorySpace = olsgd::MemSpace>
class CountSketch {
 public:
  using memory_space = MemorySpace;

  // Throws std::invalid_argument for rows outside [1, 16], cols < 1 or dim < 1 (or either
  // >= 2^31), before allocating anything.
  CountSketch(Index dim, int rows, Index cols, std::uint64_t seed)
      : dim_(dim), rows_(rows), cols_(cols), seed_(seed) {
    detail::validate_count_sketch(dim, rows, cols);
    const auto alloc = [](const char* label) {
      return Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label));
    };
    CodeView codes(alloc("olsgd::CountSketch::bucket_codes"), rows * dim);
    CodeView members(alloc("olsgd::CountSketch::members"), rows * dim);
    Kokkos::View<Index*, MemorySpace> offsets(alloc("olsgd::CountSketch::offsets"),
                                              rows * cols + 1);
    host_codes_ = Kokkos::create_mirror_view(codes);
    auto host_members = Kokkos::create_mirror_view(members);
    auto host_offsets = Kokkos::create_mirror_view(offsets);
    detail::fill_count_sketch_hashes(dim, rows, cols, seed, host_codes_.data(), host_offsets.data(),
                                     host_members.data());
    Kokkos::deep_copy(codes, host_codes_);
    Kokkos::deep_copy(members, host_members);
    Kokkos::deep_copy(offsets, host_offsets);
    codes_ = codes;
    members_ = members;
    offsets_ = offsets;
  }

  int rows() const { return rows_; }
  Index cols() const { return cols_; }
  Index dim() const { return dim_; }
  Index table_size() const { return rows_ * cols_; }
  std::uint64_t seed() const { return seed_; }

  // table = S(v): table[j*cols + b] = sum over l with h_j(l) = b, in increasing l, of s_j(l) v_l.
  template <class ExecSpace, class VView, class TView>
  void sketch(const ExecSpace& exec, const VView& v, const TView& table) const {
    static_assert(VView::rank == 1 && TView::rank == 1, "sketch works on flat vectors");
    static_assert(reachable<ExecSpace, VView> && reachable<ExecSpace, TView> &&
                      reachable<ExecSpace, CodeView>,
                  "v, the table and the hashes must be accessible from the execution space");
    check_extent("sketch: v", v.extent(0), dim_);
    check_extent("sketch: table", table.extent(0), table_size());
    using T = typename TView::non_const_value_type;
    const auto members = members_;
    const auto offsets = offsets_;
    Kokkos::parallel_for(
        "olsgd::kernels::count_sketch",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<Index>>(exec, 0, table_size()),
        KOKKOS_LAMBDA(const Index k) {
          T acc = 0;
          for (Index e = offsets(k); e < offsets(k + 1); ++e) {
            const std::int32_t code = members(e);
            // Times +-1 rather than a branch on the random sign (exact either way).
            const T sign = detail::decode_negative(code) ? T(-1) : T(1);
            acc += sign * static_cast<T>(v(detail::decode_position(code)));
          }
          table(k) = acc;
        });
  }

  // est(l) = median over j of s_j(l) table[j*cols + h_j(l)]; the lower median for even rows,
  // as torch.median (csvec) takes it.
  template <class ExecSpace, class TView, class EView>
  void query(const ExecSpace& exec, const TView& table, const EView& est) const {
    static_assert(TView::rank == 1 && EView::rank == 1, "query works on flat vectors");
    static_assert(reachable<ExecSpace, TView> && reachable<ExecSpace, EView> &&
                      reachable<ExecSpace, CodeView>,
                  "the table, est and the hashes must be accessible from the execution space");
    check_extent("query: table", table.extent(0), table_size());
    check_extent("query: est", est.extent(0), dim_);
    query_rows<1>(exec, table, est);
  }

  // Host copies of h_j(l) and s_j(l), read from the codes the kernels use.
  Index bucket(int j, Index l) const {
    return detail::decode_position(host_codes_(static_cast<Index>(j) * dim_ + l));
  }
  int sign(int j, Index l) const {
    return detail::decode_negative(host_codes_(static_cast<Index>(j) * dim_ + l)) ? -1 : 1;
  }
  CountSketchCoefficients coefficients(int j) const { return count_sketch_coefficients(seed_, j); }

 private:
  using CodeView = Kokkos::View<std::int32_t*, MemorySpace>;

 public:  // only because nvcc rejects a KOKKOS_LAMBDA in a private or protected member function
  // The query with the row count R a compile-time constant (dispatched from rows_): the
  // median's loops unroll and its values stay in registers.
  template <int R, class ExecSpace, class TView, class EView>
  void query_rows(const ExecSpace& exec, const TView& table, const EView& est) const {
    if constexpr (R < kMaxSketchRows) {
      if (rows_ != R) return query_rows<R + 1>(exec, table, est);
    }
    using T = typename TView::non_const_value_type;
    using E = typename EView::non_const_value_type;
    const auto codes = codes_;
    const Index cols = cols_, dim = dim_;
    Kokkos::parallel_for(
        "olsgd::kernels::count_sketch_query",
        Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<Index>>(exec, 0, dim),
        KOKKOS_LAMBDA(const Index l) {
          T vals[R];
          for (int j = 0; j < R; ++j) {
            const std::int32_t code = codes(j * dim + l);
            const T x = table(j * cols + detail::decode_position(code));
            vals[j] = detail::decode_negative(code) ? -x : x;
          }
          // The lower median by rank counting: the value whose stable rank (smaller values,
          // then equal ones earlier in the list) is (R - 1) / 2. Branch-free, O(R^2): the
          // values are random, so a sort's branches would mispredict half the time.
          T median = vals[0];
          for (int i = 0; i < R; ++i) {
            int rank = 0;
            for (int j = 0; j < R; ++j)
              rank += (vals[j] < vals[i]) | ((j < i) & (vals[j] == vals[i]));
            median = rank == (R - 1) / 2 ? vals[i] : median;
          }
          est(l) = static_cast<E>(median);
        });
  }

 private:
  template <class ExecSpace, class View>
  static constexpr bool reachable =
      Kokkos::SpaceAccessibility<ExecSpace, typename View::memory_space>::accessible;

  static void check_extent(const char* what, std::size_t got, Index want) {
    if (got != static_cast<std::size_t>(want))
      throw std::invalid_argument(std::string("CountSketch::") + what + " has " +
                                  std::to_string(got) + " entries, expected " +
                                  std::to_string(want));
  }

  Index dim_;
  int rows_;
  Index cols_;
  std::uint64_t seed_;
  Kokkos::View<const std::int32_t*, MemorySpace> codes_;    // rows*dim, at j*dim + l
  Kokkos::View<const std::int32_t*, MemorySpace> members_;  // rows*dim, grouped by bucket
  Kokkos::View<const Index*, MemorySpace> offsets_;         // rows*cols + 1
  typename CodeView::HostMirror host_codes_;
};

// Indices of the `count` largest |values[0..n)|, in ascending index order; ties go to the lower
// index, and a NaN ranks above every number (so a diverged accumulator shows in the model rather
// than hiding). O(n) (std::nth_element) plus O(count log count). Throws std::invalid_argument
// unless 0 <= count <= n. Host only: on a GPU the estimates are copied to the host first
// (a device top-k is future work).
template <class T>
std::vector<Index> top_abs_indices(const T* values, Index n, Index count) {
  if (n < 0 || count < 0 || count > n)
    throw std::invalid_argument("top_abs_indices: need 0 <= count <= n, got count " +
                                std::to_string(count) + " of n " + std::to_string(n));
  if (count == 0) return {};
  std::vector<Index> idx(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) idx[static_cast<std::size_t>(i)] = i;
  const auto key = [values](Index i) {
    const double x = static_cast<double>(values[i]);
    return std::isnan(x) ? std::numeric_limits<double>::infinity() : std::fabs(x);
  };
  // Strict weak order even with NaN: |v| descending (NaN as +inf), then index ascending.
  const auto before = [&key](Index i, Index j) {
    const double ki = key(i), kj = key(j);
    return ki > kj || (ki == kj && i < j);
  };
  if (count < n) std::nth_element(idx.begin(), idx.begin() + count, idx.end(), before);
  idx.resize(static_cast<std::size_t>(count));
  std::sort(idx.begin(), idx.end());
  return idx;
}

// The same for a host-accessible rank-1 View (e.g. a host mirror of the estimates).
template <class View>
std::vector<Index> top_abs_indices(const View& values, Index count) {
  static_assert(View::rank == 1, "top_abs_indices works on flat vectors");
  static_assert(
      Kokkos::SpaceAccessibility<Kokkos::HostSpace, typename View::memory_space>::accessible,
      "top_abs_indices runs on the host: copy device estimates to a host mirror first");
  if (!values.span_is_contiguous())
    throw std::invalid_argument("top_abs_indices: the View must be contiguous");
  return top_abs_indices(values.data(), static_cast<Index>(values.extent(0)), count);
}

}  // namespace olsgd::kernels
