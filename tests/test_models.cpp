// The learning models against central finite differences (double precision), their
// evaluation, and proof that the MLP's matrix products go to the vendor BLAS TPL.
#include <olsgd/data/loader.hpp>
#include <olsgd/model/logistic.hpp>
#include <olsgd/model/network.hpp>

#include <KokkosKernels_config.h>

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

// n samples of d features, classes 0..K-1; dense or with ~half the entries stored (CSR).
HostData toy(Index n, Index d, int K, bool sparse) {
  HostData h;
  h.rows = n;
  h.columns = d;
  h.num_classes = K;
  h.sparse = sparse;
  h.row_ptr.push_back(0);
  for (Index i = 0; i < n; ++i) {
    h.labels.push_back(static_cast<int>((i * 7 + 3) % K));
    for (Index j = 0; j < d; ++j) {
      const float v = static_cast<float>(std::sin(1.3 * i + 0.7 * j) + 0.1 * (j % 3));
      if (!sparse) {
        h.dense.push_back(v);
      } else if ((i + j) % 2 == 0) {
        h.col.push_back(static_cast<int>(j));
        h.val.push_back(v);
      }
    }
    if (sparse) h.row_ptr.push_back(static_cast<Index>(h.col.size()));
  }
  return h;
}

std::vector<double> point(Index n, double scale) {
  std::vector<double> x(n);
  for (Index i = 0; i < n; ++i) x[i] = scale * std::cos(0.37 * i + 0.2);
  return x;
}

// Central differences of the batch loss against the model's gradient, every coordinate.
void check_gradient(Model<double>& model, const std::vector<double>& x0, Index rows) {
  std::vector<Index> rows_v;
  for (Index i = 0; i < rows; ++i) rows_v.push_back((i * 5) % rows);  // repeats allowed
  const IndexVector batch = test::to_device<MemSpace>(rows_v);
  Vector<double> g("g", x0.size());
  auto loss_at = [&](const std::vector<double>& x) {
    Vector<double> scratch("scratch", x.size());
    return model.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, scratch, true);
  };
  model.gradient(ExecSpace(), test::to_device<MemSpace>(x0), batch, g, false);
  const auto gh = test::to_host(g);
  const double h = 1e-6;
  for (std::size_t i = 0; i < x0.size(); ++i) {
    std::vector<double> xp = x0, xm = x0;
    xp[i] += h;
    xm[i] -= h;
    const double fd = (loss_at(xp) - loss_at(xm)) / (2 * h);
    ASSERT_NEAR(gh[i], fd, 1e-7 + 1e-6 * std::fabs(fd)) << "coordinate " << i;
  }
}

TEST(models, logistic_gradients_match_finite_differences) {
  for (bool sparse : {false, true})
    for (int K : {2, 3}) {
      SCOPED_TRACE(std::string(sparse ? "sparse" : "dense") + " K=" + std::to_string(K));
      LogisticRegression<double> model(to_device<double>(toy(12, 5, K, sparse), 12), 8, 0.05);
      EXPECT_EQ(model.num_params(), (K == 2 ? 1 : K) * (5 + 1));
      check_gradient(model, point(model.num_params(), 0.5), 12);
    }
}

// The gradient and loss at one point with model.l2 = l2 minus those with 0.
struct Penalty {
  std::vector<double> added;  // per parameter
  double loss = 0;
};
Penalty l2_penalty(Model<double>& with_l2, Model<double>& without, const std::vector<double>& x0) {
  std::vector<Index> all(6);
  for (Index i = 0; i < 6; ++i) all[i] = i;
  const IndexVector batch = test::to_device<MemSpace>(all);
  const auto x = test::to_device<MemSpace>(x0);
  Vector<double> g1("g1", x0.size()), g0("g0", x0.size());
  Penalty p;
  p.loss = with_l2.gradient(ExecSpace(), x, batch, g1, true) -
           without.gradient(ExecSpace(), x, batch, g0, true);
  const auto a = test::to_host(g1), b = test::to_host(g0);
  for (std::size_t i = 0; i < a.size(); ++i) p.added.push_back(a[i] - b[i]);
  return p;
}

// model.l2 adds l2 w to each weight's gradient and 0.5 l2 |W|^2 to the loss, and leaves the
// biases alone: the finite-difference checks cannot see a penalty missing from both.
TEST(models, logistic_l2_penalises_the_weights_only) {
  const double l2 = 0.3;
  for (bool sparse : {false, true}) {
    SCOPED_TRACE(sparse ? "sparse" : "dense");
    const auto data = to_device<double>(toy(6, 5, 3, sparse), 6);
    LogisticRegression<double> with_l2(data, 6, l2), without(data, 6, 0.0);
    const auto x = point(with_l2.num_params(), 0.5);
    const Penalty p = l2_penalty(with_l2, without, x);
    double w2 = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const bool weight = i < 3 * 5;  // W (3 x 5), then b
      EXPECT_NEAR(p.added[i], weight ? l2 * x[i] : 0.0, 1e-12) << i;
      if (weight) w2 += x[i] * x[i];
    }
    EXPECT_NEAR(p.loss, 0.5 * l2 * w2, 1e-12);
  }
}

// The MLP (model.kind mlp): a network of dense + ReLU layers.
template <class Scalar>
std::unique_ptr<Network<Scalar>> mlp(const Dataset<Scalar>& data, const std::string& hidden,
                                     Index batch, double l2, std::uint64_t seed) {
  const auto layers = parse_network_spec(preset_network_spec("mlp", hidden));
  return std::make_unique<Network<Scalar>>(
      "mlp", data, plan_network(layers, {data.num_features(), 1, 1}, data.num_classes), batch, l2,
      seed);
}

