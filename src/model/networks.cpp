// The layered networks as models: mlp, lenet5, resnet20, resnet18 and cnn (model.layers), one
// Network class under each name.
#include <olsgd/model/network.hpp>
#include <olsgd/model/registry.hpp>

#include <stdexcept>

namespace olsgd {
namespace {

Shape input_shape(const ProblemShape& s) {
  if (s.image.size() > 0) return {s.image.channels, s.image.height, s.image.width};
  return {s.features, 1, 1};
}

std::string spec_of(const Config& c) {
  return c.model.kind == "cnn" ? c.model.layers : preset_network_spec(c.model.kind, c.model.hidden);
}

NetworkPlan plan_of(const Config& c, const ProblemShape& s) {
  return plan_network(parse_network_spec(spec_of(c)), input_shape(s), s.classes);
}

// The key a wrong spec is reported against.
const char* spec_key(const Config& c) {
  return c.model.kind == "cnn"   ? "model.layers"
         : c.model.kind == "mlp" ? "model.hidden"
                                 : "model.kind";
}

void check_network(const Config& c, const DeckCheck& deck) {
  const std::string& d = c.data.kind;
  deck.require(d == "fashion_mnist" || d == "libsvm" || d == "cifar10", "model.kind",
               "model " + c.model.kind + " cannot train on data.kind " + d +
                   " (networks need labelled data: fashion_mnist, libsvm, cifar10)");
  deck.require(d != "libsvm", "model.kind",
               c.model.kind +
                   " needs dense features; libsvm data are sparse (use model.kind: "
                   "logistic)");
  if (c.model.kind == "mlp") {
    try {
      parse_widths(c.model.hidden);
    } catch (const std::invalid_argument& e) {
      deck.fail("model.hidden", e.what());
    }
  }
  deck.require(c.model.kind != "cnn" || !c.model.layers.empty(), "model.layers",
               "model cnn needs its layers, e.g. 'conv 8 k=3 p=1, relu, maxpool 2'");
  try {
    ProblemShape s;
    s.classes = 10;
    s.image = image_dims(d);
    s.features = s.image.size();
    if (s.features > 0)
      plan_of(c, s);
    else
      parse_network_spec(spec_of(c));
  } catch (const std::invalid_argument& e) {
    deck.fail(spec_key(c), std::string(e.what()) + " (data.kind " + d + ")");
  }
}

template <class Scalar>
std::unique_ptr<Model<Scalar>> make(const Config& c, const Dataset<Scalar>& train,
                                    const QuadraticProblem*, int rank) {
  ProblemShape s;
  s.features = train.num_features();
  s.classes = train.num_classes;
  s.image = train.image;
  return std::make_unique<Network<Scalar>>(c.model.kind, train, plan_of(c, s), c.optimizer.batch,
                                           c.model.l2, c.run.seed,
                                           augmentation(c, train.image, rank));
}

std::vector<std::string> l2_only(const Config&) {
  return {"model.l2"};
}

double params(const Config& c, const ProblemShape& s) {
  return static_cast<double>(plan_of(c, s).total());
}

double scratch(const Config& c, const ProblemShape& s, double batch, double w) {
  return network_scratch_bytes(plan_of(c, s), static_cast<Index>(batch), w);
}

}  // namespace

extern const ModelEntry kMlpModel = {
    "mlp",
    "dense ReLU network (model.hidden), softmax cross-entropy",
    [](const Config&) {
      return std::vector<std::string>{"model.hidden", "model.l2"};
    },
    &check_network,
    &params,
    &scratch,
    &make<float>,
    &make<double>,
    nullptr,
    nullptr,
};

extern const ModelEntry kLenet5Model = {
    "lenet5",
    "LeNet-5: 2 conv (5x5) + max-pool, 3 dense (120, 84, classes); for 1x28x28 images",
    &l2_only,
    &check_network,
    &params,
    &scratch,
    &make<float>,
    &make<double>,
    nullptr,
    nullptr,
};

extern const ModelEntry kResnet20Model = {
    "resnet20",   "CIFAR ResNet-20: 3 stages x 3 basic blocks, 16/32/64 channels, batch norm",
    &l2_only,     &check_network,
    &params,      &scratch,
    &make<float>, &make<double>,
    nullptr,      nullptr,
};

extern const ModelEntry kResnet18Model = {
    "resnet18",   "ResNet-18, CIFAR variant: 3x3 stem, 4 stages x 2 basic blocks, 64-512 channels",
    &l2_only,     &check_network,
    &params,      &scratch,
    &make<float>, &make<double>,
    nullptr,      nullptr,
};

extern const ModelEntry kCnnModel = {
    "cnn",
    "a network of the layers listed in model.layers",
    [](const Config&) {
      return std::vector<std::string>{"model.layers", "model.l2"};
    },
    &check_network,
    &params,
    &scratch,
    &make<float>,
    &make<double>,
    nullptr,
    nullptr,
};

}  // namespace olsgd
