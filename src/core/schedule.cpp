#include <olsgd/core/error.hpp>
#include <olsgd/core/schedule.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace olsgd {
namespace {

constexpr double kPi = 3.14159265358979323846;

// "150, 250" -> {150, 250}; false for an item that is not a number.
bool parse_numbers(const std::string& text, std::vector<double>& out) {
  std::size_t start = 0;
  while (!text.empty() && start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    char* stop = nullptr;
    const double v = std::strtod(item.c_str(), &stop);
    if (stop == item.c_str() || *(stop + std::strspn(stop, " ")) != '\0' || !std::isfinite(v))
      return false;
    out.push_back(v);
    start = end + 1;
  }
  return true;
}

// The unit's length in steps, and the run's length in the unit, for messages.
struct Units {
  double steps = 1;
  std::string run;
};
Units units(const Config& c) {
  const bool epochs = c.optimizer.schedule_unit == "epochs";
  Units u;
  u.steps = epochs ? static_cast<double>(c.run.steps_per_epoch) : 1.0;
  u.run = epochs && u.steps > 0
              ? "the run's " + format_double(static_cast<double>(c.run.steps) / u.steps) + " epochs"
              : "the run's " + std::to_string(c.run.steps) + " steps";
  return u;
}

Index to_steps(double v, const Units& u) {
  return static_cast<Index>(std::llround(v * u.steps));
}

}  // namespace

Index steps_per_epoch(Index total_samples, int ranks, Index batch, bool replicate) {
  const Index per_step = replicate ? batch : batch * ranks;
  return total_samples > 0 ? (total_samples + per_step - 1) / per_step : 0;
}

void resolve_epochs(Config& c, Index total_samples, int ranks) {
  const Index spe = steps_per_epoch(total_samples, ranks, c.optimizer.batch, c.data.replicate);
  c.run.steps_per_epoch = spe;
  auto epochs = [&](const char* key, Index n, Index& steps) {
    if (n == 0) return;
    if (spe == 0)
      throw InputError(c.source, std::string(key) + ": data.kind " + c.data.kind +
                                     " has no samples to count epochs in; give steps instead");
    if (n > std::numeric_limits<Index>::max() / spe)
      throw InputError(c.source, std::string(key) + ": " + std::to_string(n) + " epochs of " +
                                     std::to_string(spe) +
                                     " steps is more steps than a run counts");
    steps = n * spe;
  };
  epochs("run.epochs", c.run.epochs, c.run.steps);
  epochs("run.eval_every_epochs", c.run.eval_every_epochs, c.run.eval_every);
  epochs("checkpoint.every_epochs", c.checkpoint.every_epochs, c.checkpoint.every);
  LrSchedule(c, ranks);  // refuses a schedule that does not fit the run
}

ScheduleProblem LrSchedule::check(const Config& c) {
  const OptimizerConfig& o = c.optimizer;
  std::vector<double> milestones;
  if (!parse_numbers(o.milestones, milestones))
    return {"optimizer.milestones",
            "must be comma-separated numbers (e.g. 150,250), got '" + o.milestones + "'"};
  for (std::size_t i = 0; i < milestones.size(); ++i)
    if (!(milestones[i] > (i ? milestones[i - 1] : 0.0)))
      return {"optimizer.milestones",
              "must be positive and increasing, got '" + o.milestones + "'"};
  const Units u = units(c);
  const bool timed = o.warmup > 0 || (o.schedule == "step" && !milestones.empty());
  if (timed && u.steps == 0)
    return {"optimizer.schedule_unit", "epochs, but data.kind " + c.data.kind +
                                           " has no samples to count epochs in; use steps"};
  if (o.warmup > 0 && to_steps(o.warmup, u) >= c.run.steps)
    return {"optimizer.warmup",
            format_double(o.warmup) + " " + o.schedule_unit + " is not shorter than " + u.run};
  if (o.schedule != "step") return {};
  if (milestones.empty())
    return {"optimizer.milestones", "the step schedule needs at least one (e.g. 150,250)"};
  for (double m : milestones)
    if (to_steps(m, u) >= c.run.steps)
      return {"optimizer.milestones",
              format_double(m) + " " + o.schedule_unit + " is not inside " + u.run};
  return {};
}

LrSchedule::LrSchedule(const Config& c, int ranks) {
  if (const ScheduleProblem p = check(c); !p.key.empty())
    throw InputError(c.source, p.key + ": " + p.message);
  const OptimizerConfig& o = c.optimizer;
  peak_ = o.lr;
  if (o.base_batch > 0)
    peak_ *= static_cast<double>(ranks) * static_cast<double>(o.batch) /
             static_cast<double>(o.base_batch);
  kind_ = o.schedule, start_ = o.warmup_start, decay_ = o.decay, total_ = c.run.steps;
  const Units u = units(c);
  warmup_ = to_steps(o.warmup, u);
  std::vector<double> milestones;
  parse_numbers(o.milestones, milestones);
  if (kind_ == "step")
    for (double m : milestones) milestones_.push_back(to_steps(m, u));
}

double LrSchedule::at(Index k) const {
  double lr = peak_;
  if (k < warmup_)
    lr *= start_ + (1 - start_) * static_cast<double>(k) / static_cast<double>(warmup_);
  if (kind_ == "step") {
    for (Index m : milestones_)
      if (k >= m) lr *= decay_;
  } else if (kind_ == "cosine" && k >= warmup_) {
    const double t = static_cast<double>(k - warmup_) / static_cast<double>(total_ - warmup_);
    lr *= 0.5 * (1 + std::cos(kPi * t));
  }
  return lr;
}

}  // namespace olsgd
