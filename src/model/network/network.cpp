#include <olsgd/model/network.hpp>

#include <algorithm>

#include "../cross_entropy.hpp"
#include "../mlp_kernels.hpp"
#include "layers.hpp"

namespace olsgd {

using net::Block;

template <class Scalar>
struct Network<Scalar>::Parts {
  struct Stage {
    std::unique_ptr<net::Layer<Scalar>> layer;
    Index w = 0, running = 0;  // offsets in the flat vector
    Scalar* out = nullptr;     // output activations (the input's buffer when in place)
  };
  std::vector<Stage> stages;
  Vector<Scalar> input;                     // gathered samples
  std::vector<Vector<Scalar>> activations;  // owned outputs
  Vector<Scalar> delta0, delta1, temp0, temp1, work;
  IndexVector chunk;
  // A pass over n samples with the shared scratch (parameters set per layer).
  net::Pass<Scalar> pass(const ExecSpace& exec, Index n) const {
    net::Pass<Scalar> p;
    p.exec = exec;
    p.n = n;
    p.scratch = {work.data(), temp0.data(), temp1.data()};
    return p;
  }
};

Index network_capacity(const NetworkPlan& plan, Index batch, double scalar_bytes) {
  const double per_row = (plan.act_floats + plan.input.size()) * scalar_bytes;
  const Index fit = static_cast<Index>((64.0 * (1 << 20)) / std::max(per_row, 1.0));
  return std::max(batch, std::min<Index>(1024, fit));
}

double network_scratch_bytes(const NetworkPlan& plan, Index batch, double scalar_bytes) {
  const Index rows = network_capacity(plan, batch, scalar_bytes);
  bool blocks = false;
  Index work = 0, pool_args = 0, channel_partials = 0;
  for (const PlannedLayer& p : plan.layers) {
    blocks = blocks || p.spec.kind == LayerKind::Block;
    channel_partials += p.buffers;  // each batch norm's two sums per channel
    // The largest lowering: chunk x per sample, (C_in k^2 + C_out) H_out W_out scalars.
    const auto lowering = [&](Index kk) {
      const Index per_sample = (kk + p.out.c) * p.out.h * p.out.w;
      work = std::max(work, net::conv_chunk(per_sample, p.chunk_scalars, rows) * per_sample);
    };
    if (p.spec.kind == LayerKind::Conv) {
      lowering(p.in.c * p.spec.k * p.spec.k);
      if (p.spec.bias) channel_partials += p.out.c;
    }
    if (p.spec.kind == LayerKind::Block) {  // two 3x3 convolutions and maybe a 1x1 projection
      lowering(9 * p.in.c), lowering(9 * p.out.c);
      if (p.in.c != p.out.c || p.spec.stride != 1) lowering(p.in.c);
    }
    if (p.spec.kind == LayerKind::MaxPool) pool_args += p.out.size();
  }
  const double r = static_cast<double>(rows);
  const double activations = r * (plan.act_floats + plan.input.size());
  const double deltas = r * plan.widest * (blocks ? 4 : 2);
  // The layers' own, in bytes: max pooling's argmax (an int per output), the channel sums'
  // partials (kernels/channel_sums.hpp), batch norm's five vectors per channel (2.5 per running
  // number), the evaluation's row indices.
  const double pool_args_bytes = r * double(pool_args) * sizeof(int);
  const double partials_bytes =
      r * double(channel_partials) * kernels::kChannelSumThreads<ExecSpace> * sizeof(double);
  const double statistics_bytes = 2.5 * double(plan.buffers) * sizeof(double);
  const double rows_bytes = r * sizeof(Index);
  return (activations + deltas + double(work)) * scalar_bytes + pool_args_bytes + partials_bytes +
         statistics_bytes + rows_bytes;
}

template <class Scalar>
Network<Scalar>::Network(std::string name, Dataset<Scalar> data, NetworkPlan plan, Index batch,
                         double l2, std::uint64_t seed, Augmentation augment)
    : name_(std::move(name)),
      data_(std::move(data)),
      plan_(std::move(plan)),
      l2_(l2),
      seed_(seed),
      augment_(augment),
      capacity_(network_capacity(plan_, batch, sizeof(Scalar))),
      parts_(std::make_unique<Parts>()) {
  Parts& p = *parts_;
  p.input = Vector<Scalar>("olsgd::model::net::input", capacity_ * plan_.input.size());
  Scalar* previous = p.input.data();
  Index w = 0, running = plan_.params, work = 0;
  bool blocks = false;
  for (std::size_t i = 0; i < plan_.layers.size(); ++i) {
    const PlannedLayer& planned = plan_.layers[i];
    auto layer = net::make_layer<Scalar>(planned);
    layer->reserve(capacity_);
    work = std::max(work, layer->work_size(capacity_));
    blocks = blocks || planned.spec.kind == LayerKind::Block;
    typename Parts::Stage stage{std::move(layer), w, running, previous};
    w += planned.params, running += planned.buffers;
    const bool fuse = i + 1 < plan_.layers.size() &&
                      plan_.layers[i + 1].spec.kind == LayerKind::Relu && stage.layer->fuse_relu();
    if (!stage.layer->in_place()) {
      p.activations.emplace_back("olsgd::model::net::activation", capacity_ * planned.out.size());
      stage.out = p.activations.back().data();
    }
    previous = stage.out;
    p.stages.push_back(std::move(stage));
    if (fuse) ++i;
  }
  const Index wide = capacity_ * plan_.widest;
  p.delta0 = Vector<Scalar>("olsgd::model::net::delta0", wide);
  p.delta1 = Vector<Scalar>("olsgd::model::net::delta1", wide);
  if (blocks) {
    p.temp0 = Vector<Scalar>("olsgd::model::net::temp0", wide);
    p.temp1 = Vector<Scalar>("olsgd::model::net::temp1", wide);
  }
  if (work > 0) p.work = Vector<Scalar>("olsgd::model::net::work", work);  // none for an MLP
  p.chunk = IndexVector("olsgd::model::net::chunk", capacity_);
}

template <class Scalar>
Network<Scalar>::~Network() = default;

template <class Scalar>
void Network<Scalar>::initialize(const ExecSpace& exec, const Vector<Scalar>& x) const {
  net::InitStreams streams{seed_, 0};
  for (const auto& s : parts_->stages)
    s.layer->initialize(exec, x.data() + s.w, x.data() + s.running, streams);
}

template <class Scalar>
void Network<Scalar>::forward(const ExecSpace& exec, const ConstVector<Scalar>& x,
                              const Dataset<Scalar>& data, const IndexVector& rows, Index n,
                              bool train) {
  Parts& p = *parts_;
  const Block<Scalar> input(p.input.data(), n, plan_.input.size());
  if (train && augment_.on())
    augment_rows(exec, data.features, rows, n, augment_, draws_++, input);
  else
    mlp_kernels::gather_rows(exec, data.features, rows, input);
  net::Pass<Scalar> pass = p.pass(exec, n);
  pass.train = train;
  const Scalar* in = p.input.data();
  for (auto& s : p.stages) {
    pass.w = x.data() + s.w;
    pass.running = x.data() + s.running;
    s.layer->forward(pass, in, s.out);
    in = s.out;
  }
}

template <class Scalar>
double Network<Scalar>::gradient(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                 const IndexVector& batch, const Vector<Scalar>& g,
                                 bool want_loss) {
  Parts& p = *parts_;
  const Index b = static_cast<Index>(batch.extent(0));
  forward(exec, x, data_, batch, b, true);
  const int K = static_cast<int>(plan_.layers.back().out.size());
  const auto labels = data_.labels;
  auto label = KOKKOS_LAMBDA(const Index s) {
    return labels(batch(s));
  };
  Scalar* dcur = p.delta0.data();
  Scalar* dnext = p.delta1.data();
  const LossSum ce = cross_entropy(exec, Block<Scalar>(p.stages.back().out, b, K),
                                   Block<Scalar>(dcur, b, K), b, K, label, 1.0 / b);
  net::Pass<Scalar> pass = p.pass(exec, b);
  for (std::size_t i = p.stages.size(); i-- > 0;) {
    auto& s = p.stages[i];
    const Scalar* in = i == 0 ? p.input.data() : p.stages[i - 1].out;
    pass.w = x.data() + s.w;
    pass.g = g.data() + s.w;
    s.layer->backward(pass, in, s.out, dcur, i == 0 ? nullptr : dnext);
    std::swap(dcur, dnext);
  }
  if (plan_.buffers > 0)
    Kokkos::deep_copy(exec, Kokkos::subview(g, std::make_pair(plan_.params, plan_.total())),
                      Scalar(0));
  double w2 = 0;
  if (l2_ > 0)
    for (auto& s : p.stages)
      w2 += s.layer->l2_weights(exec, x.data() + s.w, g.data() + s.w, static_cast<Scalar>(l2_),
                                want_loss);
  if (!want_loss) return kUnknown;
  return ce.loss / b + 0.5 * l2_ * w2;
}

template <class Scalar>
void Network<Scalar>::update_buffers(const ExecSpace& exec, const Vector<Scalar>& x) {
  for (auto& s : parts_->stages) s.layer->update_running(exec, x.data() + s.running);
}

template <class Scalar>
void Network<Scalar>::save_host(HostState& h) const {
  if (augment_.on()) h["model.draws"] = static_cast<double>(draws_);
}

template <class Scalar>
void Network<Scalar>::load_host(const HostState& h) {
  if (augment_.on()) draws_ = static_cast<std::uint64_t>(h.at("model.draws"));
}

template <class Scalar>
Evaluation Network<Scalar>::evaluate(const ExecSpace& exec, const ConstVector<Scalar>& x,
                                     const Dataset<Scalar>& data) {
  const int K = static_cast<int>(plan_.layers.back().out.size());
  return evaluate_in_chunks(exec, data, parts_->chunk, K, [&](const IndexVector& rows, Index n) {
    forward(exec, x, data, rows, n, false);
    return Block<Scalar>(parts_->stages.back().out, n, K);
  });
}

template class Network<float>;
template class Network<double>;

}  // namespace olsgd
