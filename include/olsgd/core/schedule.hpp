#pragma once
// The run's clock in steps and epochs, and the step size at each step.
//
// An epoch is the training set once over all ranks: steps_per_epoch = ceil(N / (m B)) for N
// training samples on m ranks at batch B per rank (ceil(N / B) when every rank holds all of
// them). With uneven shards (label skew, a row left over) a rank with more samples than the
// mean sees less than its whole shard per epoch and one with fewer sees more; every rank takes
// the same steps, so an epoch is the same step on every rank, as with PyTorch's
// DistributedSampler padding the shards to one length.
#include <olsgd/core/config.hpp>
#include <olsgd/core/types.hpp>

#include <string>
#include <vector>

namespace olsgd {

Index steps_per_epoch(Index total_samples, int ranks, Index batch, bool replicate);

// Turns the epoch keys of `c` into steps once the data are known (sets run.steps_per_epoch and,
// where the deck gave epochs, run.steps, run.eval_every and checkpoint.every), then checks the
// schedule against the run's length. Throws InputError naming the key.
void resolve_epochs(Config& c, Index total_samples, int ranks);

// What is wrong with a deck's schedule: the key to blame and why; `key` empty when nothing is.
struct ScheduleProblem {
  std::string key, message;
};

// The learning rate at every step, the same for every algorithm and rank: a pure function of
// the deck and the step, so a checkpoint (which holds the deck) restarts it exactly.
class LrSchedule {
 public:
  LrSchedule() = default;
  // Throws InputError naming the key for a schedule that does not fit the run (see check).
  LrSchedule(const Config& c, int ranks);
  // The first problem of the schedule of `c` against run.steps: milestones not increasing or
  // not inside the run, a warm-up as long as the run, epochs where there are no samples. Needs
  // run.steps_per_epoch where the schedule is in epochs.
  static ScheduleProblem check(const Config& c);
  // The step size of step k (0-based).
  double at(Index k) const;
  // optimizer.lr after the linear scaling rule: where the warm-up ends.
  double peak() const { return peak_; }

 private:
  double peak_ = 0.1, start_ = 0, decay_ = 0.1;
  std::string kind_ = "constant";
  Index warmup_ = 0, total_ = 1;
  std::vector<Index> milestones_;  // steps, increasing
};

}  // namespace olsgd
