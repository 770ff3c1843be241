// LIBSVM / SVMlight text into CSR on the host. Text has no index, so every rank parses the
// file and keeps its rows afterwards (select_rows).
#include <olsgd/core/error.hpp>
#include <olsgd/data/readers.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace olsgd {
namespace {

[[noreturn]] void bad_line(const std::string& path, Index line, const std::string& what) {
  throw InputError(path + ":" + std::to_string(line), what);
}

}  // namespace

HostData read_libsvm(const std::string& path, Index limit, Index columns) {
  std::ifstream in(path);
  if (!in) throw InputError(path, std::string("cannot open: ") + std::strerror(errno));
  HostData out;
  out.sparse = true;
  out.row_ptr.push_back(0);
  std::vector<double> raw_labels;
  std::string text;
  Index line = 0, max_index = 0;
  while (std::getline(in, text) && (limit == 0 || static_cast<Index>(raw_labels.size()) < limit)) {
    ++line;
    const auto hash = text.find('#');
    if (hash != std::string::npos) text.resize(hash);
    const char* p = text.c_str();
    while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
    if (*p == '\0') continue;  // blank or comment-only line
    char* end = nullptr;
    const double label = std::strtod(p, &end);
    if (end == p || (*end != ' ' && *end != '\t' && *end != '\0' && *end != '\r'))
      bad_line(path, line, "malformed label (expected a number first)");
    raw_labels.push_back(label);
    p = end;
    Index previous = 0;
    for (;;) {
      while (*p == ' ' || *p == '\t' || *p == '\r') ++p;
      if (*p == '\0') break;
      const long long index = std::strtoll(p, &end, 10);
      if (end == p || *end != ':') bad_line(path, line, "malformed feature (expected index:value)");
      if (index < 1)
        bad_line(path, line,
                 "feature index " + std::to_string(index) + " < 1 (indices are 1-based)");
      if (index <= previous)
        bad_line(path, line,
                 "feature indices must increase (" + std::to_string(index) + " after " +
                     std::to_string(previous) + ")");
      if (columns > 0 && index > columns)
        bad_line(path, line,
                 "feature index " + std::to_string(index) + " exceeds the " +
                     std::to_string(columns) + " features of the training data");
      p = end + 1;
      const double value = std::strtod(p, &end);
      if (end == p || (*end != ' ' && *end != '\t' && *end != '\0' && *end != '\r'))
        bad_line(path, line, "malformed value of feature " + std::to_string(index));
      p = end;
      out.col.push_back(static_cast<int>(index - 1));
      out.val.push_back(static_cast<float>(value));
      previous = index;
      max_index = std::max<Index>(max_index, index);
    }
    out.row_ptr.push_back(static_cast<Index>(out.col.size()));
  }
  if (raw_labels.empty()) throw InputError(path, "no samples (only blank or comment lines)");
  out.rows = static_cast<Index>(raw_labels.size());
  out.columns = columns > 0 ? columns : max_index;
  // Classes: -1/+1 (or 0/1) is binary; otherwise integers 0..K-1.
  const bool pm1 =
      std::all_of(raw_labels.begin(), raw_labels.end(), [](double y) { return y == -1 || y == 1; });
  out.labels.resize(out.rows);
  int max_label = 0;
  for (Index i = 0; i < out.rows; ++i) {
    const double y = raw_labels[i];
    if (pm1) {
      out.labels[i] = y > 0 ? 1 : 0;
    } else if (y != std::floor(y) || y < 0 || y > 1e6) {
      throw InputError(path, "label " + std::to_string(y) + " of sample " + std::to_string(i) +
                                 " is neither -1/+1 nor a class 0..K-1");
    } else {
      out.labels[i] = static_cast<int>(y);
    }
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
