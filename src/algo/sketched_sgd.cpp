#include <olsgd/algo/registry.hpp>
#include <olsgd/algo/sketched_sgd.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <chrono>
#include <stdexcept>

#include "kernels/error_feedback.hpp"

namespace olsgd {
namespace {
// FNV-1a over the chosen indices: equal on every rank unless the merged sketches differ.
std::uint64_t checksum(const std::vector<Index>& idx) {
  std::uint64_t h = 1469598103934665603ull;
  for (Index i : idx) {
    h ^= static_cast<std::uint64_t>(i);
    h *= 1099511628211ull;
  }
  return h;
}

Index checked_k(const SketchConfig& p, Index d, const std::string& source) {
  if (p.k > d)
    throw InputError(source, "sketch.k: k = " + std::to_string(p.k) + " exceeds the model's " +
                                 std::to_string(d) + " parameters");
  return p.k;
}
}  // namespace

template <class Scalar>
SketchedSgd<Scalar>::SketchedSgd(AlgorithmContext<Scalar> ctx, const SketchConfig& sketch)
    : Algorithm<Scalar>(ctx, /*local_momentum=*/false),
      p_(sketch),
      sketch_(ctx.model.num_params(), static_cast<int>(sketch.rows), sketch.cols, ctx.local.seed),
      k_(checked_k(sketch, ctx.model.num_params(), ctx.local.source)),
      candidates_(std::min(sketch.candidates * k_, ctx.model.num_params())) {
  const std::size_t d = static_cast<std::size_t>(ctx.model.num_params());
  u_ = this->state_.add("momentum", d);
  v_ = this->state_.add("error", d);
  table_ = this->state_.add("sketch", static_cast<std::size_t>(sketch_.table_size()));
  this->allocate_state();
  est_ = Vector<Scalar>("olsgd::algo::sketch_estimates", d);
  exact_ = Vector<Scalar>("olsgd::algo::sketch_exact", std::max<Index>(candidates_, 1));
  delta_ = Vector<Scalar>("olsgd::algo::sketch_delta", k_);
  idx_ = IndexVector("olsgd::algo::sketch_indices", std::max(candidates_, k_));
  h_est_ = Kokkos::create_mirror_view(est_);
  h_exact_ = Kokkos::create_mirror_view(exact_);
  h_delta_ = Kokkos::create_mirror_view(delta_);
  h_idx_ = Kokkos::create_mirror_view(idx_);
}

template <class Scalar>
double SketchedSgd<Scalar>::allreduce(const Vector<Scalar>& v) {
  Timers::Scope t(this->ctx_.timers, Phase::Comm);
  const auto start = std::chrono::steady_clock::now();
  this->ctx_.comm.allreduce_sum(this->ctx_.exec, v);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <class Scalar>
void SketchedSgd<Scalar>::to_device(const std::vector<Index>& idx, const std::vector<Scalar>& vals,
                                    Index n) {
  const ExecSpace& exec = this->ctx_.exec;
  exec.fence();  // a copy from the mirrors still in flight must not see them change
  for (Index t = 0; t < n; ++t) {
    h_idx_(t) = idx[t];
    if (!vals.empty()) h_delta_(t) = vals[t];
  }
  Kokkos::deep_copy(exec, idx_, h_idx_);
  if (!vals.empty()) Kokkos::deep_copy(exec, delta_, h_delta_);
}

template <class Scalar>
double SketchedSgd<Scalar>::step(Index k, const IndexVector& batch, bool want_loss) {
  auto& ctx = this->ctx_;
  const auto& o = ctx.local.optimizer;
  const double loss = this->compute_gradient(batch, want_loss);
  const Vector<Scalar> x = this->params(), u = this->state_.segment(u_),
                       v = this->state_.segment(v_), table = this->state_.segment(table_);
  // The running statistics (after trained()) take no gradient, decay or error: weight decay
  // would feed them into u and v, where they would win top-k slots that keep_buffers discards.
  const Index n = this->trained();
  const auto head = [n](const Vector<Scalar>& w) {
    return Kokkos::subview(w, std::make_pair(Index(0), n));
  };
  this->compute_timed([&] {
    kernels::momentum_error_accumulate(ctx.exec, head(x), head(this->grad_), head(u), head(v),
                                       o.momentum, this->lr(k), o.weight_decay, p_.error_feedback);
    sketch_.sketch(ctx.exec, v, table);
  });
  this->straggle(k);

  SyncRecord r;
  const double peer0 = ctx.comm.peer_wait_s();
  r.t_exposed = allreduce(table);  // round 1
  const int m = ctx.comm.size();
  std::vector<Index> chosen;
  std::vector<Scalar> delta;
  double round2 = 0;
  this->compute_timed([&] { sketch_.query(ctx.exec, table, est_); });
  Kokkos::deep_copy(ctx.exec, h_est_, est_);
  ctx.exec.fence();
  const auto& est = h_est_;
  const Index pool = candidates_ > 0 ? candidates_ : k_;
  const std::vector<Index> cand = kernels::top_abs_indices(est, pool);
  if (!ctx.comm.same_on_all_ranks(checksum(cand)))
    throw std::runtime_error("sketched_sgd: ranks chose different candidates from one sketch");
  if (candidates_ > 0) {
    to_device(cand, {}, pool);
    const auto exact = Kokkos::subview(exact_, std::make_pair(Index(0), pool));
    const auto cidx = Kokkos::subview(idx_, std::make_pair(Index(0), pool));
    this->compute_timed([&] { kernels::gather(ctx.exec, v, cidx, exact); });
    r.t_exposed += allreduce(Vector<Scalar>(exact));  // round 2
    round2 = static_cast<double>(pool) * sizeof(Scalar);
    const auto w = Kokkos::subview(h_exact_, std::make_pair(Index(0), pool));
    Kokkos::deep_copy(ctx.exec, w, exact);
    ctx.exec.fence();
    for (Index t : kernels::top_abs_indices(w, k_)) {
      chosen.push_back(cand[t]);
      delta.push_back(w(t) / static_cast<Scalar>(m));
    }
  } else {
    for (Index l : cand) {
      chosen.push_back(l);
      delta.push_back(est(l) / static_cast<Scalar>(m));
    }
  }
  to_device(chosen, delta, k_);
  this->compute_timed([&] {
    this->keep_buffers([&] {
      kernels::sparse_step(ctx.exec, x, u, v, Kokkos::subview(idx_, std::make_pair(Index(0), k_)),
                           delta_);
    });
  });
  const auto& net = ctx.comm.network_model();
  const double round1 = static_cast<double>(sketch_.table_size()) * sizeof(Scalar);
  // Blocking rounds hide nothing: their network time is what held the rank after the last post.
  this->report_sync(k, r, r.t_exposed - (ctx.comm.peer_wait_s() - peer0),
                    net.seconds(round1) + (round2 > 0 ? net.seconds(round2) : 0.0));
  return loss;
}

template class SketchedSgd<float>;
template class SketchedSgd<double>;

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  return std::make_unique<SketchedSgd<Scalar>>(t, t.config.sketch);
}
}  // namespace

extern const AlgorithmEntry kSketchedSgd = {
    "sketched_sgd",
    "count-sketched gradients with momentum and error feedback, top-k updates",
    [](const Config&) {
      // optimizer.momentum is rho, the momentum of u; Nesterov has no place in the rule.
      return std::vector<std::string>{"optimizer.momentum", "sketch.rows",
                                      "sketch.cols",        "sketch.k",
                                      "sketch.candidates",  "sketch.error_feedback"};
    },
    [](const Config& c, const DeckCheck& deck) {
      const auto& sk = c.sketch;
      deck.require(sk.cols >= sk.k, "sketch.cols",
                   "a sketch of " + std::to_string(sk.cols) + " columns cannot hold k = " +
                       std::to_string(sk.k) + " heavy hitters (need sketch.cols >= sketch.k)");
    },
    [](const Config&) { return 3.0; },  // params, momentum u, error v
    [](const Config& c, double w) {
      return static_cast<double>(c.sketch.rows * c.sketch.cols) * w;
    },
    [](const Config&, double d, double w, int) { return d * (w + 8); },  // estimates, indices
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
