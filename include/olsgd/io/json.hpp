#pragma once
// A minimal streaming JSON writer for run summaries: nested objects and arrays, escaped
// strings, round-trippable doubles, and null for NaN/inf (which JSON cannot express).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace olsgd::io {

class JsonWriter {
 public:
  explicit JsonWriter(std::ostream& os) : os_(os) {}

  JsonWriter& begin_object(const std::string& key = {}) { return open(key, '{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array(const std::string& key = {}) { return open(key, '['); }
  JsonWriter& end_array() { return close(']'); }
  JsonWriter& value(const std::string& key, const std::string& v);
  JsonWriter& value(const std::string& key, const char* v) { return value(key, std::string(v)); }
  JsonWriter& value(const std::string& key, double v);
  JsonWriter& value(const std::string& key, std::int64_t v);
  JsonWriter& value(const std::string& key, int v) { return value(key, std::int64_t{v}); }
  JsonWriter& value(const std::string& key, bool v);

  static std::string escape(const std::string& s);

 private:
  JsonWriter& open(const std::string& key, char bracket);
  JsonWriter& close(char bracket);
  // Writes the separator, indentation and `"key": ` (keys are omitted inside arrays).
  void prefix(const std::string& key);

  std::ostream& os_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
};

}  // namespace olsgd::io
