// LIBSVM / SVMlight text into CSR on the host. Text has no index, so every rank parses the
// file and keeps its rows afterwards (select_rows).
#include <olsgd/core/error.hpp>
#include <olsgd/core/files.hpp>
#include <olsgd/data/readers.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

namespace olsgd {
namespace {

// Column indices are stored as int, the CSR ordinal type (SparseMatrix in dataset.hpp): an
// index above INT_MAX is refused with that limit, never truncated. Widening the ordinal to
// 64 bits would double the index memory and traffic of every sparse product for models no
// rank could hold anyway (2^31 features times the classes).
constexpr long long kMaxIndex = std::numeric_limits<int>::max();
// Labels that are not -1/+1 are classes 0..K-1, with K at most this plus one.
constexpr double kMaxClass = 1e6;

[[noreturn]] void bad_line(const std::string& path, Index line, const std::string& what) {
  throw InputError(path + ":" + std::to_string(line), what);
}

bool ends_number(char c) {
  return c == ' ' || c == '\t' || c == '\0' || c == '\r';
}

// The number at `p` (strtod), refused unless finite and within double's range; the message
// says "<noun> <text><of> ..." ("value 1e400 of feature 3 overflows a double"). Underflow
// (1e-400) rounds to zero and is kept.
double parse_real(const char* p, const char** next, const std::string& path, Index line,
                  const std::string& noun, const std::string& of, const std::string& malformed) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(p, &end);
  if (end == p || !ends_number(*end)) bad_line(path, line, malformed);
  const std::string text(p, static_cast<const char*>(end));
  if (std::isnan(v) || (std::isinf(v) && errno != ERANGE))
    bad_line(path, line, noun + " " + text + of + " is not a finite number");
  if (std::isinf(v)) bad_line(path, line, noun + " " + text + of + " overflows a double");
  *next = end;
  return v;
}

}  // namespace

HostData read_libsvm(const std::string& path, Index limit, Index columns) {
  require_regular_file(path, kLibsvmFileKind);
  std::ifstream in(path);
  if (!in) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  HostData out;
  out.sparse = true;
  out.row_ptr.push_back(0);
  std::vector<double> raw_labels;
  std::string text;
  Index line = 0, max_index = 0;
  // Lines of the first label -1 and of the first label other than -1/+1: both together mix
  // the two label conventions.
  Index minus_one_line = 0, class_line = 0;
  double class_label = 0;
  while (std::getline(in, text) && (limit == 0 || static_cast<Index>(raw_labels.size()) < limit)) {
    ++line;
    if (text.find('\0') != std::string::npos)
      bad_line(path, line, "holds a NUL byte (a binary file, not LIBSVM text?)");
    const auto hash = text.find('#');
    if (hash != std::string::npos) text.resize(hash);
    const char* p = text.c_str();
    while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
    if (*p == '\0') continue;  // blank or comment-only line
    const char* label_text = p;
    const double label =
        parse_real(p, &p, path, line, "label", "", "malformed label (expected a number first)");
    if (label == -1) {
      if (minus_one_line == 0) minus_one_line = line;
    } else if (label != 1) {
      if (label != std::floor(label) || label < 0 || label > kMaxClass)
        bad_line(path, line,
                 "label " + std::string(label_text, p) +
                     " is neither -1/+1 nor a class 0..K-1 (an integer, at most 1000000)");
      if (class_line == 0) {
        class_line = line;
        class_label = label;
      }
    }
    raw_labels.push_back(label);
    Index previous = 0;
    for (;;) {
      while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
      if (*p == '\0') break;
      char* end = nullptr;
      errno = 0;
      const long long index = std::strtoll(p, &end, 10);
      if (end == p || *end != ':') bad_line(path, line, "malformed feature (expected index:value)");
      const std::string index_text(p, static_cast<const char*>(end));
      if (index < 1)
        bad_line(path, line, "feature index " + index_text + " < 1 (indices are 1-based)");
      if (errno == ERANGE || index > kMaxIndex)
        bad_line(path, line,
                 "feature index " + index_text + " exceeds the largest supported index " +
                     std::to_string(kMaxIndex));
      if (index <= previous)
        bad_line(path, line,
                 "feature indices must increase (" + std::to_string(index) + " after " +
                     std::to_string(previous) + ")");
      if (columns > 0 && index > columns)
        bad_line(path, line,
                 "feature index " + std::to_string(index) + " exceeds the " +
                     std::to_string(columns) + " features of the training data");
      const char* value_text = end + 1;
      const std::string of = " of feature " + std::to_string(index);
      const double value =
          parse_real(value_text, &p, path, line, "value", of, "malformed value" + of);
      // Values are stored as float whatever the precision: one beyond its range is refused.
      if (std::fabs(value) > std::numeric_limits<float>::max()) {
        char largest[32];
        std::snprintf(largest, sizeof largest, "%g", std::numeric_limits<float>::max());
        bad_line(path, line,
                 "value " + std::string(value_text, p) + of + " overflows float32 (largest " +
                     largest + ")");
      }
      out.col.push_back(static_cast<int>(index - 1));
      out.val.push_back(static_cast<float>(value));
      previous = index;
      max_index = std::max<Index>(max_index, index);
    }
    out.row_ptr.push_back(static_cast<Index>(out.col.size()));
  }
  if (raw_labels.empty()) throw InputError(path, "no samples (only blank or comment lines)");
  // (A test file may name no feature: its width comes from the training data.)
  if (max_index == 0 && columns == 0)
    throw InputError(path, "no sample has a feature (every line is a bare label)");
  if (minus_one_line > 0 && class_line > 0) {
    char other[32];
    std::snprintf(other, sizeof other, "%.0f", class_label);  // an integer up to 1e6
    bad_line(path, minus_one_line,
             std::string("label -1 with class labels 0..K-1 elsewhere (") + other + " on line " +
                 std::to_string(class_line) + "): use -1/+1 or 0..K-1 throughout");
  }
  out.rows = static_cast<Index>(raw_labels.size());
  out.columns = columns > 0 ? columns : max_index;
  // Classes: -1/+1 is binary; otherwise integers 0..K-1 (checked above).
  const bool pm1 = class_line == 0;
  out.labels.resize(out.rows);
  int max_label = 0;
  for (Index i = 0; i < out.rows; ++i) {
    const double y = raw_labels[i];
    out.labels[i] = pm1 ? (y > 0 ? 1 : 0) : static_cast<int>(y);
    max_label = std::max(max_label, out.labels[i]);
  }
  out.num_classes = std::max(2, max_label + 1);
  return out;
}

HostData select_rows(const HostData& all, const std::vector<Index>& keep) {
  HostData out;
  out.rows = static_cast<Index>(keep.size());
  out.columns = all.columns;
  out.num_classes = all.num_classes;
  out.sparse = all.sparse;
  out.labels.reserve(keep.size());
  if (all.sparse) out.row_ptr.push_back(0);
  for (Index i : keep) {
    out.labels.push_back(all.labels[i]);
    if (all.sparse) {
      out.col.insert(out.col.end(), all.col.begin() + all.row_ptr[i],
                     all.col.begin() + all.row_ptr[i + 1]);
      out.val.insert(out.val.end(), all.val.begin() + all.row_ptr[i],
                     all.val.begin() + all.row_ptr[i + 1]);
      out.row_ptr.push_back(static_cast<Index>(out.col.size()));
    } else {
      out.dense.insert(out.dense.end(), all.dense.begin() + i * all.columns,
                       all.dense.begin() + (i + 1) * all.columns);
    }
  }
  return out;
}

}  // namespace olsgd
