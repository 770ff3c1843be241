#pragma once
// HDF5 checkpoints: one file holds every rank's full state; written atomically, verified on
// reading.
//
// Layout (h5dump / h5py readable; datasets named after what they hold):
//   /                 attributes format_version, olsgd_version, algorithm, ranks, num_params,
//                     precision, step (steps completed), seed
//   /deck             the effective deck, one "key: value" line per key
//   /build            the build that wrote it (version line)
//   /state/<segment>  [ranks][size], float32 or float64 as the run: params, momentum, anchor,
//                     error, sketch, ... (row r belongs to rank r); the group's attribute
//                     `segments` lists them in the order the checksum takes them (files
//                     written before it existed: the order of the run that reads them)
//   /host/<name>      [ranks] float64: host-side counters and choices (bytes sent so far,
//                     the quadratic model's draws, DQ-SGD's next levels, syncs so far)
//   /checksum         [ranks] uint64: FNV-1a over rank r's rows, its host values and the deck
//                     (exactly what the file holds, whatever the deck reading it expects)
// The first 512 bytes are an HDF5 user block (skipped by HDF5 tools) holding a seal over the
// rest of the file: magic, length, FNV-1a. Rank 0 checks it before HDF5 parses anything, so a
// truncated or damaged file gets a clear message and never reaches the HDF5 parser.
//
// Writing: rank 0 writes <dir>/ckpt-<step>.h5.tmp, the other ranks send it their rows. HDF5
// lays the file out in memory (its rows allocated, unwritten) and olsgd writes it to disk with
// its own calls, so a failed write never reaches HDF5, which cannot recover from one. Rank 0
// seals the file, fsyncs it, renames it to ckpt-<step>.h5, fsyncs the folder, and only then
// removes all but the newest `keep_last`. A crash at any moment leaves the previous complete
// checkpoint in place; a left-over .tmp is never read and is replaced by the next write.
// A write that fails (disk full, file size limit, an I/O error) ends the run on every rank
// with rank 0's message; the .tmp is removed and the previous complete checkpoint stays the
// latest.
// Reading: each rank opens the file on its own (no collective that a bad file could hang),
// checks it, reads its row; every rank refuses together with the first rank's message.
// Before any row is read, the file's deck, state segments and host values are compared with
// this run's: a deck key a restart must not change (restart_change) is refused by name, one it
// may change with care is a warning, and a segment the run does not keep (or lacks) is
// refused in the user's words, naming the deck key that decides it.
#include <olsgd/comm/communicator.hpp>
#include <olsgd/core/config.hpp>
#include <olsgd/core/flat_state.hpp>
#include <olsgd/core/types.hpp>
#include <olsgd/io/restart_rules.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace olsgd::io {

inline constexpr int kCheckpointFormat = 1;

struct CheckpointInfo {
  int format = kCheckpointFormat;
  std::string olsgd_version;
  std::string algorithm;
  int ranks = 1;
  Index num_params = 0;
  std::string precision;
  Index step = 0;  // steps completed
  std::uint64_t seed = 0;
  std::string deck;
  std::string build;
  // The numbers per rank in the state, its segments' sizes summed: the file's (filled by
  // inspect_checkpoint), or, expected by a run, its own (0: not known before the model is).
  Index state_values = 0;
  // This run's deck keys that its algorithm and model do not read: a restart may change them
  // freely (not written to the file).
  std::vector<std::string> unread_keys;
  // Filled by read_checkpoint: one line per deck key this run changes that a restart may
  // change with care ("<file>: optimizer.lr: ..."), the same on every rank.
  std::vector<std::string> warnings;
};

// Collective. Writes the state of every rank of `comm` for `info.step`; returns the path.
template <class Scalar>
std::string write_checkpoint(const std::string& dir, Index keep_last, const CheckpointInfo& info,
                             const FlatState<Scalar>& state, const HostState& host,
                             const comm::Communicator& comm);

// Collective. Reads this rank's part of the checkpoint at `path` into `state` and `host`.
// Throws InputError on every rank, with one message, for a missing, truncated, corrupted or
// newer-format file, one written on another rank count, one whose deck differs from
// `expect.deck` in a key a restart must not change, or one whose state segments or host
// values are not those `state` and `host` have.
template <class Scalar>
CheckpointInfo read_checkpoint(const std::string& path, const CheckpointInfo& expect,
                               const FlatState<Scalar>& state, HostState& host,
                               const comm::Communicator& comm);

// Rank-local, reads no state: checks the file at `path` as read_checkpoint does before it reads
// rows (seal, format, header, the deck keys a restart must not change, refused by name) and
// returns its header, with the warnings for the keys this run changes with care. For `olsgd
// --check`, which knows no segment names: where `expect` gives them, the parameter count and
// the state's size (a segment switched on or off in the run's words, as read_checkpoint has).
CheckpointInfo inspect_checkpoint(const std::string& path, const CheckpointInfo& expect);

// Rewrites the seal of a checkpoint file (for tools and tests that edit one on purpose;
// olsgd seals every file it writes).
void seal_checkpoint(const std::string& path);

// Whether this build writes and reads checkpoints (OLSGD_ENABLE_HDF5; without it the
// functions above throw an InputError saying so).
bool checkpoints_available();
// In a build without them, the deck error for checkpoint.every > 0 or a checkpoint.restart
// naming a file (a stop signal still ends such a run cleanly; `restart: latest` starts fresh).
void refuse_checkpoints_if_unavailable(const Config& config);

// Rank-local and read-only: the refusal for the checkpoints in `dir` past `resumed_step` (0: a
// fresh start), another run's or the abandoned rest of the one resumed, or "" when it holds none
// (or is no folder).
std::string later_checkpoints(const std::string& dir, Index resumed_step);
// The same, after the folder itself: a file in its place or part-way along its path
// (folder_problem).
std::string checkpoint_dir_problem(const std::string& dir, Index resumed_step);

// Collective, at the start of a run that writes checkpoints (from `resumed_step`, 0 when it
// starts fresh): creates `dir` and writes a file in it, so a folder that cannot take them stops
// the run before training rather than at its first checkpoint, and refuses a folder holding
// checkpoints past `resumed_step` (checkpoint_dir_problem). Throws InputError on every rank with
// rank 0's reason.
void prepare_checkpoint_dir(const std::string& dir, const comm::Communicator& comm,
                            Index resumed_step);

// The newest complete checkpoint in `dir` (highest step), or "" when there is none (or no
// `dir`). Throws InputError when `dir` is there but is not a folder or cannot be read.
std::string latest_checkpoint(const std::string& dir);

}  // namespace olsgd::io
