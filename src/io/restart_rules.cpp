#include <olsgd/io/restart_rules.hpp>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace olsgd::io {
namespace {

// One entry per deck key or section ("data."): a key's own entry wins over its section's.
// A key missing here is refused (restart_change_known: a test keeps every key listed).
struct RestartRule {
  const char* key;
  RestartChange change;
};
constexpr RestartChange kFree = RestartChange::Free, kWarn = RestartChange::Warn,
                        kRefuse = RestartChange::Refuse;
const RestartRule kRestartRules[] = {
    // How long, how often and where the run reports and saves itself: a restart is there to
    // change these (more steps, another output folder, a new checkpoint cadence).
    {"run.name", kFree},
    {"run.steps", kFree},
    {"run.epochs", kFree},
    {"run.log_every", kFree},
    {"run.eval_every", kFree},
    {"run.eval_every_epochs", kFree},
    {"run.output_dir", kFree},
    {"run.progress", kFree},
    {"checkpoint.", kFree},
    // How the ranks communicate and how slow some are made: timing only, never a number the
    // run computes (a requeued job may land on another network or need another timeout).
    {"comm.", kFree},
    {"straggler.", kFree},
    // Every random stream (data, partition, batches, quantization, sketch hashes) is keyed by
    // the seed, and the state in the file has the run's precision: the resumed run would not
    // continue the run that wrote it.
    {"run.seed", kRefuse},
    {"run.precision", kRefuse},
    // The data and the model define the problem, the optimum the metrics measure against and
    // the parameter count: changed, the rows in the file belong to another problem.
    {"data.", kRefuse},
    {"model.", kRefuse},
    // ... but a data file may have moved: the same data under another path is fine.
    {"data.path", kWarn},
    {"data.test_path", kWarn},
    // The algorithm and its settings define the state segments, their sizes and the sync
    // schedule the file's state is in the middle of (a key the run's algorithm does not read
    // is free: deck_changes' `unread`).
    {"algorithm.", kRefuse},
    {"sketch.", kRefuse},
    {"quantize.", kRefuse},
    // Step sizes and batch may be changed on purpose (a schedule by hand); the state fits
    // either way. Momentum switched on or off changes the segments: refused there.
    {"optimizer.", kWarn},
};

const RestartRule* find_restart_rule(const std::string& key) {
  const RestartRule* section = nullptr;
  for (const auto& r : kRestartRules) {
    const std::string k = r.key;
    if (k == key) return &r;
    if (k.back() == '.' && key.rfind(k, 0) == 0) section = &r;
  }
  return section;
}

// The "key: value" lines of a stored deck, in its order.
std::vector<std::pair<std::string, std::string>> deck_pairs(const std::string& deck) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < deck.size()) {
    std::size_t end = deck.find('\n', start);
    if (end == std::string::npos) end = deck.size();
    const std::string line = deck.substr(start, end - start);
    const std::size_t colon = line.find(": ");
    if (colon != std::string::npos) out.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    start = end + 1;
  }
  return out;
}

// State segments that a deck key switches on or off, in the user's words.
struct SegmentMeaning {
  const char* segment;
  const char* words;
  const char* key;
};
const SegmentMeaning kSegmentMeanings[] = {
    {"momentum", "momentum buffers", "optimizer.momentum"},
    {"anchor_momentum", "anchor momentum buffers", "algorithm.anchor_momentum"},
};

}  // namespace

std::map<std::string, std::string> deck_lines(const std::string& deck) {
  const auto pairs = deck_pairs(deck);
  return {pairs.begin(), pairs.end()};
}

// The keys both decks hold with different values, in this run's deck order. (A key only one
// side knows, from another olsgd version, is not compared.)
std::vector<DeckChange> deck_changes(const std::string& written, const std::string& now,
                                     const std::vector<std::string>& unread) {
  const auto was = deck_lines(written);
  std::vector<DeckChange> out;
  for (const auto& [key, value] : deck_pairs(now)) {
    auto it = was.find(key);
    if (it == was.end() || it->second == value) continue;
    const bool ignored = std::find(unread.begin(), unread.end(), key) != unread.end();
    out.push_back({key, it->second, value, ignored ? RestartChange::Free : restart_change(key)});
  }
  return out;
}

// " (the decks differ in: k a -> b, ...)" for the keys that are not free to change, or "".
std::string differing_keys(const std::vector<DeckChange>& changes) {
  std::string list;
  for (const auto& c : changes)
    if (c.change != RestartChange::Free)
      list += (list.empty() ? "" : ", ") + c.key + " " + c.was + " -> " + c.now;
  return list.empty() ? "" : " (the decks differ in: " + list + ")";
}

// The refusal for the deck keys a restart must not change, or "".
std::string refused_changes(const std::vector<DeckChange>& changes) {
  std::vector<const DeckChange*> refused;
  for (const auto& c : changes)
    if (c.change == RestartChange::Refuse) refused.push_back(&c);
  if (refused.empty()) return "";
  if (refused.size() == 1)
    return refused[0]->key + ": the checkpoint was written with " + refused[0]->was +
           ", this run has " + refused[0]->now + "; restart with the same value";
  std::string was, now;
  for (const DeckChange* c : refused) {
    was += (was.empty() ? "" : ", ") + c->key + " " + c->was;
    now += (now.empty() ? "" : ", ") + c->key + " " + c->now;
  }
  return "the checkpoint was written with " + was + "; this run has " + now +
         "; restart with the same values";
}

// "checkpoint has [no] <segment> ..." for a segment only one side has.
std::string segment_mismatch(const std::string& segment, bool in_file,
                             const std::map<std::string, std::string>& was,
                             const std::map<std::string, std::string>& now,
                             const std::vector<DeckChange>& changes) {
  for (const auto& m : kSegmentMeanings) {
    if (segment != m.segment) continue;
    auto w = was.find(m.key), n = now.find(m.key);
    if (w == was.end() || n == now.end()) break;
    return std::string("checkpoint has ") + (in_file ? "" : "no ") + m.words + " (" + m.key + " " +
           w->second + "), the deck has " + m.key + "=" + n->second + "; restart with " + m.key +
           "=" + w->second;
  }
  return in_file ? "checkpoint has state '" + segment + "' that this run does not keep" +
                       differing_keys(changes)
                 : "checkpoint has no state '" + segment + "', which this run needs" +
                       differing_keys(changes);
}

std::string switched_segment(const std::vector<DeckChange>& changes) {
  // A key switches its segment by going to or from zero (0.9 -> 0.5 keeps it).
  auto zero = [](const std::string& value) { return std::strtod(value.c_str(), nullptr) == 0; };
  for (const auto& m : kSegmentMeanings)
    for (const auto& c : changes)
      if (c.key == m.key && zero(c.was) != zero(c.now)) return m.segment;
  return "";
}

RestartChange restart_change(const std::string& key) {
  const RestartRule* r = find_restart_rule(key);
  return r ? r->change : RestartChange::Refuse;
}

bool restart_change_known(const std::string& key) {
  return find_restart_rule(key) != nullptr;
}

}  // namespace olsgd::io
