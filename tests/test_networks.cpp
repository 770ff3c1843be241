// The layered networks: the spec language and its shape errors, each layer's and each named
// network's gradient against central finite differences (double precision), batch norm's
// running statistics and evaluation mode, and the parameter counts of the named networks.
#include <olsgd/data/loader.hpp>
#include <olsgd/kernels/row_teams.hpp>
#include <olsgd/model/network.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <test_helpers.hpp>

namespace {

using namespace olsgd;

// n images of c x h x w, classes 0..K-1, smooth values with no ties (max-pool stays
// differentiable at the test point).
Dataset<double> images(Index n, Shape s, int K) {
  HostData h;
  h.rows = n;
  h.columns = s.size();
  h.num_classes = K;
  for (Index i = 0; i < n; ++i) {
    h.labels.push_back(static_cast<int>((i * 7 + 3) % K));
    for (Index j = 0; j < s.size(); ++j)
      h.dense.push_back(static_cast<float>(std::sin(1.3 * i + 0.71 * j + 0.01 * j * j)));
  }
  Dataset<double> d = to_device<double>(h, n);
  d.image = {s.c, s.h, s.w};
  return d;
}

// chunk_scalars: the convolutions' lowering chunk (0: the backend's default).
std::unique_ptr<Network<double>> network(const std::string& spec, const Dataset<double>& data,
                                         Index batch, double l2 = 0, Index chunk_scalars = 0) {
  const Shape in{data.image.channels, data.image.height, data.image.width};
  NetworkPlan plan = plan_network(parse_network_spec(spec), in, data.num_classes);
  if (chunk_scalars > 0)
    for (PlannedLayer& layer : plan.layers) layer.chunk_scalars = chunk_scalars;
  return std::make_unique<Network<double>>("test", data, plan, batch, l2, 7);
}

IndexVector first_rows(Index n) {
  std::vector<Index> rows;
  for (Index i = 0; i < n; ++i) rows.push_back((i * 3) % n);
  return test::to_device<MemSpace>(rows);
}

double loss_at(Network<double>& net, const std::vector<double>& x, const IndexVector& batch) {
  Vector<double> g("g", x.size());
  return net.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, g, true);
}

// The gradient at the network's initial point against central differences: along a random
// direction over every parameter, and coordinate by coordinate for `coordinates` of them
// (all when 0) spread over the vector. The running statistics' gradient must be zero. A deep
// ReLU network needs a small step `h`: a larger one crosses the kinks of some of its many
// ReLUs (ResNet-20 at h = 1e-5 reads 2 % off along a direction over all its weights, at 1e-7
// and 1e-8 within 1e-6).
void check_gradient(Network<double>& net, Index rows, Index coordinates = 0, double h = 1e-5) {
  const Index d = net.num_params(), trained = d - net.num_buffers();
  Vector<double> xd("x", d), g("g", d);
  net.initialize(ExecSpace(), xd);
  // Move batch norm's scales and shifts off 1 and 0 so their gradients are tested in general.
  auto x = test::to_host(xd);
  for (Index i = 0; i < trained; ++i) x[i] += 0.05 * std::cos(0.37 * i);
  const IndexVector batch = first_rows(rows);
  net.gradient(ExecSpace(), test::to_device<MemSpace>(x), batch, g, false);
  const auto gh = test::to_host(g);
  for (Index i = trained; i < d; ++i) ASSERT_EQ(gh[i], 0.0) << "running statistic " << i;
  std::vector<double> v(d, 0.0);
  double slope = 0;
  for (Index i = 0; i < trained; ++i) v[i] = std::sin(2.1 * i + 0.3), slope += gh[i] * v[i];
  std::vector<double> xp = x, xm = x;
  for (Index i = 0; i < d; ++i) xp[i] += h * v[i], xm[i] -= h * v[i];
  const double fd_dir = (loss_at(net, xp, batch) - loss_at(net, xm, batch)) / (2 * h);
  EXPECT_NEAR(slope, fd_dir, 1e-6 * (1 + std::fabs(fd_dir))) << "directional derivative";
  const Index step = coordinates > 0 ? std::max<Index>(1, trained / coordinates) : 1;
  for (Index i = 0; i < trained; i += step) {
    xp = x, xm = x;
    xp[i] += h, xm[i] -= h;
    const double fd = (loss_at(net, xp, batch) - loss_at(net, xm, batch)) / (2 * h);
    ASSERT_NEAR(gh[i], fd, 1e-7 + 1e-5 * std::fabs(fd)) << "coordinate " << i;
  }
}

