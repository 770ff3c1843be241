// Deck parsing in process: values, defaults, overrides, and the exact wording and location
// of errors. (tests/test_cli.cpp checks the same classes end to end with exit codes.)
#include <olsgd/core/error.hpp>
#include <olsgd/deck/deck.hpp>

#include <gtest/gtest.h>

namespace {

using olsgd::Config;
using olsgd::InputError;
using olsgd::parse_config;

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {},
                     int ranks = 1) {
  try {
    parse_config(text, "deck.yaml", sets, ranks);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(config, parses_every_section_and_keeps_defaults) {
  const Config c = parse_config(R"(
run:
  name: demo
  seed: 7
  steps: 50
  precision: float32
data:
  samples: 128
  features: 4
  noise: 0.5
algorithm:
  name: local_sgd
  tau: 4
optimizer:
  lr: 1e-2
  momentum: 0.9
  nesterov: true
)",
                                "deck.yaml", {}, 2);
  EXPECT_EQ(c.run.name, "demo");
  EXPECT_EQ(c.run.seed, 7u);
  EXPECT_EQ(c.run.steps, 50);
  EXPECT_EQ(c.run.precision, olsgd::Precision::Float32);
  EXPECT_EQ(c.data.samples, 128);
  EXPECT_DOUBLE_EQ(c.data.noise, 0.5);
  EXPECT_EQ(c.algorithm.tau, 4);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.01);
  EXPECT_TRUE(c.optimizer.nesterov);
  EXPECT_EQ(c.optimizer.batch, Config{}.optimizer.batch);  // untouched: default
  EXPECT_EQ(c.source, "deck.yaml");
}

TEST(config, empty_deck_is_all_defaults) {
  const Config c = parse_config("", "empty.yaml", {}, 1);
  EXPECT_EQ(c.run.steps, Config{}.run.steps);
}

TEST(config, a_deck_is_one_yaml_document) {
  const std::string second =
      "deck.yaml:4: a second YAML document (after '---'): a deck is one document; merge its "
      "sections into the first";
  EXPECT_EQ(error_of("run:\n  steps: 3\n\n---\nalgorithm:\n  tau: 2\n"), second);
  // Content after an explicit end ("...") is a second document too; a leading "---", an
  // indented "---" inside a block scalar, a trailing "..." and "----" are not markers.
  EXPECT_EQ(error_of("run:\n  steps: 3\n...\n# c\nalgorithm: {tau: 2}\n"),
            "deck.yaml:5: a second YAML document (after '---'): a deck is one document; merge "
            "its sections into the first");
  EXPECT_EQ(error_of("---\nrun:\n  name: >-\n    a\n    ---\n  steps: 3\n...\n# end\n"),
            "(no error)");
  EXPECT_EQ(error_of("--- # the deck\nrun: {steps: 3}\n"), "(no error)");
  EXPECT_EQ(error_of("%YAML 1.2\n---\nrun: {steps: 3}\n"), "(no error)");  // a directive
  EXPECT_NE(error_of("run:\n  steps: 3\n----\n"), second);
}

TEST(config, overrides_win_and_go_through_the_same_checks) {
  const Config c = parse_config("algorithm:\n  tau: 2\n", "deck.yaml",
                                {"algorithm.tau=8", "run.steps=9", "run.steps=10"}, 1);
  EXPECT_EQ(c.algorithm.tau, 8);
  EXPECT_EQ(c.run.steps, 10);
  EXPECT_EQ(error_of("", {"algorithm.tau=0"}),
            "--set algorithm.tau=0: algorithm.tau: must be an integer >= 1, got '0'");
  EXPECT_EQ(error_of("", {"algorithm.tua=3"}),
            "--set algorithm.tua=3: algorithm.tua: unknown key (did you mean algorithm.tau?)");
  EXPECT_EQ(error_of("", {"novalue"}),
            "--set novalue: expected key=value, e.g. --set algorithm.tau=4");
}

