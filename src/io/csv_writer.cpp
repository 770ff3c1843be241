#include <olsgd/core/error.hpp>
#include <olsgd/io/csv_writer.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace olsgd::io {

CsvWriter::CsvWriter(const std::string& path, const std::string& header)
    : out_(path, std::ios::trunc) {
  if (!out_) throw InputError(path, std::string("cannot write: ") + std::strerror(errno));
  out_ << header << "\n";
}

void CsvWriter::row(std::initializer_list<double> values) {
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
  out_ << "\n";
  out_.flush();
}

}  // namespace olsgd::io
