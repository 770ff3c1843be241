#pragma once
// Error types. Every failure caused by what the user handed us (deck, command line, data
// files, checkpoints) is an InputError: the driver prints its one-line message and exits 2.
// Each message is made printable() once, here, whatever text of the user's it quotes.
#include <stdexcept>
#include <string>

namespace olsgd {

// `text` safe to print as one line of a terminal: control bytes (a newline, a carriage return,
// an escape sequence echoed from a hostile deck or file name), C1 controls and bytes that are
// not UTF-8 become \xNN; valid UTF-8 text stays as it is.
std::string printable(const std::string& text);

// A count in a message: "1 rank", "2 ranks" (`what` takes an "s").
std::string plural(long long n, const char* what);

// Exit code of a run refused because of bad input.
inline constexpr int kExitInput = 2;
// Exit code of a run that failed for any other reason (MPI, I/O, internal).
inline constexpr int kExitFailure = 1;
// Exit code of a run stopped because training diverged (non-finite loss or model).
inline constexpr int kExitDiverged = 3;

class InputError : public std::runtime_error {
 public:
  // `where` names the file (and key or line) at fault; `what` says what is wrong with it.
  InputError(const std::string& where, const std::string& what)
      : std::runtime_error(printable(where.empty() ? what : where + ": " + what)) {}
};

// A failure every rank has agreed on that is not the user's input: a write that failed (full
// disk, file size limit). The driver prints its one line (rank 0) and exits kExitFailure;
// nothing written before it (checkpoints, earlier rows) is touched.
class RunError : public std::runtime_error {
 public:
  explicit RunError(const std::string& what) : std::runtime_error(printable(what)) {}
};

// Training produced a non-finite loss or model; every rank sees the same values and throws
// together. The driver writes the summary of the diverged run, no checkpoint, and exits
// kExitDiverged.
class DivergedError : public std::runtime_error {
 public:
  explicit DivergedError(const std::string& what) : std::runtime_error(printable(what)) {}
};

}  // namespace olsgd
