#pragma once
// The MLP's kernels between its GEMMs. Each is a named function, so that a profile
// (perf/peers/profile) tells them apart by symbol, and each is written for the host's
// vector units as well as a GPU's threads: no per-element integer division, no strided
// walk down a column, no conditional store.
#include <olsgd/core/types.hpp>

namespace olsgd::mlp_kernels {

template <class Scalar>
using Block =
    Kokkos::View<Scalar**, Kokkos::LayoutRight, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

// A(s, :) = features(rows(s), :) for s < n: one team per sample, its threads over the row.
template <class Scalar, class Features>
void gather_rows(const ExecSpace& exec, const Features& features, const IndexVector& rows,
                 const Block<Scalar>& A) {
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  const Index p = static_cast<Index>(A.extent(1));
  Kokkos::parallel_for(
      "olsgd::model::mlp::gather", Team(exec, static_cast<Index>(A.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Team::member_type& t) {
        const Index s = t.league_rank(), r = rows(s);
        Kokkos::parallel_for(Kokkos::TeamVectorRange(t, p),
                             [&](const Index j) { A(s, j) = features(r, j); });
      });
}

// Z(s, j) += bias(j), then ReLU when `relu`.
template <class Scalar, class Bias>
void bias_relu(const ExecSpace& exec, const Block<Scalar>& Z, const Bias& bias, bool relu) {
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  const Index out = static_cast<Index>(Z.extent(1));
  Kokkos::parallel_for(
      "olsgd::model::mlp::bias_relu", Team(exec, static_cast<Index>(Z.extent(0)), Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Team::member_type& t) {
        const Index s = t.league_rank();
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, out), [&](const Index j) {
          const Scalar v = Z(s, j) + bias(j);
          Z(s, j) = relu && v < 0 ? Scalar(0) : v;
        });
      });
}

// gb(j) = sum over s of D(s, j), added in sample order (bitwise what a loop down each column
// gives). Column blocks of kCols: each thread sweeps its block row by row, so the reads are
// contiguous and vectorise; a given column stays with one thread, so no barrier is needed.
template <class Scalar, class BiasGrad>
void bias_grad(const ExecSpace& exec, const Block<Scalar>& D, const BiasGrad& gb) {
  constexpr Index kCols = 128;
  using Team = Kokkos::TeamPolicy<ExecSpace>;
  const Index b = static_cast<Index>(D.extent(0)), out = static_cast<Index>(D.extent(1));
  Kokkos::parallel_for(
      "olsgd::model::mlp::bias_grad", Team(exec, (out + kCols - 1) / kCols, Kokkos::AUTO),
      KOKKOS_LAMBDA(const typename Team::member_type& t) {
        const Index j0 = t.league_rank() * kCols, j1 = j0 + kCols < out ? j0 + kCols : out;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, j0, j1), [&](const Index j) { gb(j) = 0; });
        for (Index s = 0; s < b; ++s)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(t, j0, j1),
                               [&](const Index j) { gb(j) += D(s, j); });
      });
}

// P = P where A > 0, else 0: back through a ReLU (both whole contiguous rows).
template <class Scalar>
void relu_grad(const ExecSpace& exec, const Block<Scalar>& A, const Block<Scalar>& P) {
  const Scalar* a = A.data();
  Scalar* p = P.data();
  Kokkos::parallel_for(
      "olsgd::model::mlp::relu_grad",
      Kokkos::RangePolicy<ExecSpace>(exec, 0, static_cast<Index>(A.size())),
      KOKKOS_LAMBDA(const Index i) { p[i] = a[i] > 0 ? p[i] : Scalar(0); });
}

}  // namespace olsgd::mlp_kernels
