#pragma once
// One layer of a Network: forward and backward over a block of n samples in NCHW, each sample
// contiguous. A layer reads its parameters, writes its gradient and keeps its running
// statistics at offsets of the one flat parameter View the network gives it.
#include <olsgd/core/rng.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/model/network_spec.hpp>

#include <memory>
#include <vector>

namespace olsgd::net {

template <class Scalar>
using Block =
    Kokkos::View<Scalar**, Kokkos::LayoutRight, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

// Device scratch shared by the layers, so the largest need, not their sum, is allocated.
template <class Scalar>
struct Scratch {
  Scalar* work = nullptr;  // convolution im2col columns and transposes
  Scalar* t0 = nullptr;    // two activation-sized temporaries (residual blocks' backward)
  Scalar* t1 = nullptr;
};

// What one pass over one layer needs besides its input and output.
template <class Scalar>
struct Pass {
  ExecSpace exec;
  const Scalar* w = nullptr;        // the layer's parameters
  Scalar* g = nullptr;              // its gradient (backward; overwritten, not accumulated)
  const Scalar* running = nullptr;  // its running statistics (batch norm, eval mode)
  Index n = 0;                      // samples
  bool train = true;
  Scratch<Scalar> scratch;
  // Sub-pass at parameter/statistics offsets of a composite layer.
  Pass at(Index param_offset, Index running_offset) const {
    Pass p = *this;
    p.w = w + param_offset;
    p.g = g ? g + param_offset : nullptr;
    p.running = running ? running + running_offset : nullptr;
    return p;
  }
};

// Draws of initial weights, one substream per weight-owning layer in network order.
struct InitStreams {
  std::uint64_t seed = 1;
  std::uint32_t next = 0;
};

template <class Scalar>
class Layer {
 public:
  explicit Layer(const PlannedLayer& plan) : plan_(plan) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const PlannedLayer& plan() const { return plan_; }
  Index in_size() const { return plan_.in.size(); }
  Index out_size() const { return plan_.out.size(); }
  // The output is the input buffer, changed in place.
  virtual bool in_place() const { return false; }
  // Takes over the ReLU that follows, applied on the way out (one sweep fewer each way);
  // false where the layer cannot.
  virtual bool fuse_relu() { return false; }
  // Allocates what the layer keeps per sample beyond its output, for up to `rows` samples.
  virtual void reserve(Index /*rows*/) {}
  // Scalars of Scratch::work one pass over `rows` samples needs.
  virtual Index work_size(Index /*rows*/) const { return 0; }
  // Writes x0 into the parameters `w` and the running statistics `running`.
  virtual void initialize(const ExecSpace& exec, Scalar* w, Scalar* running,
                          InitStreams& streams) const = 0;
  virtual void forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) = 0;
  // Given dL/dout (which it may overwrite), writes the parameters' gradient and, unless `din`
  // is null, dL/din (added to what is there when `accumulate`).
  virtual void backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out, Scalar* dout,
                        Scalar* din, bool accumulate = false) = 0;
  // Moves the running statistics toward the last training forward's batch statistics.
  virtual void update_running(const ExecSpace& /*exec*/, Scalar* /*running*/) {}
  // Adds l2 * w to the gradient of every weight (not biases, not batch-norm scales) and, with
  // `want_sum` (a step that reports its loss), returns the sum of their squares; else 0.
  virtual double l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                            bool want_sum) const;

 protected:
  PlannedLayer plan_;
};

// Builds the layer `plan` describes.
template <class Scalar>
std::unique_ptr<Layer<Scalar>> make_layer(const PlannedLayer& plan);

// Adds l2 * w to g over [0, count) and, with `want_sum`, returns sum w^2 (a layer's weight
// range; else 0: the reduction ends in a host synchronisation every step would pay).
template <class Scalar>
double l2_range(const ExecSpace& exec, const Scalar* w, Scalar* g, Index count, Scalar l2,
                bool want_sum);

// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) into w[0, count): PyTorch's default for nn.Linear and
// nn.Conv2d weights and biases, from the next substream.
template <class Scalar>
void init_uniform(const ExecSpace& exec, Scalar* w, Index count, Index fan_in,
                  InitStreams& streams);

}  // namespace olsgd::net
