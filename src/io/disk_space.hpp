#pragma once
// The disk under a checkpoint: whether a file of a given size can be written there (free
// space, the process' file size limit), reserving it before any rank writes, and the likely
// cause when a write failed anyway. Sizes in the messages as "160 KiB" / "1.2 MiB".
#include <string>

namespace olsgd::io {

std::string size_text(double bytes);
// Bytes free under `dir` (root's reserve included for root); -1 when unknown.
double free_bytes(const std::string& dir);
// RLIMIT_FSIZE in bytes; -1 when unlimited.
double file_size_limit();
// Allocates `bytes` of disk for the file open on `fd` (extending it): throws
// std::runtime_error with the system's reason when the disk is full or the file size limit is
// lower. A file system without fallocate is left to the write itself.
void reserve(int fd, double bytes);
// Why a file of up to `need` bytes cannot be written into `dir`, or "".
std::string room_for(const std::string& dir, double need);
// The likely cause of a failed write of a file of up to `need` bytes (" (...)"), or "".
std::string why_write_failed(const std::string& dir, double need);

}  // namespace olsgd::io
