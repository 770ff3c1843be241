#pragma once
// A CSV file of numbers: a header line, then rows written with 17 significant digits so two
// runs can be compared bitwise; NaN is written as "nan". Each row is flushed, so a killed
// run keeps what it logged. Every write is checked: a full disk or a file size limit throws a
// RunError naming the file (close() checks the last flush too).
#include <fstream>
#include <initializer_list>
#include <string>

namespace olsgd::io {

class CsvWriter {
 public:
  // Opens (truncates) `path` and writes `header`; throws InputError naming the path.
  CsvWriter(const std::string& path, const std::string& header);
  // For a run restarted at step `resume_step`: keeps the rows of an existing `path` (same
  // header) whose column `step_column` is at most resume_step, and appends after them; rows
  // the interrupted run logged past its checkpoint are dropped, so they are not repeated.
  CsvWriter(const std::string& path, const std::string& header, long long resume_step,
            int step_column);
  void row(std::initializer_list<double> values);
  // The same with a last cell of text (no commas or newlines in it).
  void row(std::initializer_list<double> values, const std::string& text);
  // Closes the file; throws RunError when anything written could not be stored.
  void close();
  // Throws InputError naming `path` when a writer could not take it over: not a regular file
  // (a folder, a pipe), not writable, or, when `resuming`, a file whose first line is not
  // `header` (its rows would be dropped). A run checks all its files first, so a refused run
  // truncates none of them.
  static void check_target(const std::string& path, const std::string& header, bool resuming);

 private:
  void cells(std::initializer_list<double> values);
  void check_written();
  std::string path_;
  std::ofstream out_;
};

}  // namespace olsgd::io
