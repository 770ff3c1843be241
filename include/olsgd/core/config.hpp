#pragma once
// The input deck as typed values. Every field has a default; a deck names only what it changes.
// Keys are `section.key` (e.g. `algorithm.tau`), in the deck as nested YAML maps and on the
// command line as `--set algorithm.tau=4`; both go through the same checks (deck/deck.hpp
// reads and validates a deck).
#include <olsgd/core/types.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace olsgd {

struct RunConfig {
  std::string name = "olsgd";
  std::uint64_t seed = 1;
  Index steps = 1000;
  // The run's length in epochs instead of steps (0: run.steps). An epoch is steps_per_epoch
  // steps: the training set once over all ranks (core/schedule.hpp).
  Index epochs = 0;
  Index log_every = 100;
  Index eval_every = 0;         // test loss/accuracy every N steps (0: at the end only)
  Index eval_every_epochs = 0;  // ... or every N epochs
  // Derived, not a key: set once the data are read (0 before, and where a run has no samples).
  Index steps_per_epoch = 0;
  // float64 for least squares, float32 for the learning models, unless the deck says.
  Precision precision = Precision::Float64;
  std::string output_dir = "olsgd-out";
  bool progress = true;
};

struct DataConfig {
  std::string kind = "synthetic_least_squares";
  // Files: Fashion-MNIST / CIFAR-10 folder, or a LIBSVM file (kind-specific default).
  std::string path;
  std::string test_path;          // LIBSVM held-out file (optional)
  Index limit = 0;                // use only the first N training samples of a file (0: all)
  std::string partition = "iid";  // iid | contiguous | dirichlet (label skew)
  double dirichlet_beta = 0.5;
  Index samples = 4096;  // synthetic: total over all ranks, split evenly
  Index features = 64;
  double noise = 0.0;     // standard deviation of the label noise
  double min_eig = 0.01;  // feature covariance spectrum, log-spaced in [min_eig, max_eig]
  double max_eig = 1.0;
  // Every rank holds ALL samples and draws the same batches (a homogeneity test setting:
  // with identical seeds the ranks' models must stay identical).
  bool replicate = false;
  // Training images cropped from the image padded by crop_padding black pixels and/or flipped
  // left-right, drawn per sample (data/augment.hpp): none | crop_flip | crop | flip.
  std::string augment = "none";
  Index crop_padding = 4;
  // synthetic_quadratic (docs/algorithms.md §6 Q-HET): per-rank Hessians and the target
  // heterogeneity at the optimum, zeta_*.
  std::string hessians = "split";  // split | shared
  double zeta = 0.0;
};

struct ModelConfig {
  std::string kind = "least_squares";
  std::string hidden = "128";  // mlp: hidden layer widths, comma-separated
  std::string layers;          // cnn: the layers (see model/network_spec.hpp)
  double l2 = 0.0;             // logistic / mlp: L2 regularisation in the objective
};

struct AlgorithmConfig {
  std::string name = "local_sgd";
  Index tau = 1;                 // local steps between syncs (local_sgd, overlap_local_sgd*)
  double alpha = 0.6;            // pull toward the anchor (overlap_local_sgd*)
  double anchor_momentum = 0.0;  // beta_a, the anchor's momentum (overlap_local_sgd_momentum)
  // overlap_local_sgd: how the anchor average travels: none (the models, MPI_Iallreduce) or
  // quantize (QSGD-quantized differences from the anchor at quantize.bits, MPI_Iallgather)
  std::string anchor_compression = "none";
  double slow_lr = 1.0;                   // slowmo: alpha, the slow (outer) learning rate
  double slow_momentum = 0.5;             // slowmo: beta, the slow momentum
  std::string slowmo_buffers = "keep";    // slowmo: local momentum after a sync: keep | reset
  std::string slowmo_base = "local_sgd";  // slowmo: local_sgd | overlap_local_sgd
  Index slowmo_period = 0;  // slowmo: steps between outer updates, a multiple of tau (0: tau)
  Index fragments = 1;      // overlap_local_sgd*: the state synced in F staggered fragments
  // overlap_local_sgd*: local steps per round (algo/local_steps.hpp): fixed (tau) | timed
  std::string local_steps = "fixed";
  double round_budget_s = 0;             // timed: compute seconds per round (0: measured)
  std::string step_weighting = "steps";  // timed: a part's weight: steps | equal | inverse
  std::string replay_steps;              // timed: follow the counts of this syncs.csv
  // overlap_local_sgd*: two levels (docs/algorithms.md §2f): none, node (the ranks sharing a
  // node) or k (groups of k consecutive ranks); the group averages its models every tau steps
  std::string group_size = "none";
  Index group_rounds = 1;  // two levels: H, inner rounds of tau steps per cross-group average
};

