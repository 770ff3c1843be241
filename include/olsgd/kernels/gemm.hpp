#pragma once
// C = alpha op(A) op(B) + beta C through KokkosBlas::gemm (the BLAS TPL: OpenBLAS on the host,
// cuBLAS on a GPU) on the execution space instance `exec`, ordered with the kernels queued on it
// before and after: no fence around it. Kokkos Kernels 4 takes the instance (cuBLAS then runs
// in its stream); Kokkos Kernels 3 runs every GEMM on the default instance, so there the call
// is fenced on both sides, which costs nothing on the host builds that version serves.
#include <KokkosBlas3_gemm.hpp>
#include <KokkosKernels_config.h>

namespace olsgd::kernels {

template <class ExecSpace, class AView, class BView, class CView>
void gemm(const ExecSpace& exec, const char* trans_a, const char* trans_b,
          typename CView::const_value_type alpha, const AView& a, const BView& b,
          typename CView::const_value_type beta, const CView& c) {
#if defined(KOKKOSKERNELS_VERSION) && KOKKOSKERNELS_VERSION >= 40000
  KokkosBlas::gemm(exec, trans_a, trans_b, alpha, a, b, beta, c);
#else
  exec.fence();  // A and B written
  KokkosBlas::gemm(trans_a, trans_b, alpha, a, b, beta, c);
  typename CView::execution_space().fence();  // C written before exec's next kernel reads it
#endif
}

}  // namespace olsgd::kernels
