// For the check_captures_catches test: one kernel that reads a member through an implicit
// `this` (the line with `*= factor`, which scripts/check-captures must name), one that copies
// it to a local first (which it must accept).
#include <Kokkos_Core.hpp>

struct Scaler {
  double factor = 2;
  Kokkos::View<double*> v;

  void implicit() const {
    const auto w = v;
    Kokkos::parallel_for(
        "implicit", w.extent(0), KOKKOS_LAMBDA(const int i) { w(i) *= factor; });
  }
  void explicit_local() const {
    const auto w = v;
    const double f = factor;
    Kokkos::parallel_for(
        "local", w.extent(0), KOKKOS_LAMBDA(const int i) { w(i) *= f; });
  }
};
