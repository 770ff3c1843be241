#include <olsgd/core/rng.hpp>
#include <olsgd/model/mlp.hpp>
#include <olsgd/model/registry.hpp>

#include <KokkosBlas3_gemm.hpp>

#include <algorithm>
#include <cmath>

#include "cross_entropy.hpp"
#include "mlp_kernels.hpp"

namespace olsgd {
namespace {

constexpr Index kEvalChunk = 1024;

using mlp_kernels::Block;

// A rows x cols row-major block over raw memory (parameters or a scratch buffer).
template <class Scalar>
Block<Scalar> block(Scalar* p, Index rows, Index cols) {
  return Block<Scalar>(p, rows, cols);
}

}  // namespace

template <class Scalar>
Mlp<Scalar>::Mlp(Dataset<Scalar> data, std::vector<Index> hidden, Index batch, double l2,
                 std::uint64_t seed)
    : data_(std::move(data)), l2_(l2), seed_(seed), capacity_(std::max(batch, kEvalChunk)) {
  widths_.push_back(data_.num_features());
  widths_.insert(widths_.end(), hidden.begin(), hidden.end());
  widths_.push_back(data_.num_classes);
  Index widest = 0;
  for (std::size_t l = 0; l < widths_.size(); ++l) {
    widest = std::max(widest, widths_[l]);
    act_.emplace_back("olsgd::model::mlp::activation", capacity_ * widths_[l]);
    if (l == 0) continue;
    offsets_.push_back(params_);
    params_ += widths_[l] * widths_[l - 1] + widths_[l];
  }
  delta_ = Vector<Scalar>("olsgd::model::mlp::delta", capacity_ * widest);
  delta_prev_ = Vector<Scalar>("olsgd::model::mlp::delta_prev", capacity_ * widest);
  chunk_ = IndexVector("olsgd::model::mlp::chunk", kEvalChunk);
}

template <class Scalar>
void Mlp<Scalar>::initialize(const ExecSpace& exec, const Vector<Scalar>& x) const {
  for (std::size_t l = 0; l + 1 < widths_.size(); ++l) {
    const Index in = widths_[l], out = widths_[l + 1], first = offsets_[l];
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    const CounterRng rng(seed_, Stream::Init, static_cast<std::uint32_t>(l));
    Kokkos::parallel_for(
        "olsgd::model::mlp::init", Kokkos::RangePolicy<ExecSpace>(exec, 0, out * in + out),
        KOKKOS_LAMBDA(const Index i) {
          x(first + i) = static_cast<Scalar>(bound * (2 * rng.uniform(i) - 1));
        });
  }
}

template <class Scalar>
void Mlp<Scalar>::forward(const ExecSpace& exec, const ConstVector<Scalar>& x,
                          const Dataset<Scalar>& data, const IndexVector& rows, Index n) {
  mlp_kernels::gather_rows(exec, data.features, rows, block(act_[0].data(), n, widths_[0]));
  const std::size_t layers = widths_.size() - 1;
  for (std::size_t l = 0; l < layers; ++l) {
    const Index in = widths_[l], out = widths_[l + 1];
    Scalar* w = const_cast<Scalar*>(x.data()) + offsets_[l];
    const auto bias =
        Kokkos::subview(x, std::make_pair(offsets_[l] + out * in, offsets_[l] + out * in + out));
    auto A = block(act_[l].data(), n, in);
    auto Z = block(act_[l + 1].data(), n, out);
    exec.fence();
    KokkosBlas::gemm("N", "T", Scalar(1), A, block(w, out, in), Scalar(0), Z);  // Z = A W^T
    mlp_kernels::bias_relu(exec, Z, bias, l + 1 < layers);
  }
}

template <class Scalar>
double Mlp<Scalar>::gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                             const IndexVector& batch, const Vector<Scalar>& g, bool want_loss) {
  const Index b = static_cast<Index>(batch.extent(0));
  forward(exec, x, data_, batch, b);
  const std::size_t layers = widths_.size() - 1;
  const int K = static_cast<int>(widths_.back());
  const auto labels = data_.labels;
  auto logits = block(act_[layers].data(), b, K);
  auto delta = block(delta_.data(), b, K);
  auto label = KOKKOS_LAMBDA(const Index s) {
    return labels(batch(s));
  };
  const LossSum ce = cross_entropy(exec, logits, delta, b, K, label, 1.0 / b);

  const Scalar l2 = l2_;
  for (std::size_t l = layers; l-- > 0;) {
    const Index in = widths_[l], out = widths_[l + 1], first = offsets_[l];
    auto D = block(delta_.data(), b, out);
    auto A = block(act_[l].data(), b, in);
    Scalar* w = const_cast<Scalar*>(x.data()) + first;
    exec.fence();
    KokkosBlas::gemm("T", "N", Scalar(1), D, A, Scalar(0), block(g.data() + first, out, in));
    if (l2 != Scalar(0))  // a pass over every weight: only when there is a penalty
      Kokkos::parallel_for(
          "olsgd::model::mlp::l2", Kokkos::RangePolicy<ExecSpace>(exec, 0, out * in),
          KOKKOS_LAMBDA(const Index i) { g(first + i) += l2 * x(first + i); });
    mlp_kernels::bias_grad(
        exec, D, Kokkos::subview(g, std::make_pair(first + out * in, first + out * in + out)));
    if (l == 0) break;
    // delta_prev = (D W) * relu'(A): back through the weights and the ReLU of layer l.
    auto P = block(delta_prev_.data(), b, in);
    exec.fence();
    KokkosBlas::gemm("N", "N", Scalar(1), D, block(w, out, in), Scalar(0), P);
    mlp_kernels::relu_grad(exec, A, P);
    std::swap(delta_, delta_prev_);
  }
  if (!want_loss) return kUnknown;
  double w2 = 0;
  if (l2_ > 0)
    for (std::size_t l = 0; l < layers; ++l) {
      const Index first = offsets_[l], n = widths_[l] * widths_[l + 1];
      double part = 0;
      Kokkos::parallel_reduce(
          "olsgd::model::mlp::w2", Kokkos::RangePolicy<ExecSpace>(exec, first, first + n),
          KOKKOS_LAMBDA(const Index i, double& acc) { acc += static_cast<double>(x(i)) * x(i); },
          part);
      w2 += part;
    }
  return ce.loss / b + 0.5 * l2_ * w2;
}