// Sketched SGD (docs/algorithms.md §4): a rows x cols count sketch, top-k of P*k candidates.
struct SketchConfig {
  Index rows = 5;
  Index cols = 1000;
  Index k = 100;               // coordinates updated per step
  Index candidates = 4;        // P: a second round fetches exact values of P*k candidates (0: none)
  bool error_feedback = true;  // false: the error accumulator restarts every step
};

// QSGD (fixed levels) and DQ-SGD (levels chosen every step), docs/algorithms.md §5.
struct QuantizeConfig {
  Index bits = 4;        // qsgd, quantized anchor: s = 2^bits - 1 levels
  Index min_levels = 1;  // dq_sgd: s_t in [min_levels, max_levels]
  Index max_levels = 255;
  double target_error = 0.01;     // dq_sgd: eps_q, the quantization share of the error bound
  double smoothness = 1.0;        // dq_sgd: L
  double strong_convexity = 0.0;  // dq_sgd: mu; the bound discounts step t by (1 - lr mu)^(T-1-t)
};

// Communication: progress of non-blocking collectives, and an injected network model.
struct CommConfig {
  Index progress_every = 1;  // MPI_Test every N local steps while a request is in flight; 0: never
  // A helper thread drives in-flight requests as well (MPI_Test once per step stalls when a
  // peer is descheduled: perf/overlap_stability); MPI_Test alone without MPI_THREAD_MULTIPLE.
  bool progress_thread = true;
  // Injected delay of every algorithm collective: delay_s + latency_s + bytes / bandwidth_Bps
  // (bandwidth 0 = infinite). A request completes no earlier than its start plus this.
  double delay_s = 0.0;
  double latency_s = 0.0;
  double bandwidth_Bps = 0.0;
  // Two levels (algorithm.group_size): the comm.* model above is the network between groups;
  // these inject the one inside a group (default: none).
  double group_delay_s = 0.0;
  double group_latency_s = 0.0;
  double group_bandwidth_Bps = 0.0;
  // A collective that has not completed after this many seconds ends the job with a message
  // naming the ranks that did not arrive (0: wait forever).
  double timeout_s = 0.0;
};

// HDF5 checkpoints (io/checkpoint.hpp) and restart.
struct CheckpointConfig {
  Index every = 0;          // checkpoint every N steps (0: only on SIGTERM / SIGUSR1)
  Index every_epochs = 0;   // ... or every N epochs
  std::string dir;          // default: <run.output_dir>/checkpoints
  Index keep_last = 2;      // complete checkpoints kept
  std::string restart;      // "" (fresh start), "latest" (newest in dir) or a checkpoint file
  Index signal_every = 10;  // steps between the ranks' collective checks for a stop signal
};

// Slow compute on some ranks: every step's compute time is stretched by a factor.
struct StragglerConfig {
  Index rank = -1;  // this rank is always slowed by `factor` (-1: none)
  double factor = 1.0;
  double random_prob = 0.0;  // each rank and step is slowed by random_factor with this chance
  double random_factor = 1.0;
};

