#pragma once
// metrics.csv (one row per logged step) and syncs.csv (one row per sync of rank 0).
#include <olsgd/core/metrics.hpp>
#include <olsgd/io/csv_writer.hpp>

namespace olsgd::io {

class MetricsCsv {
 public:
  explicit MetricsCsv(const std::string& path) : csv_(path, header()) {}
  // Continues the file of a run restarted at `resume_step` (see CsvWriter).
  MetricsCsv(const std::string& path, long long resume_step)
      : csv_(path, header(), resume_step, 0) {}
  void write(const MetricsRow& row);
  void close() { csv_.close(); }
  static const char* header();

 private:
  CsvWriter csv_;
};

class SyncsCsv {
 public:
  explicit SyncsCsv(const std::string& path) : csv_(path, header()) {}
  SyncsCsv(const std::string& path, long long resume_step) : csv_(path, header(), resume_step, 1) {}
  void write(const SyncRecord& sync);
  void close() { csv_.close(); }
  static const char* header();

 private:
  CsvWriter csv_;
};

}  // namespace olsgd::io
