#pragma once
// The layers a Network is made of. Kernel-launching helpers are public because nvcc rejects a
// KOKKOS_LAMBDA in a private or protected member function.
#include <olsgd/kernels/channel_sums.hpp>

#include <algorithm>

#include "layer.hpp"

namespace olsgd::net {

// Samples a convolution lowers at once when a pass has `rows`: as many as `chunk_scalars` holds
// at `per_sample` scalars each (columns and product), at least one.
inline Index conv_chunk(Index per_sample, Index chunk_scalars, Index rows) {
  return std::max<Index>(1, std::min(rows, chunk_scalars / per_sample));
}

// 2-D convolution as GEMMs over im2col columns. A chunk of samples is lowered at once, so a
// small image still makes a GEMM of useful size: columns are (C_in k k) x (chunk H_out W_out),
// and forward = W columns, dW = dY columns^T (summed over the chunks in order), dcolumns = W^T
// dY, then col2im; the bias gradient through kernels::channel_sums. Parameters: W (C_out x C_in x
// k x k, PyTorch's order) | bias (C_out). A ReLU that follows is fused into the passes between
// the GEMM's layout and NCHW.
template <class Scalar>
class Conv final : public Layer<Scalar> {
 public:
  explicit Conv(const PlannedLayer& plan);
  bool fuse_relu() override { return relu_ = true; }
  void reserve(Index rows) override;
  Index work_size(Index rows) const override;
  void initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                  InitStreams& streams) const override;
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
  double l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                    bool want_sum) const override;

  // Samples lowered per GEMM when a pass has `rows`.
  Index chunk(Index rows) const;
  void im2col(const ExecSpace& exec, const Scalar* in, Index n0, Index nb, Scalar* col) const;
  void col2im(const ExecSpace& exec, const Scalar* col, Index n0, Index nb, Scalar* din,
              bool accumulate) const;
  // Between the GEMM's C_out x (chunk P) layout and NCHW (P = H_out W_out); the bias and the
  // fused ReLU join on the way out, the ReLU's mask (read from `out`) on the way back.
  void to_nchw(const ExecSpace& exec, const Scalar* tmp, const Scalar* bias, Index n0, Index nb,
               Scalar* out) const;
  void from_nchw(const ExecSpace& exec, const Scalar* dout, const Scalar* out, Index n0, Index nb,
                 Scalar* tmp) const;
  void bias_grad(const ExecSpace& exec, const Scalar* dout, const Scalar* out, Index n,
                 Scalar* gb) const;

 private:
  Index cin_, cout_, k_, s_, pad_, h_, w_, ho_, wo_, kk_;
  bool relu_ = false;
  kernels::ChannelPartials<MemSpace> partial_;  // 1 x C_out x samples x G
};

// Batch normalisation per channel: in training the batch's mean and biased variance, in
// evaluation the running statistics. Parameters gamma | beta; running statistics mean | var,
// moved by momentum 0.1 after each training step with the unbiased variance (PyTorch's rule).
// Sums over a channel go through kernels::channel_sums: the same bits on every backend and for
// any number of threads. A ReLU that follows is fused: applied in the output sweep, and its
// mask read from the output in the backward sweeps.
template <class Scalar>
class BatchNorm final : public Layer<Scalar> {
 public:
  static constexpr double kEps = 1e-5, kMomentum = 0.1;
  explicit BatchNorm(const PlannedLayer& plan);
  bool fuse_relu() override { return relu_ = true; }
  void reserve(Index rows) override;
  void initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                  InitStreams& streams) const override;
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
  void update_running(const ExecSpace& exec, Scalar* running) override;

 private:
  Index c_, plane_;
  Index rows_ = 0;  // samples of the last training forward
  bool relu_ = false;
  Kokkos::View<double*, MemSpace> mean_, var_, invstd_, sum_a_, sum_b_;
  kernels::ChannelPartials<MemSpace> partial_;  // 2 x C x samples x G
};

template <class Scalar>
class Relu final : public Layer<Scalar> {
 public:
  using Layer<Scalar>::Layer;
  bool in_place() const override { return true; }
  void initialize(const ExecSpace&, Scalar*, Scalar*, InitStreams&) const override {}
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
};

// K x K windows, stride K (non-overlapping: each input has one window). The forward pass
// records each window's first largest input; the gradient goes there.
template <class Scalar>
class MaxPool final : public Layer<Scalar> {
 public:
  using Layer<Scalar>::Layer;
  void reserve(Index rows) override;
  void initialize(const ExecSpace&, Scalar*, Scalar*, InitStreams&) const override {}
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;

 private:
  Kokkos::View<int*, MemSpace> arg_;  // per output: its input's offset in the plane
};

// K x K average, stride K; `gap` is the window of the whole image.
template <class Scalar>
class AvgPool : public Layer<Scalar> {
 public:
  using Layer<Scalar>::Layer;
  void initialize(const ExecSpace&, Scalar*, Scalar*, InitStreams&) const override {}
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
};

template <class Scalar>
class GlobalAvgPool final : public AvgPool<Scalar> {
 public:
  using AvgPool<Scalar>::AvgPool;
};

// Fully connected on the flattened sample: Z = A W^T + b through KokkosBlas::gemm, with the ReLU
// that follows fused in when there is one. Parameters W (out x in, row-major) | b (out).
template <class Scalar>
class Dense final : public Layer<Scalar> {
 public:
  using Layer<Scalar>::Layer;
  bool fuse_relu() override { return relu_ = true; }
  void initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                  InitStreams& streams) const override;
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
  double l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                    bool want_sum) const override;

 private:
  bool relu_ = false;
};

// The residual basic block (He et al. 2016): relu(bn2(conv2(relu(bn1(conv1(x))))) + s(x)), s the
// identity or, when the channels or the stride change, bn(conv1x1(x)). Parameters in the order
// conv1, bn1, conv2, bn2[, projection conv, its bn]; running statistics bn1, bn2[, bn].
template <class Scalar>
class ResidualBlock final : public Layer<Scalar> {
 public:
  explicit ResidualBlock(const PlannedLayer& plan);
  void reserve(Index rows) override;
  Index work_size(Index rows) const override;
  void initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                  InitStreams& streams) const override;
  void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) override;
  void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                Scalar* din, bool accumulate) override;
  void update_running(const ExecSpace& exec, Scalar* running) override;
  double l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                    bool want_sum) const override;

 private:
  struct Part {
    std::unique_ptr<Layer<Scalar>> layer;
    Index w = 0, running = 0;  // offsets inside the block
  };
  Pass<Scalar> sub(const Pass<Scalar>& p, const Part& part) const {
    return p.at(part.w, part.running);
  }
  Part conv1_, bn1_, conv2_, bn2_, conv_s_, bn_s_;
  bool projection_;
  Vector<Scalar> c1_, b1_, c2_, cs_, bs_;  // inside activations, rows x out
};

}  // namespace olsgd::net