// The step size and its schedule (core/schedule.hpp): lr, scaled by the global batch when
// base_batch > 0, warmed up linearly over `warmup`, then constant, decayed by `decay` at each of
// `milestones`, or along a cosine to 0; warmup and milestones in `schedule_unit`s.
struct OptimizerConfig {
  double lr = 0.1;
  Index batch = 32;  // samples per rank per step
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  Index base_batch = 0;  // linear scaling rule: lr x ranks x batch / base_batch (0: lr as given)
  std::string schedule = "constant";    // constant | step | cosine
  std::string schedule_unit = "steps";  // steps | epochs
  double warmup = 0;                    // length of the linear warm-up
  double warmup_start = 0;              // the warm-up's first step size, as a fraction of lr
  std::string milestones;               // step: where lr is multiplied by decay, e.g. 150,250
  double decay = 0.1;
};

struct Config {
  std::string source;  // where the deck came from (file path), for messages
  RunConfig run;
  DataConfig data;
  ModelConfig model;
  AlgorithmConfig algorithm;
  SketchConfig sketch;
  QuantizeConfig quantize;
  OptimizerConfig optimizer;
  CommConfig comm;
  StragglerConfig straggler;
  CheckpointConfig checkpoint;
  // Harmless oddities found while parsing (e.g. a key the chosen algorithm does not read,
  // as when a deck is rerun with --set algorithm.name=...): "where: key: message" lines.
  std::vector<std::string> warnings;
};

// Sets key `key` from its deck text (range and type checked); returns an error message, empty
// on success ("unknown key (did you mean ...?)" for a key not in the schema).
std::string set_config_key(Config& config, const std::string& key, const std::string& text);
bool is_config_key(const std::string& key);
// "unknown key", with the nearest key when one is close ("(did you mean run.steps?)").
std::string unknown_key_message(const std::string& key);
// Whether `name` is a deck section (the part of some key before its dot).
bool is_config_section(const std::string& name);

// Every key with its effective value, in schema order (for run summaries).
std::vector<std::pair<std::string, std::string>> config_values(const Config& config);

struct KeyHelp {
  std::string key, default_value, help;
};
// Every key with its default and meaning, in schema order (for --help).
std::vector<KeyHelp> config_keys();

// What the checks of an algorithm's or a model's registration report through.
struct DeckCheck {
  // A problem with `key`: an InputError at the line that set it (the deck's name if unset).
  std::function<void(const std::string& key, const std::string& message)> fail;
  // A warning about `key`, kept only when the deck or --set named it.
  std::function<void(const std::string& key, const std::string& message)> warn;
  std::function<bool(const std::string& key)> was_set;
  int ranks = 1;  // the run's rank count
  // fail(key, message) unless `ok`.
  void require(bool ok, const std::string& key, const std::string& message) const {
    if (!ok) fail(key, message);
  }
};

// The keys some of `entries` (registrations with keys(Config)) read under `config` but `chosen`
// does not, in schema order: what the registries call ignored keys.
template <class Entry>
std::vector<std::string> unread_keys(const Config& config, const std::vector<const Entry*>& entries,
                                     const Entry& chosen) {
  const std::vector<std::string> reads = chosen.keys(config);
  std::vector<std::string> out;
  for (const KeyHelp& k : config_keys()) {
    bool someone = false;
    for (const Entry* e : entries) {
      const std::vector<std::string> keys = e->keys(config);
      someone = someone || std::find(keys.begin(), keys.end(), k.key) != keys.end();
    }
    if (someone && std::find(reads.begin(), reads.end(), k.key) == reads.end())
      out.push_back(k.key);
  }
  return out;
}

// Shortest decimal text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string format_double(double v);

const char* precision_name(Precision p);

// The whole of `text` as a decimal integer (an optional '-', digits, nothing else, in range).
bool parse_int(const std::string& text, std::int64_t& out);

// "256,128" -> {256, 128}; "" -> {} (no hidden layer). Throws std::invalid_argument.
std::vector<Index> parse_widths(const std::string& text);

// Where Debian's dataset-fashion-mnist package puts the gzip-compressed IDX files.
inline constexpr const char* kFashionMnistPath = "/usr/share/datasets/fashion-mnist";

}  // namespace olsgd
