#include "layers.hpp"

namespace olsgd::net {
namespace {

PlannedLayer part(const PlannedLayer& block, LayerKind kind, Shape in, Index out, Index k,
                  Index stride, Index pad) {
  LayerSpec s;
  s.kind = kind, s.out = out, s.k = k, s.stride = stride, s.pad = pad, s.bias = false;
  s.text = kind == LayerKind::Conv ? "conv" : "bn";
  PlannedLayer p;
  p.spec = s;
  p.in = in;
  p.chunk_scalars = block.chunk_scalars;
  if (kind == LayerKind::Conv) {
    p.out = {out, (in.h + 2 * pad - k) / stride + 1, (in.w + 2 * pad - k) / stride + 1};
    p.params = out * in.c * k * k;
  } else {
    p.out = in;
    p.params = p.buffers = 2 * in.c;
  }
  return p;
}

// out[i] = relu(out[i] + shortcut[i]).
template <class Scalar>
void add_relu(const ExecSpace& exec, Index count, const Scalar* shortcut, Scalar* out) {
  Kokkos::parallel_for(
      "olsgd::model::net::residual_add_relu", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i) {
        const Scalar v = out[i] + shortcut[i];
        out[i] = v > 0 ? v : Scalar(0);
      });
}

// d[i] = out[i] > 0 ? d[i] : 0: back through a ReLU whose output is `out`.
template <class Scalar>
void relu_mask(const ExecSpace& exec, Index count, const Scalar* out, Scalar* d) {
  Kokkos::parallel_for(
      "olsgd::model::net::residual_relu_grad", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i) { d[i] = out[i] > 0 ? d[i] : Scalar(0); });
}

// din += d: the identity shortcut's gradient joins the main path's.
template <class Scalar>
void add_into(const ExecSpace& exec, Index count, const Scalar* d, Scalar* din) {
  Kokkos::parallel_for(
      "olsgd::model::net::residual_shortcut_grad", Kokkos::RangePolicy<ExecSpace>(exec, 0, count),
      KOKKOS_LAMBDA(const Index i) { din[i] += d[i]; });
}

}  // namespace

template <class Scalar>
ResidualBlock<Scalar>::ResidualBlock(const PlannedLayer& plan) : Layer<Scalar>(plan) {
  const Shape in = plan.in;
  const Index c = plan.spec.out, s = plan.spec.stride;
  projection_ = c != in.c || s != 1;
  Index w = 0, running = 0;
  auto place = [&](Part& part, const PlannedLayer& p) {
    part.layer = make_layer<Scalar>(p);
    part.w = w, part.running = running;
    w += p.params, running += p.buffers;
  };
  const PlannedLayer c1 = part(plan, LayerKind::Conv, in, c, 3, s, 1);
  place(conv1_, c1);
  place(bn1_, part(plan, LayerKind::BatchNorm, c1.out, 0, 1, 1, 0));
  bn1_.layer->fuse_relu();
  place(conv2_, part(plan, LayerKind::Conv, c1.out, c, 3, 1, 1));
  place(bn2_, part(plan, LayerKind::BatchNorm, c1.out, 0, 1, 1, 0));
  if (projection_) {
    place(conv_s_, part(plan, LayerKind::Conv, in, c, 1, s, 0));
    place(bn_s_, part(plan, LayerKind::BatchNorm, c1.out, 0, 1, 1, 0));
  }
}

template <class Scalar>
void ResidualBlock<Scalar>::reserve(Index rows) {
  const Index size = rows * this->out_size();
  c1_ = Vector<Scalar>("olsgd::model::net::block_conv1", size);
  b1_ = Vector<Scalar>("olsgd::model::net::block_bn1", size);
  c2_ = Vector<Scalar>("olsgd::model::net::block_conv2", size);
  for (Part* p : {&bn1_, &bn2_, &bn_s_})
    if (p->layer) p->layer->reserve(rows);
  if (!projection_) return;
  cs_ = Vector<Scalar>("olsgd::model::net::block_shortcut_conv", size);
  bs_ = Vector<Scalar>("olsgd::model::net::block_shortcut_bn", size);
}

template <class Scalar>
Index ResidualBlock<Scalar>::work_size(Index rows) const {
  Index most = 0;
  for (const Part* p : {&conv1_, &conv2_, &conv_s_})
    if (p->layer) most = std::max(most, p->layer->work_size(rows));
  return most;
}

template <class Scalar>
void ResidualBlock<Scalar>::initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                                       InitStreams& streams) const {
  for (const Part* p : {&conv1_, &bn1_, &conv2_, &bn2_, &conv_s_, &bn_s_})
    if (p->layer) p->layer->initialize(exec, w + p->w, running + p->running, streams);
}

template <class Scalar>
double ResidualBlock<Scalar>::l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g,
                                         Scalar l2, bool want_sum) const {
  double sum = 0;
  for (const Part* p : {&conv1_, &conv2_, &conv_s_})
    if (p->layer) sum += p->layer->l2_weights(exec, w + p->w, g + p->w, l2, want_sum);
  return sum;
}

template <class Scalar>
void ResidualBlock<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index count = p.n * this->out_size();
  conv1_.layer->forward(sub(p, conv1_), in, c1_.data());
  bn1_.layer->forward(sub(p, bn1_), c1_.data(), b1_.data());  // ReLU fused
  conv2_.layer->forward(sub(p, conv2_), b1_.data(), c2_.data());
  bn2_.layer->forward(sub(p, bn2_), c2_.data(), out);
  const Scalar* shortcut = in;
  if (projection_) {
    conv_s_.layer->forward(sub(p, conv_s_), in, cs_.data());
    bn_s_.layer->forward(sub(p, bn_s_), cs_.data(), bs_.data());
    shortcut = bs_.data();
  }
  add_relu(p.exec, count, shortcut, out);
}

template <class Scalar>
void ResidualBlock<Scalar>::backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out,
                                     Scalar* dout, Scalar* din, bool accumulate) {
  const Index count = p.n * this->out_size();
  Scalar* t0 = p.scratch.t0;
  Scalar* t1 = p.scratch.t1;
  relu_mask(p.exec, count, out, dout);  // dout is now dL/d(main + shortcut)
  bn2_.layer->backward(sub(p, bn2_), c2_.data(), out, dout, t0);
  conv2_.layer->backward(sub(p, conv2_), b1_.data(), c2_.data(), t0, t1);
  bn1_.layer->backward(sub(p, bn1_), c1_.data(), b1_.data(), t1, t0);
  conv1_.layer->backward(sub(p, conv1_), in, c1_.data(), t0, din, accumulate);
  if (!din) {
    if (projection_) {  // the parameters' gradients of the shortcut are still wanted
      bn_s_.layer->backward(sub(p, bn_s_), cs_.data(), bs_.data(), dout, t0);
      conv_s_.layer->backward(sub(p, conv_s_), in, cs_.data(), t0, nullptr);
    }
    return;
  }
  if (!projection_) {
    add_into(p.exec, count, dout, din);
    return;
  }
  bn_s_.layer->backward(sub(p, bn_s_), cs_.data(), bs_.data(), dout, t0);
  conv_s_.layer->backward(sub(p, conv_s_), in, cs_.data(), t0, din, true);
}

template <class Scalar>
void ResidualBlock<Scalar>::update_running(const ExecSpace& exec, Scalar* running) {
  for (Part* p : {&bn1_, &bn2_, &bn_s_})
    if (p->layer) p->layer->update_running(exec, running + p->running);
}

template class ResidualBlock<float>;
template class ResidualBlock<double>;

}  // namespace olsgd::net