TEST(network_spec, parses_every_layer_and_places_shapes) {
  const auto layers = parse_network_spec(
      "conv 8 k=3 s=2 p=1, bn, relu, maxpool 2, block 16 s=2, block 16, avgpool 2, gap, dense 7");
  ASSERT_EQ(layers.size(), 9u);
  const NetworkPlan p = plan_network(layers, {3, 32, 32}, 10);
  ASSERT_EQ(p.layers.size(), 10u);
  EXPECT_EQ(p.layers[0].out, (Shape{8, 16, 16}));
  EXPECT_EQ(p.layers[3].out, (Shape{8, 8, 8}));
  EXPECT_EQ(p.layers[4].out, (Shape{16, 4, 4}));
  EXPECT_EQ(p.layers[6].out, (Shape{16, 2, 2}));
  EXPECT_EQ(p.layers[7].out, (Shape{16, 1, 1}));
  EXPECT_EQ(p.layers[9].out, (Shape{10, 1, 1}));
  EXPECT_EQ(p.layers[0].params, 8 * 3 * 9 + 8);
  // The first block projects (8 -> 16 channels, stride 2); the second is the identity.
  EXPECT_EQ(p.layers[4].params, 16 * 8 * 9 + 32 + 16 * 16 * 9 + 32 + 16 * 8 + 32);
  EXPECT_EQ(p.layers[4].buffers, 3 * 32);
  EXPECT_EQ(p.layers[5].buffers, 2 * 32);
  EXPECT_EQ(p.buffers, 16 + 96 + 64);
}

