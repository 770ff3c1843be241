#pragma once
// One row of the per-step metrics, as the driver loop fills it and io writes it.
// Values that are not known for a run (e.g. the distance to an unknown optimum) are NaN.
#include <cstdint>
#include <limits>

namespace olsgd {

struct MetricsRow {
  static constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();

  std::int64_t step = 0;  // steps completed
  double epoch = 0;       // samples seen per rank / samples held per rank
  double wall_s = 0;      // since the start of training
  double lr = 0;
  double loss = kUnknown;           // minibatch loss of this step, averaged over ranks
  double full_loss = kUnknown;      // F(xbar) over all data
  double suboptimality = kUnknown;  // F(xbar) - F*
  double dist_opt = kUnknown;       // ||xbar - x*||^2
  double consensus = kUnknown;      // (1/m) sum_i ||x_i - xbar||^2
  double bytes_payload = 0;         // cumulative, this rank, handed to collectives
  double bytes_wire = 0;            // cumulative, this rank, estimated on the wire
  double t_compute = 0;             // cumulative seconds per phase (rank 0)
  double t_comm = 0;
  double t_wait = 0;
};

}  // namespace olsgd
