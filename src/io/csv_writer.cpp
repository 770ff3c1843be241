#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/io/csv_writer.hpp>

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace olsgd::io {

CsvWriter::CsvWriter(const std::string& path, const std::string& header)
    : path_(path), out_(path, std::ios::trunc) {
  if (!out_) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  out_ << header << "\n";
  check_written();
}

CsvWriter::CsvWriter(const std::string& path, const std::string& header, long long resume_step,
                     int step_column)
    : path_(path) {
  std::vector<std::string> kept;
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && line == header) {
    while (std::getline(in, line)) {
      std::size_t pos = 0;
      for (int c = 0; c < step_column && pos != std::string::npos; ++c) {
        pos = line.find(',', pos);
        if (pos != std::string::npos) ++pos;
      }
      if (pos == std::string::npos) continue;
      if (std::strtod(line.c_str() + pos, nullptr) <= static_cast<double>(resume_step))
        kept.push_back(line);
    }
  }
  out_.open(path, std::ios::trunc);
  if (!out_) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  out_ << header << "\n";
  for (const auto& k : kept) out_ << k << "\n";
  check_written();
}

void CsvWriter::check_target(const std::string& path, const std::string& header, bool resuming) {
  require_writable_file(path, "CSV file");
  std::ifstream in(path);
  if (!in) return;  // a new file
  if (::access(path.c_str(), W_OK) != 0)
    throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  std::string first;
  if (resuming && std::getline(in, first) && first != header)
    throw InputError(path,
                     "its header is not the one this olsgd writes (another version wrote it, or "
                     "it was edited), so its rows cannot be continued; move it away to continue "
                     "the run here");
}

void CsvWriter::row(std::initializer_list<double> values) {
  cells(values);
  out_ << "\n";
  check_written();
}

void CsvWriter::row(std::initializer_list<double> values, const std::string& text) {
  cells(values);
  out_ << (values.size() ? "," : "") << text << "\n";
  check_written();
}

void CsvWriter::cells(std::initializer_list<double> values) {
  char buf[32];
  bool first = true;
  for (double v : values) {
    if (std::isnan(v))
      std::snprintf(buf, sizeof buf, "nan");
    else
      std::snprintf(buf, sizeof buf, "%.17g", v);
    out_ << (first ? "" : ",") << buf;
    first = false;
  }
}

void CsvWriter::check_written() {
  errno = 0;
  if (out_.flush()) return;
  const int err = errno;
  throw RunError(path_ + ": write failed" + (err ? std::string(": ") + std::strerror(err) : "") +
                 " (disk full or a file size limit?)");
}

void CsvWriter::close() {
  if (!out_.is_open()) return;
  check_written();
  out_.close();
  if (out_.fail()) throw RunError(path_ + ": closing failed (disk full?)");
}

}  // namespace olsgd::io
