// Deck schema, parsing and validation. One table (kFields) defines every key: its type,
// range, default (the Config member initialiser) and help text, so parsing, `--set`,
// `--help` and the run summary can never disagree.
#include <olsgd/core/config.hpp>
#include <olsgd/core/error.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

namespace olsgd {
namespace {

// Longest injected delay or latency per collective, seconds.
constexpr double kMaxInjectedSeconds = 3600;
// Largest deck read: far above any real deck, and a bound on what a wrong path (a log file,
// a device) can make every rank read.
constexpr std::size_t kMaxDeckBytes = 1 << 20;

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

// Shortest decimal text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string format_double(double v) {
  char buf[32];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool parse_int(const std::string& text, std::int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
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
      integer(OLSGD_KEY(run.log_every), 1, INT64_MAX, "metrics row every N steps (and the last)"),
      integer(OLSGD_KEY(run.eval_every), 0, INT64_MAX,
              "test loss/accuracy every N steps (0: at the end)"),
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
      text(OLSGD_KEY(model.kind), {"least_squares", "quadratic", "logistic", "mlp"},
           "model and loss"),
      text(OLSGD_KEY(model.hidden), {}, "mlp: hidden widths, e.g. 256,128"),
      real(OLSGD_KEY(model.l2), 0, false, INFINITY, false, "logistic/mlp: L2 regularisation"),
      text(OLSGD_KEY(algorithm.name),
           {"minibatch_sgd", "accelerated_minibatch_sgd", "local_sgd", "overlap_local_sgd",
            "overlap_local_sgd_momentum", "slowmo", "sketched_sgd", "qsgd", "dq_sgd"},
           "training algorithm"),
      integer(OLSGD_KEY(algorithm.tau), 1, INT64_MAX, "local steps between syncs"),
      real(OLSGD_KEY(algorithm.alpha), 0, false, 1, false, "overlap: pull toward the anchor"),
      real(OLSGD_KEY(algorithm.anchor_momentum), 0, false, 1, true,
           "overlap momentum variant: anchor momentum beta_a"),
      text(OLSGD_KEY(algorithm.anchor_compression), {"none", "quantize"},
           "overlap_local_sgd: anchor average as models (none) or quantized differences"),
      real(OLSGD_KEY(algorithm.slow_lr), 0, true, INFINITY, false,
           "slowmo: slow learning rate alpha"),
      real(OLSGD_KEY(algorithm.slow_momentum), 0, false, 1, true, "slowmo: slow momentum beta"),
      text(OLSGD_KEY(algorithm.slowmo_buffers), {"keep", "reset"},
           "slowmo: local momentum buffers after each sync"),
      text(OLSGD_KEY(algorithm.slowmo_base), {"local_sgd", "overlap_local_sgd"},
           "slowmo: base optimizer between outer updates"),
      integer(OLSGD_KEY(algorithm.slowmo_period), 0, INT64_MAX,
              "slowmo: steps between outer updates, a multiple of tau (0: tau)"),
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
      integer(OLSGD_KEY(comm.progress_every), 0, INT64_MAX,
              "MPI_Test an in-flight request every N local steps (0: never)"),
      boolean(OLSGD_KEY(comm.progress_thread), "a helper thread progresses in-flight requests"),
      // The injected network is slept for real: an hour per collective is already beyond
      // any network worth modelling, and larger values would only stall the job.
      real(OLSGD_KEY(comm.delay_s), 0, false, kMaxInjectedSeconds, false,
           "injected delay per collective"),
      real(OLSGD_KEY(comm.latency_s), 0, false, kMaxInjectedSeconds, false,
           "injected latency per collective"),
      real(OLSGD_KEY(comm.bandwidth_Bps), 0, false, INFINITY, false,
           "injected bandwidth, bytes/s (0: infinite; else at least 1)"),
      real(OLSGD_KEY(comm.timeout_s), 0, false, 1e6, false,
           "end the job when a collective waits longer (0: never)"),
      integer(OLSGD_KEY(checkpoint.every), 0, INT64_MAX,
              "HDF5 checkpoint every N steps (0: only on SIGTERM/SIGINT/SIGUSR1)"),
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

std::size_t edit_distance(const std::string& a, const std::string& b) {
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

// Records where each key was set, so cross-field errors can point at the right line.
using Origins = std::map<std::string, std::string>;

void apply(Config& c, const std::string& key, const std::string& value, const std::string& where,
           Origins& origins) {
  const Field* f = find_field(key);
  if (!f) throw InputError(where, key + ": " + unknown_key_message(key));
  std::string err = f->set(c, value);
  if (!err.empty()) throw InputError(where, key + ": " + err);
  origins[key] = where;
}

void walk_yaml(Config& c, const YAML::Node& root, const std::string& source, Origins& origins);

// The line (1-based) where a second YAML document begins, or 0. Found in the text, not by
// YAML::LoadAll: yaml-cpp 0.7 takes minutes and gigabytes on some malformed later documents
// (found by fuzz_deck), and a plain Load stops after the first document, dropping the rest.
// A "---" at column 0 is always a document marker (block scalars are indented).
std::size_t second_document_line(const std::string& text) {
  auto marker = [](const std::string& line, const char* m) {
    return line.compare(0, 3, m) == 0 &&
           (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
  };
  auto has_content = [](const std::string& line, std::size_t from) {
    const std::size_t at = line.find_first_not_of(" \t\r", from);
    return at != std::string::npos && line[at] != '#';
  };
  bool content = false, ended = false;
  std::size_t number = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (marker(line, "---")) {
      if (content || ended) return number;  // (a "---" ahead of everything starts the first)
      content = has_content(line, 3);
    } else if (marker(line, "...")) {
      ended = true;
    } else if (has_content(line, 0)) {
      if (ended) return number;
      content = true;
    }
  }
  return 0;
}

void apply_yaml(Config& c, const std::string& text, const std::string& source, Origins& origins) {
  if (const std::size_t line = second_document_line(text))
    throw InputError(source + ":" + std::to_string(line),
                     "a second YAML document (after '---'): a deck is one document; "
                     "merge its sections into the first");
  try {
    walk_yaml(c, YAML::Load(text), source, origins);
  } catch (const YAML::Exception& e) {
    // Syntax errors, and keys that are not plain scalars (e.g. `? [a, b]: 1`).
    throw InputError(source + ":" + std::to_string(e.mark.line + 1), "YAML syntax error: " + e.msg);
  }
}

void walk_yaml(Config& c, const YAML::Node& root, const std::string& source, Origins& origins) {
  auto at = [&](const YAML::Node& n) { return source + ":" + std::to_string(n.Mark().line + 1); };
  if (root.IsNull()) return;  // an empty deck means all defaults
  if (!root.IsMap())
    throw InputError(at(root), "a deck must be a map of sections (run:, data:, ...)");
  for (const auto& section : root) {
    const std::string name = section.first.as<std::string>();
    const YAML::Node& body = section.second;
    bool known = false;
    for (const auto& f : fields()) known |= std::string(f.key).rfind(name + ".", 0) == 0;
    if (!known) throw InputError(at(section.first), name + ": unknown section");
    if (!body.IsMap()) throw InputError(at(section.first), name + ": must be a map of keys");
    for (const auto& kv : body) {
      const std::string key = name + "." + kv.first.as<std::string>();
      const std::string where = at(kv.first);
      if (origins.count(key))
        throw InputError(where, key + ": duplicate key (first at " + origins[key] + ")");
      if (!find_field(key)) throw InputError(where, key + ": " + unknown_key_message(key));
      if (kv.second.IsNull()) throw InputError(where, key + ": missing value");
      if (!kv.second.IsScalar())
        throw InputError(where, key + ": must be a single value, not a list or map");
      apply(c, key, kv.second.Scalar(), where, origins);
    }
  }
}

void check(bool ok, const Origins& origins, const Config& c, const std::string& key,
           const std::string& message) {
  if (ok) return;
  auto it = origins.find(key);
  throw InputError(it != origins.end() ? it->second : c.source, key + ": " + message);
}

// Checks that involve several keys or the rank count.
void validate(Config& c, const Origins& o, int ranks) {
  const auto& d = c.data;
  const bool synthetic = d.kind == "synthetic_least_squares";
  const bool quadratic = d.kind == "synthetic_quadratic";
  const bool regression = c.model.kind == "least_squares";
  const bool labelled = !synthetic && !quadratic;
  const bool fits = regression ? synthetic : (c.model.kind == "quadratic" ? quadratic : labelled);
  check(fits, o, c, "model.kind",
        "model " + c.model.kind + " cannot train on data.kind " + d.kind +
            (regression ? " (least_squares needs synthetic_least_squares)"
             : c.model.kind == "quadratic"
                 ? " (quadratic needs synthetic_quadratic)"
                 : " (logistic and mlp need labelled data: fashion_mnist, libsvm, cifar10)"));
  check(!(c.model.kind == "mlp" && d.kind == "libsvm"), o, c, "model.kind",
        "mlp needs dense features; libsvm data are sparse (use model.kind: logistic)");
  try {
    parse_widths(c.model.hidden);
  } catch (const std::invalid_argument& e) {
    check(false, o, c, "model.hidden", e.what());
  }
  check(labelled || d.partition != "dirichlet", o, c, "data.partition",
        "dirichlet (label skew) needs class labels; " + d.kind + " has none");
  if (d.path.empty() && d.kind == "fashion_mnist") c.data.path = kFashionMnistPath;
  check(!c.data.path.empty() || !labelled, o, c, "data.path",
        "data.kind " + d.kind + " needs data.path (" +
            (d.kind == "libsvm" ? "a LIBSVM text file" : "the folder of the binary batches") + ")");
  if (c.checkpoint.dir.empty()) c.checkpoint.dir = c.run.output_dir + "/checkpoints";
  // (The default, 10, may exceed a short run's steps: that run ends as soon as a check would.)
  // A signal is acted on at the second check after it (the first posts the ranks' flags
  // without blocking, the next reads them), so a run needs two checks before its last step.
  check(!o.count("checkpoint.signal_every") || 2 * c.checkpoint.signal_every < c.run.steps, o, c,
        "checkpoint.signal_every",
        std::to_string(c.checkpoint.signal_every) + " leaves fewer than two checks in run.steps (" +
            std::to_string(c.run.steps) +
            "), so a stop signal would never stop the run; use at most " +
            std::to_string(std::max<Index>(1, (c.run.steps - 1) / 2)));
  check(c.comm.bandwidth_Bps == 0 || c.comm.bandwidth_Bps >= 1, o, c, "comm.bandwidth_Bps",
        "must be 0 (no limit) or at least 1 byte/s, got " + format_double(c.comm.bandwidth_Bps));
  // The learning models default to float32, as the frameworks users compare with.
  if (labelled && !o.count("run.precision")) c.run.precision = Precision::Float32;
  check(d.min_eig <= d.max_eig, o, c, "data.min_eig",
        "must not exceed data.max_eig (" + format_double(d.max_eig) + ")");
  if (synthetic) {
    const Index per_rank = d.replicate ? d.samples : d.samples / ranks;
    check(d.replicate || d.samples % ranks == 0, o, c, "data.samples",
          std::to_string(d.samples) + " samples do not divide evenly over " +
              std::to_string(ranks) + " ranks");
    check(c.optimizer.batch <= per_rank, o, c, "optimizer.batch",
          "batch " + std::to_string(c.optimizer.batch) + " exceeds the " +
              std::to_string(per_rank) + " samples each rank holds");
  }
  check(!c.optimizer.nesterov || c.optimizer.momentum > 0, o, c, "optimizer.nesterov",
        "needs optimizer.momentum > 0");
  // Keys that only some algorithms read: set for another algorithm, they are ignored with a
  // warning (so a deck can be rerun with --set algorithm.name=... for a comparison).
  const std::string& a = c.algorithm.name;
  // Algorithms that run Overlap-Local-SGD's anchor pulls (alone, or as SlowMo's base).
  const bool overlap = a.rfind("overlap_local_sgd", 0) == 0 ||
                       (a == "slowmo" && c.algorithm.slowmo_base == "overlap_local_sgd");
  const bool quantized_anchor =
      a == "overlap_local_sgd" && c.algorithm.anchor_compression == "quantize";
  const bool files = labelled;
  struct Use {
    const char* key;
    bool used;
    std::string by;  // what decides, for the message
  };
  const Use uses[] = {
      {"data.samples", synthetic, "data.kind " + d.kind},
      {"data.features", synthetic || quadratic, "data.kind " + d.kind},
      {"data.noise", synthetic || quadratic, "data.kind " + d.kind},
      {"data.min_eig", synthetic || quadratic, "data.kind " + d.kind},
      {"data.max_eig", synthetic || quadratic, "data.kind " + d.kind},
      {"data.hessians", quadratic, "data.kind " + d.kind},
      {"data.zeta", quadratic, "data.kind " + d.kind},
      {"data.path", files, "data.kind " + d.kind},
      {"data.limit", files, "data.kind " + d.kind},
      {"data.test_path", d.kind == "libsvm", "data.kind " + d.kind},
      {"data.dirichlet_beta", d.partition == "dirichlet", "data.partition " + d.partition},
      {"model.hidden", c.model.kind == "mlp", "model.kind " + c.model.kind},
      {"model.l2", labelled, "model.kind " + c.model.kind},
      {"algorithm.tau", a == "local_sgd" || overlap || a == "slowmo", "algorithm " + a},
      {"algorithm.slow_lr", a == "slowmo", "algorithm " + a},
      {"algorithm.slow_momentum", a == "slowmo", "algorithm " + a},
      {"algorithm.slowmo_buffers", a == "slowmo", "algorithm " + a},
      {"algorithm.slowmo_base", a == "slowmo", "algorithm " + a},
      {"algorithm.slowmo_period", a == "slowmo", "algorithm " + a},
      {"sketch.rows", a == "sketched_sgd", "algorithm " + a},
      {"sketch.cols", a == "sketched_sgd", "algorithm " + a},
      {"sketch.k", a == "sketched_sgd", "algorithm " + a},
      {"sketch.candidates", a == "sketched_sgd", "algorithm " + a},
      {"sketch.error_feedback", a == "sketched_sgd", "algorithm " + a},
      {"quantize.bits", a == "qsgd" || quantized_anchor, "algorithm " + a},
      {"quantize.min_levels", a == "dq_sgd", "algorithm " + a},
      {"quantize.max_levels", a == "dq_sgd", "algorithm " + a},
      {"quantize.target_error", a == "dq_sgd", "algorithm " + a},
      {"quantize.smoothness", a == "dq_sgd", "algorithm " + a},
      {"quantize.strong_convexity", a == "dq_sgd", "algorithm " + a},
      {"optimizer.momentum", a != "accelerated_minibatch_sgd", "algorithm " + a},
      {"optimizer.nesterov", a != "accelerated_minibatch_sgd", "algorithm " + a},
      {"algorithm.alpha", overlap, "algorithm " + a},
      {"algorithm.anchor_momentum", a == "overlap_local_sgd_momentum", "algorithm " + a},
      {"algorithm.anchor_compression", a == "overlap_local_sgd", "algorithm " + a},
      {"comm.progress_every", overlap, "algorithm " + a},
      {"comm.progress_thread", overlap, "algorithm " + a},
  };
  for (const Use& u : uses) {
    auto it = o.find(u.key);
    if (!u.used && it != o.end())
      c.warnings.push_back(it->second + ": " + u.key + ": not used with " + u.by + " (ignored)");
  }
  // alpha = 1 is accepted (a test uses it: every rank then holds the anchor after a sync) but
  // is degenerate: the model is replaced by the one-round-stale anchor, which is what every rank
  // sent, so nothing ever leaves x0. ALGORITHMS.md §2 asks for alpha in (0, 1).
  if (overlap && c.algorithm.alpha == 1 && o.count("algorithm.alpha"))
    c.warnings.push_back(o.at("algorithm.alpha") +
                         ": algorithm.alpha: 1 replaces the model by the one-round-stale anchor "
                         "at every sync, so training never leaves x0 (use alpha in (0, 1))");
  check(a != "overlap_local_sgd_momentum" || c.algorithm.anchor_momentum > 0, o, c,
        "algorithm.anchor_momentum",
        "the momentum variant needs algorithm.anchor_momentum in (0, 1) (use overlap_local_sgd "
        "for none)");
  const auto& al = c.algorithm;
  const Index outer = al.slowmo_period > 0 ? al.slowmo_period : al.tau;
  check(a != "slowmo" || outer % al.tau == 0, o, c, "algorithm.slowmo_period",
        "must be a multiple of algorithm.tau (" + std::to_string(al.tau) + ")");
  check(a != "slowmo" || al.slowmo_base != "overlap_local_sgd" || outer > al.tau, o, c,
        "algorithm.slowmo_base",
        "overlap_local_sgd needs algorithm.slowmo_period above algorithm.tau (" +
            std::to_string(al.tau) + "), or the exact average replaces every overlapped one");
  const auto& sk = c.sketch;
  check(a != "sketched_sgd" || sk.cols >= sk.k, o, c, "sketch.cols",
        "a sketch of " + std::to_string(sk.cols) + " columns cannot hold k = " +
            std::to_string(sk.k) + " heavy hitters (need sketch.cols >= sketch.k)");
  const auto& q = c.quantize;
  check(a != "dq_sgd" || q.min_levels <= q.max_levels, o, c, "quantize.min_levels",
        "must not exceed quantize.max_levels (" + std::to_string(q.max_levels) + ")");
  check(c.straggler.rank < ranks, o, c, "straggler.rank",
        "rank " + std::to_string(c.straggler.rank) + " does not exist in a run on " +
            std::to_string(ranks) + " ranks");
}

}  // namespace

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

Config parse_config(const std::string& text, const std::string& source,
                    const std::vector<std::string>& overrides, int ranks) {
  Config c;
  c.source = source;
  Origins origins;
  apply_yaml(c, text, source, origins);
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--set " + o, "expected key=value, e.g. --set algorithm.tau=4");
    const std::string key = o.substr(0, eq);
    // Later overrides win over the deck and over earlier overrides.
    apply(c, key, o.substr(eq + 1), "--set " + o, origins);
  }
  validate(c, origins, ranks);
  return c;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides, int ranks) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (fs::is_directory(st)) throw InputError(path, "is a folder, not a deck (a YAML file)");
  // A pipe is fine (olsgd <(generate-deck)); a device such as /dev/zero would never end.
  if (fs::exists(st) && !fs::is_regular_file(st) && !fs::is_fifo(st))
    throw InputError(path, "not a regular file (a deck is a YAML file)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open the deck (missing or unreadable)");
  std::string text(kMaxDeckBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxDeckBytes)
    throw InputError(path, "larger than " + std::to_string(kMaxDeckBytes >> 10) +
                               " KiB: not a deck (a deck names a few dozen keys)");
  bool sets_something = true;  // a syntax error is parse_config's to report, with its line
  if (second_document_line(text) == 0) {
    try {
      const YAML::Node root = YAML::Load(text);
      sets_something = !root.IsNull() && !(root.IsMap() && root.size() == 0);
    } catch (const YAML::Exception&) {
    }
  }
  if (!sets_something)
    throw InputError(path,
                     "the deck sets nothing (empty or only comments): name at least the keys "
                     "you change from the defaults (olsgd --help lists them)");
  return parse_config(text, path, overrides, ranks);
}

std::vector<std::pair<std::string, std::string>> config_values(const Config& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : fields()) out.emplace_back(f.key, f.get(config));
  return out;
}

std::string config_help() {
  const Config defaults{};  // {}: nvcc (EDG) warns #811-D on a const default-initialised aggregate
  std::ostringstream os;
  for (const auto& f : fields()) {
    std::string key = f.key;
    std::string def = f.get(defaults);
    os << "  " << key << std::string(key.size() < 24 ? 24 - key.size() : 1, ' ') << def
       << std::string(def.size() < 24 ? 24 - def.size() : 1, ' ') << f.help << "\n";
  }
  return os.str();
}

}  // namespace olsgd
