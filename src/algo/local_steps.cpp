#include <olsgd/algo/local_steps.hpp>
#include <olsgd/core/error.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace olsgd {

LocalStepsParams LocalStepsParams::from(const Config& c) {
  const AlgorithmConfig& a = c.algorithm;
  return {a.local_steps == "timed", a.tau,          a.round_budget_s,
          a.step_weighting,         a.replay_steps, c.source};
}

std::string timed_rounds_problem(Index steps, Index tau) {
  if (steps % tau == 0) return {};
  return std::to_string(steps) +
         " steps is not a whole number of rounds of algorithm.tau = " + std::to_string(tau) +
         ", which algorithm.local_steps timed needs (every round ends in a "
         "recorded sync)";
}

double round_weight(const std::string& weighting, double steps) {
  if (weighting == "equal") return 1.0;
  if (weighting == "inverse") return 1.0 / steps;
  return steps;
}

namespace {
std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, sep)) out.push_back(cell);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

bool whole_number(const std::string& s, std::int64_t lo, std::int64_t hi, std::int64_t& v) {
  return parse_int(s, v) && v >= lo && v <= hi;
}
}  // namespace

std::map<Index, std::vector<int>> read_local_steps(const std::string& path, Index tau, Index steps,
                                                   int ranks) {
  std::ifstream in(path);
  if (!in) throw InputError(path, "cannot read the local steps to replay");
  std::string line;
  if (!std::getline(in, line)) throw InputError(path, "empty file: not a syncs.csv");
  const std::vector<std::string> header = split(line, ',');
  const auto column = [&](const char* name) {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end())
      throw InputError(path + ":1",
                       std::string("no column '") + name + "': not the syncs.csv of an olsgd run");
    return static_cast<std::size_t>(it - header.begin());
  };
  const std::size_t step_col = column("step"), steps_col = column("local_steps");
  std::map<Index, std::vector<int>> rounds;
  for (long long n = 2; std::getline(in, line); ++n) {
    const std::string where = path + ":" + std::to_string(n);
    const std::vector<std::string> cells = split(line, ',');
    if (cells.size() != header.size())
      throw InputError(where, std::to_string(cells.size()) + " cells, the header has " +
                                  std::to_string(header.size()) + " (a truncated file?)");
    std::int64_t step = 0;
    if (!whole_number(cells[step_col], 1, INT64_MAX / 2, step) || step % tau != 0)
      throw InputError(where, "step '" + cells[step_col] + "' is not a round's end at tau " +
                                  std::to_string(tau) + " (replay with the recorded tau)");
    if (step > steps) continue;  // a longer record replays a shorter run
    if (cells[steps_col].empty())
      throw InputError(where, "no local steps: not the syncs.csv of a timed run");
    std::vector<int> counts;
    for (const std::string& c : split(cells[steps_col], ';')) {
      std::int64_t v = 0;
      if (!whole_number(c, 1, tau, v))
        throw InputError(
            where, "local step count '" + c + "' is not in [1, tau = " + std::to_string(tau) + "]");
      counts.push_back(static_cast<int>(v));
    }
    if (static_cast<int>(counts.size()) != ranks)
      throw InputError(where, std::to_string(counts.size()) + " local step counts for a run on " +
                                  plural(ranks, "rank") + " (replay on the recorded ranks)");
    const auto [it, fresh] = rounds.emplace(step, counts);
    if (!fresh && it->second != counts)
      throw InputError(where, "step " + std::to_string(step) + " recorded twice, differently");
  }
  for (Index end = tau; end <= steps; end += tau)
    if (!rounds.count(end))
      throw InputError(path, "no local steps recorded for the round ending at step " +
                                 std::to_string(end) + " (the record covers " +
                                 std::to_string(rounds.size()) + " of the run's " +
                                 std::to_string(steps / tau) + " rounds)");
  return rounds;
}

LocalSteps::LocalSteps(const LocalStepsParams& p, Index steps, int rank, int ranks)
    : p_(p), rank_(rank), budget_s_(p.budget_s) {
  if (p_.timed && steps % p_.tau != 0)
    throw InputError(p_.source, "run.steps: " + timed_rounds_problem(steps, p_.tau));
  if (p_.timed && !p_.replay.empty()) replay_ = read_local_steps(p_.replay, p_.tau, steps, ranks);
}

bool LocalSteps::step_now(Index k, double round_compute_s) const {
  if (!p_.timed) return true;
  const Index slot = k % p_.tau;
  if (!replay_.empty()) {
    const auto it = replay_.find((k / p_.tau + 1) * p_.tau);
    return it != replay_.end() && slot < it->second[static_cast<std::size_t>(rank_)];
  }
  if (taken_ == 0) return true;     // at least one step a round
  if (budget_s_ <= 0) return true;  // the first round measures the budget: all tau steps
  // Another step if it ends nearer the budget than stopping now would (the last step's time
  // as its estimate): an even chance of ending over or under, never far from it.
  return round_compute_s + 0.5 * last_step_s_ < budget_s_;
}

void LocalSteps::stepped(double round_compute_s) {
  ++taken_;
  last_step_s_ = round_compute_s - round_compute_s_;
  round_compute_s_ = round_compute_s;
  if (p_.timed && replay_.empty() && budget_s_ <= 0) step_times_.push_back(last_step_s_);
}

int LocalSteps::end_round(const comm::Communicator& comm) {
  const int taken = taken_;
  taken_ = 0;
  round_compute_s_ = 0;
  if (p_.timed && replay_.empty() && budget_s_ <= 0) {
    // The median resists the first steps' warm-up; every rank takes the fastest rank's.
    double median = 0;
    if (!step_times_.empty()) {
      auto mid = step_times_.begin() + static_cast<std::ptrdiff_t>(step_times_.size() / 2);
      std::nth_element(step_times_.begin(), mid, step_times_.end());
      median = *mid;
    }
    budget_s_ = static_cast<double>(p_.tau) * -comm.max_uncounted(-median);
    step_times_.clear();
  }
  return taken;
}

}  // namespace olsgd