TEST(network_spec, refuses_what_does_not_parse_or_fit) {
  auto parse_error = [](const std::string& spec) {
    try {
      parse_network_spec(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(parse_error("conv 8").find("k=K"), std::string::npos);
  EXPECT_NE(parse_error("convolve 8 k=3").find("unknown layer 'convolve'"), std::string::npos);
  EXPECT_NE(parse_error("dense 0").find("width '0'"), std::string::npos);
  EXPECT_NE(parse_error("dense 8,,relu").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("relu 3").find("unexpected '3'"), std::string::npos);
  EXPECT_NE(parse_error("maxpool 2 s=2").find("unexpected 's=2'"), std::string::npos);
  EXPECT_NE(parse_error("conv 4 k=3 q=1").find("unexpected 'q=1'"), std::string::npos);
  auto plan_error = [](const std::string& spec, Shape in) {
    try {
      plan_network(parse_network_spec(spec), in, 10);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_NE(plan_error("maxpool 3", {1, 28, 28}).find("does not divide the 1x28x28"),
            std::string::npos);
  EXPECT_NE(plan_error("conv 4 k=5", {784, 1, 1}).find("needs image data"), std::string::npos);
  EXPECT_NE(plan_error("conv 4 k=7, conv 4 k=7, conv 4 k=7", {1, 14, 14}).find("does not fit"),
            std::string::npos);
  // LeNet-5 takes its input from the data: on 3x32x32 (32 -> 16 -> 12 -> 6) its first dense
  // layer grows to 16*6*6 inputs; on 3x30x30 the second pooling meets 11x11.
  EXPECT_EQ(plan_error(preset_network_spec("lenet5", ""), {3, 32, 32}), "(accepted)");
  EXPECT_NE(plan_error(preset_network_spec("lenet5", ""), {3, 30, 30}).find("does not divide"),
            std::string::npos);
}

TEST(network_spec, named_networks_have_their_published_sizes) {
  auto plan = [](const std::string& kind, Shape in) {
    return plan_network(parse_network_spec(preset_network_spec(kind, "")), in, 10);
  };
  const NetworkPlan lenet = plan("lenet5", {1, 28, 28});
  EXPECT_EQ(lenet.params, 61706);  // 156 + 2416 + 48120 + 10164 + 850
  EXPECT_EQ(lenet.buffers, 0);
  const NetworkPlan r18 = plan("resnet18", {3, 32, 32});
  EXPECT_EQ(r18.params, 11173962);  // the CIFAR ResNet-18 most papers train
  // The published 0.27M, with 1x1 projections (and their batch norms) where the channels
  // double: stem 464, stages 14,016 + 51,648 + 205,696 (2,752 of it the projections),
  // classifier 650.
  const NetworkPlan r20 = plan("resnet20", {3, 32, 32});
  EXPECT_EQ(r20.params, 272474);
  EXPECT_EQ(r20.buffers, 2 * (16 + 6 * 16 + 6 * 32 + 32 + 6 * 64 + 64));
}

struct LayerCase {
  const char* spec;
  Shape in;
};

TEST(network_gradient, every_layer_matches_finite_differences) {
  const LayerCase cases[] = {
      {"conv 3 k=3 s=2 p=1", {2, 7, 7}},  // bias, stride, padding, odd size
      {"conv 2 k=2 nobias", {3, 5, 4}},
      {"bn", {3, 4, 4}},
      {"conv 4 k=3 p=1, bn, relu", {2, 6, 6}},
      {"conv 3 k=3 p=1, relu", {2, 5, 5}},  // the ReLU fused into the convolution
      {"maxpool 2", {2, 6, 4}},
      {"avgpool 3", {2, 6, 6}},
      {"gap", {3, 5, 5}},
      {"dense 6, relu", {2, 3, 3}},
      {"block 2", {2, 6, 6}},      // identity shortcut
      {"block 4 s=2", {2, 6, 6}},  // 1x1 projection, stride 2
      {"block 3", {2, 5, 5}},      // projection for the channels only
  };
  for (const LayerCase& c : cases) {
    SCOPED_TRACE(c.spec);
    const auto data = images(5, c.in, 3);
    auto net = network(c.spec, data, 5, 0.01);
    check_gradient(*net, 5);
  }
}

// model.l2 at one fixed point: the penalty adds l2 x to the gradient of every conv and dense
// weight and nothing to a bias or a batch-norm parameter, and 0.5 l2 |W|^2 to the loss. (The
// finite-difference checks cannot see a penalty left out of both the loss and the gradient.)
TEST(network_gradient, l2_penalises_conv_and_dense_weights_only) {
  const double l2 = 0.25;
  const auto data = images(4, {2, 6, 6}, 3);
  // Weights: conv 2>3 k3 (54), the block's 3>4 k3 (108), 4>4 k3 (144) and 1x1 projection (12),
  // the classifier 4>3 (12); the rest are biases and batch-norm scales and shifts.
  const char* spec = "conv 3 k=3 p=1, bn, relu, block 4 s=2, gap";
  auto plain = network(spec, data, 4, 0), penalised = network(spec, data, 4, l2);
  const Index d = plain->num_params();
  Vector<double> x("x", d), g0("g0", d), g1("g1", d);
  plain->initialize(ExecSpace(), x);
  const IndexVector batch = first_rows(4);
  const double f0 = plain->gradient(ExecSpace(), x, batch, g0, true);
  const double f1 = penalised->gradient(ExecSpace(), x, batch, g1, true);
  const auto xh = test::to_host(x), a = test::to_host(g0), b = test::to_host(g1);
  Index weights = 0;
  double w2 = 0;
  for (Index i = 0; i < d - plain->num_buffers(); ++i) {
    const double added = b[i] - a[i];
    if (std::fabs(added - l2 * xh[i]) <= 1e-12 && xh[i] != 0) {
      ++weights, w2 += xh[i] * xh[i];
    } else {
      EXPECT_EQ(added, 0.0) << "parameter " << i;
    }
    if (i < 54) {
      EXPECT_NEAR(added, l2 * xh[i], 1e-12) << "the first convolution's weight " << i;
    }
  }
  EXPECT_EQ(weights, 54 + 108 + 144 + 12 + 12);
  EXPECT_NEAR(f1 - f0, 0.5 * l2 * w2, 1e-12);
}

// Lowering chunks of one sample each (the chunk no larger than the widest convolution's
// sample): a product is written straight into the NCHW output and read straight from the NCHW
// gradient, the weight gradient summed over the chunks, with and without a fused ReLU and a
// second convolution taking the first's input gradient.
TEST(network_gradient, a_convolution_of_one_sample_per_chunk_matches_finite_differences) {
  const Shape in{32, 32, 32};
  const Index one_sample = (32 * 9 + 32) * 32 * 32;  // (C_in k^2 + C_out) H W of the first
  for (const char* spec : {"conv 32 k=3 p=1 nobias, conv 2 k=3 p=1", "conv 2 k=3 p=1, relu"}) {
    SCOPED_TRACE(spec);
    const auto data = images(2, in, 3);
    auto net = network(spec, data, 2, 0, one_sample);
    check_gradient(*net, 2, 16, 1e-7);  // a small step: it crosses no ReLU kink
  }
}

TEST(network_gradient, lenet5_matches_finite_differences) {
  const auto data = images(3, {1, 28, 28}, 10);
  auto net = network(preset_network_spec("lenet5", ""), data, 3);
  check_gradient(*net, 3, 20, 1e-7);
}

TEST(network_gradient, resnet20_matches_finite_differences) {
  const auto data = images(2, {3, 32, 32}, 10);
  auto net = network(preset_network_spec("resnet20", ""), data, 2);
  check_gradient(*net, 2, 12, 1e-7);
}

TEST(network_batch_norm, running_statistics_follow_the_batch_and_serve_evaluation) {
  const Shape in{2, 3, 3};
  const auto data = images(6, in, 3);
  auto net = network("bn", data, 6);
  const Index d = net->num_params(), trained = d - net->num_buffers();
  ASSERT_EQ(net->num_buffers(), 4);
  Vector<double> x("x", d), g("g", d);
  net->initialize(ExecSpace(), x);
  std::vector<Index> all{0, 1, 2, 3, 4, 5};
  const IndexVector batch = test::to_device<MemSpace>(all);
  const double train_loss = net->gradient(ExecSpace(), x, batch, g, true);
  net->update_buffers(ExecSpace(), x);
  // The batch's mean and unbiased variance per channel, on the host.
  auto host = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), data.features);
  const auto xh = test::to_host(x);
  for (Index c = 0; c < 2; ++c) {
    double sum = 0, sq = 0;
    for (Index i = 0; i < 6; ++i)
      for (Index q = 0; q < 9; ++q) sum += host(i, c * 9 + q);
    const double mean = sum / 54;
    for (Index i = 0; i < 6; ++i)
      for (Index q = 0; q < 9; ++q) sq += (host(i, c * 9 + q) - mean) * (host(i, c * 9 + q) - mean);
    EXPECT_NEAR(xh[trained + c], 0.1 * mean, 1e-12);
    EXPECT_NEAR(xh[trained + 2 + c], 0.9 + 0.1 * sq / 53, 1e-12);
  }
  // Evaluation uses the running statistics: far from the batch's at first, equal to them (up
  // to the unbiased variance) once they have converged.
  const double before = net->evaluate(ExecSpace(), x, data).loss_sum / 6;
  for (int i = 0; i < 300; ++i) {
    net->gradient(ExecSpace(), x, batch, g, false);
    net->update_buffers(ExecSpace(), x);
  }
  const double after = net->evaluate(ExecSpace(), x, data).loss_sum / 6;
  EXPECT_GT(std::fabs(before - train_loss), 1e-3);
  EXPECT_NEAR(after, train_loss, 2e-2 * std::fabs(train_loss));
}

// A GPU's teams for the layers' row kernels (kernels/row_teams.hpp; a host build keeps Kokkos's
// choice, so only the arithmetic can be checked here): a warp at least, 256 threads at most,
// lanes a power of two up to a warp, no more of either than the rows need.
TEST(network_kernels, gpu_row_teams_fit_the_rows) {
  using kernels::gpu_row_team_shape;
  const struct {
    Index rows, row;
    int threads, lanes;
  } cases[] = {
      {32, 32, 8, 32},    // ResNet-20's first stage, im2col: 32 rows of 32
      {8, 8, 8, 8},       // its last stage: 8 rows of 8, 64 threads (a warp's minimum is 32)
      {1024, 1, 256, 1},  // batch norm over a 32x32 plane
      {64, 1, 64, 1},     // ... over an 8x8 plane: 64 threads, not Kokkos's larger default
      {4, 1, 32, 1},      // never under a warp
      {84, 28, 8, 32},    // augmentation: 3 channels x 28 rows of 28
      {1, 1000, 1, 32},   // one long row: one thread of a warp of lanes
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.rows) + " rows of " + std::to_string(c.row));
    const kernels::RowTeamShape s = gpu_row_team_shape(c.rows, c.row);
    EXPECT_EQ(s.threads, c.threads);
    EXPECT_EQ(s.lanes, c.lanes);
  }
}

// Bytes the network's own Views (labelled olsgd::model::net::) hold while it is watched: live
// now, and the most live at once. Kokkos's own scratch is not the network's.
struct AllocationWatch {
  static inline std::int64_t live = 0, peak = 0;
  static bool network(const char* label) {
    return std::string(label).rfind("olsgd::model::net::", 0) == 0;
  }
  static void on_allocate(Kokkos::Profiling::SpaceHandle, const char* label, const void*,
                          std::uint64_t bytes) {
    if (network(label)) live += static_cast<std::int64_t>(bytes);
    peak = std::max(peak, live);
  }
  static void on_deallocate(Kokkos::Profiling::SpaceHandle, const char* label, const void*,
                            std::uint64_t bytes) {
    if (network(label)) live -= static_cast<std::int64_t>(bytes);
  }
  AllocationWatch() {
    live = peak = 0;
    Kokkos::Tools::Experimental::set_allocate_data_callback(on_allocate);
    Kokkos::Tools::Experimental::set_deallocate_data_callback(on_deallocate);
  }
  ~AllocationWatch() {
    Kokkos::Tools::Experimental::set_allocate_data_callback(nullptr);
    Kokkos::Tools::Experimental::set_deallocate_data_callback(nullptr);
  }
};

// The memory estimate (network_scratch_bytes, what a deck is refused on before allocating) is
// what a network then allocates for a training step and an evaluation, to the byte, with the
// backend's convolution chunk and with chunks of one sample.
TEST(network_memory, the_scratch_estimate_is_what_the_network_allocates) {
  const LayerCase cases[] = {
      {"conv 6 k=5 p=2, bn, relu, maxpool 2, dense 10", {3, 16, 16}},
      {"conv 8 k=3 p=1 nobias, bn, relu, block 8, block 16 s=2, gap", {3, 16, 16}},
      {"dense 32, relu", {1, 8, 8}},
  };
  for (const LayerCase& c : cases)
    for (const Index chunk_scalars : {Index(0), Index(4096)}) {
      SCOPED_TRACE(std::string(c.spec) + ", chunk " + std::to_string(chunk_scalars));
      const Index batch = 16;
      const auto data = images(40, c.in, 3);
      NetworkPlan plan = plan_network(parse_network_spec(c.spec), c.in, 3);
      if (chunk_scalars > 0)
        for (PlannedLayer& layer : plan.layers) layer.chunk_scalars = chunk_scalars;
      Vector<double> x("x", plan.total()), g("g", plan.total());
      const IndexVector rows = first_rows(batch);
      std::int64_t allocated = 0;
      {
        AllocationWatch watch;
        Network<double> net("test", data, plan, batch, 0, 7);
        net.initialize(ExecSpace(), x);
        net.gradient(ExecSpace(), x, rows, g, true);
        net.evaluate(ExecSpace(), x, data);
        allocated = AllocationWatch::peak;
      }
      EXPECT_EQ(static_cast<double>(allocated), network_scratch_bytes(plan, batch, sizeof(double)));
    }
}

}  // namespace
