// The model registry: one line per model; each entry lives beside its model's code.
#include <olsgd/model/registry.hpp>

#include <stdexcept>
#include <type_traits>

namespace olsgd {

extern const ModelEntry kLeastSquaresModel, kQuadraticModel, kLogisticModel, kMlpModel,
    kLenet5Model, kResnet20Model, kResnet18Model, kCnnModel;

const std::vector<const ModelEntry*>& models() {
  static const std::vector<const ModelEntry*> kModels = {
      &kLeastSquaresModel, &kQuadraticModel, &kLogisticModel, &kMlpModel,
      &kLenet5Model,       &kResnet20Model,  &kResnet18Model, &kCnnModel,
  };
  return kModels;
}

const ModelEntry* find_model(const std::string& name) {
  for (const ModelEntry* m : models())
    if (name == m->name) return m;
  return nullptr;
}

const ModelEntry& model_entry(const Config& c) {
  const ModelEntry* m = find_model(c.model.kind);
  // The deck layer admits only registered names; reaching here is a bug, not bad input.
  if (!m) throw std::logic_error("unknown model '" + c.model.kind + "'");
  return *m;
}

std::vector<std::string> unread_model_keys(const Config& c) {
  return unread_keys(c, models(), model_entry(c));
}

template <class Scalar>
std::unique_ptr<Model<Scalar>> make_model(const Config& c, const Dataset<Scalar>& train,
                                          const QuadraticProblem* quadratic, int rank) {
  const ModelEntry& m = model_entry(c);
  if constexpr (std::is_same_v<Scalar, float>)
    return m.make_float(c, train, quadratic, rank);
  else
    return m.make_double(c, train, quadratic, rank);
}

template std::unique_ptr<Model<float>> make_model(const Config&, const Dataset<float>&,
                                                  const QuadraticProblem*, int);
template std::unique_ptr<Model<double>> make_model(const Config&, const Dataset<double>&,
                                                   const QuadraticProblem*, int);

template <class Scalar>
std::vector<double> optimum_moments(const Config& c, const Dataset<Scalar>& train) {
  const ModelEntry& m = model_entry(c);
  OptimumMoments<Scalar> moments;
  if constexpr (std::is_same_v<Scalar, float>)
    moments = m.optimum_moments_float;
  else
    moments = m.optimum_moments_double;
  return moments ? moments(train) : std::vector<double>{};
}

template std::vector<double> optimum_moments(const Config&, const Dataset<float>&);
template std::vector<double> optimum_moments(const Config&, const Dataset<double>&);

}  // namespace olsgd
