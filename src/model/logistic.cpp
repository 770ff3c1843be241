#include <olsgd/model/logistic.hpp>
#include <olsgd/model/network.hpp>
#include <olsgd/model/registry.hpp>

#include <algorithm>

#include "cross_entropy.hpp"

namespace olsgd {
namespace {
constexpr Index kEvalChunk = 1024;  // held-out rows per evaluation pass
}

template <class Scalar>
LogisticRegression<Scalar>::LogisticRegression(Dataset<Scalar> data, Index batch, double l2)
    : data_(std::move(data)),
      d_(data_.num_features()),
      classes_(data_.num_classes == 2 ? 1 : data_.num_classes),
      l2_(l2),
      z_("olsgd::model::logistic::z", std::max(batch, kEvalChunk), classes_),
      chunk_("olsgd::model::logistic::chunk", kEvalChunk) {}

template <class Scalar>
void LogisticRegression<Scalar>::initialize(const ExecSpace& exec, const Vector<Scalar>& x) const {
  Kokkos::deep_copy(exec, x, Scalar(0));
}

template <class Scalar>
void LogisticRegression<Scalar>::logits(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                        const Dataset<Scalar>& data, const IndexVector& rows,
                                        Index n) {
  const Index d = d_;
  const int C = classes_;
  const auto z = z_;
  const auto dense = data.features;
  const auto sparse = data.sparse;
  const bool is_sparse = data.sparse_features;
  Kokkos::parallel_for(
      "olsgd::model::logistic::logits", Kokkos::RangePolicy<ExecSpace>(exec, 0, n * C),
      KOKKOS_LAMBDA(const Index sc) {
        const Index s = sc / C, c = sc % C, r = rows(s);
        const Index w = c * d;
        Scalar acc = x(C * d + c);  // bias
        if (is_sparse) {
          for (Index k = sparse.graph.row_map(r); k < sparse.graph.row_map(r + 1); ++k)
            acc += sparse.values(k) * x(w + sparse.graph.entries(k));
        } else {
          for (Index j = 0; j < d; ++j) acc += dense(r, j) * x(w + j);
        }
        z(s, c) = acc;
      });
}

template <class Scalar>
double LogisticRegression<Scalar>::gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                            const IndexVector& batch, const Vector<Scalar>& g,
                                            bool want_loss) {
  const Index b = static_cast<Index>(batch.extent(0)), d = d_;
  const int C = classes_;
  logits(exec, x, data_, batch, b);
  const auto labels = data_.labels;
  const auto z = z_;
  auto label = KOKKOS_LAMBDA(const Index s) {
    return labels(batch(s));
  };
  const LossSum ce = cross_entropy(exec, z, z, b, C, label, 1.0 / b);  // z now holds dL/dz

  const Scalar l2 = l2_;
  if (data_.sparse_features) {
    // g_W is sparse in the batch: zero it, then each class (one thread) scatters its row.
    Kokkos::deep_copy(exec, g, Scalar(0));
    const auto m = data_.sparse;
    Kokkos::parallel_for(
        "olsgd::model::logistic::sparse_grad", Kokkos::RangePolicy<ExecSpace>(exec, 0, C),
        KOKKOS_LAMBDA(const Index c) {
          for (Index s = 0; s < b; ++s) {
            const Index r = batch(s);
            for (Index k = m.graph.row_map(r); k < m.graph.row_map(r + 1); ++k)
              g(c * d + m.graph.entries(k)) += z(s, c) * m.values(k);
          }
        });
    Kokkos::parallel_for(
        "olsgd::model::logistic::l2", Kokkos::RangePolicy<ExecSpace>(exec, 0, C * d),
        KOKKOS_LAMBDA(const Index i) { g(i) += l2 * x(i); });
  } else {
    const auto a = data_.features;
    Kokkos::parallel_for(
        "olsgd::model::logistic::dense_grad", Kokkos::RangePolicy<ExecSpace>(exec, 0, C * d),
        KOKKOS_LAMBDA(const Index i) {
          const Index c = i / d, j = i % d;
          Scalar acc = 0;
          for (Index s = 0; s < b; ++s) acc += z(s, c) * a(batch(s), j);
          g(i) = acc + l2 * x(i);
        });
  }
  Kokkos::parallel_for(
      "olsgd::model::logistic::bias_grad", Kokkos::RangePolicy<ExecSpace>(exec, 0, C),
      KOKKOS_LAMBDA(const Index c) {
        Scalar acc = 0;
        for (Index s = 0; s < b; ++s) acc += z(s, c);
        g(C * d + c) = acc;
      });
  if (!want_loss) return kUnknown;
  double w2 = 0;
  Kokkos::parallel_reduce(
      "olsgd::model::logistic::w2", Kokkos::RangePolicy<ExecSpace>(exec, 0, C * d),
      KOKKOS_LAMBDA(const Index i, double& acc) { acc += static_cast<double>(x(i)) * x(i); }, w2);
  return ce.loss / b + 0.5 * l2_ * w2;
}

template <class Scalar>
Evaluation LogisticRegression<Scalar>::evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                                const Dataset<Scalar>& data) {
  return evaluate_in_chunks(exec, data, chunk_, classes_, [&](const IndexVector& rows, Index n) {
    logits(exec, x, data, rows, n);
    return z_;
  });
}

template class LogisticRegression<float>;
template class LogisticRegression<double>;

namespace {
template <class Scalar>
std::unique_ptr<Model<Scalar>> make(const Config& c, const Dataset<Scalar>& train,
                                    const QuadraticProblem*, int rank) {
  // Dense softmax regression is an MLP without hidden layers (tests/test_models.cpp checks
  // the two agree); that one runs on vendor BLAS, so it is the faster of the two.
  if (!train.sparse_features && train.num_classes > 2)
    return std::make_unique<Network<Scalar>>(
        "logistic", train, plan_network({}, {train.num_features(), 1, 1}, train.num_classes),
        c.optimizer.batch, c.model.l2, c.run.seed, augmentation(c, train.image, rank));
  return std::make_unique<LogisticRegression<Scalar>>(train, c.optimizer.batch, c.model.l2);
}
}  // namespace

extern const ModelEntry kLogisticModel = {
    "logistic",
    "binary or softmax logistic regression (sparse or dense features)",
    [](const Config&) { return std::vector<std::string>{"model.l2"}; },
    [](const Config& c, const DeckCheck& deck) {
      const std::string& d = c.data.kind;
      deck.require(d == "fashion_mnist" || d == "libsvm" || d == "cifar10", "model.kind",
                   "model logistic cannot train on data.kind " + d +
                       " (logistic and mlp need labelled data: fashion_mnist, libsvm, cifar10)");
    },
    [](const Config&, const ProblemShape& s) {
      const double f = static_cast<double>(s.features);
      if (s.sparse || s.classes <= 2) return (s.classes > 2 ? s.classes : 1) * (f + 1);
      return static_cast<double>(plan_network({}, {s.features, 1, 1}, s.classes).params);
    },
    [](const Config&, const ProblemShape& s, double batch, double w) {
      if (s.sparse || s.classes <= 2)  // LogisticRegression: its logits and a chunk's rows
        return std::max(batch, static_cast<double>(kEvalChunk)) * (s.classes > 2 ? s.classes : 1) *
                   w +
               kEvalChunk * static_cast<double>(sizeof(Index));
      return network_scratch_bytes(plan_network({}, {s.features, 1, 1}, s.classes),
                                   static_cast<Index>(batch), w);
    },
    &make<float>,
    &make<double>,
    nullptr,
    nullptr,
};

}  // namespace olsgd
