#pragma once
// Softmax cross-entropy on a block of logits, one thread per sample (deterministic):
//   C > 1:  p = softmax(z),  loss = -log p_y,                  dz = scale (p - onehot(y))
//   C = 1:  p = sigmoid(z),  loss = log(1 + e^z) - y z (y in {0,1}), dz = scale (p - y)
// Returns the loss summed over the rows and the number of rows whose argmax is y.
#include <olsgd/core/math.hpp>
#include <olsgd/core/types.hpp>

namespace olsgd {

struct LossSum {
  double loss = 0;
  double correct = 0;
  KOKKOS_INLINE_FUNCTION void operator+=(const LossSum& o) {
    loss += o.loss;
    correct += o.correct;
  }
  // Kokkos 3.x joins reduction values through volatile references.
  KOKKOS_INLINE_FUNCTION void operator+=(const volatile LossSum& o) volatile {
    loss += o.loss;
    correct += o.correct;
  }
};

// `label(s)` gives the class of row s. dz may be the same View as z. A null dz (extent 0)
// computes the loss only.
template <class ZView, class DZView, class LabelOf>
LossSum cross_entropy(const ExecSpace& exec, const ZView& z, const DZView& dz, Index rows, int C,
                      const LabelOf& label, double scale) {
  using Scalar = typename ZView::non_const_value_type;
  const bool grad = dz.extent(0) > 0;
  LossSum total;
  Kokkos::parallel_reduce(
      "olsgd::model::cross_entropy", Kokkos::RangePolicy<ExecSpace>(exec, 0, rows),
      KOKKOS_LAMBDA(const Index s, LossSum& acc) {
        const int y = label(s);
        if (C == 1) {
          const double zs = z(s, 0);
          const double p = 1.0 / (1.0 + math::exp(-zs));
          // log(1 + e^z) computed without overflow.
          const double softplus =
              zs > 0 ? zs + math::log1p(math::exp(-zs)) : math::log1p(math::exp(zs));
          acc.loss += softplus - y * zs;
          acc.correct += (zs > 0) == (y == 1);
          if (grad) dz(s, 0) = static_cast<Scalar>(scale * (p - y));
          return;
        }
        double zmax = z(s, 0);
        int arg = 0;
        for (int c = 1; c < C; ++c)
          if (z(s, c) > zmax) zmax = z(s, c), arg = c;
        double sum = 0;
        for (int c = 0; c < C; ++c) sum += math::exp(z(s, c) - zmax);
        acc.loss += math::log(sum) + zmax - z(s, y);
        acc.correct += arg == y;
        if (grad)
          for (int c = 0; c < C; ++c)
            dz(s, c) = static_cast<Scalar>(scale * (math::exp(z(s, c) - zmax) / sum - (c == y)));
      },
      total);
  return total;
}

}  // namespace olsgd