// A message quotes the user's text; whatever bytes that holds, it prints as one line, with no
// escape sequence reaching the terminal.
TEST(config, errors_quote_control_bytes_escaped) {
  EXPECT_EQ(error_of("run:\n  steps: \"a\x1b[31mb\rc\x0b"
                     "d\"\n"),
            "deck.yaml:2: run.steps: must be an integer >= 1, got 'a\\x1b[31mb\\x0dc\\x0bd'");
  using olsgd::RunError;
  EXPECT_EQ(InputError("f", "line\nnext\x7f").what(), std::string("f: line\\x0anext\\x7f"));
  // UTF-8 stays (ζ, €, 😀); C1 controls, a lone continuation byte, a truncated, overlong or
  // surrogate sequence do not.
  EXPECT_EQ(RunError("\xce\xb6 \xe2\x82\xac \xf0\x9f\x98\x80").what(),
            std::string("\xce\xb6 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_EQ(RunError("\xc2\x85|\x85|\xe2\x82|\xc0\xaf|\xed\xa0\x80").what(),
            std::string("\\xc2\\x85|\\x85|\\xe2\\x82|\\xc0\\xaf|\\xed\\xa0\\x80"));
}

TEST(config, errors_name_file_line_and_key) {
  EXPECT_EQ(error_of("run:\n  steps: 10\nalgorithm:\n  tau: 0\n"),
            "deck.yaml:4: algorithm.tau: must be an integer >= 1, got '0'");
  EXPECT_EQ(error_of("optimizer:\n  momentum: 1\n"),
            "deck.yaml:2: optimizer.momentum: must be a number in [0, 1), got '1'");
  EXPECT_EQ(error_of("run:\n  steps: 1.5\n"),
            "deck.yaml:2: run.steps: must be an integer >= 1, got '1.5'");
  EXPECT_EQ(error_of("optimizer:\n  nesterov: yes\n"),
            "deck.yaml:2: optimizer.nesterov: must be true or false, got 'yes'");
  EXPECT_EQ(
      error_of("algorithm:\n  name: adam\n"),
      "deck.yaml:2: algorithm.name: must be one of: minibatch_sgd, accelerated_minibatch_sgd, "
      "local_sgd, overlap_local_sgd, overlap_local_sgd_momentum, slowmo, sketched_sgd, qsgd, "
      "dq_sgd; got 'adam'");
  EXPECT_EQ(error_of("run:\n  steps: 1\n  steps: 2\n"),
            "deck.yaml:3: run.steps: duplicate key (first at deck.yaml:2)");
  EXPECT_EQ(error_of("runn:\n  steps: 1\n"), "deck.yaml:1: runn: unknown section");
  EXPECT_EQ(error_of("run: 5\n"), "deck.yaml:1: run: must be a map of keys");
  EXPECT_EQ(error_of("run:\n  steps:\n"), "deck.yaml:2: run.steps: missing value");
  EXPECT_EQ(error_of("run:\n  steps: [1, 2]\n"),
            "deck.yaml:2: run.steps: must be a single value, not a list or map");
  EXPECT_EQ(error_of("- a\n- b\n"),
            "deck.yaml:1: a deck must be a map of sections (run:, data:, ...)");
  EXPECT_EQ(error_of("run:\n  ? [a, b]\n  : 1\n"),
            "deck.yaml:2: YAML syntax error: bad conversion");
  EXPECT_EQ(error_of("run:\n  steps: [1,\n"),
            "deck.yaml:3: YAML syntax error: end of sequence flow not found");
}

TEST(config, invalid_combinations) {
  EXPECT_EQ(error_of("data:\n  samples: 1000\n", {}, 3),
            "deck.yaml:2: data.samples: 1000 samples do not divide evenly over 3 ranks");
  EXPECT_EQ(
      error_of("", {"data.samples=64", "optimizer.batch=40"}, 2),
      "--set optimizer.batch=40: optimizer.batch: batch 40 exceeds the 32 samples each rank holds");
  EXPECT_EQ(error_of("optimizer:\n  nesterov: true\n"),
            "deck.yaml:2: optimizer.nesterov: needs optimizer.momentum > 0");
  EXPECT_EQ(
      error_of("algorithm:\n  name: overlap_local_sgd_momentum\n"),
      "deck.yaml: algorithm.anchor_momentum: the momentum variant needs algorithm.anchor_momentum "
      "in (0, 1) (use overlap_local_sgd for none)");
  EXPECT_EQ(error_of("straggler:\n  rank: 2\n", {}, 2),
            "deck.yaml:2: straggler.rank: rank 2 does not exist in a run on 2 ranks");
  EXPECT_EQ(error_of("data:\n  min_eig: 2\n  max_eig: 1\n"),
            "deck.yaml:2: data.min_eig: must not exceed data.max_eig (1)");
}

TEST(config, keys_the_algorithm_does_not_read_are_ignored_with_a_warning) {
  const Config c = parse_config("algorithm:\n  tau: 4\n  alpha: 0.5\ncomm:\n  progress_every: 3\n",
                                "deck.yaml", {"algorithm.name=minibatch_sgd"}, 1);
  EXPECT_EQ(c.warnings,
            (std::vector<std::string>{
                "deck.yaml:2: algorithm.tau: not used with algorithm minibatch_sgd (ignored)",
                "deck.yaml:3: algorithm.alpha: not used with algorithm minibatch_sgd (ignored)",
                "deck.yaml:5: comm.progress_every: not used with algorithm minibatch_sgd "
                "(ignored)"}));
  EXPECT_TRUE(
      parse_config("algorithm:\n  name: overlap_local_sgd\n  alpha: 0.5\n", "deck.yaml", {}, 1)
          .warnings.empty());
  const Config data_keys = parse_config(
      "data:\n  kind: fashion_mnist\n  samples: 100\n  dirichlet_beta: 0.3\nmodel:\n  kind: mlp\n",
      "deck.yaml", {"model.kind=logistic", "model.hidden=64"}, 1);
  EXPECT_EQ(
      data_keys.warnings,
      (std::vector<std::string>{
          "deck.yaml:3: data.samples: not used with data.kind fashion_mnist (ignored)",
          "deck.yaml:4: data.dirichlet_beta: not used with data.partition iid (ignored)",
          "--set model.hidden=64: model.hidden: not used with model.kind logistic (ignored)"}));
  EXPECT_EQ(parse_config("algorithm:\n  name: overlap_local_sgd\n  alpha: 1\n", "deck.yaml", {}, 1)
                .warnings,
            (std::vector<std::string>{
                "deck.yaml:3: algorithm.alpha: 1 replaces the model by the one-round-stale anchor "
                "at every sync, so training never leaves x0 (use alpha in (0, 1))"}));
  EXPECT_EQ(data_keys.run.precision, olsgd::Precision::Float32);  // learning models' default
  EXPECT_EQ(data_keys.data.path, olsgd::kFashionMnistPath);
}

TEST(config, values_round_trip_and_help_lists_every_key) {
  const Config c = parse_config("run:\n  steps: 77\n", "deck.yaml", {"optimizer.lr=0.125"}, 1);
  // Keys an algorithm does not read may not be set, so pass on only what differs.
  const auto defaults = olsgd::config_values(Config{});
  std::vector<std::string> sets;
  const auto values = olsgd::config_values(c);
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] != defaults[i]) sets.push_back(values[i].first + "=" + values[i].second);
  EXPECT_EQ(sets.size(), 3u);  // steps, lr, and checkpoint.dir (from run.output_dir)
  const Config again = parse_config("", "again", sets, 1);
  EXPECT_EQ(olsgd::config_values(again), olsgd::config_values(c));
  const std::string help = olsgd::config_help();
  for (const auto& [k, v] : olsgd::config_values(c))
    EXPECT_NE(help.find(k), std::string::npos) << k;
}

TEST(config, missing_file) {
  try {
    olsgd::load_config("/nonexistent/deck.yaml", {}, 1);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/deck.yaml: cannot open the deck (missing or unreadable)");
  }
}

}  // namespace
