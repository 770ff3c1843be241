#pragma once
// Reading an input deck: a YAML file (or text) and `--set key=value` overrides, through the
// key schema (core/config.hpp) and the checks across keys, the algorithm's and the model's
// coming from their registrations (algo/registry.hpp, model/registry.hpp).
#include <olsgd/core/config.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace olsgd {

// Reads, parses and validates a deck, then applies `--set key=value` overrides, for a run
// on `ranks` MPI ranks. Throws InputError naming the file, line and key on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides, int ranks);
// load_config's reading: the deck file's text, after the checks on the file (a folder, a
// device, over 1 MiB, setting nothing). A job reads it once, on rank 0, and sends the text.
std::string read_deck(const std::string& path);
// The same for deck text already in memory (`source` names it in messages).
Config parse_config(const std::string& text, const std::string& source,
                    const std::vector<std::string>& overrides, int ranks);

// A help table of every key (name, default, meaning), then the registered algorithms, anchor
// exchanges and models with the keys each reads.
std::string config_help();

}  // namespace olsgd
