// Bad-input cases: the deck, --set and the command line.
#include "bad_input.hpp"

namespace olsgd::bad_input {

std::vector<Case> deck_cases() {
  return {
      {"unknown_option", [](const fs::path&) { return inputs("least_squares.yaml") + " --frob"; },
       "unknown option '--frob'"},
      {"set_out_of_range",
       [](const fs::path&) { return inputs("least_squares.yaml") + " --set algorithm.tau=-3"; },
       "algorithm.tau: must be an integer >= 1, got '-3'", 2, 2},
  };
}

}  // namespace olsgd::bad_input
