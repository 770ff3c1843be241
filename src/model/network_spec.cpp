#include <olsgd/model/network_spec.hpp>

#include <sstream>
#include <stdexcept>

namespace olsgd {
namespace {

[[noreturn]] void bad(const std::string& layer, const std::string& why) {
  throw std::invalid_argument("layer '" + layer + "': " + why);
}

Index positive(const std::string& layer, const std::string& text, const char* what) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1 || v > (1LL << 30))
    bad(layer, std::string(what) + " '" + text + "' is not a whole number in [1, 2^30]");
  return static_cast<Index>(v);
}

LayerSpec parse_layer(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) bad(text, "empty (two commas in a row?)");
  LayerSpec s;
  s.text = text.substr(text.find_first_not_of(' '));
  s.text = s.text.substr(0, s.text.find_last_not_of(' ') + 1);
  const std::string& name = words[0];
  struct Kind {
    const char* name;
    LayerKind kind;
    bool width;  // takes a count as its first argument
  };
  static const Kind kKinds[] = {
      {"conv", LayerKind::Conv, true},       {"bn", LayerKind::BatchNorm, false},
      {"relu", LayerKind::Relu, false},      {"maxpool", LayerKind::MaxPool, true},
      {"avgpool", LayerKind::AvgPool, true}, {"gap", LayerKind::GlobalAvgPool, false},
      {"dense", LayerKind::Dense, true},     {"block", LayerKind::Block, true},
  };
  const Kind* kind = nullptr;
  for (const Kind& k : kKinds)
    if (name == k.name) kind = &k;
  if (!kind)
    bad(s.text, "unknown layer '" + name +
                    "' (one of conv, bn, relu, maxpool, avgpool, gap, dense, block)");
  s.kind = kind->kind;
  std::size_t next = 1;
  if (kind->width) {
    if (words.size() < 2) bad(s.text, name + " needs a size");
    const Index n = positive(s.text, words[1], name == "dense" ? "width" : "size");
    if (s.kind == LayerKind::MaxPool || s.kind == LayerKind::AvgPool)
      s.k = s.stride = n;
    else
      s.out = n;
    next = 2;
  }
  if (s.kind == LayerKind::Block) s.k = 3, s.pad = 1, s.bias = false;
  bool has_k = false;
  for (std::size_t i = next; i < words.size(); ++i) {
    const std::string& w = words[i];
    const bool conv = s.kind == LayerKind::Conv, block = s.kind == LayerKind::Block;
    if (conv && w.rfind("k=", 0) == 0) {
      s.k = positive(s.text, w.substr(2), "kernel"), has_k = true;
    } else if ((conv || block) && w.rfind("s=", 0) == 0) {
      s.stride = positive(s.text, w.substr(2), "stride");
    } else if (conv && w.rfind("p=", 0) == 0) {
      const std::string v = w.substr(2);
      s.pad = v == "0" ? 0 : positive(s.text, v, "padding");
    } else if (conv && w == "nobias") {
      s.bias = false;
    } else {
      bad(s.text, "unexpected '" + w + "' for " + name);
    }
  }
  if (s.kind == LayerKind::Conv && !has_k) bad(s.text, "conv needs its kernel size, k=K");
  return s;
}

