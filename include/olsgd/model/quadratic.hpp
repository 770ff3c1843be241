#pragma once
// The rank's quadratic F_i(x) = 1/2 (x - c_i)^T A_i (x - c_i) (A_i diagonal) with additive
// gradient noise: g = A_i (x - c_i) + xi, xi ~ N(0, sigma^2 / (d b) I), drawn from
// (seed, rank, step) — docs/algorithms.md §6. The loss reported is F_i(x) itself.
#include <olsgd/data/quadratic_problem.hpp>
#include <olsgd/model/model.hpp>

namespace olsgd {

template <class Scalar>
class QuadraticModel final : public Model<Scalar> {
 public:
  QuadraticModel(const QuadraticProblem& problem, int rank, double noise, Index batch,
                 std::uint64_t seed);

  std::string name() const override { return "quadratic"; }
  Index num_params() const override { return d_; }
  void initialize(const ExecSpace& exec, const Vector<Scalar>& x) const override;
  // Each call is one step: the noise of call k is the draw of step k.
  double gradient(const ExecSpace& exec, const ConstVector<Scalar>& x, const IndexVector& batch,
                  const Vector<Scalar>& g, bool want_loss) override;
  void save_host(HostState& h) const override { h["model.draws"] = static_cast<double>(calls_); }
  void load_host(const HostState& h) override {
    calls_ = static_cast<std::uint64_t>(h.at("model.draws"));
  }

 private:
  Index d_;
  Kokkos::View<double*, MemSpace> a_, c_;
  double noise_scale_;
  std::uint64_t seed_;
  int rank_;
  std::uint64_t calls_ = 0;
};

}  // namespace olsgd
