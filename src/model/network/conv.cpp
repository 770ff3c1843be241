#include <olsgd/kernels/channel_sums.hpp>
#include <olsgd/kernels/gemm.hpp>
#include <olsgd/kernels/row_teams.hpp>

#include <algorithm>

#include "layers.hpp"

namespace olsgd::net {
namespace {

using Team = Kokkos::TeamPolicy<ExecSpace>;

}  // namespace

template <class Scalar>
Conv<Scalar>::Conv(const PlannedLayer& plan) : Layer<Scalar>(plan) {
  cin_ = plan.in.c, cout_ = plan.spec.out, k_ = plan.spec.k, s_ = plan.spec.stride;
  pad_ = plan.spec.pad, h_ = plan.in.h, w_ = plan.in.w, ho_ = plan.out.h, wo_ = plan.out.w;
  kk_ = cin_ * k_ * k_;
}

template <class Scalar>
Index Conv<Scalar>::chunk(Index rows) const {
  return conv_chunk((kk_ + cout_) * ho_ * wo_, this->plan_.chunk_scalars, rows);
}

template <class Scalar>
Index Conv<Scalar>::work_size(Index rows) const {
  return chunk(rows) * (kk_ + cout_) * ho_ * wo_;
}

template <class Scalar>
void Conv<Scalar>::initialize(const ExecSpace& exec, Scalar* w, Scalar*,
                              InitStreams& streams) const {
  init_uniform(exec, w, this->plan_.params, kk_, streams);
}

template <class Scalar>
double Conv<Scalar>::l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                                bool want_sum) const {
  return l2_range(exec, w, g, cout_ * kk_, l2, want_sum);
}

// Outputs ow whose input column ow s - pad + kw lies in [0, W) form one range [lo, hi): the
// lowering loops test bounds once per row, not per element, and the copies vectorise.
namespace {
KOKKOS_INLINE_FUNCTION void valid_columns(Index W, Index Wo, Index s, Index pad, Index kw,
                                          Index& lo, Index& hi) {
  lo = pad > kw ? (pad - kw + s - 1) / s : 0;
  const Index last = W - 1 + pad - kw;
  hi = last < 0 ? 0 : (last / s + 1 < Wo ? last / s + 1 : Wo);
  if (hi < lo) hi = lo;
}
}  // namespace

template <class Scalar>
void Conv<Scalar>::im2col(const ExecSpace& exec, const Scalar* in, Index n0, Index nb,
                          Scalar* col) const {
  const Index C = cin_, H = h_, W = w_, Ho = ho_, Wo = wo_, k = k_, s = s_, pad = pad_;
  const Index P = Ho * Wo, stride_row = nb * P;
  // One team per (sample, input channel): its k k rows of the columns.
  Kokkos::parallel_for(
      "olsgd::model::net::im2col", kernels::row_teams(exec, nb * C, Ho, Wo),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index j = t.league_rank() / C, c = t.league_rank() % C;
        const Scalar* plane = in + ((n0 + j) * C + c) * H * W;
        for (Index kh = 0; kh < k; ++kh)
          for (Index kw = 0; kw < k; ++kw) {
            Scalar* row = col + ((c * k + kh) * k + kw) * stride_row + j * P;
            Index lo, hi;
            valid_columns(W, Wo, s, pad, kw, lo, hi);
            Kokkos::parallel_for(Kokkos::TeamThreadRange(t, Ho), [&](const Index oh) {
              const Index ih = oh * s - pad + kh;
              Scalar* r = row + oh * Wo;
              const bool inside = ih >= 0 && ih < H;
              const Index a = inside ? lo : Wo, b = inside ? hi : Wo;
              const Index base = ih * W + kw - pad;  // input index of ow = 0 (may be < 0)
              Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, a),
                                   [&](const Index ow) { r[ow] = Scalar(0); });
              // Unit stride as its own loop: a runtime stride keeps the compiler scalar.
              if (s == 1)
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, a, b),
                                     [&](const Index ow) { r[ow] = plane[base + ow]; });
              else
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, a, b),
                                     [&](const Index ow) { r[ow] = plane[base + ow * s]; });
              Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, b, Wo),
                                   [&](const Index ow) { r[ow] = Scalar(0); });
            });
          }
      });
}

