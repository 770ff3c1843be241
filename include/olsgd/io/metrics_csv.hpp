#pragma once
// The per-step metrics file: one header line, then one row per logged step. Values are
// written with 17 significant digits so two runs can be compared bitwise; unknown is "nan".
#include <olsgd/core/metrics.hpp>

#include <fstream>
#include <string>

namespace olsgd::io {

class MetricsCsv {
 public:
  // Opens (truncates) `path`; throws InputError naming the path if it cannot.
  explicit MetricsCsv(const std::string& path);
  void write(const MetricsRow& row);
  static const char* header();

 private:
  std::string path_;
  std::ofstream out_;
};

}  // namespace olsgd::io
