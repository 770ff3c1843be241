#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/core/error.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace olsgd {
namespace {

// Held-out rows per evaluation pass of the learning models (their kEvalChunk).
constexpr double kEvalChunk = 1024;

std::string bytes_text(double b) {
  char buf[32];
  if (b >= double(1 << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / double(1 << 30));
  else if (b >= double(1 << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  return buf;
}

std::string count_text(double n) {
  char buf[32];
  if (n >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f G ", n / 1e9);
  else if (n >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f M ", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.0f ", n);
  return buf;
}

// Copies of the d-vector in the algorithm's flat state (FlatState segments; the sketch
// table is added separately).
double state_copies(const Config& c) {
  const auto& a = c.algorithm;
  const bool momentum = c.optimizer.momentum > 0;
  if (a.name == "accelerated_minibatch_sgd") return 3;  // x_ag (params), x, x_md
  if (a.name == "sketched_sgd") return 3;               // params, momentum u, error v
  double copies = 1 + (momentum ? 1 : 0);               // params, local momentum
  if (a.name == "overlap_local_sgd" && a.anchor_compression == "quantize") return copies + 1;
  if (a.name == "overlap_local_sgd") return copies + 2;           // send, anchor
  if (a.name == "overlap_local_sgd_momentum") return copies + 3;  // + anchor momentum
  if (a.name == "slowmo")
    return copies + 2 + (a.slowmo_base == "overlap_local_sgd" ? 2 : 0);  // outer, slow momentum
  return copies;  // minibatch_sgd, local_sgd, qsgd, dq_sgd
}

// Words of one QSGD message of d numbers at `bits` (the norm, then 1 + bits words per 32).
double quantized_words(double d, double bits, double scalar_bytes) {
  return scalar_bytes / 4 + std::ceil(d / 32) * (1 + bits);
}

double read_number(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!(in >> text)) return std::nan("");
  if (text == "max") return std::numeric_limits<double>::infinity();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end != text.c_str() ? v : std::nan("");
}

}  // namespace

std::string MemoryEstimate::describe() const {
  std::ostringstream s;
  s << bytes_text(total()) << " (" << count_text(params) << "parameters: state "
    << bytes_text(state_bytes) << ", gradient and averaged model " << bytes_text(work_bytes)
    << ", data " << bytes_text(data_bytes) << ", scratch " << bytes_text(scratch_bytes) << ")";
  return s.str();
}

ProblemShape shape_from_deck(const Config& c, int rank, int ranks) {
  ProblemShape s;
  const auto& d = c.data;
  auto share = [&](Index total) {
    if (d.replicate) return total;
    return total / ranks + (rank < total % ranks ? 1 : 0);
  };
  auto limited = [&](Index total) { return d.limit > 0 ? std::min(d.limit, total) : total; };
  s.known = true;
  if (d.kind == "synthetic_least_squares") {
    s.features = d.features;
    s.train_rows = share(d.samples);
  } else if (d.kind == "synthetic_quadratic") {
    s.features = d.features;
  } else if (d.kind == "fashion_mnist") {
    s.features = 28 * 28, s.classes = 10;
    s.train_rows = share(limited(60000)), s.test_rows = share(10000);
  } else if (d.kind == "cifar10") {
    s.features = 3 * 32 * 32, s.classes = 10;
    s.train_rows = share(limited(50000)), s.test_rows = share(10000);
  } else {
    s.known = false;  // LIBSVM: the width is the largest index in the file
    s.sparse = true;
  }
  return s;
}

double model_params(const Config& c, const ProblemShape& s) {
  const double f = static_cast<double>(s.features);
  const std::string& kind = c.model.kind;
  if (kind == "least_squares" || kind == "quadratic") return f;
  const double k = s.classes > 2 ? s.classes : 2;
  if (kind == "logistic" && (s.sparse || s.classes <= 2)) return (s.classes > 2 ? k : 1) * (f + 1);
  // The MLP (and dense softmax regression, an MLP without hidden layers).
  std::vector<double> widths = {f};
  if (kind == "mlp")
    for (Index w : parse_widths(c.model.hidden)) widths.push_back(static_cast<double>(w));
  widths.push_back(k);
  double p = 0;
  for (std::size_t l = 1; l < widths.size(); ++l) p += widths[l] * widths[l - 1] + widths[l];
  return p;
}

MemoryEstimate estimate_memory(const Config& c, const ProblemShape& s, int ranks) {
  MemoryEstimate e;
  const double w = c.run.precision == Precision::Float32 ? 4 : 8;
  const double d = model_params(c, s);
  e.params = d;
  e.state_bytes = state_copies(c) * d * w;
  if (c.algorithm.name == "sketched_sgd")
    e.state_bytes += static_cast<double>(c.sketch.rows * c.sketch.cols) * w;
  e.work_bytes = 2 * d * w;
  // Dense rows x features (+ a label each); sparse: values, 32-bit columns, row offsets.
  const double rows = static_cast<double>(s.train_rows + s.test_rows);
  if (s.sparse)
    e.data_bytes = static_cast<double>(s.nonzeros) * (w + 4) + rows * 16;
  else
    e.data_bytes = rows * (static_cast<double>(s.features) * w + w);
  // Scratch: the MLP's activations and deltas for the larger of a batch and an evaluation
  // chunk; a message buffer per rank for the quantized exchanges; the sketch's estimates.
  const double capacity = std::max<double>(static_cast<double>(c.optimizer.batch), kEvalChunk);
  if (c.model.kind == "mlp" || c.model.kind == "logistic") {
    double widest = static_cast<double>(s.features), sum = widest + std::max(s.classes, 2);
    if (c.model.kind == "mlp")
      for (Index hw : parse_widths(c.model.hidden))
        sum += static_cast<double>(hw), widest = std::max(widest, static_cast<double>(hw));
    e.scratch_bytes += capacity * (sum + 2 * widest) * w;
  }
  const bool quantized =
      c.algorithm.name == "qsgd" || c.algorithm.name == "dq_sgd" ||
      (c.algorithm.name == "overlap_local_sgd" && c.algorithm.anchor_compression == "quantize");
  if (quantized) {
    const double bits = c.algorithm.name == "dq_sgd" ? 16 : static_cast<double>(c.quantize.bits);
    e.scratch_bytes += (ranks + 1) * quantized_words(d, bits, w) * 4 + d * w;
  }
  if (c.algorithm.name == "sketched_sgd") e.scratch_bytes += d * (w + 8);
  return e;
}

double memory_available_per_rank(int ranks_on_node) {
  double available = std::nan("");
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kib = 0;
    meminfo >> kib;
    if (key == "MemAvailable:") {
      available = kib * 1024;
      break;
    }
    meminfo.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  // A batch system's cgroup (v2) limit, when lower than what the node has free.
  const double limit = read_number("/sys/fs/cgroup/memory.max");
  const double used = read_number("/sys/fs/cgroup/memory.current");
  if (std::isfinite(limit) && std::isfinite(used))
    available = std::isnan(available) ? limit - used : std::min(available, limit - used);
  return available / std::max(ranks_on_node, 1);
}

std::string memory_refusal(const MemoryEstimate& need, double available, int ranks_on_node) {
  if (std::isnan(available) || need.total() <= available) return {};
  return "each rank needs about " + need.describe() + ", but only " + bytes_text(available) +
         " is available to each of the " + std::to_string(ranks_on_node) +
         " ranks on this node; shrink the model or the data, or use more nodes";
}

}  // namespace olsgd
