#pragma once
// What a restart may change in the deck it resumes with: one table, by key or section, says
// whether a change is free (reporting, saving, timing), a warning (step sizes, where the data
// live) or refused (what defines the data, the random streams or the state), and the messages
// that name the keys. The checkpoint reader (checkpoint.cpp) compares the stored deck with the
// running one through these.
#include <map>
#include <string>
#include <vector>

namespace olsgd::io {

enum class RestartChange { Free, Warn, Refuse };
// The rule for `key` (its own entry, else its section's; a key in neither is refused).
RestartChange restart_change(const std::string& key);
// Whether `key` has an entry of its own or of its section (a test keeps every key covered).
bool restart_change_known(const std::string& key);

struct DeckChange {
  std::string key, was, now;
  RestartChange change;
};

// The "key: value" lines of a stored deck (config_values), as a map.
std::map<std::string, std::string> deck_lines(const std::string& deck);
// The keys both decks hold with different values, in the running deck's order; a key in
// `unread` (one this run's algorithm and model ignore) is free to change whatever its rule.
std::vector<DeckChange> deck_changes(const std::string& written, const std::string& now,
                                     const std::vector<std::string>& unread = {});
// " (the decks differ in: k a -> b, ...)" for the changes that are not free, or "".
std::string differing_keys(const std::vector<DeckChange>& changes);
// The refusal naming every refused change with both values, or "".
std::string refused_changes(const std::vector<DeckChange>& changes);
// "checkpoint has [no] <segment> ..." for a state segment only one side has, in the user's
// words where a deck key switches it (momentum buffers and optimizer.momentum).
std::string segment_mismatch(const std::string& segment, bool in_file,
                             const std::map<std::string, std::string>& was,
                             const std::map<std::string, std::string>& now,
                             const std::vector<DeckChange>& changes);
// The state segment whose deck key (as for segment_mismatch) `changes` turns from zero to
// non-zero or back, or "".
std::string switched_segment(const std::vector<DeckChange>& changes);

}  // namespace olsgd::io
