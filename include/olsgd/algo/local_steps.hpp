#pragma once
// How many local steps a rank takes in each round of Overlap-Local-SGD (docs/algorithms.md
// §2d). A round is tau slots of the driver loop; a sync ends it.
// - fixed: every rank steps at every slot (tau steps).
// - timed: a rank steps while its compute this round fits a time budget (at least one step,
//   at most tau), then idles to the round's end: a slow rank takes fewer steps instead of
//   holding the others. The budget is algorithm.round_budget_s, or (0) tau times the fastest
//   rank's median step time in the first round, which runs all tau steps.
// - timed with algorithm.replay_steps: the counts come from a run's syncs.csv instead of the
//   clock, so the run is replayed bit for bit.
// A rank's steps in a round are always its first n slots, so a count fixes the trajectory.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>

#include <map>
#include <string>
#include <vector>

namespace olsgd {

struct LocalStepsParams {
  bool timed = false;
  Index tau = 1;
  double budget_s = 0;              // 0: measured in the first round
  std::string weighting = "steps";  // steps | equal | inverse
  std::string replay;               // a syncs.csv whose local_steps column to follow
  std::string source;               // the deck, for messages
  static LocalStepsParams from(const Config& c);
};

// Why a timed run of `steps` slots cannot have rounds of `tau` (every round must end in a sync
// whose record a replay reads), or "".
std::string timed_rounds_problem(Index steps, Index tau);

// The weight of a part that took `steps` local steps in a weighted average:
// steps (as FedAvg weighs by samples), equal (1), or inverse (1/steps: FedNova's normalized
// averaging with the harmonic-mean step count; the fixed point of the unweighted objective).
double round_weight(const std::string& weighting, double steps);

// The local-step counts of a replayed run: the sync step ending each round -> one count per
// rank. Throws InputError naming the file and line for a file that is not a timed run's
// syncs.csv, or whose rounds do not fit a run of `steps` slots, `tau` slots per round, on
// `ranks` ranks.
std::map<Index, std::vector<int>> read_local_steps(const std::string& path, Index tau, Index steps,
                                                   int ranks);

class LocalSteps {
 public:
  // Collective when timed (a replay file is read on every rank).
  LocalSteps(const LocalStepsParams& p, Index steps, int rank, int ranks);

  bool timed() const { return p_.timed; }
  // Whether this rank steps at slot k, with `round_compute_s` of compute done in the round.
  bool step_now(Index k, double round_compute_s) const;
  // A step taken; `round_compute_s`: the round's compute after it.
  void stepped(double round_compute_s);
  // Ends the round: this rank's count of steps in it. Collective at the first sync of a
  // measured budget (every rank takes the same).
  int end_round(const comm::Communicator& comm);
  double weight(int steps) const { return round_weight(p_.weighting, steps); }
  // The budget in force (0 until measured); restored from a checkpoint.
  double budget_s() const { return budget_s_; }
  void set_budget_s(double s) { budget_s_ = s; }

 private:
  LocalStepsParams p_;
  int rank_;
  std::map<Index, std::vector<int>> replay_;  // round's last slot -> counts
  double budget_s_ = 0;
  int taken_ = 0;                   // steps this round
  double last_step_s_ = 0;          // compute of the last step
  double round_compute_s_ = 0;      // after the last step
  std::vector<double> step_times_;  // the first round's, to measure the budget
};

}  // namespace olsgd
