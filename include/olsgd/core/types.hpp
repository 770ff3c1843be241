#pragma once
// Execution/memory spaces and View aliases shared by every layer.
#include <Kokkos_Core.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace olsgd {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;

template <class Scalar>
using Vector = Kokkos::View<Scalar*, MemSpace>;
template <class Scalar>
using ConstVector = Kokkos::View<const Scalar*, MemSpace>;
// Row-major so one sample (a row) is contiguous for the per-sample dot products.
template <class Scalar>
using Matrix = Kokkos::View<Scalar**, Kokkos::LayoutRight, MemSpace>;

// Packed 32-bit words of a compressed message (quantized gradients).
using WordVector = Kokkos::View<std::uint32_t*, MemSpace>;

using Index = std::int64_t;
using IndexVector = Kokkos::View<Index*, MemSpace>;

// Named host-side counters and choices a checkpoint carries besides the flat state (bytes
// sent so far, the quadratic model's draws, DQ-SGD's next levels); integers up to 2^53.
using HostState = std::map<std::string, double>;

enum class Precision { Float32, Float64 };

}  // namespace olsgd
