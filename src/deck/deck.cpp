// Reading a deck: YAML text and `--set` overrides through the key schema (core/config.hpp),
// then the checks across keys, the algorithm's and model's from their registrations.
#include <olsgd/algo/registry.hpp>
#include <olsgd/core/error.hpp>
#include <olsgd/core/schedule.hpp>
#include <olsgd/data/dataset.hpp>
#include <olsgd/deck/deck.hpp>
#include <olsgd/model/registry.hpp>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

namespace olsgd {
namespace {

// Largest deck read: far above any real deck, and a bound on what a wrong path (a log file,
// a device) can make every rank read.
constexpr std::size_t kMaxDeckBytes = 1 << 20;

// Records where each key was set, so cross-field errors can point at the right line.
using Origins = std::map<std::string, std::string>;

void apply(Config& c, const std::string& key, const std::string& value, const std::string& where,
           Origins& origins) {
  const std::string err = set_config_key(c, key, value);
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
    } else if (!content && !ended && line.compare(0, 1, "%") == 0) {
      // a directive (%YAML 1.2): it comes before the "---" that starts the first document
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
    if (!is_config_section(name)) throw InputError(at(section.first), name + ": unknown section");
    if (!body.IsMap()) throw InputError(at(section.first), name + ": must be a map of keys");
    for (const auto& kv : body) {
      const std::string key = name + "." + kv.first.as<std::string>();
      const std::string where = at(kv.first);
      if (origins.count(key))
        throw InputError(where, key + ": duplicate key (first at " + origins[key] + ")");
      if (!is_config_key(key)) throw InputError(where, key + ": " + unknown_key_message(key));
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

// The registered name `value` of `key`, or an InputError listing the registered ones.
template <class Entry>
void check_name(const Entry* found, const std::vector<const Entry*>& all, const Origins& o,
                const Config& c, const std::string& key, const std::string& value) {
  std::string list;
  for (const Entry* e : all) list += (list.empty() ? "" : ", ") + std::string(e->name);
  check(found != nullptr, o, c, key, "must be one of: " + list + "; got '" + value + "'");
}

// The schedule's checks that need no data: all of them where the schedule and the run's length
// are in the same unit (the others once the data are read, resolve_epochs).
void check_schedule(Config& c, const Origins& o) {
  Config same = c;
  const bool in_epochs = c.optimizer.schedule_unit == "epochs";
  // Both in epochs: any epoch length gives the same verdict, up to rounding to whole steps.
  constexpr Index kFine = Index(1) << 20;
  if (in_epochs && c.run.epochs > 0 && c.run.epochs < kFine)
    same.run.steps = c.run.epochs * kFine, same.run.steps_per_epoch = kFine;
  const bool decidable = in_epochs ? same.run.steps_per_epoch == kFine : c.run.epochs == 0;
  if (decidable) {
    const ScheduleProblem p = LrSchedule::check(same);
    check(p.key.empty(), o, c, p.key, p.message);
  }
  const OptimizerConfig& opt = c.optimizer;
  auto unused = [&](const char* key, bool used, const std::string& by) {
    if (!used && o.count(key))
      c.warnings.push_back(o.at(key) + ": " + key + ": not used with " + by + " (ignored)");
  };
  unused("optimizer.milestones", opt.schedule == "step", "optimizer.schedule " + opt.schedule);
  unused("optimizer.decay", opt.schedule == "step", "optimizer.schedule " + opt.schedule);
  unused("optimizer.warmup_start", opt.warmup > 0, "optimizer.warmup 0");
}

// Checks that involve several keys or the rank count; the algorithm's and the model's come
// from their registrations.
void validate(Config& c, const Origins& o, int ranks) {
  const auto& d = c.data;
  check_name(find_model(c.model.kind), models(), o, c, "model.kind", c.model.kind);
  check_name(find_algorithm(c.algorithm.name), algorithms(), o, c, "algorithm.name",
             c.algorithm.name);
  check_name(find_anchor_exchange(c.algorithm.anchor_compression), anchor_exchanges(), o, c,
             "algorithm.anchor_compression", c.algorithm.anchor_compression);
  const ModelEntry& model = model_entry(c);
  const AlgorithmEntry& algorithm = algorithm_entry(c);
  const DeckCheck deck{
      [&](const std::string& key, const std::string& message) { check(false, o, c, key, message); },
      [&](const std::string& key, const std::string& message) {
        if (o.count(key)) c.warnings.push_back(o.at(key) + ": " + key + ": " + message);
      },
      [&](const std::string& key) { return o.count(key) > 0; }, ranks};
  if (model.check) model.check(c, deck);
  const bool synthetic = d.kind == "synthetic_least_squares";
  const bool quadratic = d.kind == "synthetic_quadratic";
  const bool labelled = !synthetic && !quadratic;
  const ImageDims image = image_dims(d.kind);
  check(d.augment == "none" || image.size() > 0, o, c, "data.augment",
        d.augment + " needs images (fashion_mnist, cifar10); data.kind " + d.kind + " has none");
  const bool crops = d.augment == "crop" || d.augment == "crop_flip";
  check(labelled || d.partition != "dirichlet", o, c, "data.partition",
        "dirichlet (label skew) needs class labels; " + d.kind + " has none");
  if (d.path.empty() && d.kind == "fashion_mnist") c.data.path = kFashionMnistPath;
  check(!c.data.path.empty() || !labelled, o, c, "data.path",
        "data.kind " + d.kind + " needs data.path (" +
            (d.kind == "libsvm" ? "a LIBSVM text file" : "the folder of the binary batches") + ")");
  if (c.checkpoint.dir.empty()) c.checkpoint.dir = c.run.output_dir + "/checkpoints";
  // A length or a cadence in steps or in epochs, not both; a --set of one overrides the deck's
  // other (as --set overrides any key).
  const auto from_set = [&](const char* key) { return o.at(key).rfind("--set ", 0) == 0; };
  struct Pair {
    const char* epochs;
    const char* steps;
    Index* epochs_value;
  };
  for (const Pair& p :
       {Pair{"run.epochs", "run.steps", &c.run.epochs},
        Pair{"run.eval_every_epochs", "run.eval_every", &c.run.eval_every_epochs},
        Pair{"checkpoint.every_epochs", "checkpoint.every", &c.checkpoint.every_epochs}}) {
    if (!o.count(p.epochs) || !o.count(p.steps)) continue;
    check(from_set(p.epochs) != from_set(p.steps), o, c, p.epochs,
          std::string("set together with ") + p.steps + "; give one of them");
    if (from_set(p.steps)) *p.epochs_value = 0;  // the steps win
  }
  check_schedule(c, o);
  // (The default, 10, may exceed a short run's steps: that run ends as soon as a check would.)
  // A signal is acted on at the second check after it (the first posts the ranks' flags
  // without blocking, the next reads them), so a run needs two checks before its last step.
  // (A run in epochs has its steps once the data are read; this check is for steps.)
  check(c.run.epochs > 0 || !o.count("checkpoint.signal_every") ||
            2 * c.checkpoint.signal_every < c.run.steps,
        o, c, "checkpoint.signal_every",
        std::to_string(c.checkpoint.signal_every) + " leaves fewer than two checks in run.steps (" +
            std::to_string(c.run.steps) +
            "), so a stop signal would never stop the run; use at most " +
            std::to_string(std::max<Index>(1, (c.run.steps - 1) / 2)));
  for (const auto& [key, bandwidth] :
       {std::pair{"comm.bandwidth_Bps", c.comm.bandwidth_Bps},
        std::pair{"comm.group_bandwidth_Bps", c.comm.group_bandwidth_Bps}})
    check(bandwidth == 0 || bandwidth >= 1, o, c, key,
          "must be 0 (no limit) or at least 1 byte/s, got " + format_double(bandwidth));
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
  // Keys only some data kinds, models or algorithms read: set for another one, they are
  // ignored with a warning (so a deck can be rerun with --set algorithm.name=... to compare).
  const bool files = labelled;
  struct Use {
    const char* key;
    bool used;
    std::string by;  // what decides, for the message
  };
  const Use data_uses[] = {
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
      {"data.crop_padding", crops, "data.augment " + d.augment},
  };
  auto ignored = [&](const std::string& key, const std::string& by) {
    auto it = o.find(key);
    if (it != o.end())
      c.warnings.push_back(it->second + ": " + key + ": not used with " + by + " (ignored)");
  };
  for (const Use& u : data_uses)
    if (!u.used) ignored(u.key, u.by);
  for (const std::string& k : unread_model_keys(c)) ignored(k, "model.kind " + c.model.kind);
  for (const std::string& k : unread_algorithm_keys(c)) ignored(k, "algorithm " + c.algorithm.name);
  if (algorithm.check) algorithm.check(c, deck);
  check(c.straggler.rank < ranks, o, c, "straggler.rank",
        "rank " + std::to_string(c.straggler.rank) + " does not exist in a run on " +
            plural(ranks, "rank"));
}

}  // namespace

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
  return parse_config(read_deck(path), path, overrides, ranks);
}

std::string read_deck(const std::string& path) {
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
  return text;
}

std::string config_help() {
  std::ostringstream os;
  for (const KeyHelp& k : config_keys()) {
    os << "  " << k.key << std::string(k.key.size() < 24 ? 24 - k.key.size() : 1, ' ')
       << k.default_value
       << std::string(k.default_value.size() < 24 ? 24 - k.default_value.size() : 1, ' ') << k.help
       << "\n";
  }
  auto list = [&](const char* title, const auto& entries, auto&& reads) {
    os << "\n" << title << ":\n";
    for (const auto* e : entries) {
      os << "  " << e->name
         << std::string(std::strlen(e->name) < 28 ? 28 - std::strlen(e->name) : 1, ' ')
         << e->summary << "\n";
      const std::string keys = reads(*e);
      if (!keys.empty()) os << std::string(30, ' ') << "reads " << keys << "\n";
    }
  };
  // What each reads under the defaults with the entry chosen.
  auto joined = [](const std::vector<std::string>& keys) {
    std::string s;
    for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
    return s;
  };
  list("algorithm.name", algorithms(), [&](const AlgorithmEntry& a) {
    Config c{};
    c.algorithm.name = a.name;
    return joined(a.keys(c));
  });
  list("algorithm.anchor_compression (overlap_local_sgd)", anchor_exchanges(),
       [&](const AnchorExchangeEntry& e) {
         Config c{};
         return joined(e.keys(c));
       });
  list("model.kind", models(), [&](const ModelEntry& m) {
    Config c{};
    c.model.kind = m.name;
    return joined(m.keys(c));
  });
  return os.str();
}

}  // namespace olsgd