template <class Scalar>
void Conv<Scalar>::col2im(const ExecSpace& exec, const Scalar* col, Index n0, Index nb, Scalar* din,
                          bool accumulate) const {
  const Index C = cin_, H = h_, W = w_, Ho = ho_, Wo = wo_, k = k_, s = s_, pad = pad_;
  const Index P = Ho * Wo, stride_row = nb * P;
  // Scatter-add per (sample, channel), one kernel offset at a time: for a fixed offset the
  // outputs hit distinct inputs, so the threads never collide, and every input receives its
  // terms in offset order (no atomics; the same bits for any thread count).
  Kokkos::parallel_for(
      "olsgd::model::net::col2im", kernels::row_teams(exec, nb * C, Ho, Wo),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index j = t.league_rank() / C, c = t.league_rank() % C;
        Scalar* plane = din + ((n0 + j) * C + c) * H * W;
        if (!accumulate)
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, H * W),
                               [&](const Index i) { plane[i] = Scalar(0); });
        t.team_barrier();
        for (Index kh = 0; kh < k; ++kh)
          for (Index kw = 0; kw < k; ++kw) {
            const Scalar* row = col + ((c * k + kh) * k + kw) * stride_row + j * P;
            Index lo, hi;
            valid_columns(W, Wo, s, pad, kw, lo, hi);
            Kokkos::parallel_for(Kokkos::TeamThreadRange(t, Ho), [&](const Index oh) {
              const Index ih = oh * s - pad + kh;
              if (ih < 0 || ih >= H) return;
              const Index base = ih * W + kw - pad;
              const Scalar* r = row + oh * Wo;
              if (s == 1)
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, lo, hi),
                                     [&](const Index ow) { plane[base + ow] += r[ow]; });
              else
                Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, lo, hi),
                                     [&](const Index ow) { plane[base + ow * s] += r[ow]; });
            });
            t.team_barrier();
          }
      });
}

template <class Scalar>
void Conv<Scalar>::to_nchw(const ExecSpace& exec, const Scalar* tmp, const Scalar* bias, Index n0,
                           Index nb, Scalar* out) const {
  const Index Co = cout_, P = ho_ * wo_;
  const bool relu = relu_;
  Kokkos::parallel_for(
      "olsgd::model::net::conv_out", kernels::row_teams(exec, nb * Co, P, 1),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index j = t.league_rank() / Co, co = t.league_rank() % Co;
        const Scalar b = bias ? bias[co] : Scalar(0);
        const Scalar* src = tmp + co * nb * P + j * P;
        Scalar* dst = out + ((n0 + j) * Co + co) * P;
        if (relu)
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, P), [&](const Index q) {
            const Scalar v = src[q] + b;
            dst[q] = v > 0 ? v : Scalar(0);
          });
        else
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, P),
                               [&](const Index q) { dst[q] = src[q] + b; });
      });
}

template <class Scalar>
void Conv<Scalar>::from_nchw(const ExecSpace& exec, const Scalar* dout, const Scalar* out, Index n0,
                             Index nb, Scalar* tmp) const {
  const Index Co = cout_, P = ho_ * wo_;
  const bool relu = relu_;
  Kokkos::parallel_for(
      "olsgd::model::net::conv_dout", kernels::row_teams(exec, nb * Co, P, 1),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index j = t.league_rank() / Co, co = t.league_rank() % Co;
        const Index first = ((n0 + j) * Co + co) * P;
        Scalar* dst = tmp + co * nb * P + j * P;
        if (relu)
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, P), [&](const Index q) {
            dst[q] = out[first + q] > 0 ? dout[first + q] : Scalar(0);
          });
        else
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, P),
                               [&](const Index q) { dst[q] = dout[first + q]; });
      });
}

