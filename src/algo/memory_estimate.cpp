#include <olsgd/algo/memory_estimate.hpp>
#include <olsgd/algo/registry.hpp>
#include <olsgd/core/error.hpp>

#include <Kokkos_Core.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace olsgd {
namespace {

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
  } else if (d.kind == "fashion_mnist" || d.kind == "cifar10") {
    s.image = image_dims(d.kind);
    s.features = s.image.size(), s.classes = 10;
    s.train_rows = share(limited(d.kind == "fashion_mnist" ? 60000 : 50000));
    s.test_rows = share(10000);
  } else {
    s.known = false;  // LIBSVM: the width is the largest index in the file
    s.sparse = true;
  }
  return s;
}

double model_params(const Config& c, const ProblemShape& s) {
  return model_entry(c).params(c, s);
}

MemoryEstimate estimate_memory(const Config& c, const ProblemShape& s, int ranks) {
  MemoryEstimate e;
  const AlgorithmEntry& algorithm = algorithm_entry(c);
  const ModelEntry& model = model_entry(c);
  const double w = c.run.precision == Precision::Float32 ? 4 : 8;
  const double d = model.params(c, s);
  e.params = d;
  e.scalar_bytes = w;
  e.state_bytes = algorithm.state_copies(c) * d * w;
  if (algorithm.extra_state_bytes) e.state_bytes += algorithm.extra_state_bytes(c, w);
  e.work_bytes = 2 * d * w;
  // Dense rows x features (+ a label each); sparse: values, 32-bit columns, row offsets.
  const double rows = static_cast<double>(s.train_rows + s.test_rows);
  if (s.sparse)
    e.data_bytes = static_cast<double>(s.nonzeros) * (w + 4) + rows * 16;
  else
    e.data_bytes = rows * (static_cast<double>(s.features) * w + w);
  // Scratch: the model's activations (for a batch or an evaluation chunk, whichever it holds)
  // and the algorithm's message buffers.
  if (model.scratch)
    e.scratch_bytes += model.scratch(c, s, static_cast<double>(c.optimizer.batch), w);
  if (algorithm.scratch_bytes) e.scratch_bytes += algorithm.scratch_bytes(c, d, w, ranks);
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

int device_ordinal() {
#if defined(KOKKOS_ENABLE_CUDA)
  return Kokkos::Cuda().cuda_device();
#elif defined(KOKKOS_ENABLE_HIP)
  return Kokkos::HIP().hip_device();
#else
  return -1;
#endif
}

double device_memory_available_per_rank(int ranks_on_device) {
  std::size_t free = 0, total = 0;
#if defined(KOKKOS_ENABLE_CUDA)
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) return std::nan("");
#elif defined(KOKKOS_ENABLE_HIP)
  if (hipMemGetInfo(&free, &total) != hipSuccess) return std::nan("");
#else
  (void)free, (void)total, (void)ranks_on_device;
  return std::nan("");
#endif
  return static_cast<double>(free) / std::max(ranks_on_device, 1);
}

std::string memory_refusal(const MemoryEstimate& need, double available, int ranks,
                           const std::string& pool) {
  if (std::isnan(available) || need.total() <= available) return {};
  const std::string share =
      ", but only " + bytes_text(available) + " is available to " +
      (ranks == 1 ? "the 1 rank" : "each of the " + std::to_string(ranks) + " ranks") + " on " +
      pool;
  // Activations grow with the batch: when they are most of the need, the batch is the key.
  if (need.scratch_bytes > 0.5 * need.total())
    return "optimizer.batch: each rank needs about " + need.describe() + share +
           "; the activations of one batch take " + bytes_text(need.scratch_bytes) +
           ": lower optimizer.batch";
  return "each rank needs about " + need.describe() + share +
         "; shrink the model or the data, or use more nodes";
}

}  // namespace olsgd
