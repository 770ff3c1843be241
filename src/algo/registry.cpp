// The algorithm and anchor-exchange registries: one line each; every entry lives beside its
// algorithm's or exchange's code.
#include <olsgd/algo/registry.hpp>

#include <stdexcept>
#include <type_traits>

namespace olsgd {

extern const AlgorithmEntry kMinibatchSgd, kAcceleratedMinibatchSgd, kLocalSgd, kOverlapLocalSgd,
    kOverlapLocalSgdMomentum, kSlowMo, kSketchedSgd, kQsgd, kDqSgd;
extern const AnchorExchangeEntry kPlainAnchorExchange, kQuantizedAnchorExchange;

const std::vector<const AlgorithmEntry*>& algorithms() {
  static const std::vector<const AlgorithmEntry*> kAlgorithms = {
      &kMinibatchSgd,
      &kAcceleratedMinibatchSgd,
      &kLocalSgd,
      &kOverlapLocalSgd,
      &kOverlapLocalSgdMomentum,
      &kSlowMo,
      &kSketchedSgd,
      &kQsgd,
      &kDqSgd,
  };
  return kAlgorithms;
}

const std::vector<const AnchorExchangeEntry*>& anchor_exchanges() {
  static const std::vector<const AnchorExchangeEntry*> kExchanges = {
      &kPlainAnchorExchange,
      &kQuantizedAnchorExchange,
  };
  return kExchanges;
}

const AlgorithmEntry* find_algorithm(const std::string& name) {
  for (const AlgorithmEntry* a : algorithms())
    if (name == a->name) return a;
  return nullptr;
}

const AlgorithmEntry& algorithm_entry(const Config& c) {
  const AlgorithmEntry* a = find_algorithm(c.algorithm.name);
  // The deck layer admits only registered names; reaching here is a bug, not bad input.
  if (!a) throw std::logic_error("unknown algorithm '" + c.algorithm.name + "'");
  return *a;
}

std::vector<std::string> unread_algorithm_keys(const Config& c) {
  return unread_keys(c, algorithms(), algorithm_entry(c));
}

const AnchorExchangeEntry* find_anchor_exchange(const std::string& name) {
  for (const AnchorExchangeEntry* e : anchor_exchanges())
    if (name == e->name) return e;
  return nullptr;
}

template <class Scalar>
AnchorExchangeFactory<Scalar> anchor_exchange_factory(const Config& c) {
  const AnchorExchangeEntry* e = find_anchor_exchange(c.algorithm.anchor_compression);
  if (!e)
    throw std::logic_error("unknown anchor exchange '" + c.algorithm.anchor_compression + "'");
  return [e, &c](const ExchangeContext& ctx, Index d, double calibrated_s) {
    if constexpr (std::is_same_v<Scalar, float>)
      return e->make_float(ctx, c, d, calibrated_s);
    else
      return e->make_double(ctx, c, d, calibrated_s);
  };
}

template <class Scalar>
std::unique_ptr<Algorithm<Scalar>> make_algorithm(const TrainingContext<Scalar>& ctx) {
  const AlgorithmEntry& a = algorithm_entry(ctx.config);
  if constexpr (std::is_same_v<Scalar, float>)
    return a.make_float(ctx);
  else
    return a.make_double(ctx);
}

std::vector<std::string> local_optimizer_keys() {
  return {"optimizer.momentum", "optimizer.nesterov"};
}

template AnchorExchangeFactory<float> anchor_exchange_factory(const Config&);
template AnchorExchangeFactory<double> anchor_exchange_factory(const Config&);
template std::unique_ptr<Algorithm<float>> make_algorithm(const TrainingContext<float>&);
template std::unique_ptr<Algorithm<double>> make_algorithm(const TrainingContext<double>&);

}  // namespace olsgd
