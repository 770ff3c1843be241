#pragma once
// Error types. Every failure caused by what the user handed us (deck, command line, data
// files, checkpoints) is an InputError: the driver prints its one-line message and exits 2.
#include <stdexcept>
#include <string>

namespace olsgd {

// Exit code of a run refused because of bad input.
inline constexpr int kExitInput = 2;
// Exit code of a run that failed for any other reason (MPI, I/O, internal).
inline constexpr int kExitFailure = 1;

class InputError : public std::runtime_error {
 public:
  // `where` names the file (and key or line) at fault; `what` says what is wrong with it.
  InputError(const std::string& where, const std::string& what)
      : std::runtime_error(where.empty() ? what : where + ": " + what) {}
};

}  // namespace olsgd
