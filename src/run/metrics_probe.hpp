#pragma once
// Measures the averaged model xbar for a metrics row: the consensus distance and, where the
// optimum is known, the loss and distance to it. Its collectives are bookkeeping, not
// algorithm traffic.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/metrics.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/data/quadratic_optimum.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <Kokkos_Core.hpp>

#include <optional>
#include <utility>
#include <vector>

namespace olsgd::run {

template <class Scalar>
class MetricsProbe {
 public:
  MetricsProbe(comm::Communicator& comm, Index d, std::optional<QuadraticOptimum> optimum)
      : comm_(comm), xbar_("olsgd::metrics::xbar", d), optimum_(std::move(optimum)) {}

  ConstVector<Scalar> xbar() const { return xbar_; }

  void measure(const ExecSpace& exec, const Vector<Scalar>& x, MetricsRow& row) {
    const int m = comm_.size();
    Kokkos::deep_copy(exec, xbar_, x);
    comm_.allreduce_sum(exec, xbar_, comm::Traffic::Bookkeeping);
    kernels::scale(exec, xbar_, Scalar(1) / static_cast<Scalar>(m));
    row.consensus = comm_.sum_uncounted(kernels::squared_distance(exec, x, xbar_)) / m;
    if (optimum_) {
      auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), xbar_);
      std::vector<double> xb(host.data(), host.data() + host.extent(0));
      row.suboptimality = optimum_->suboptimality(xb);
      row.full_loss = optimum_->fstar() + row.suboptimality;
      row.dist_opt = optimum_->distance_sq(xb);
    }
  }

 private:
  comm::Communicator& comm_;
  Vector<Scalar> xbar_;
  std::optional<QuadraticOptimum> optimum_;
};

}  // namespace olsgd::run
