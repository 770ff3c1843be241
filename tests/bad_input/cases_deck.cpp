// Bad-input cases: the deck file, --set values and the command line.
#include <gtest/gtest.h>

#include "bad_input.hpp"

namespace olsgd::bad_input {
namespace {

// A deck argument for a file holding `text`.
Case::Prepare deck_text(std::string text) {
  return [text](const fs::path& dir) {
    write_file(dir / "deck.yaml", text);
    return (dir / "deck.yaml").string();
  };
}

// The tiny run with extra arguments.
Case::Prepare tiny(std::string extra) {
  return [extra](const fs::path& dir) { return tiny_run(dir) + " " + extra; };
}

// The tiny run as Overlap with timed rounds of 4 (10 rounds), and `extra`.
Case::Prepare timed(std::string extra) {
  return tiny(
      "--set algorithm.name=overlap_local_sgd --set algorithm.tau=4 "
      "--set algorithm.local_steps=timed " +
      extra);
}

// The tiny run as two-level Overlap (groups of one rank, tau 4), and `extra`.
Case::Prepare groups(std::string extra) {
  return tiny(
      "--set algorithm.name=overlap_local_sgd --set algorithm.tau=4 "
      "--set algorithm.group_size=1 " +
      extra);
}

// The memory a refusal names: the GPU on a device build (its free memory), else the node's.
#if OLSGD_DEVICE_BUILD
constexpr const char* kMemoryPool = "GPU [0-9]+";
#else
constexpr const char* kMemoryPool = "this node";
#endif

// The timed tiny run replaying a syncs.csv holding `text` (none: a path that does not exist).
const std::string kSyncsHeader =
    "sync,step,t_compute,t_exposed,t_wait,t_peer,t_network,delay,hidden_frac,levels,local_steps\n";
const std::string kSyncsCells = "0.1,0,0,0,0.01,0,nan,nan";
Case::Prepare replay(const char* text) {
  const bool exists = text != nullptr;
  const std::string body = exists ? text : "";
  return [exists, body](const fs::path& dir) {
    const fs::path file = dir / (exists ? "syncs.csv" : "nope.csv");
    if (exists) write_file(file, body);
    return timed("--set algorithm.replay_steps=" + file.string())(dir);
  };
}
Case::Prepare replay(const std::string& text) {
  return replay(text.c_str());
}

// The logistic Fashion-MNIST deck checked with `sets`.
Case::Prepare network(std::string sets) {
  return [sets](const fs::path&) { return inputs("logistic_fashion.yaml") + " --check " + sets; };
}

}  // namespace

std::vector<Case> deck_cases() {
  return {
      {"unknown_option", tiny("--frob"), "unknown option '--frob'"},
      {"set_out_of_range", tiny("--set algorithm.tau=-3"),
       "algorithm.tau: must be an integer >= 1, got '-3'", 2, 2},
      {"deck_missing", [](const fs::path& dir) { return (dir / "nope.yaml").string(); },
       "nope.yaml: cannot open the deck"},
      {"deck_is_a_folder", [](const fs::path& dir) { return dir.string(); },
       "is a folder, not a deck", 2, 2},
      {"deck_is_a_device", [](const fs::path&) { return std::string("/dev/zero"); },
       "/dev/zero: not a regular file"},
      {"deck_is_empty", deck_text(""), "deck.yaml: the deck sets nothing"},
      {"deck_is_only_comments", deck_text("# run:\n#   steps: 3\n\n"),
       "deck.yaml: the deck sets nothing"},
      {"deck_has_a_second_document", deck_text("run:\n  steps: 30\n---\nalgorithm:\n  tau: 2\n"),
       "deck.yaml:3: a second YAML document"},
      {"deck_is_huge", deck_text(std::string(2 << 20, '#')), "larger than 1024 KiB: not a deck"},
      {"deck_is_binary",
       deck_text(std::string("\x7f"
                             "ELF\x02\x01\x01\0\0\0",
                             10)),
       "deck.yaml:1: YAML syntax error: "},
      // The deck's bytes are quoted escaped: no escape sequence or carriage return reaches the
      // terminal.
      {"deck_key_has_an_escape_sequence", deck_text("run:\n  ste\x1b[2Jps: 3\n"),
       "deck.yaml:2: run.ste\\\\x1b\\[2Jps: unknown key"},
      {"deck_value_has_a_carriage_return", deck_text("run:\n  steps: \"3\\r0\"\n"),
       "deck.yaml:2: run.steps: must be an integer >= 1, got '3\\\\x0d0'"},
      {"kokkos_option_not_a_number", tiny("--kokkos-threads=abc"),
       "Kokkos refused its options \\(--kokkos-threads=abc\\)", 2, 2},
      {"learning_rate_infinite", tiny("--set optimizer.lr=inf"),
       "optimizer.lr: must be a finite number > 0, got 'inf'"},
      {"yaml_infinity", tiny("--set data.noise=.inf"),
       "data.noise: must be a finite number >= 0, got '.inf'"},
      {"delay_absurd", tiny("--set comm.delay_s=1e10"),
       "comm.delay_s: must be a number in \\[0, 3600\\], got '1e10'"},
      {"latency_absurd", tiny("--set comm.latency_s=1e300"),
       "comm.latency_s: must be a number in \\[0, 3600\\]"},
      {"timeout_infinite", tiny("--set comm.timeout_s=.inf"),
       "comm.timeout_s: must be a number in \\[0, 1000000\\]"},
      {"bandwidth_below_one_byte", tiny("--set comm.bandwidth_Bps=1e-300"),
       "comm.bandwidth_Bps: must be 0 \\(no limit\\) or at least 1 byte/s"},
      {"bandwidth_makes_a_collective_take_hours",
       tiny("--set data.features=4096 --set comm.bandwidth_Bps=1"),
       "comm.bandwidth_Bps: the injected network makes one collective of the model's 32768 bytes "
       "take 32768.0+ s",
       2, 2},
      {"straggler_absurd", tiny("--set straggler.rank=0 --set straggler.factor=1e9"),
       "straggler.factor: must be a number in \\[1, 1000000\\]"},
      // Far beyond any node's memory (10^10 parameters; 40 TB of samples): refused before
      // allocating, by --check as well as by the run. A device build refuses it for its GPU's
      // free memory, before the node's.
      {"model_beyond_memory_check",
       [](const fs::path&) {
         return inputs("quickstart.yaml") + " --set model.hidden=100000,100000 --check";
       },
       "each rank needs about [0-9.]+ GiB \\(10.08 G parameters: .* is available to each of the 2 "
       "ranks on " +
           std::string(kMemoryPool),
       2, 2},
      {"model_beyond_memory_run",
       [](const fs::path& dir) {
         return inputs("quickstart.yaml") +
                " --set model.hidden=100000,100000 --set "
                "run.output_dir=" +
                (dir / "out").string();
       },
       "each rank needs about [0-9.]+ GiB", 2, 0,
       [](const fs::path& dir, const Result&) { EXPECT_FALSE(fs::exists(dir / "out")); }},
      {"data_beyond_memory", tiny("--set data.samples=10000000000"),
       "each rank needs about [0-9.]+ GiB \\(16 parameters: .*data [0-9.]+ GiB"},
      // Networks: names, specs that do not parse or do not fit the data, a batch whose
      // activations cannot fit; all refused by --check, naming the key.
      {"network_unknown_kind", network("--set model.kind=resnet50"),
       "model.kind: must be one of: .*lenet5, resnet20, resnet18, cnn; got 'resnet50'"},
      {"network_without_layers", network("--set model.kind=cnn"),
       "model.layers: model cnn needs its layers"},
      {"network_window_does_not_divide",
       network("--set model.kind=cnn --set 'model.layers=maxpool 3'"),
       "model.layers: layer 'maxpool 3': a window of 3 does not divide the 1x28x28 input"},
      {"network_kernel_does_not_fit",
       network("--set model.kind=cnn --set 'model.layers=conv 4 k=3 s=2, conv 4 k=17'"),
       "model.layers: layer 'conv 4 k=17': a 17x17 kernel does not fit the 4x13x13 input"},
      {"network_stride_not_a_number",
       network("--set model.kind=cnn --set 'model.layers=conv 4 k=3 s=two'"),
       "model.layers: layer 'conv 4 k=3 s=two': stride 'two' is not a whole number"},
      {"network_unknown_layer",
       network("--set model.kind=cnn --set 'model.layers=conv 4 k=3, softmax'"),
       "model.layers: layer 'softmax': unknown layer 'softmax'"},
      {"network_on_regression_data",
       [](const fs::path&) {
         return inputs("least_squares.yaml") + " --set model.kind=lenet5 --check";
       },
       "model.kind: model lenet5 cannot train on data.kind synthetic_least_squares"},
      {"network_on_sparse_data",
       [](const fs::path&) {
         return inputs("logistic_libsvm.yaml") + " --set model.kind=resnet20 --check";
       },
       "model.kind: resnet20 needs dense features; libsvm data are sparse"},
      {"network_batch_beyond_memory",
       network("--set model.kind=resnet18 --set optimizer.batch=200000"),
       "optimizer.batch: each rank needs about [0-9.]+ GiB .*the activations of one batch take "
       "[0-9.]+ GiB: lower optimizer.batch"},
      {"signal_every_beyond_the_run", tiny("--set checkpoint.signal_every=20"),
       "checkpoint.signal_every: 20 leaves fewer than two checks in run.steps \\(40\\)"},
      // Epochs and learning-rate schedules: refused at the deck where the units agree, once the
      // data are read where they do not (an epoch's steps depend on the data).
      {"epochs_and_steps_in_one_deck", deck_text("run:\n  steps: 30\n  epochs: 2\n"),
       "deck.yaml:3: run.epochs: set together with run.steps; give one of them"},
      {"eval_in_steps_and_epochs", tiny("--set run.eval_every=10 --set run.eval_every_epochs=1"),
       "run.eval_every_epochs: set together with run.eval_every; give one of them"},
      {"milestones_out_of_order",
       tiny("--set optimizer.schedule=step --set optimizer.milestones=20,10"),
       "optimizer.milestones: must be positive and increasing, got '20,10'"},
      {"milestones_not_numbers",
       tiny("--set optimizer.schedule=step --set optimizer.milestones=10,later"),
       "optimizer.milestones: must be comma-separated numbers \\(e.g. 150,250\\), got '10,later'"},
      {"milestone_beyond_the_run",
       tiny("--set optimizer.schedule=step --set optimizer.milestones=10,40"),
       "optimizer.milestones: 40 steps is not inside the run's 40 steps"},
      {"step_schedule_without_milestones", tiny("--set optimizer.schedule=step"),
       "optimizer.milestones: the step schedule needs at least one"},
      {"warmup_as_long_as_the_run", tiny("--set optimizer.warmup=40"),
       "optimizer.warmup: 40 steps is not shorter than the run's 40 steps"},
      // The deck is stored in every checkpoint as key: value lines: a newline would forge one.
      {"run_name_has_a_newline", deck_text("run:\n  name: \"trial 3\\nrun.seed: 7\"\n"),
       "deck.yaml:2: run.name: must not hold a control character \\(a newline, a tab, "
       "\\.\\.\\.\\); got 'trial 3\\\\x0arun.seed: 7'"},
      {"epochs_overflow_the_step_count",
       [](const fs::path& dir) {
         write_file(dir / "deck.yaml",
                    "run: {epochs: 9223372036854775807}\n"
                    "data: {kind: fashion_mnist, limit: 512}\nmodel: {kind: logistic}\n");
         return (dir / "deck.yaml").string() + " --set run.output_dir=" + (dir / "out").string();
       },
       "run.epochs: 9223372036854775807 epochs of [0-9]+ steps is more steps than a run counts"},
      {"slowmo_divides_by_a_zero_lr",
       tiny("--set algorithm.name=slowmo --set algorithm.tau=1 --set optimizer.warmup=10"),
       "optimizer.warmup_start: 0 makes the learning rate of step 1 zero, and SlowMo's first "
       "outer step there divides by it; set optimizer.warmup_start above 0 \\(e.g. 0.1\\) or "
       "algorithm.tau above 1"},
      {"anchor_momentum_divides_by_a_zero_lr",
       tiny("--set algorithm.name=overlap_local_sgd_momentum --set algorithm.anchor_momentum=0.5 "
            "--set algorithm.tau=4 --set algorithm.fragments=4 --set optimizer.warmup=10"),
       "optimizer.warmup_start: 0 makes the learning rate of step 1 zero, and the anchor "
       "momentum's first sync there divides by it; set optimizer.warmup_start above 0 "
       "\\(e.g. 0.1\\) or algorithm.tau / algorithm.fragments above 1"},
      {"warmup_longer_than_the_epochs",
       [](const fs::path& dir) {
         return inputs("least_squares.yaml") +
                " --set run.epochs=2 --set optimizer.schedule_unit=epochs --set optimizer.warmup=3"
                " --set run.output_dir=" +
                (dir / "out").string();
       },
       "optimizer.warmup: 3 epochs is not shorter than the run's 2 epochs"},
      // 40 steps of 32 of 512 samples (one rank) are 2.5 epochs: known once the data are read.
      {"milestone_in_epochs_beyond_the_steps",
       tiny("--set optimizer.batch=32 --set optimizer.schedule=step "
            "--set optimizer.schedule_unit=epochs --set optimizer.milestones=2,3"),
       "least_squares.yaml: optimizer.milestones: 3 epochs is not inside the run's 2.5 epochs", 2,
       0, [](const fs::path& dir, const Result&) { EXPECT_FALSE(fs::exists(dir / "out")); }},
      {"augment_without_images", tiny("--set data.augment=flip"),
       "data.augment: flip needs images \\(fashion_mnist, cifar10\\); data.kind "
       "synthetic_least_squares has none"},
      {"epochs_without_samples",
       [](const fs::path& dir) {
         return inputs("heterogeneous_quadratic.yaml") +
                " --set run.epochs=2 --set run.output_dir=" + (dir / "out").string();
       },
       "run.epochs: data.kind synthetic_quadratic has no samples to count epochs in"},
      // Fragments: a schedule they do not fit, or more of them than parameters.
      {"fragments_do_not_divide_tau",
       tiny("--set algorithm.name=overlap_local_sgd --set algorithm.tau=8 "
            "--set algorithm.fragments=3"),
       "algorithm.fragments: 3 fragments do not divide algorithm.tau = 8"},
      {"fragments_with_timed_rounds", timed("--set algorithm.fragments=2"),
       "algorithm.fragments: fragments and timed rounds do not combine"},
      {"fragments_beyond_the_parameters",
       tiny("--set algorithm.name=overlap_local_sgd --set algorithm.tau=20 "
            "--set algorithm.fragments=20"),
       "algorithm.fragments: 20 fragments of a model with 16 parameters"},
      // Two levels: groups that do not tile the ranks, H < 1, what they do not combine with, and
      // a network inside the groups that no job could wait for.
      {"group_size_not_dividing_the_ranks", groups("--set algorithm.group_size=3"),
       "algorithm.group_size: 3 ranks per group do not divide the 2 ranks of the run", 2, 2},
      {"local_sgd_groups_not_dividing_the_ranks",
       tiny("--set algorithm.name=local_sgd --set algorithm.group_size=4"),
       "algorithm.group_size: 4 ranks per group do not divide the 2 ranks of the run", 2, 2},
      {"group_size_not_a_number", groups("--set algorithm.group_size=two"),
       "algorithm.group_size: must be none, node or a number of ranks per group \\(at least "
       "1\\), got 'two'"},
      {"group_size_zero", groups("--set algorithm.group_size=0"),
       "algorithm.group_size: must be none, node or a number of ranks per group"},
      {"group_rounds_below_one", groups("--set algorithm.group_rounds=0"),
       "algorithm.group_rounds: must be an integer >= 1, got '0'"},
      {"groups_with_fragments", groups("--set algorithm.fragments=2"),
       "algorithm.fragments: a fragmented sync and two levels \\(algorithm.group_size 1\\) do "
       "not combine"},
      {"groups_with_timed_rounds", timed("--set algorithm.group_size=1"),
       "algorithm.local_steps: timed rounds and two levels \\(algorithm.group_size 1\\) do not "
       "combine"},
      {"groups_with_a_quantized_anchor", groups("--set algorithm.anchor_compression=quantize"),
       "algorithm.anchor_compression: the quantize anchor exchange and two levels"},
      {"group_bandwidth_below_one_byte", groups("--set comm.group_bandwidth_Bps=0.5"),
       "comm.group_bandwidth_Bps: must be 0 \\(no limit\\) or at least 1 byte/s, got 0.5"},
      {"group_network_beyond_two_hours",
       groups("--set comm.group_delay_s=3600 --set comm.group_latency_s=3600 "
              "--set comm.group_bandwidth_Bps=1"),
       "comm.group_bandwidth_Bps: the injected network makes one collective of the model's "
       "[0-9]+ bytes take"},
      // Timed rounds: the combinations they cannot take, and replay records that do not fit.
      {"timed_rounds_do_not_divide_the_run", timed("--set algorithm.tau=3"),
       "run.steps: 40 steps is not a whole number of rounds of algorithm.tau = 3"},
      {"timed_rounds_with_a_quantized_anchor", timed("--set algorithm.anchor_compression=quantize"),
       "algorithm.local_steps: timed rounds weigh each rank's model in the average, which the "
       "quantize anchor exchange does not do"},
      {"replay_missing", replay(nullptr), "nope.csv: cannot read the local steps to replay"},
      {"replay_empty", replay(""), "syncs.csv: empty file: not a syncs.csv"},
      {"replay_not_a_syncs_file", replay("sync,when\n1,8\n"),
       "syncs.csv:1: no column 'step': not the syncs.csv of an olsgd run"},
      {"replay_of_a_fixed_run", replay(kSyncsHeader + "1,4," + kSyncsCells + ",\n"),
       "syncs.csv:2: no local steps: not the syncs.csv of a timed run"},
      {"replay_truncated", replay(kSyncsHeader + "1,4," + kSyncsCells + ",4\n2,8,0.1,0"),
       "syncs.csv:3: 4 cells, the header has 11 \\(a truncated file\\?\\)"},
      {"replay_count_beyond_tau", replay(kSyncsHeader + "1,4," + kSyncsCells + ",5\n"),
       "syncs.csv:2: local step count '5' is not in \\[1, tau = 4\\]"},
      {"replay_count_not_a_number", replay(kSyncsHeader + "1,4," + kSyncsCells + ",-1e300\n"),
       "syncs.csv:2: local step count '-1e300' is not in \\[1, tau = 4\\]"},
      {"replay_from_another_rank_count", replay(kSyncsHeader + "1,4," + kSyncsCells + ",4;2\n"),
       "syncs.csv:2: 2 local step counts for a run on 1 rank"},
      {"replay_at_another_tau", replay(kSyncsHeader + "1,6," + kSyncsCells + ",4\n"),
       "syncs.csv:2: step '6' is not a round's end at tau 4"},
      {"replay_shorter_than_the_run", replay(kSyncsHeader + "1,4," + kSyncsCells + ",4\n"),
       "syncs.csv: no local steps recorded for the round ending at step 8 \\(the record covers 1 "
       "of the run's 10 rounds\\)"},
      {"replay_binary",
       replay("\x7f"
              "ELF\x02\x01\x01\n\x00\x00"),
       "syncs.csv:1: no column 'step'"},
  };
}

}  // namespace olsgd::bad_input