template <class Scalar>
Evaluation Mlp<Scalar>::evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                 const Dataset<Scalar>& data) {
  const int K = static_cast<int>(widths_.back());
  return evaluate_in_chunks(exec, data, chunk_, K, [&](const IndexVector& rows, Index n) {
    forward(exec, x, data, rows, n);
    return block(act_.back().data(), n, K);
  });
}

template class Mlp<float>;
template class Mlp<double>;

double mlp_params(double features, int classes, const std::vector<Index>& hidden) {
  std::vector<double> widths = {features};
  for (Index w : hidden) widths.push_back(static_cast<double>(w));
  widths.push_back(classes > 2 ? classes : 2);
  double p = 0;
  for (std::size_t l = 1; l < widths.size(); ++l) p += widths[l] * widths[l - 1] + widths[l];
  return p;
}

double mlp_scratch(double features, int classes, const std::vector<Index>& hidden, double rows,
                   double scalar_bytes) {
  double widest = features, sum = widest + std::max(classes, 2);
  for (Index w : hidden) sum += static_cast<double>(w), widest = std::max(widest, double(w));
  return rows * (sum + 2 * widest) * scalar_bytes;
}

namespace {
template <class Scalar>
std::unique_ptr<Model<Scalar>> make(const Config& c, const Dataset<Scalar>& train,
                                    const QuadraticProblem*, int) {
  return std::make_unique<Mlp<Scalar>>(train, parse_widths(c.model.hidden), c.optimizer.batch,
                                       c.model.l2, c.run.seed);
}
}  // namespace

extern const ModelEntry kMlpModel = {
    "mlp",
    "dense ReLU network (model.hidden), softmax cross-entropy",
    [](const Config&) {
      return std::vector<std::string>{"model.hidden", "model.l2"};
    },
    [](const Config& c, const DeckCheck& deck) {
      const std::string& d = c.data.kind;
      deck.require(d == "fashion_mnist" || d == "libsvm" || d == "cifar10", "model.kind",
                   "model mlp cannot train on data.kind " + d +
                       " (logistic and mlp need labelled data: fashion_mnist, libsvm, cifar10)");
      deck.require(d != "libsvm", "model.kind",
                   "mlp needs dense features; libsvm data are sparse (use model.kind: logistic)");
      try {
        parse_widths(c.model.hidden);
      } catch (const std::invalid_argument& e) {
        deck.fail("model.hidden", e.what());
      }
    },
    [](const Config& c, const ProblemShape& s) {
      return mlp_params(static_cast<double>(s.features), s.classes, parse_widths(c.model.hidden));
    },
    [](const Config& c, const ProblemShape& s, double rows, double w) {
      return mlp_scratch(static_cast<double>(s.features), s.classes, parse_widths(c.model.hidden),
                         rows, w);
    },
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
