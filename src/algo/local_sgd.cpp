#include <olsgd/algo/local_sgd.hpp>
#include <olsgd/algo/registry.hpp>

namespace olsgd {

template <class Scalar>
LocalSgd<Scalar>::LocalSgd(AlgorithmContext<Scalar> ctx, Index tau,
                           const typename Algorithm<Scalar>::MoreSegments& more,
                           const GroupParams* groups)
    : Algorithm<Scalar>(ctx, true, more), tau_(tau) {
  if (groups) {
    rounds_ = groups->rounds;
    group_ = group_communicator(ctx.comm, *groups, ctx.local.source);
    const std::size_t bytes = static_cast<std::size_t>(ctx.model.num_params()) * sizeof(Scalar);
    if (group_->size() > 1)  // collective over the group
      group_s_ = group_->unhidden_allreduce_s(bytes);
  }
  this->allocate_state();
}

template <class Scalar>
double LocalSgd<Scalar>::step_with(Index k, const IndexVector& batch, bool want_loss,
                                   bool may_sync) {
  const bool round_end = may_sync && (k + 1) % tau_ == 0;
  const bool sync_now = round_end && (k + 1) % (tau_ * rounds_) == 0;
  const bool in_group = round_end && !sync_now && group_ && group_->size() > 1;
  const double loss = this->compute_gradient(batch, want_loss);
  // Pre-scaling by 1/m (1/k for the group's average) folds the average's scale pass into the
  // step, so averaging runs at bare MPI_Allreduce speed. For m a power of two the result is
  // bitwise the same.
  const double scale = sync_now   ? 1.0 / this->ctx_.comm.size()
                       : in_group ? 1.0 / group_->size()
                                  : 1.0;
  this->local_step(k, 1.0, scale);
  if (sync_now) this->blocking_sync(k, this->params());
  if (in_group) this->blocking_sync(k, this->params(), *group_, group_s_);
  return loss;
}

template class LocalSgd<float>;
template class LocalSgd<double>;

namespace {
template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make(const TrainingContext<Scalar>& t) {
  if (!two_levels(t.config)) return std::make_unique<LocalSgd<Scalar>>(t, t.config.algorithm.tau);
  const GroupParams groups = GroupParams::from(t.config);
  return std::make_unique<LocalSgd<Scalar>>(t, t.config.algorithm.tau, nullptr, &groups);
}
}  // namespace

extern const AlgorithmEntry kLocalSgd = {
    "local_sgd",
    "local steps, the models averaged (blocking) every tau steps",
    [](const Config& c) {
      std::vector<std::string> keys = local_optimizer_keys();
      keys.insert(keys.end(), {"algorithm.tau", "algorithm.group_size"});
      if (two_levels(c))
        keys.insert(keys.end(), {"algorithm.group_rounds", "comm.group_delay_s",
                                 "comm.group_latency_s", "comm.group_bandwidth_Bps"});
      return keys;
    },
    [](const Config& c, const DeckCheck& deck) {
      const std::string problem = group_size_problem(c.algorithm.group_size, deck.ranks);
      deck.require(problem.empty(), "algorithm.group_size", problem);
    },
    [](const Config& c) { return c.optimizer.momentum > 0 ? 2.0 : 1.0; },
    nullptr,
    nullptr,
    &make<float>,
    &make<double>,
};

}  // namespace olsgd
