#pragma once
// The checkpoints in a folder, as the writer's rotation, `restart: latest` and the start-of-run
// check see them: regular files named ckpt-<step>.h5 (a step that fits an Index).
#include <olsgd/core/types.hpp>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace olsgd::io {

// Oldest first; none when `dir` is missing or unreadable.
std::vector<std::pair<Index, std::filesystem::path>> list_checkpoints(const std::string& dir);

}  // namespace olsgd::io
