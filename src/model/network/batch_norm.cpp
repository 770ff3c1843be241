#include <olsgd/core/math.hpp>
#include <olsgd/kernels/channel_sums.hpp>
#include <olsgd/kernels/row_teams.hpp>

#include <cmath>

#include "layers.hpp"

namespace olsgd::net {
namespace {
using Team = Kokkos::TeamPolicy<ExecSpace>;
using kernels::ChannelSums;
}  // namespace

template <class Scalar>
BatchNorm<Scalar>::BatchNorm(const PlannedLayer& plan)
    : Layer<Scalar>(plan),
      c_(plan.in.c),
      plane_(plan.in.h * plan.in.w),
      mean_("olsgd::model::net::bn_mean", plan.in.c),
      var_("olsgd::model::net::bn_var", plan.in.c),
      invstd_("olsgd::model::net::bn_invstd", plan.in.c),
      sum_a_("olsgd::model::net::bn_sum_a", plan.in.c),
      sum_b_("olsgd::model::net::bn_sum_b", plan.in.c) {}

template <class Scalar>
void BatchNorm<Scalar>::reserve(Index rows) {
  partial_ = kernels::channel_partials<ExecSpace>("olsgd::model::net::bn_partial", 2, c_, rows);
}

template <class Scalar>
void BatchNorm<Scalar>::initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                                   InitStreams&) const {
  const Index C = c_;
  Kokkos::parallel_for(
      "olsgd::model::net::bn_init", Kokkos::RangePolicy<ExecSpace>(exec, 0, C),
      KOKKOS_LAMBDA(const Index c) {
        w[c] = 1, w[C + c] = 0;              // gamma, beta
        running[c] = 0, running[C + c] = 1;  // mean, var
      });
}

template <class Scalar>
void BatchNorm<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index C = c_, plane = plane_, n = p.n;
  const Scalar* gamma = p.w;
  const Scalar* beta = p.w + C;
  // Evaluation keeps the training batch's statistics for update_running and backward.
  const auto mean = p.train ? mean_ : sum_a_, invstd = p.train ? invstd_ : sum_b_;
  const auto var = var_;
  if (p.train) {
    rows_ = n;
    const double inv_m = 1.0 / static_cast<double>(n * plane);
    // Each channel's statistics finish in the sums' own store: no launch of C threads apiece.
    kernels::channel_sums<1>(
        p.exec, "olsgd::model::net::bn", n, C, plane, partial_,
        KOKKOS_LAMBDA(Index, Index i) { return ChannelSums<1>{{double(in[i])}}; },
        KOKKOS_LAMBDA(Index c, const ChannelSums<1>& s) { mean(c) = s.v[0] * inv_m; });
    // Two passes (mean, then squared deviations) for a variance that does not cancel.
    kernels::channel_sums<1>(
        p.exec, "olsgd::model::net::bn", n, C, plane, partial_,
        KOKKOS_LAMBDA(Index c, Index i) {
          const double d = in[i] - mean(c);
          return ChannelSums<1>{{d * d}};
        },
        KOKKOS_LAMBDA(Index c, const ChannelSums<1>& s) {
          var(c) = s.v[0] * inv_m;
          invstd(c) = 1.0 / math::sqrt(var(c) + kEps);
        });
  } else {
    const Scalar* running = p.running;
    Kokkos::parallel_for(
        "olsgd::model::net::bn_eval_stats", Kokkos::RangePolicy<ExecSpace>(p.exec, 0, C),
        KOKKOS_LAMBDA(const Index c) {
          mean(c) = running[c];
          invstd(c) = 1.0 / math::sqrt(double(running[C + c]) + kEps);
        });
  }
  const bool relu = relu_;
  Kokkos::parallel_for(
      "olsgd::model::net::bn_apply", kernels::row_teams(p.exec, n * C, plane, 1),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index c = t.league_rank() % C, first = t.league_rank() * plane;
        const Scalar scale = static_cast<Scalar>(gamma[c] * invstd(c));
        const Scalar shift = static_cast<Scalar>(beta[c] - mean(c) * gamma[c] * invstd(c));
        if (relu)
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, plane), [&](const Index q) {
            const Scalar v = in[first + q] * scale + shift;
            out[first + q] = v > 0 ? v : Scalar(0);
          });
        else
          Kokkos::parallel_for(Kokkos::TeamVectorRange(t, plane), [&](const Index q) {
            out[first + q] = in[first + q] * scale + shift;
          });
      });
}

