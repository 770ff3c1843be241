// The run's clock in epochs and the learning-rate schedule: epoch length with uneven shards,
// epochs turned into steps, every schedule's values at its corners, and the problems each key
// is blamed for. (The refusals end to end: tests/bad_input/cases_deck.cpp.)
#include <olsgd/core/error.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/deck/deck.hpp>

#include <gtest/gtest.h>

#include <cmath>

namespace {

using olsgd::Config;
using olsgd::Index;
using olsgd::LrSchedule;

Config deck(const std::vector<std::string>& sets, int ranks = 2) {
  return olsgd::parse_config("run:\n  name: schedule\n", "deck.yaml", sets, ranks);
}

TEST(schedule, an_epoch_is_the_training_set_once_over_all_ranks) {
  EXPECT_EQ(olsgd::steps_per_epoch(60000, 2, 128, false), 235);  // 234.375: the last step partial
  EXPECT_EQ(olsgd::steps_per_epoch(60000, 16, 128, false), 30);
  EXPECT_EQ(olsgd::steps_per_epoch(512, 2, 32, false), 8);
  EXPECT_EQ(olsgd::steps_per_epoch(512, 2, 32, true), 16);  // every rank holds all 512
  EXPECT_EQ(olsgd::steps_per_epoch(0, 2, 32, false), 0);    // no samples: no epochs
}

TEST(schedule, epochs_become_steps_once_the_data_are_known) {
  Config c = deck({"run.epochs=3", "run.eval_every_epochs=2", "checkpoint.every_epochs=1",
                   "optimizer.batch=128"});
  olsgd::resolve_epochs(c, 60000, 2);
  EXPECT_EQ(c.run.steps_per_epoch, 235);
  EXPECT_EQ(c.run.steps, 705);
  EXPECT_EQ(c.run.eval_every, 470);
  EXPECT_EQ(c.checkpoint.every, 235);
  Config steps = deck({"run.steps=77"});  // a run in steps keeps them
  olsgd::resolve_epochs(steps, 60000, 2);
  EXPECT_EQ(steps.run.steps, 77);
}

TEST(schedule, warmup_then_step_decay_at_epoch_milestones) {
  // The paper's recipe scaled: lr 0.1 at batch 128, 4 ranks x 64 -> 0.2; warm-up over 2 epochs
  // from lr/4 (of the peak), x0.1 at epochs 4 and 6 of 8; an epoch is 10 steps here.
  Config c =
      deck({"run.epochs=8", "optimizer.lr=0.1", "optimizer.base_batch=128", "optimizer.batch=64",
            "optimizer.schedule=step", "optimizer.schedule_unit=epochs", "optimizer.warmup=2",
            "optimizer.warmup_start=0.25", "optimizer.milestones=4,6"},
           4);
  olsgd::resolve_epochs(c, 2560, 4);
  ASSERT_EQ(c.run.steps, 80);
  const LrSchedule s(c, 4);
  EXPECT_DOUBLE_EQ(s.peak(), 0.2);
  EXPECT_DOUBLE_EQ(s.at(0), 0.05);                        // the warm-up's first step
  EXPECT_DOUBLE_EQ(s.at(10), 0.2 * (0.25 + 0.75 * 0.5));  // half way
  EXPECT_DOUBLE_EQ(s.at(20), 0.2);                        // warmed up
  EXPECT_DOUBLE_EQ(s.at(39), 0.2);
  EXPECT_NEAR(s.at(40), 0.02, 1e-15);  // first milestone
  EXPECT_NEAR(s.at(59), 0.02, 1e-15);
  EXPECT_NEAR(s.at(60), 0.002, 1e-16);  // second
  EXPECT_NEAR(s.at(79), 0.002, 1e-16);
}

TEST(schedule, cosine_falls_from_the_peak_to_zero_after_the_warmup) {
  Config c = deck(
      {"run.steps=110", "optimizer.lr=0.4", "optimizer.schedule=cosine", "optimizer.warmup=10"});
  const LrSchedule s(c, 2);
  EXPECT_DOUBLE_EQ(s.at(0), 0.0);  // warm-up from 0 by default
  EXPECT_DOUBLE_EQ(s.at(5), 0.2);
  EXPECT_DOUBLE_EQ(s.at(10), 0.4);
  EXPECT_NEAR(s.at(60), 0.2, 1e-15);  // half way through the cosine
  EXPECT_NEAR(s.at(109), 0.4 * 0.5 * (1 + std::cos(M_PI * 99 / 100)), 1e-15);
  EXPECT_GT(s.at(109), 0.0);
}

TEST(schedule, constant_is_the_deck_lr_at_every_step) {
  const LrSchedule s(deck({"run.steps=5", "optimizer.lr=0.03"}), 8);
  for (Index k = 0; k < 5; ++k) EXPECT_EQ(s.at(k), 0.03);
}

TEST(schedule, each_problem_blames_its_key) {
  // The keys set one by one, without the deck's own checks (which refuse some of these first).
  auto problem = [](const std::vector<std::string>& sets, Index total_samples) {
    Config c;
    for (const std::string& s : sets) {
      const std::size_t eq = s.find('=');
      EXPECT_EQ(olsgd::set_config_key(c, s.substr(0, eq), s.substr(eq + 1)), "");
    }
    c.run.steps_per_epoch = olsgd::steps_per_epoch(total_samples, 2, c.optimizer.batch, false);
    if (c.run.epochs) c.run.steps = c.run.epochs * c.run.steps_per_epoch;
    const auto p = LrSchedule::check(c);
    return p.key + ": " + p.message;
  };
  EXPECT_EQ(problem({"run.steps=100", "optimizer.schedule=step", "optimizer.milestones=50,50"}, 0),
            "optimizer.milestones: must be positive and increasing, got '50,50'");
  EXPECT_EQ(problem({"run.steps=100", "optimizer.schedule=step", "optimizer.milestones=0,50"}, 0),
            "optimizer.milestones: must be positive and increasing, got '0,50'");
  EXPECT_EQ(problem({"run.steps=100", "optimizer.schedule=step", "optimizer.milestones=50,"}, 0),
            "optimizer.milestones: must be comma-separated numbers (e.g. 150,250), got '50,'");
  EXPECT_EQ(problem({"run.steps=32", "optimizer.batch=32", "optimizer.schedule=step",
                     "optimizer.schedule_unit=epochs", "optimizer.milestones=4.5"},
                    512),
            "optimizer.milestones: 4.5 epochs is not inside the run's 4 epochs");
  EXPECT_EQ(problem({"run.steps=100", "optimizer.warmup=0.5", "optimizer.schedule_unit=epochs"}, 0),
            "optimizer.schedule_unit: epochs, but data.kind synthetic_least_squares has no samples "
            "to count epochs in; use steps");
  EXPECT_EQ(problem({"run.steps=100", "optimizer.warmup=100"}, 0),
            "optimizer.warmup: 100 steps is not shorter than the run's 100 steps");
  EXPECT_EQ(problem({"run.steps=100", "optimizer.schedule=cosine", "optimizer.warmup=99"}, 0),
            ": ");
}

TEST(schedule, a_set_length_overrides_the_decks_other_unit) {
  const Config c = olsgd::parse_config("run:\n  steps: 30\n", "deck.yaml", {"run.epochs=2"}, 2);
  EXPECT_EQ(c.run.epochs, 2);  // resolve_epochs turns it into steps
  const Config d = olsgd::parse_config("run:\n  epochs: 2\n", "deck.yaml", {"run.steps=30"}, 2);
  EXPECT_EQ(d.run.epochs, 0);
  EXPECT_EQ(d.run.steps, 30);
}

}  // namespace
