#pragma once
// All per-rank state of an algorithm (parameters, momentum, anchors, ...) in ONE contiguous
// View. Segments are named subviews, so a sync is one buffer and one collective, a fused
// kernel reads each array once, and a checkpoint can save everything by name.
#include <olsgd/core/types.hpp>

#include <string>
#include <utility>
#include <vector>

namespace olsgd {

template <class Scalar>
class FlatState {
 public:
  struct Segment {
    std::string name;
    std::size_t offset;
    std::size_t size;
  };

  explicit FlatState(std::string label) : label_(std::move(label)) {}

  // Declares a segment; call before allocate(). Returns its index.
  std::size_t add(const std::string& name, std::size_t size);
  // Allocates the View (zero-initialised). Segments cannot be added afterwards.
  void allocate();

  bool has(const std::string& name) const;
  Vector<Scalar> segment(const std::string& name) const;
  Vector<Scalar> segment(std::size_t index) const;
  Vector<Scalar> all() const { return data_; }
  const std::vector<Segment>& segments() const { return segments_; }
  std::size_t size() const { return total_; }
  std::size_t bytes() const { return total_ * sizeof(Scalar); }

 private:
  std::string label_;
  std::vector<Segment> segments_;
  std::size_t total_ = 0;
  Vector<Scalar> data_;
};

}  // namespace olsgd
