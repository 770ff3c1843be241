// For the check_captures_catches test: a kernel written in a GoogleTest body (the line marked
// `in a test body`, which scripts/check-captures must name) and one launched from a free
// function (which it must accept). TEST stands in for GoogleTest's macro, so this file parses
// with the library's flags alone.
#include <Kokkos_Core.hpp>

#define TEST(suite, name) void suite##_##name()

void scale(const Kokkos::View<double*>& w) {
  Kokkos::parallel_for(
      "free", w.extent(0), KOKKOS_LAMBDA(const int i) { w(i) *= 2; });
}

TEST(kernels, scale_twice) {
  Kokkos::View<double*> w("w", 4);
  scale(w);
  Kokkos::parallel_for(
      "body", w.extent(0), KOKKOS_LAMBDA(const int i) { w(i) *= 2; });  // in a test body
}
