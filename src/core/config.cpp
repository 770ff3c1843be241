// The deck's vocabulary: one table (kFields) defines every key, its type, range, default (the
// Config member initialiser) and help text, so parsing, `--set`, `--help`, checkpoints and the
// run summary can never disagree. Reading a deck and the checks across keys are the deck
// layer's (deck/deck.hpp), which knows the algorithms and models.
#include <olsgd/core/config.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace olsgd {

bool parse_int(const std::string& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

namespace {

// Longest injected delay or latency per collective, seconds.
constexpr double kMaxInjectedSeconds = 3600;
struct Field {
  const char* key;
  const char* help;
  // Parses `text` into the config; returns an error message, empty on success.
  std::function<std::string(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
};

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(out);
}

// Field makers. `Access` is a captureless lambda Config& -> member&.
template <class Access>
Field integer(const char* key, Access access, std::int64_t lo, std::int64_t hi, const char* help) {
  return {key, help,
          [=](Config& c, const std::string& t) -> std::string {
            std::int64_t v = 0;
            if (!parse_int(t, v) || v < lo || v > hi) {
              std::string range =
                  hi == INT64_MAX ? ">= " + std::to_string(lo)
                                  : "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
              return "must be an integer " + range + ", got " + quoted(t);
            }
            access(c) = static_cast<std::remove_reference_t<decltype(access(c))>>(v);
            return {};
          },
          [=](const Config& c) { return std::to_string(access(const_cast<Config&>(c))); }};
}

// A real number in the interval lo..hi; `lo_open`/`hi_open` exclude the end points.
template <class Access>
Field real(const char* key, Access access, double lo, bool lo_open, double hi, bool hi_open,
           const char* help) {
  return {key, help,
          [=](Config& c, const std::string& t) -> std::string {
            double v = 0;
            bool ok =
                parse_double(t, v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
            if (!ok) {
              // Infinity is never accepted, so an unbounded range reads "> 0", not "(0, inf]".
              if (std::isinf(hi))
                return "must be a finite number " + std::string(lo_open ? "> " : ">= ") +
                       format_double(lo) + ", got " + quoted(t);
              const std::string range = std::string(lo_open ? "(" : "[") + format_double(lo) +
                                        ", " + format_double(hi) + (hi_open ? ")" : "]");
              return "must be a number in " + range + ", got " + quoted(t);
            }
            access(c) = v;
            return {};
          },
          [=](const Config& c) { return format_double(access(const_cast<Config&>(c))); }};
}

template <class Access>
Field boolean(const char* key, Access access, const char* help) {
  return {key, help,
          [=](Config& c, const std::string& t) -> std::string {
            if (t == "true")
              access(c) = true;
            else if (t == "false")
              access(c) = false;
            else
              return "must be true or false, got " + quoted(t);
            return {};
          },
          [=](const Config& c) {
            return std::string(access(const_cast<Config&>(c)) ? "true" : "false");
          }};
}

// A string; when `choices` is non-empty it must be one of them.
template <class Access>
Field text(const char* key, Access access, std::vector<std::string> choices, const char* help) {
  return {key, help,
          [=](Config& c, const std::string& t) -> std::string {
            if (t.empty()) return "must not be empty";
            // Checkpoints keep the deck as "key: value" lines: a newline would forge a key.
            for (unsigned char ch : t)
              if (ch < 0x20 || ch == 0x7f)
                return "must not hold a control character (a newline, a tab, ...); got " +
                       quoted(t);
            if (!choices.empty() && std::find(choices.begin(), choices.end(), t) == choices.end()) {
              std::string list;
              for (const auto& s : choices) list += (list.empty() ? "" : ", ") + s;
              return "must be one of: " + list + "; got " + quoted(t);
            }
            access(c) = t;
            return {};
          },
          [=](const Config& c) { return access(const_cast<Config&>(c)); }};
}

#define OLSGD_KEY(path)            \
#path, [](Config & c) -> auto& { \
    return c.path;                 \
  }

const std::vector<Field>& fields() {
  static const std::vector<Field> kFields = {
      text(OLSGD_KEY(run.name), {}, "name of the run, recorded in the outputs"),
      integer(OLSGD_KEY(run.seed), 0, INT64_MAX, "seed of every random stream"),
      integer(OLSGD_KEY(run.steps), 1, INT64_MAX, "training steps per rank"),
      integer(OLSGD_KEY(run.epochs), 0, INT64_MAX,
              "run length in epochs instead of run.steps (0: run.steps)"),
      integer(OLSGD_KEY(run.log_every), 1, INT64_MAX, "metrics row every N steps (and the last)"),
      integer(OLSGD_KEY(run.eval_every), 0, INT64_MAX,
              "test loss/accuracy every N steps (0: at the end)"),
      integer(OLSGD_KEY(run.eval_every_epochs), 0, INT64_MAX,
              "test loss/accuracy every N epochs instead (0: run.eval_every)"),
      {"run.precision", "float32 or float64 (parameters, data, communication)",
       [](Config& c, const std::string& t) -> std::string {
         if (t == "float32")
           c.run.precision = Precision::Float32;
         else if (t == "float64")
           c.run.precision = Precision::Float64;
         else
           return "must be one of: float32, float64; got " + quoted(t);
         return {};
       },
       [](const Config& c) { return std::string(precision_name(c.run.precision)); }},
      text(OLSGD_KEY(run.output_dir), {}, "folder for metrics.csv and summary.json"),
      boolean(OLSGD_KEY(run.progress), "progress line on stderr (rank 0)"),
      text(OLSGD_KEY(data.kind),
           {"synthetic_least_squares", "synthetic_quadratic", "fashion_mnist", "libsvm", "cifar10"},
           "dataset"),
      text(OLSGD_KEY(data.path), {}, "data folder (fashion_mnist, cifar10) or file (libsvm)"),
      text(OLSGD_KEY(data.test_path), {}, "libsvm: held-out file"),
      integer(OLSGD_KEY(data.limit), 0, INT64_MAX, "files: first N training samples (0: all)"),
      text(OLSGD_KEY(data.partition), {"iid", "contiguous", "dirichlet"},
           "split over ranks: shuffled, in file order, or label skew"),
      real(OLSGD_KEY(data.dirichlet_beta), 0, true, INFINITY, false,
           "label-skew concentration (small: skewed)"),
      integer(OLSGD_KEY(data.samples), 1, INT64_MAX, "samples over all ranks, split evenly"),
      integer(OLSGD_KEY(data.features), 1, 1 << 24, "features per sample (= parameters)"),
      real(OLSGD_KEY(data.noise), 0, false, INFINITY, false, "label noise standard deviation"),
      real(OLSGD_KEY(data.min_eig), 0, true, INFINITY, false, "smallest feature variance"),
      real(OLSGD_KEY(data.max_eig), 0, true, INFINITY, false, "largest feature variance"),
      text(OLSGD_KEY(data.hessians), {"split", "shared"},
           "synthetic_quadratic: per-rank stiff coordinates, or one spectrum for all"),
      real(OLSGD_KEY(data.zeta), 0, false, INFINITY, false,
           "synthetic_quadratic: heterogeneity at the optimum, zeta_*"),
      boolean(OLSGD_KEY(data.replicate), "every rank holds all samples and draws the same batches"),
      text(OLSGD_KEY(data.augment), {"none", "crop_flip", "crop", "flip"},
           "training images: random crop of the padded image and/or left-right flip"),
      integer(OLSGD_KEY(data.crop_padding), 1, 16, "crop: black pixels added on every side"),
      text(OLSGD_KEY(model.kind), {}, "model and loss (listed below)"),
      text(OLSGD_KEY(model.hidden), {}, "mlp: hidden widths, e.g. 256,128"),
      text(OLSGD_KEY(model.layers), {},
           "cnn: layers, e.g. conv 8 k=3 p=1, bn, relu, maxpool 2, dense 64, relu"),
      real(OLSGD_KEY(model.l2), 0, false, INFINITY, false,
           "logistic and networks: L2 regularisation of the weights"),
      // The names come from the algorithm and model registries (the deck layer checks them).
      text(OLSGD_KEY(algorithm.name), {}, "training algorithm (listed below)"),
      integer(OLSGD_KEY(algorithm.tau), 1, INT64_MAX, "local steps between syncs"),
      real(OLSGD_KEY(algorithm.alpha), 0, false, 1, false, "overlap: pull toward the anchor"),
      real(OLSGD_KEY(algorithm.anchor_momentum), 0, false, 1, true,
           "overlap momentum variant: anchor momentum beta_a"),
      text(OLSGD_KEY(algorithm.anchor_compression), {},
           "overlap_local_sgd: how the anchor average travels (listed below)"),
      real(OLSGD_KEY(algorithm.slow_lr), 0, true, INFINITY, false,
           "slowmo: slow learning rate alpha"),
      real(OLSGD_KEY(algorithm.slow_momentum), 0, false, 1, true, "slowmo: slow momentum beta"),
      text(OLSGD_KEY(algorithm.slowmo_buffers), {"keep", "reset"},
           "slowmo: local momentum buffers after each sync"),
      text(OLSGD_KEY(algorithm.slowmo_base), {"local_sgd", "overlap_local_sgd"},
           "slowmo: base optimizer between outer updates"),
      integer(OLSGD_KEY(algorithm.slowmo_period), 0, INT64_MAX,
              "slowmo: steps between outer updates, a multiple of tau (0: tau)"),
      integer(OLSGD_KEY(algorithm.fragments), 1, 1 << 20,
              "overlap: sync the state in F fragments, one every tau/F steps (F divides tau)"),
      text(OLSGD_KEY(algorithm.local_steps), {"fixed", "timed"},
           "overlap: tau local steps per round, or as many as fit algorithm.round_budget_s"),
      real(OLSGD_KEY(algorithm.round_budget_s), 0, false, 1e6, false,
           "timed: compute seconds per round (0: tau x the fastest rank's step, measured)"),
      text(OLSGD_KEY(algorithm.step_weighting), {"steps", "equal", "inverse"},
           "timed: weight of a rank's model in the average: its steps, 1, or 1/steps"),
      text(OLSGD_KEY(algorithm.replay_steps), {},
           "timed: replay the local step counts of this syncs.csv (bitwise rerun)"),
      text(OLSGD_KEY(algorithm.group_size), {},
           "overlap: two levels: none, node (ranks sharing a node) or k (k consecutive ranks)"),
      integer(OLSGD_KEY(algorithm.group_rounds), 1, INT64_MAX,
              "two levels: H, group averages (every tau steps) per cross-group average"),
      integer(OLSGD_KEY(sketch.rows), 1, 16, "sketched_sgd: count-sketch rows"),
      integer(OLSGD_KEY(sketch.cols), 1, INT32_MAX, "sketched_sgd: count-sketch columns"),
      integer(OLSGD_KEY(sketch.k), 1, INT32_MAX, "sketched_sgd: coordinates updated per step"),
      integer(OLSGD_KEY(sketch.candidates), 0, 1024,
              "sketched_sgd: P, exact values fetched for P*k candidates (0: one round)"),
      boolean(OLSGD_KEY(sketch.error_feedback),
              "sketched_sgd: accumulate what was not sent (false: restart every step)"),
      integer(OLSGD_KEY(quantize.bits), 1, 16, "qsgd: bits per level, s = 2^bits - 1 levels"),
      integer(OLSGD_KEY(quantize.min_levels), 1, 65535, "dq_sgd: fewest levels s per step"),
      integer(OLSGD_KEY(quantize.max_levels), 1, 65535, "dq_sgd: most levels s per step"),
      real(OLSGD_KEY(quantize.target_error), 0, true, INFINITY, false,
           "dq_sgd: eps_q, the quantization share of the error bound"),
      real(OLSGD_KEY(quantize.smoothness), 0, true, INFINITY, false, "dq_sgd: smoothness L"),
      real(OLSGD_KEY(quantize.strong_convexity), 0, false, INFINITY, false,
           "dq_sgd: strong convexity mu"),
      real(OLSGD_KEY(optimizer.lr), 0, true, INFINITY, false, "learning rate"),
      integer(OLSGD_KEY(optimizer.batch), 1, INT64_MAX, "samples per rank per step"),
      real(OLSGD_KEY(optimizer.momentum), 0, false, 1, true, "local momentum coefficient"),
      boolean(OLSGD_KEY(optimizer.nesterov), "Nesterov form of the momentum"),
      real(OLSGD_KEY(optimizer.weight_decay), 0, false, INFINITY, false, "L2 weight decay"),
      integer(OLSGD_KEY(optimizer.base_batch), 0, INT64_MAX,
              "linear scaling rule: lr is for this global batch, the run uses lr x ranks x "
              "batch / base_batch (0: lr as given)"),
      text(OLSGD_KEY(optimizer.schedule), {"constant", "step", "cosine"},
           "after the warm-up: constant, x decay at each milestone, or cosine to 0"),
      text(OLSGD_KEY(optimizer.schedule_unit), {"steps", "epochs"},
           "unit of optimizer.warmup and optimizer.milestones"),
      real(OLSGD_KEY(optimizer.warmup), 0, false, INFINITY, false,
           "linear warm-up length (0: none)"),
      real(OLSGD_KEY(optimizer.warmup_start), 0, false, 1, false,
           "first warm-up step size as a fraction of lr (0: from 0; 1/K: from lr/K)"),
      text(OLSGD_KEY(optimizer.milestones), {},
           "step schedule: increasing points where lr is multiplied by decay, e.g. 150,250"),
      real(OLSGD_KEY(optimizer.decay), 0, true, 1, false, "step schedule: factor per milestone"),
      integer(OLSGD_KEY(comm.progress_every), 0, INT64_MAX,
              "MPI_Test an in-flight request every N local steps (0: never)"),
      boolean(OLSGD_KEY(comm.progress_thread),
              "a helper thread progresses in-flight requests too (default; MPI_Test alone where "
              "MPI lacks MPI_THREAD_MULTIPLE)"),
      // The injected network is slept for real: an hour per collective is already beyond
      // any network worth modelling, and larger values would only stall the job.
      real(OLSGD_KEY(comm.delay_s), 0, false, kMaxInjectedSeconds, false,
           "injected delay per collective"),
      real(OLSGD_KEY(comm.latency_s), 0, false, kMaxInjectedSeconds, false,
           "injected latency per collective"),
      real(OLSGD_KEY(comm.bandwidth_Bps), 0, false, INFINITY, false,
           "injected bandwidth, bytes/s (0: infinite; else at least 1)"),
      real(OLSGD_KEY(comm.group_delay_s), 0, false, kMaxInjectedSeconds, false,
           "two levels: injected delay per collective inside a group"),
      real(OLSGD_KEY(comm.group_latency_s), 0, false, kMaxInjectedSeconds, false,
           "two levels: injected latency per collective inside a group"),
      real(OLSGD_KEY(comm.group_bandwidth_Bps), 0, false, INFINITY, false,
           "two levels: injected bandwidth inside a group, bytes/s (0: infinite)"),
      real(OLSGD_KEY(comm.timeout_s), 0, false, 1e6, false,
           "end the job when a collective waits longer (0: never)"),
      integer(OLSGD_KEY(checkpoint.every), 0, INT64_MAX,
              "HDF5 checkpoint every N steps (0: only on SIGTERM/SIGINT/SIGUSR1)"),
      integer(OLSGD_KEY(checkpoint.every_epochs), 0, INT64_MAX,
              "HDF5 checkpoint every N epochs instead (0: checkpoint.every)"),
      text(OLSGD_KEY(checkpoint.dir), {},
           "checkpoint folder (default <run.output_dir>/checkpoints)"),
      integer(OLSGD_KEY(checkpoint.keep_last), 1, INT64_MAX, "complete checkpoints kept"),
      text(OLSGD_KEY(checkpoint.restart), {},
           "continue from a checkpoint file, or latest (the newest in checkpoint.dir)"),
      integer(OLSGD_KEY(checkpoint.signal_every), 1, INT64_MAX,
              "steps between the collective checks for SIGTERM/SIGINT/SIGUSR1"),
      integer(OLSGD_KEY(straggler.rank), -1, INT64_MAX, "rank whose compute is slowed (-1: none)"),
      real(OLSGD_KEY(straggler.factor), 1, false, 1e6, false, "that rank's slowdown factor"),
      real(OLSGD_KEY(straggler.random_prob), 0, false, 1, false,
           "chance that a rank's step is slowed"),
      real(OLSGD_KEY(straggler.random_factor), 1, false, 1e6, false,
           "slowdown factor of such a step"),
  };
  return kFields;
}

#undef OLSGD_KEY

const Field* find_field(const std::string& key) {
  for (const auto& f : fields())
    if (key == f.key) return &f;
  return nullptr;
}

}  // namespace

static std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(const std::string& key) {
  const Field* best = nullptr;
  std::size_t best_d = 4;  // suggest only near misses
  for (const auto& f : fields()) {
    std::size_t d = edit_distance(key, f.key);
    if (d < best_d) best_d = d, best = &f;
  }
  std::string msg = "unknown key";
  if (best) msg += " (did you mean " + std::string(best->key) + "?)";
  return msg;
}

std::string format_double(double v) {
  char buf[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool is_config_key(const std::string& key) {
  return find_field(key) != nullptr;
}

bool is_config_section(const std::string& name) {
  for (const auto& f : fields())
    if (std::string(f.key).rfind(name + ".", 0) == 0) return true;
  return false;
}

std::string set_config_key(Config& c, const std::string& key, const std::string& text) {
  const Field* f = find_field(key);
  return f ? f->set(c, text) : unknown_key_message(key);
}

std::vector<Index> parse_widths(const std::string& text) {
  std::vector<Index> widths;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    std::int64_t w = 0;
    if (!parse_int(item, w) || w < 1)
      throw std::invalid_argument("must be comma-separated positive widths (e.g. 256,128), got '" +
                                  text + "'");
    widths.push_back(w);
    start = end + 1;
  }
  return widths;
}

const char* precision_name(Precision p) {
  return p == Precision::Float32 ? "float32" : "float64";
}

std::vector<std::pair<std::string, std::string>> config_values(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : fields()) out.emplace_back(f.key, f.get(config));
  return out;
}

std::vector<KeyHelp> config_keys() {
  const Config defaults{};  // {}: nvcc (EDG) warns #811-D on a const default-initialised aggregate
  std::vector<KeyHelp> out;
  for (const auto& f : fields()) out.push_back({f.key, f.get(defaults), f.help});
  return out;
}

}  // namespace olsgd