TEST(models, mlp_gradient_matches_finite_differences) {
  auto net = mlp(to_device<double>(toy(10, 6, 3, false), 10), "5,4", 8, 0.01, 3);
  auto& model = *net;
  EXPECT_EQ(model.num_params(), (6 * 5 + 5) + (5 * 4 + 4) + (4 * 3 + 3));
  Vector<double> x("x", model.num_params());
  model.initialize(ExecSpace(), x);
  check_gradient(model, test::to_host(x), 10);  // seeded init: ReLUs on both sides of 0
}

TEST(models, mlp_l2_penalises_the_weights_only) {
  const double l2 = 0.3;
  const auto data = to_device<double>(toy(6, 6, 3, false), 6);
  auto with_l2 = mlp(data, "5,4", 6, l2, 3), without = mlp(data, "5,4", 6, 0.0, 3);
  const auto x = point(with_l2->num_params(), 0.5);
  const Penalty p = l2_penalty(*with_l2, *without, x);
  // Each layer stores W then b: 6>5, 5>4, 4>3.
  std::vector<bool> weight;
  for (auto [in, out] : {std::pair{6, 5}, {5, 4}, {4, 3}}) {
    weight.insert(weight.end(), in * out, true);
    weight.insert(weight.end(), out, false);
  }
  ASSERT_EQ(weight.size(), x.size());
  double w2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(p.added[i], weight[i] ? l2 * x[i] : 0.0, 1e-12) << i;
    if (weight[i]) w2 += x[i] * x[i];
  }
  EXPECT_NEAR(p.loss, 0.5 * l2 * w2, 1e-12);
}

TEST(models, mlp_without_hidden_layers_is_softmax_regression) {
  const auto data = to_device<double>(toy(9, 4, 3, false), 9);
  auto net = mlp(data, "", 9, 0.0, 1);
  auto& mlp = *net;
  LogisticRegression<double> logistic(data, 9, 0.0);
  // Same parameter count; logistic stores W then b, the MLP layer W then b as well.
  ASSERT_EQ(mlp.num_params(), logistic.num_params());
  const auto x = test::to_device<MemSpace>(point(mlp.num_params(), 0.3));
  std::vector<Index> all(9);
  for (Index i = 0; i < 9; ++i) all[i] = i;
  const auto batch = test::to_device<MemSpace>(all);
  Vector<double> g1("g1", mlp.num_params()), g2("g2", mlp.num_params());
  EXPECT_NEAR(mlp.gradient(ExecSpace(), x, batch, g1, true),
              logistic.gradient(ExecSpace(), x, batch, g2, true), 1e-14);
  const auto a = test::to_host(g1), b = test::to_host(g2);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-14) << i;
  const Evaluation e1 = mlp.evaluate(ExecSpace(), x, data),
                   e2 = logistic.evaluate(ExecSpace(), x, data);
  EXPECT_EQ(e1.correct, e2.correct);
  EXPECT_NEAR(e1.loss_sum, e2.loss_sum, 1e-12);
  EXPECT_EQ(e1.rows, 9);
}

TEST(models, evaluation_counts_correct_predictions) {
  // Binary, one feature: w = 1, b = 0 predicts class 1 exactly when the feature is > 0.
  HostData h;
  h.rows = 4;
  h.columns = 1;
  h.num_classes = 2;
  h.dense = {2.0f, -1.0f, 0.5f, -3.0f};
  h.labels = {1, 0, 0, 0};  // the third is misclassified
  const auto data = to_device<double>(h, 4);
  LogisticRegression<double> model(data, 2, 0.0);
  const Evaluation e =
      model.evaluate(ExecSpace(), test::to_device<MemSpace>(std::vector<double>{1.0, 0.0}), data);
  EXPECT_EQ(e.correct, 3);
  const double expected = std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-1.0)) +
                          std::log1p(std::exp(0.5)) + std::log1p(std::exp(-3.0));
  EXPECT_NEAR(e.loss_sum, expected, 1e-12);
}

std::vector<std::string>* g_regions = nullptr;
void record_region(const char* name) {
  g_regions->push_back(name);
}

// A host BLAS (TPL_BLAS) or, on a CUDA build, cuBLAS (TPL_CUBLAS).
TEST(models, mlp_matrix_products_take_the_vendor_blas_path) {
#if !defined(KOKKOSKERNELS_ENABLE_TPL_BLAS) && !defined(KOKKOSKERNELS_ENABLE_TPL_CUBLAS)
  GTEST_SKIP() << "Kokkos Kernels built without a BLAS TPL";
#else
  std::vector<std::string> regions;
  g_regions = &regions;
  Kokkos::Tools::Experimental::set_push_region_callback(record_region);
  auto net = mlp(to_device<float>(toy(16, 8, 4, false), 16), "6", 16, 0.0, 2);
  auto& model = *net;
  Vector<float> x("x", model.num_params()), g("g", model.num_params());
  model.initialize(ExecSpace(), x);
  std::vector<Index> rows(16);
  for (Index i = 0; i < 16; ++i) rows[i] = i;
  model.gradient(ExecSpace(), x, test::to_device<MemSpace>(rows), g, false);
  Kokkos::Tools::Experimental::set_push_region_callback(nullptr);
  int tpl = 0;
  for (const auto& r : regions) tpl += r.find("KokkosBlas::gemm[TPL_") == 0;
  // Forward: 2 layers; backward: 2 weight gradients + 1 back-propagation.
  EXPECT_EQ(tpl, 5) << "gemm regions seen: " << regions.size();
#endif
}

}  // namespace
