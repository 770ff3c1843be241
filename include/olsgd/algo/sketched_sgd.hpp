#pragma once
// Sketched SGD (Ivkin et al.; docs/algorithms.md §4), in the allreduce form of the paper's
// parameter-server algorithm. Every step, on every rank:
//   u_i = rho u_i + g_i;  v_i = v_i + lr u_i            (momentum, error accumulation)
//   S_i = CS(v_i)                                       (rows x cols count sketch, shared hashes)
//   S = allreduce_sum(S_i)                              (round 1: rows*cols numbers)
//   C = the P*k coordinates with the largest |median estimate from S|
//   w = allreduce_sum(v_i[C]) / m                       (round 2: P*k numbers; skipped if P = 0,
//                                                        then w = the estimates / m)
//   K = the k of C with the largest |w|;  x[K] -= w[K];  u_i[K] = v_i[K] = 0
// rho = optimizer.momentum, lr = optimizer.lr, weight decay inside g_i. The choice of C and K
// depends on reduced data only, so every rank makes it alike; a 64-bit checksum of C checks it
// (bookkeeping, not counted).
// Bytes per step and rank: sizeof(Scalar) (rows*cols + min(P k, d)).
// State: params (replicated) | momentum u | error v | sketch (the last merged table).
#include <olsgd/algo/algorithm.hpp>
#include <olsgd/kernels/count_sketch.hpp>

#include <vector>

namespace olsgd {

template <class Scalar>
class SketchedSgd final : public Algorithm<Scalar> {
 public:
  SketchedSgd(AlgorithmContext<Scalar> ctx, const SketchConfig& sketch);
  std::string name() const override { return "sketched_sgd"; }
  double step(Index k, const IndexVector& batch, bool want_loss) override;

 private:
  // Runs an algorithm allreduce of `v` and returns the seconds it held this rank.
  double allreduce(const Vector<Scalar>& v);
  // Copies host indices and values to the device.
  void to_device(const std::vector<Index>& idx, const std::vector<Scalar>& vals, Index n);

  SketchConfig p_;
  kernels::CountSketch<MemSpace> sketch_;
  Index k_, candidates_;
  std::size_t u_ = 0, v_ = 0, table_ = 0;
  Vector<Scalar> est_, exact_, delta_;  // scratch: estimates (d), round 2 (P*k), update (k)
  IndexVector idx_;                     // scratch: chosen coordinates
  // Their host mirrors, made once (on a GPU a mirror is an allocation; on the host an alias).
  typename Vector<Scalar>::HostMirror h_est_, h_exact_, h_delta_;
  typename IndexVector::HostMirror h_idx_;
};

}  // namespace olsgd