template <class Scalar>
void Conv<Scalar>::reserve(Index rows) {
  if (this->plan_.spec.bias)
    partial_ = kernels::channel_partials<ExecSpace>("olsgd::model::net::conv_bias_partial", 1,
                                                    cout_, rows);
}

template <class Scalar>
void Conv<Scalar>::bias_grad(const ExecSpace& exec, const Scalar* dout, const Scalar* out, Index n,
                             Scalar* gb) const {
  const bool relu = relu_;
  // The gradient through the fused ReLU (its mask read from the output) at flat index i.
  kernels::channel_sums<1>(
      exec, "olsgd::model::net::conv_bias_grad", n, cout_, ho_ * wo_, partial_,
      KOKKOS_LAMBDA(Index, Index i) {
        return kernels::ChannelSums<1>{{relu && !(out[i] > 0) ? 0.0 : double(dout[i])}};
      },
      KOKKOS_LAMBDA(Index co, const kernels::ChannelSums<1>& s) {
        gb[co] = static_cast<Scalar>(s.v[0]);
      });
}

template <class Scalar>
void Conv<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index P = ho_ * wo_, nb_max = chunk(p.n);
  const Scalar* bias = this->plan_.spec.bias ? p.w + cout_ * kk_ : nullptr;
  Block<Scalar> W(const_cast<Scalar*>(p.w), cout_, kk_);
  for (Index n0 = 0; n0 < p.n; n0 += nb_max) {
    const Index nb = std::min(nb_max, p.n - n0);
    Scalar* col = p.scratch.work;
    // One sample's C_out x P product is already its NCHW output: no transpose (the bias and
    // the ReLU, when there are any, then added in place).
    Scalar* y = nb == 1 ? out + n0 * cout_ * P : col + kk_ * nb * P;
    im2col(p.exec, in, n0, nb, col);
    kernels::gemm(p.exec, "N", "N", Scalar(1), W, Block<Scalar>(col, kk_, nb * P), Scalar(0),
                  Block<Scalar>(y, cout_, nb * P));
    if (nb > 1 || bias || relu_) to_nchw(p.exec, y, bias, n0, nb, out);
  }
}

template <class Scalar>
void Conv<Scalar>::backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out,
                            Scalar* dout, Scalar* din, bool accumulate) {
  const Index P = ho_ * wo_, nb_max = chunk(p.n);
  Block<Scalar> W(const_cast<Scalar*>(p.w), cout_, kk_);
  Block<Scalar> GW(p.g, cout_, kk_);
  if (this->plan_.spec.bias) bias_grad(p.exec, dout, out, p.n, p.g + cout_ * kk_);
  for (Index n0 = 0; n0 < p.n; n0 += nb_max) {
    const Index nb = std::min(nb_max, p.n - n0);
    Scalar* col = p.scratch.work;
    // One sample's gradient in NCHW is already the C_out x P block the products read.
    const bool direct = nb == 1 && !relu_;
    Scalar* d = direct ? dout + n0 * cout_ * P : col + kk_ * nb * P;
    Block<Scalar> Col(col, kk_, nb * P), D(d, cout_, nb * P);
    im2col(p.exec, in, n0, nb, col);
    if (!direct) from_nchw(p.exec, dout, out, n0, nb, d);
    // dW summed over the chunks in order (beta 1 after the first).
    kernels::gemm(p.exec, "N", "T", Scalar(1), D, Col, Scalar(n0 == 0 ? 0 : 1), GW);
    if (!din) continue;
    kernels::gemm(p.exec, "T", "N", Scalar(1), W, D, Scalar(0), Col);  // the columns' gradient
    col2im(p.exec, col, n0, nb, din, accumulate);
  }
}

template class Conv<float>;
template class Conv<double>;

}  // namespace olsgd::net
