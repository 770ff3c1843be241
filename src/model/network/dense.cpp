#include <olsgd/kernels/gemm.hpp>

#include "../mlp_kernels.hpp"
#include "layers.hpp"

namespace olsgd::net {

template <class Scalar>
void Dense<Scalar>::initialize(const ExecSpace& exec, Scalar* w, Scalar*,
                               InitStreams& streams) const {
  init_uniform(exec, w, this->plan_.params, this->in_size(), streams);
}

template <class Scalar>
double Dense<Scalar>::l2_weights(const ExecSpace& exec, const Scalar* w, Scalar* g, Scalar l2,
                                 bool want_sum) const {
  return l2_range(exec, w, g, this->in_size() * this->out_size(), l2, want_sum);
}

template <class Scalar>
void Dense<Scalar>::forward(const Pass<Scalar>& p, const Scalar* in, Scalar* out) {
  const Index n = p.n, fan_in = this->in_size(), width = this->out_size();
  Scalar* w = const_cast<Scalar*>(p.w);
  auto Z = Block<Scalar>(out, n, width);
  kernels::gemm(p.exec, "N", "T", Scalar(1), Block<Scalar>(const_cast<Scalar*>(in), n, fan_in),
                Block<Scalar>(w, width, fan_in), Scalar(0), Z);  // Z = A W^T
  const Kokkos::View<Scalar*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> bias(
      w + width * fan_in, width);
  mlp_kernels::bias_relu(p.exec, Z, bias, relu_);
}

template <class Scalar>
void Dense<Scalar>::backward(const Pass<Scalar>& p, const Scalar* in, const Scalar* out,
                             Scalar* dout, Scalar* din, bool accumulate) {
  const Index n = p.n, fan_in = this->in_size(), width = this->out_size();
  auto D = Block<Scalar>(dout, n, width);
  if (relu_) mlp_kernels::relu_grad(p.exec, Block<Scalar>(const_cast<Scalar*>(out), n, width), D);
  auto A = Block<Scalar>(const_cast<Scalar*>(in), n, fan_in);
  kernels::gemm(p.exec, "T", "N", Scalar(1), D, A, Scalar(0), Block<Scalar>(p.g, width, fan_in));
  const Kokkos::View<Scalar*, MemSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> gb(
      p.g + width * fan_in, width);
  mlp_kernels::bias_grad(p.exec, D, gb);
  if (!din) return;
  kernels::gemm(p.exec, "N", "N", Scalar(1), D,
                Block<Scalar>(const_cast<Scalar*>(p.w), width, fan_in), Scalar(accumulate ? 1 : 0),
                Block<Scalar>(din, n, fan_in));  // dA = D W
}

template class Dense<float>;
template class Dense<double>;

}  // namespace olsgd::net
