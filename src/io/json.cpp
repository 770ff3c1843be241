#include <olsgd/io/json.hpp>

#include <cmath>
#include <cstdio>

namespace olsgd::io {

std::string JsonWriter::escape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void JsonWriter::prefix(const std::string& key) {
  if (!first_.empty()) {
    os_ << (first_.back() ? "\n" : ",\n");
    first_.back() = false;
  }
  os_ << std::string(2 * first_.size(), ' ');
  if (!key.empty()) os_ << escape(key) << ": ";
}

JsonWriter& JsonWriter::open(const std::string& key, char bracket) {
  prefix(key);
  os_ << bracket;
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::close(char bracket) {
  const bool empty = first_.back();
  first_.pop_back();
  if (!empty) os_ << "\n" << std::string(2 * first_.size(), ' ');
  os_ << bracket;
  if (first_.empty()) os_ << "\n";
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, const std::string& v) {
  prefix(key);
  os_ << escape(v);
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, double v) {
  prefix(key);
  if (!std::isfinite(v)) {
    os_ << "null";
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    os_ << buf;
  }
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, std::int64_t v) {
  prefix(key);
  os_ << v;
  return *this;
}

JsonWriter& JsonWriter::value(const std::string& key, bool v) {
  prefix(key);
  os_ << (v ? "true" : "false");
  return *this;
}

}  // namespace olsgd::io
