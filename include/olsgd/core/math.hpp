#pragma once
// Device math functions under one name for Kokkos 3.4 (Kokkos::Experimental::) and
// Kokkos >= 3.6 / 4.x (Kokkos::).
#include <Kokkos_Core.hpp>

namespace olsgd::math {
#if KOKKOS_VERSION >= 30600
using Kokkos::cos;
using Kokkos::exp;
using Kokkos::fabs;
using Kokkos::floor;
using Kokkos::log;
using Kokkos::log1p;
using Kokkos::sqrt;
#else
using Kokkos::Experimental::cos;
using Kokkos::Experimental::exp;
using Kokkos::Experimental::fabs;
using Kokkos::Experimental::floor;
using Kokkos::Experimental::log;
using Kokkos::Experimental::log1p;
using Kokkos::Experimental::sqrt;
#endif
}  // namespace olsgd::math
