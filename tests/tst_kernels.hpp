// Backend-agnostic tests of the optimizer kernels: TEST_EXECSPACE is defined by the
// generated per-backend source (cmake/TestHarness.cmake). Each kernel is compared with a
// host loop written straight from docs/algorithms.md §0.
#include <olsgd/kernels/sgd.hpp>
#include <olsgd/kernels/vector_ops.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <test_helpers.hpp>
#include <vector>

namespace {

using Space = TEST_EXECSPACE;
using View = Kokkos::View<double*, Space::memory_space>;

View to_device(const std::vector<double>& h) {
  return olsgd::test::to_device<Space::memory_space>(h);
}
using olsgd::test::to_host;

std::vector<double> ramp(std::size_t n, double a, double b) {
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = a * std::sin(b * (i + 1.0));
  return out;
}

// docs/algorithms.md §0: gi = g + wd*x; plain x -= lr*gi; heavy ball v = mu v + gi, x -= lr v;
// Nesterov (PyTorch) v = mu v + gi, x -= lr (gi + mu v); then x *= out_scale (v unscaled).
void reference_step(std::vector<double>& x, std::vector<double>* v, const std::vector<double>& g,
                    const olsgd::kernels::SgdParams& p) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double gi = p.grad_scale * g[i] + p.weight_decay * x[i];
    if (!v) {
      x[i] = p.out_scale * (x[i] - p.lr * gi);
      continue;
    }
    (*v)[i] = p.momentum * (*v)[i] + gi;
    x[i] = p.out_scale * (x[i] - p.lr * (p.nesterov ? gi + p.momentum * (*v)[i] : (*v)[i]));
  }
}

void expect_close(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], 1e-14 * std::max(1.0, std::fabs(b[i]))) << "at " << i;
}

struct Case {
  const char* name;
  olsgd::kernels::SgdParams p;
  bool momentum;
};

TEST(kernels, sgd_steps_match_host_reference) {
  const Case cases[] = {
      {"plain", {0.1, 0, false, 0, 1}, false},
      {"plain+wd+scale", {0.05, 0, false, 1e-2, 0.25}, false},
      {"plain+out_scale", {0.05, 0, false, 1e-2, 1, 1.0 / 3}, false},
      {"heavy_ball", {0.1, 0.9, false, 1e-4, 1}, true},
      {"nesterov", {0.1, 0.9, true, 1e-4, 0.5}, true},
      {"nesterov+out_scale", {0.1, 0.9, true, 1e-4, 0.5, 0.25}, true},
  };
  const std::size_t n = 1037;  // not a multiple of any vector width
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<double> x = ramp(n, 1.0, 0.37), v(n, 0.0);
    View xd = to_device(x), vd = to_device(v);
    Space exec;
    for (int step = 0; step < 5; ++step) {  // several steps so v accumulates
      const std::vector<double> g = ramp(n, 0.5 + step, 0.11 * (step + 1));
      View gd = to_device(g);
      if (c.momentum)
        olsgd::kernels::sgd_momentum_step(exec, xd, vd, gd, c.p);
      else
        olsgd::kernels::sgd_step(exec, xd, gd, c.p);
      reference_step(x, c.momentum ? &v : nullptr, g, c.p);
    }
    exec.fence();
    expect_close(to_host(xd), x);
    if (c.momentum) expect_close(to_host(vd), v);
  }
}

TEST(kernels, axpy) {
  const std::vector<double> x = ramp(513, 2.0, 0.3), y = ramp(513, 1.0, 0.7);
  View xd = to_device(x), yd = to_device(y);
  Space exec;
  olsgd::kernels::axpy(exec, yd, -0.5, xd);
  exec.fence();
  std::vector<double> ref = y;
  for (std::size_t i = 0; i < ref.size(); ++i) ref[i] += -0.5 * x[i];
  expect_close(to_host(yd), ref);
  expect_close(to_host(xd), x);  // x is only read
}

TEST(kernels, scale_and_squared_distance) {
  const std::vector<double> a = ramp(513, 2.0, 0.3), b = ramp(513, 1.0, 0.7);
  View ad = to_device(a), bd = to_device(b);
  Space exec;
  double ref = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ref += (a[i] - b[i]) * (a[i] - b[i]);
  EXPECT_NEAR(olsgd::kernels::squared_distance(exec, ad, bd), ref, 1e-12 * ref);
  olsgd::kernels::scale(exec, ad, 0.25);
  exec.fence();
  std::vector<double> scaled = a;
  for (double& s : scaled) s *= 0.25;
  expect_close(to_host(ad), scaled);
}

TEST(kernels, empty_vectors_are_fine) {
  View x("x", 0), g("g", 0);
  Space exec;
  olsgd::kernels::sgd_step(exec, x, g, {0.1, 0, false, 0, 1});
  EXPECT_EQ(olsgd::kernels::squared_distance(exec, x, g), 0.0);
}

}  // namespace