void place(PlannedLayer& p, const Shape& in, bool flat_input) {
  const LayerSpec& s = p.spec;
  p.in = in;
  auto need_image = [&] {
    if (flat_input)
      bad(s.text, "needs image data (channels x height x width); the input is " + in.text() +
                      " flat features");
  };
  auto conv_out = [&](Index k, Index stride, Index pad, Index size) {
    if (size + 2 * pad < k)
      bad(s.text, "a " + std::to_string(k) + "x" + std::to_string(k) + " kernel does not fit the " +
                      in.text() + " input");
    return (size + 2 * pad - k) / stride + 1;
  };
  switch (s.kind) {
    case LayerKind::Conv: {
      need_image();
      p.out = {s.out, conv_out(s.k, s.stride, s.pad, in.h), conv_out(s.k, s.stride, s.pad, in.w)};
      p.params = s.out * in.c * s.k * s.k + (s.bias ? s.out : 0);
      p.flops = 2.0 * s.out * in.c * s.k * s.k * p.out.h * p.out.w;
      p.act_floats = static_cast<double>(p.out.size());
      break;
    }
    case LayerKind::BatchNorm:
      p.out = in;
      p.params = p.buffers = 2 * in.c;
      p.act_floats = static_cast<double>(in.size());
      break;
    case LayerKind::Relu:
      p.out = in;  // in place
      break;
    case LayerKind::MaxPool:
    case LayerKind::AvgPool:
      need_image();
      if (in.h % s.k != 0 || in.w % s.k != 0)
        bad(s.text,
            "a window of " + std::to_string(s.k) + " does not divide the " + in.text() + " input");
      p.out = {in.c, in.h / s.k, in.w / s.k};
      p.act_floats = static_cast<double>(p.out.size());
      break;
    case LayerKind::GlobalAvgPool:
      p.out = {in.c, 1, 1};
      p.act_floats = static_cast<double>(in.c);
      break;
    case LayerKind::Dense:
      p.out = {s.out, 1, 1};
      p.params = s.out * in.size() + s.out;
      p.flops = 2.0 * s.out * in.size();
      p.act_floats = static_cast<double>(s.out);
      break;
    case LayerKind::Block: {
      need_image();
      const Index c = s.out, ho = conv_out(3, s.stride, 1, in.h),
                  wo = conv_out(3, s.stride, 1, in.w);
      p.out = {c, ho, wo};
      const bool projection = c != in.c || s.stride != 1;
      p.params = c * in.c * 9 + 2 * c + c * c * 9 + 2 * c + (projection ? c * in.c + 2 * c : 0);
      p.buffers = (projection ? 3 : 2) * 2 * c;
      p.flops = 2.0 * ho * wo * c * (in.c * 9 + c * 9 + (projection ? in.c : 0));
      p.act_floats = static_cast<double>((projection ? 6 : 4) * p.out.size());
      break;
    }
  }
  if (p.out.size() < 1) bad(s.text, "leaves nothing of the " + in.text() + " input");
}

}  // namespace

std::string Shape::text() const {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

std::vector<LayerSpec> parse_network_spec(const std::string& spec) {
  std::vector<LayerSpec> out;
  std::size_t start = 0;
  if (spec.find_first_not_of(" ,") == std::string::npos) return out;
  while (start <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', start), spec.size());
    out.push_back(parse_layer(spec.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

NetworkPlan plan_network(const std::vector<LayerSpec>& layers, Shape input, int classes) {
  NetworkPlan plan;
  plan.input = input;
  plan.widest = input.size();
  std::vector<LayerSpec> all = layers;
  LayerSpec classifier;
  classifier.kind = LayerKind::Dense;
  classifier.out = classes > 2 ? classes : 2;
  classifier.text = "dense " + std::to_string(classifier.out) + " (the classifier)";
  all.push_back(classifier);
  Shape shape = input;
  for (const LayerSpec& s : all) {
    PlannedLayer p;
    p.spec = s;
    place(p, shape, input.h == 1 && input.w == 1);
    plan.params += p.params;
    plan.buffers += p.buffers;
    plan.flops += p.flops;
    plan.act_floats += p.act_floats;
    plan.widest = std::max(plan.widest, p.out.size());
    plan.convolutional =
        plan.convolutional || (s.kind != LayerKind::Dense && s.kind != LayerKind::Relu);
    shape = p.out;
    plan.layers.push_back(p);
  }
  return plan;
}

std::string preset_network_spec(const std::string& kind, const std::string& hidden) {
  if (kind == "lenet5")
    return "conv 6 k=5 p=2, relu, maxpool 2, conv 16 k=5, relu, maxpool 2, dense 120, relu, "
           "dense 84, relu";
  const std::string stem = "conv 16 k=3 p=1 nobias, bn, relu";
  if (kind == "resnet20")
    return stem +
           ", block 16, block 16, block 16, block 32 s=2, block 32, block 32, block 64 s=2, "
           "block 64, block 64, gap";
  if (kind == "resnet18")
    return "conv 64 k=3 p=1 nobias, bn, relu, block 64, block 64, block 128 s=2, block 128, "
           "block 256 s=2, block 256, block 512 s=2, block 512, gap";
  if (kind == "mlp") {
    std::string spec;
    std::size_t start = 0;
    while (start < hidden.size()) {
      const std::size_t comma = std::min(hidden.find(',', start), hidden.size());
      if (!spec.empty()) spec += ", ";
      spec += "dense " + hidden.substr(start, comma - start) + ", relu";
      start = comma + 1;
    }
    return spec;
  }
  return "";
}

}  // namespace olsgd
