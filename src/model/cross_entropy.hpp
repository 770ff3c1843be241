#pragma once
// Softmax cross-entropy on a block of logits, one thread per sample (deterministic):
//   C > 1:  p = softmax(z),  loss = -log p_y,                  dz = scale (p - onehot(y))
//   C = 1:  p = sigmoid(z),  loss = log(1 + e^z) - y z (y in {0,1}), dz = scale (p - y)
// Returns the loss summed over the rows and the number of rows whose argmax is y.
#include <olsgd/core/math.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/model/model.hpp>

#include <algorithm>

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

namespace detail {
// The kernels of evaluate_in_chunks live outside it: nvcc rejects a KOKKOS_LAMBDA in a function
// template instantiated with a type local to a function (the caller's host `logits` lambda).
inline void fill_chunk_rows(const ExecSpace& exec, const IndexVector& chunk, Index start, Index n) {
  Kokkos::parallel_for(
      "olsgd::model::eval_rows", Kokkos::RangePolicy<ExecSpace>(exec, 0, n),
      KOKKOS_LAMBDA(const Index s) { chunk(s) = start + s; });
}

template <class ZView>
LossSum chunk_cross_entropy(const ExecSpace& exec, const ZView& z, const Labels& labels,
                            const IndexVector& chunk, Index n, int C) {
  auto label = KOKKOS_LAMBDA(const Index s) {
    return labels(chunk(s));
  };
  return cross_entropy(exec, z, ZView(), n, C, label, 1.0);
}
}  // namespace detail

// Held-out evaluation in chunks of chunk.extent(0) rows: `logits(rows, n)` computes and
// returns the n x C logits of the rows listed in `rows`; their cross-entropy and correct
// predictions are summed over all of `data`.
template <class Scalar, class Logits>
Evaluation evaluate_in_chunks(const ExecSpace& exec, const Dataset<Scalar>& data,
                              const IndexVector& chunk, int C, const Logits& logits) {
  Evaluation e;
  const Index size = static_cast<Index>(chunk.extent(0));
  for (Index start = 0; start < data.rows(); start += size) {
    const Index n = std::min(size, data.rows() - start);
    detail::fill_chunk_rows(exec, chunk, start, n);
    const auto z = logits(chunk, n);
    const LossSum ce = detail::chunk_cross_entropy(exec, z, data.labels, chunk, n, C);
    e.loss_sum += ce.loss;
    e.correct += ce.correct;
    e.rows += n;
  }
  return e;
}

}  // namespace olsgd
