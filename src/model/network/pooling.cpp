// ReLU and the pooling layers: element-wise or window-wise, one team per (sample, channel).
#include <olsgd/kernels/row_teams.hpp>

#include "layers.hpp"

namespace olsgd::net {
namespace {
using Team = Kokkos::TeamPolicy<ExecSpace>;
}  // namespace

template <class Scalar>
void Relu<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  Kokkos::parallel_for(
      "olsgd::model::net::relu", Kokkos::RangePolicy<ExecSpace>(p.exec, 0, p.n * this->in_size()),
      KOKKOS_LAMBDA(const Index i) { out[i] = in[i] > 0 ? in[i] : Scalar(0); });
}

template <class Scalar>
void Relu<Scalar>::backward(const Pass<Scalar>& p, const Scalar*, const Scalar* out, Scalar* dout,
                            Scalar* din, bool accumulate) {
  if (!din) return;
  // Two loops, not a test per element: the plain one vectorises.
  const Kokkos::RangePolicy<ExecSpace> all(p.exec, 0, p.n * this->in_size());
  if (accumulate)
    Kokkos::parallel_for(
        "olsgd::model::net::relu_grad_add", all,
        KOKKOS_LAMBDA(const Index i) { din[i] += out[i] > 0 ? dout[i] : Scalar(0); });
  else
    Kokkos::parallel_for(
        "olsgd::model::net::relu_grad", all,
        KOKKOS_LAMBDA(const Index i) { din[i] = out[i] > 0 ? dout[i] : Scalar(0); });
}

template <class Scalar>
void MaxPool<Scalar>::reserve(Index rows) {
  arg_ = Kokkos::View<int*, MemSpace>("olsgd::model::net::maxpool_arg", rows * this->out_size());
}

template <class Scalar>
void MaxPool<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index k = this->plan_.spec.k, H = this->plan_.in.h, W = this->plan_.in.w;
  const Index Ho = this->plan_.out.h, Wo = this->plan_.out.w;
  int* arg = arg_.data();
  Kokkos::parallel_for(
      "olsgd::model::net::maxpool", kernels::row_teams(p.exec, p.n * this->plan_.in.c, Ho, Wo),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Scalar* src = in + t.league_rank() * H * W;
        Scalar* dst = out + t.league_rank() * Ho * Wo;
        int* where = arg + t.league_rank() * Ho * Wo;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, Ho), [&](const Index oh) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, Wo), [&](const Index ow) {
            const Index first = oh * k * W + ow * k;
            Index best = first;
            for (Index a = 0; a < k; ++a)
              for (Index b = 0; b < k; ++b)
                best = src[first + a * W + b] > src[best] ? first + a * W + b : best;
            dst[oh * Wo + ow] = src[best];
            where[oh * Wo + ow] = static_cast<int>(best);
          });
        });
      });
}

template <class Scalar>
void MaxPool<Scalar>::backward(const Pass<Scalar>& p, const Scalar*, const Scalar*, Scalar* dout,
                               Scalar* din, bool accumulate) {
  if (!din) return;
  const Index H = this->plan_.in.h, W = this->plan_.in.w, P = this->out_size() / this->plan_.in.c;
  const int* arg = arg_.data();
  // Windows do not overlap: each output sends its gradient to the input the forward pass chose
  // (the first largest of its window), every other input gets 0.
  Kokkos::parallel_for(
      "olsgd::model::net::maxpool_grad",
      kernels::row_teams(p.exec, p.n * this->plan_.in.c, H * W, 1),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        Scalar* dst = din + t.league_rank() * H * W;
        const Scalar* dy = dout + t.league_rank() * P;
        const int* where = arg + t.league_rank() * P;
        if (!accumulate)
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, H * W),
                               [&](const Index i) { dst[i] = Scalar(0); });
        t.team_barrier();
        Kokkos::parallel_for(Kokkos::TeamVectorRange(t, P),
                             [&](const Index o) { dst[where[o]] += dy[o]; });
      });
}

template <class Scalar>
void AvgPool<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index H = this->plan_.in.h, W = this->plan_.in.w;
  const Index Ho = this->plan_.out.h, Wo = this->plan_.out.w;
  const Index kh = H / Ho, kw = W / Wo;  // the window (the whole image for gap)
  const Scalar inv = Scalar(1) / static_cast<Scalar>(kh * kw);
  Kokkos::parallel_for(
      "olsgd::model::net::avgpool", kernels::row_teams(p.exec, p.n * this->plan_.in.c, Ho, Wo),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Scalar* src = in + t.league_rank() * H * W;
        Scalar* dst = out + t.league_rank() * Ho * Wo;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, Ho), [&](const Index oh) {
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, Wo), [&](const Index ow) {
            const Scalar* win = src + oh * kh * W + ow * kw;
            Scalar sum = 0;
            for (Index a = 0; a < kh; ++a)
              for (Index b = 0; b < kw; ++b) sum += win[a * W + b];
            dst[oh * Wo + ow] = sum * inv;
          });
        });
      });
}

template <class Scalar>
void AvgPool<Scalar>::backward(const Pass<Scalar>& p, const Scalar*, const Scalar*, Scalar* dout,
                               Scalar* din, bool accumulate) {
  if (!din) return;
  const Index H = this->plan_.in.h, W = this->plan_.in.w;
  const Index Ho = this->plan_.out.h, Wo = this->plan_.out.w;
  const Index kh = H / Ho, kw = W / Wo;
  const Scalar inv = Scalar(1) / static_cast<Scalar>(kh * kw);
  Kokkos::parallel_for(
      "olsgd::model::net::avgpool_grad", kernels::row_teams(p.exec, p.n * this->plan_.in.c, H, Wo),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        Scalar* dst = din + t.league_rank() * H * W;
        const Scalar* dy = dout + t.league_rank() * Ho * Wo;
        Kokkos::parallel_for(Kokkos::TeamThreadRange(t, H), [&](const Index h) {
          const Scalar* row = dy + (h / kh) * Wo;  // one division per row, not per element
          Kokkos::parallel_for(Kokkos::ThreadVectorRange(t, Wo), [&](const Index ow) {
            const Scalar v = row[ow] * inv;
            for (Index b = 0; b < kw; ++b) {
              Scalar& d = dst[h * W + ow * kw + b];
              d = accumulate ? d + v : v;
            }
          });
        });
      });
}

template class Relu<float>;
template class Relu<double>;
template class MaxPool<float>;
template class MaxPool<double>;
template class AvgPool<float>;
template class AvgPool<double>;

}  // namespace olsgd::net
