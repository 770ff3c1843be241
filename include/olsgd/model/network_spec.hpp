#pragma once
// The layer-by-layer description of a network (`model.layers`, or a named model's preset) and
// what follows from it on the host alone: each layer's input and output shape, its parameter
// and running-statistics counts, FLOPs and activation sizes. The deck check, --help, the
// memory estimate and the network itself all read this one plan.
//
// Spec grammar: layers separated by commas, each a name and its arguments separated by spaces:
//   conv C k=K [s=S] [p=P] [nobias]   2-D convolution to C channels, K x K, stride S, padding P
//   bn                                batch normalisation over the channels
//   relu
//   maxpool K | avgpool K             K x K windows with stride K (K must divide height, width)
//   gap                               global average pooling (to C x 1 x 1)
//   dense N                           fully connected to N outputs (flattens C x H x W first)
//   block C [s=S]                     residual basic block: conv3x3(S)-bn-relu-conv3x3-bn, plus
//                                     the input (identity) or a 1x1 conv(S)-bn projection when C
//                                     or S changes, then relu
// The classifier (a dense layer to the number of classes) is appended by the network.
#include <olsgd/core/types.hpp>

#include <string>
#include <vector>

namespace olsgd {

// Scalars of im2col columns plus the transposed output a convolution lowers at once (at least
// one sample), by default. Host: large enough that a small image batches several samples into
// one GEMM, small enough (2 MiB in float) that the columns stay in a core's L2 for the GEMM
// (perf/bench_conv: 2^19 to 2^20 beat 2^21 and 2^18). Device: no cache to fit, and each chunk
// costs three kernel launches (im2col, GEMM, layout); the host's size would make ResNet-20's
// first convolutions 32 chunks of 4 samples (about a thousand GEMMs a step), so a chunk holds
// up to 2^25 (128 MiB in float): a whole batch of 128 there.
constexpr Index kConvChunkScalars =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, MemSpace>::accessible ? Index(1) << 19
                                                                        : Index(1) << 25;

// Channels x height x width of one sample.
struct Shape {
  Index c = 0, h = 1, w = 1;
  Index size() const { return c * h * w; }
  std::string text() const;
  bool operator==(const Shape& o) const { return c == o.c && h == o.h && w == o.w; }
};

enum class LayerKind { Conv, BatchNorm, Relu, MaxPool, AvgPool, GlobalAvgPool, Dense, Block };

struct LayerSpec {
  LayerKind kind = LayerKind::Relu;
  Index out = 0;  // conv/block channels, dense width
  Index k = 1;    // window (conv, pool)
  Index stride = 1;
  Index pad = 0;
  bool bias = true;  // conv, dense
  std::string text;  // as written, for messages
};

// One layer placed in the network: its spec, shapes and counts.
struct PlannedLayer {
  LayerSpec spec;
  Shape in, out;
  Index params = 0;       // trained numbers
  Index buffers = 0;      // running statistics (batch norm)
  double flops = 0;       // forward multiply-adds x 2 per sample
  double act_floats = 0;  // activations the layer keeps per sample (incl. a block's inside)
  Index chunk_scalars = kConvChunkScalars;  // a convolution's lowering chunk (tests shrink it)
};

struct NetworkPlan {
  std::vector<PlannedLayer> layers;  // the classifier included, last
  Shape input;
  Index params = 0;   // trained numbers
  Index buffers = 0;  // running statistics, stored after the parameters
  double flops = 0;   // forward, per sample
  double act_floats = 0;
  Index widest = 0;  // largest activation of one sample
  bool convolutional = false;
  Index total() const { return params + buffers; }
};

// Parses a spec; throws std::invalid_argument naming the layer that is wrong.
std::vector<LayerSpec> parse_network_spec(const std::string& spec);

// Places `layers` on inputs of shape `input` and appends the classifier to `classes` outputs
// (at least 2). Throws std::invalid_argument when a shape does not fit (a window that does not
// divide the image, a layer that needs an image on flat features, an empty output).
NetworkPlan plan_network(const std::vector<LayerSpec>& layers, Shape input, int classes);

// The spec of a named network, or "" when `kind` is not one: lenet5, resnet20, resnet18; the
// MLP is `hidden` as dense + relu layers.
std::string preset_network_spec(const std::string& kind, const std::string& hidden);

}  // namespace olsgd
