#pragma once
// The check every reader and writer of a named file makes before opening it.
#include <string>

namespace olsgd {

// Throws InputError naming `path` when it exists but is not a regular file: "is a folder, not
// a <what>", or, for a pipe, socket or device, "not a regular file (a pipe, socket or device),
// not a <what>" (opening a pipe nobody writes blocks the run forever; a device may never end).
// A missing path passes: the opener reports it.
void require_regular_file(const std::string& path, const std::string& what);
// The same for a file to write: a device passes (/dev/null takes the writes, /dev/full fails
// them as a full disk would); a folder, pipe or socket does not ("is a pipe or socket, not a
// <what>").
void require_writable_file(const std::string& path, const std::string& what);

// Why a folder cannot be at `path` (read-only: nothing is created), or "" when it is a folder
// or could be created: "not a folder (a file of that name is in the way)", or "cannot create:
// <part> is a file, not a folder" for a file part-way along the path.
std::string folder_problem(const std::string& path);

}  // namespace olsgd
