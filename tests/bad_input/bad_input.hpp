#pragma once
// The table-driven bad-input suite: every malformed deck, option, data file, checkpoint and
// output path a user can hand olsgd, run through the real binary. Each case says what it
// breaks, and the suite checks the contract: the exit code, exactly one line on stderr
// ("olsgd: error: ..." for exit 2, "olsgd: fatal ..." for exit 1) matching the case's
// pattern, and, where the case asks, that files already there survive untouched.
//
// Cases live in one file per class of input (cases_*.cpp), each a function returning its
// table; main.cpp runs them all as one parameterised GoogleTest suite.
#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace olsgd::bad_input {

namespace fs = std::filesystem;

struct Result {
  int code = -1;
  std::string out, err;
};

struct Case {
  using Prepare = std::function<std::string(const fs::path& dir)>;
  using After = std::function<void(const fs::path& dir, const Result& r)>;
  Case(std::string name_, Prepare prepare_, std::string message_, int exit_code_ = 2,
       int ranks_ = 0, After after_ = {})
      : name(std::move(name_)),
        prepare(std::move(prepare_)),
        message(std::move(message_)),
        exit_code(exit_code_),
        ranks(ranks_),
        after(std::move(after_)) {}

  std::string name;  // GoogleTest name: letters, digits and '_'
  // Writes what the case needs under `dir` (a fresh folder) and returns the arguments after
  // the olsgd binary.
  Prepare prepare;
  std::string message;  // an ECMAScript regex the stderr line must contain
  int exit_code = 2;
  int ranks = 0;       // 0: the binary alone (an MPI singleton); else under mpiexec with this many
  std::string prefix;  // shell words ahead of the command; {dir} stands for `dir`
  std::string launcher;  // shell words between mpiexec and the binary (each rank runs under them)
  // Optional checks after the run (e.g. a checkpoint or output that must survive).
  After after;
};

void PrintTo(const Case& c, std::ostream* os);

// Each class of input.
std::vector<Case> deck_cases();
std::vector<Case> data_cases();
std::vector<Case> checkpoint_cases();
std::vector<Case> output_cases();

// `c` run behind `prefix`: shell words ahead of the command, {dir} standing for the case's
// folder (e.g. a private mount namespace with a tiny file system, see cases_output.cpp).
Case with_prefix(Case c, std::string prefix);

// `c` with one C library call of its ranks failing with EIO on the path ending in `suffix`,
// once `after` such calls have succeeded (`call`: fsync, rename, fopen, close, fallocate or
// pwrite; an LD_PRELOAD library, tests/bad_input/io_fault.c).
Case with_io_fault(Case c, const std::string& call, const std::string& suffix, int after = 0);

// --- tools for the cases -----------------------------------------------------------------
// Runs olsgd with `args` (after the binary), directly (ranks = 0) or under mpiexec; `prefix`
// goes in front of the whole command (e.g. "ulimit -f 64; " or "env -u VAR "), `launcher`
// in front of the binary.
Result run_olsgd(const std::string& args, const fs::path& dir, int ranks = 0,
                 const std::string& prefix = "", const std::string& launcher = "");
void write_file(const fs::path& path, const std::string& text);
std::string read_file(const fs::path& path);
// A named pipe at `path` (nobody writes it: opening it to read or write would block).
void make_fifo(const fs::path& path);
// The repository's inputs/ folder, and a deck in it.
std::string inputs(const std::string& name);
// A prefix (with_prefix) that runs the command as root without the capabilities that let root
// read and write any file (setpriv(1)), so a folder or file without permissions stops it as it
// stops any other user; empty for other users.
std::string as_plain_user();
// A tiny, fast least-squares run (2 ranks fine) writing into `dir`/out: a base for cases
// that break one more thing with extra --set.
std::string tiny_run(const fs::path& dir);

}  // namespace olsgd::bad_input
