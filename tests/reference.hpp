#pragma once
// Host (double, no Kokkos in the arithmetic) least-squares gradients of every rank, for
// reference implementations of the update rules. Data and batches come from the library's
// generator and sampler, so a reference sees exactly the samples a run sees.
#include <olsgd/core/config.hpp>
#include <olsgd/core/rng.hpp>
#include <olsgd/data/sampler.hpp>
#include <olsgd/data/synthetic.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <test_helpers.hpp>
#include <vector>

namespace olsgd::test {

class HostLeastSquares {
 public:
  HostLeastSquares(const Config& c, int ranks) : c_(c) {
    for (int r = 0; r < ranks; ++r) {
      const auto data = make_synthetic_least_squares<double>(c.data, c.run.seed, r, ranks);
      a_.push_back(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.features));
      y_.push_back(Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.targets));
    }
  }

  // (1/b) sum_s (a_s.x - y_s) a_s over rank r's batch of step k (weight decay not included).
  std::vector<double> gradient(int r, Index k, const std::vector<double>& x) const {
    const Index b = c_.optimizer.batch, d = static_cast<Index>(x.size());
    const auto batch =
        to_host(MinibatchSampler(c_.run.seed, r, a_[r].extent(0), b).sample(ExecSpace(), k));
    std::vector<double> g(d, 0.0);
    for (Index s : batch) {
      double res = -y_[r](s);
      for (Index j = 0; j < d; ++j) res += a_[r](s, j) * x[j];
      for (Index j = 0; j < d; ++j) g[j] += res * a_[r](s, j);
    }
    for (double& v : g) v /= b;
    return g;
  }

 private:
  Config c_;
  std::vector<Kokkos::View<double**, Kokkos::LayoutRight, Kokkos::HostSpace>> a_;
  std::vector<Kokkos::View<double*, Kokkos::HostSpace>> y_;
};

// docs/algorithms.md §0 LOCAL_OPT with weight decay: gi = g + wd x; plain x -= lr gi; heavy ball
// v = mu v + gi, x -= lr v; Nesterov (PyTorch form) v = mu v + gi, x -= lr (gi + mu v).
inline void local_opt(std::vector<double>& x, std::vector<double>& v, const std::vector<double>& g,
                      const OptimizerConfig& o, double lr) {
  for (std::size_t j = 0; j < x.size(); ++j) {
    const double gi = g[j] + o.weight_decay * x[j];
    if (o.momentum > 0) {
      v[j] = o.momentum * v[j] + gi;
      x[j] -= lr * (o.nesterov ? gi + o.momentum * v[j] : v[j]);
    } else {
      x[j] -= lr * gi;
    }
  }
}

// docs/algorithms.md §5: Q_s(v)_l = N sign(v_l) q_l / s,
// q_l = floor(r_l) + [u_l < r_l - floor(r_l)], r_l = s |v_l| / N, with the library's draws u_l
// (counter base + l).
inline std::vector<double> host_quantize(const std::vector<double>& v, double norm, std::int64_t s,
                                         const CounterRng& rng, std::uint64_t base) {
  std::vector<double> q(v.size());
  for (std::size_t l = 0; l < v.size(); ++l) {
    const double r = norm > 0 ? s / norm * std::fabs(v[l]) : 0, lo = std::floor(r);
    const double level = std::min<double>(lo + (rng.uniform(base + l) < r - lo ? 1 : 0), s);
    q[l] = (v[l] < 0 ? -1 : 1) * norm * level / s;
  }
  return q;
}

// Named state segments (RunOutcome::final_state) against a reference, element by element to
// 1e-12 relative (absolute below 1).
using State = std::map<std::string, std::vector<double>>;

inline void expect_state(const State& got, const State& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    SCOPED_TRACE(name);
    const auto& g = got.at(name);
    ASSERT_EQ(g.size(), w.size());
    for (std::size_t j = 0; j < w.size(); ++j)
      ASSERT_NEAR(g[j], w[j], 1e-12 * std::max(1.0, std::fabs(w[j]))) << "element " << j;
  }
}

}  // namespace olsgd::test
