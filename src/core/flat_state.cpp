#include <olsgd/core/flat_state.hpp>

#include <stdexcept>

namespace olsgd {

template <class Scalar>
std::size_t FlatState<Scalar>::add(const std::string& name, std::size_t size) {
  if (data_.data() != nullptr) throw std::logic_error("FlatState: add() after allocate()");
  if (has(name)) throw std::logic_error("FlatState: duplicate segment '" + name + "'");
  segments_.push_back({name, total_, size});
  total_ += size;
  return segments_.size() - 1;
}

template <class Scalar>
void FlatState<Scalar>::allocate() {
  data_ = Vector<Scalar>(label_, total_);
}

template <class Scalar>
bool FlatState<Scalar>::has(const std::string& name) const {
  for (const auto& s : segments_)
    if (s.name == name) return true;
  return false;
}

template <class Scalar>
Vector<Scalar> FlatState<Scalar>::segment(const std::string& name) const {
  for (std::size_t i = 0; i < segments_.size(); ++i)
    if (segments_[i].name == name) return segment(i);
  throw std::logic_error("FlatState: no segment '" + name + "'");
}

template <class Scalar>
Vector<Scalar> FlatState<Scalar>::segment(std::size_t index) const {
  const Segment& s = segments_.at(index);
  return Kokkos::subview(data_, std::make_pair(s.offset, s.offset + s.size));
}

template class FlatState<float>;
template class FlatState<double>;

}  // namespace olsgd