template <class Scalar>
void BatchNorm<Scalar>::backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out,
                                 Scalar* dout, Scalar* din, bool accumulate) {
  const Index C = c_, plane = plane_, n = p.n;
  // Through the fused ReLU: the gradient passes where its output was positive.
  const bool relu = relu_;
  const auto dy_at = KOKKOS_LAMBDA(Index i)->double {
    return relu && !(out[i] > 0) ? 0.0 : double(dout[i]);
  };
  const auto mean = mean_, invstd = invstd_, sum_dy = sum_a_, sum_dy_xhat = sum_b_;
  // Both sums in one sweep; xhat's invstd is applied once per channel, outside the sum, in the
  // store, which also writes the parameters' gradient.
  Scalar* g = p.g;
  const Scalar* gamma = p.w;
  kernels::channel_sums<2>(
      p.exec, "olsgd::model::net::bn", n, C, plane, partial_,
      KOKKOS_LAMBDA(Index c, Index i) {
        const double dy = dy_at(i);
        return ChannelSums<2>{{dy, dy * (in[i] - mean(c))}};
      },
      KOKKOS_LAMBDA(Index c, const ChannelSums<2>& s) {
        sum_dy(c) = s.v[0];
        sum_dy_xhat(c) = s.v[1] * invstd(c);
        g[c] = static_cast<Scalar>(sum_dy_xhat(c));
        g[C + c] = static_cast<Scalar>(sum_dy(c));
      });
  if (!din) return;
  // dx = gamma invstd (dy - mean(dy) - xhat mean(dy xhat)), the batch's statistics depending on x.
  const double inv_m = 1.0 / static_cast<double>(n * plane);
  Kokkos::parallel_for(
      "olsgd::model::net::bn_input_grad", kernels::row_teams(p.exec, n * C, plane, 1),
      KOKKOS_LAMBDA(const Team::member_type& t) {
        const Index c = t.league_rank() % C, first = t.league_rank() * plane;
        const double k = gamma[c] * invstd(c), m = mean(c), is = invstd(c);
        const double a = sum_dy(c) * inv_m, b = sum_dy_xhat(c) * inv_m;
        Kokkos::parallel_for(Kokkos::TeamVectorRange(t, plane), [&](const Index q) {
          const double xhat = (in[first + q] - m) * is;
          const Scalar v = static_cast<Scalar>(k * (dy_at(first + q) - a - xhat * b));
          din[first + q] = accumulate ? din[first + q] + v : v;
        });
      });
}

template <class Scalar>
void BatchNorm<Scalar>::update_running(const ExecSpace& exec, Scalar* running) {
  const Index C = c_;
  const double m = static_cast<double>(rows_ * plane_);
  const double unbias = m > 1 ? m / (m - 1) : 1.0;
  const auto mean = mean_, var = var_;
  Kokkos::parallel_for(
      "olsgd::model::net::bn_running", Kokkos::RangePolicy<ExecSpace>(exec, 0, C),
      KOKKOS_LAMBDA(const Index c) {
        running[c] = static_cast<Scalar>((1 - kMomentum) * running[c] + kMomentum * mean(c));
        running[C + c] =
            static_cast<Scalar>((1 - kMomentum) * running[C + c] + kMomentum * var(c) * unbias);
      });
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace olsgd::net
