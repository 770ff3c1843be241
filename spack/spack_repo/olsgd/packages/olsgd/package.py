# Spack recipe for olsgd (Spack >= 1.0, Package API v2). See spack/README.md.
#
# Kokkos is the single source of truth for the backend: olsgd's CMake builds for whatever
# backends the Kokkos it finds was built with, so the variants below only constrain which
# Kokkos (and Kokkos Kernels) Spack picks, and cmake_args() passes no backend options.
#
# scripts/spack-check builds and smoke-tests olsgd with exactly what cmake_args() and
# test_smoke() below produce, without Spack (tests/spack/ stubs the Spack API).

import re

from spack_repo.builtin.build_systems.cmake import CMakePackage
from spack_repo.builtin.build_systems.cuda import CudaPackage
from spack_repo.builtin.build_systems.rocm import ROCmPackage

from spack.package import *


class Olsgd(CMakePackage, CudaPackage, ROCmPackage):
    """Kokkos + MPI mini-app for communication-efficient distributed SGD: Overlap-Local-SGD,
    local SGD, SlowMo, sketched and quantized SGD on convex and non-convex models."""

    # No public release yet: build from a clone with `spack develop` (spack/README.md).
    version("0.1.0")

    variant("openmp", default=True, description="Use a Kokkos (and Kokkos Kernels) with OpenMP")
    variant("hdf5", default=True, description="HDF5 checkpoint/restart (parallel HDF5)")

    conflicts("+cuda", when="+rocm", msg="Kokkos builds one device backend: CUDA or ROCm")
    conflicts("+cuda", when="cuda_arch=none", msg="+cuda needs cuda_arch (e.g. cuda_arch=90)")
    conflicts("+rocm", when="amdgpu_target=none", msg="+rocm needs amdgpu_target (e.g. gfx90a)")

    depends_on("c", type="build")  # FindHDF5 test-compiles a C program
    depends_on("cxx", type="build")
    depends_on("cmake@3.16:", type="build")

    # Kokkos / Kokkos Kernels 3.4 through 4.x (one code base, C++17).
    depends_on("kokkos@3.4:4")
    depends_on("kokkos-kernels@3.4:4")
    # The MLP's matrix products go to the vendor BLAS through the Kokkos Kernels TPL
    # (a test checks that the TPL path is taken): host BLAS always, cuBLAS / rocBLAS on GPUs.
    depends_on("blas")
    depends_on("kokkos-kernels+blas")
    depends_on("kokkos-kernels+cublas", when="+cuda")
    depends_on("kokkos-kernels+rocblas", when="+rocm")

    # Host backend: the variant says whether the Kokkos has OpenMP, in both directions.
    depends_on("kokkos+openmp", when="+openmp")
    depends_on("kokkos-kernels+openmp", when="+openmp")
    depends_on("kokkos~openmp", when="~openmp")

    # Device backends: forward the one GPU architecture to Kokkos and Kokkos Kernels alike.
    for _arch in CudaPackage.cuda_arch_values:
        _cuda = f"+cuda cuda_arch={_arch}"
        depends_on(f"kokkos+cuda+cuda_lambda cuda_arch={_arch}", when=_cuda)
        depends_on(f"kokkos-kernels+cuda cuda_arch={_arch}", when=_cuda)
    for _arch in ROCmPackage.amdgpu_targets:
        _rocm = f"+rocm amdgpu_target={_arch}"
        depends_on(f"kokkos+rocm amdgpu_target={_arch}", when=_rocm)
    # Kokkos refuses +cuda with GCC unless nvcc_wrapper is its C++ compiler (+wrapper); olsgd
    # then compiles with that same wrapper (cmake_args below).
    depends_on("kokkos+wrapper", when="+cuda %cxx=gcc")
    depends_on("kokkos~cuda", when="~cuda")
    depends_on("kokkos~rocm", when="~rocm")

    depends_on("mpi")
    depends_on("hdf5@1.10:+mpi", when="+hdf5")
    depends_on("yaml-cpp@0.6:")
    depends_on("zlib-api")
    depends_on("googletest", type="test")

    #: The smoke test (test_smoke and scripts/spack-check): the installed least-squares deck,
    #: shrunk to a second's work, on one MPI rank.
    smoke_deck = "least_squares.yaml"
    smoke_settings = (
        "run.steps=200",
        "run.log_every=100",
        "data.samples=2048",
        "data.features=32",
        "run.output_dir=olsgd-smoke",
    )
    smoke_expected = (
        r"olsgd: local_sgd on least_squares \(synthetic_least_squares\), 32 parameters",
        r"steps 200 +train",
        r"wrote metrics\.csv, syncs\.csv and summary\.json in olsgd-smoke",
    )
    #: Open MPI refuses root without these (harmless elsewhere); quiet Kokkos' OpenMP notice.
    smoke_env = {
        "OMPI_ALLOW_RUN_AS_ROOT": "1",
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMP_NUM_THREADS": "1",
        "OMP_PROC_BIND": "false",
    }

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define("OLSGD_ENABLE_TESTS", self.run_tests),
            self.define("OLSGD_ENABLE_BENCHMARKS", False),
            # ~hdf5: no checkpoints (checkpoint keys are refused with a deck error).
            self.define_from_variant("OLSGD_ENABLE_HDF5", "hdf5"),
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define("KokkosKernels_ROOT", spec["kokkos-kernels"].prefix),
        ]
        # Compile with the compiler Kokkos was built with, as the Kokkos apps do.
        if spec.satisfies("+cuda"):
            args.append(self.define("CMAKE_CXX_COMPILER", self["kokkos"].kokkos_cxx))
        elif spec.satisfies("+rocm"):
            args.append(self.define("CMAKE_CXX_COMPILER", spec["hip"].hipcc))
        return args

    def _mpiexec(self):
        bindir = self.spec["mpi"].prefix.bin
        launcher = which(
            join_path(bindir, "mpiexec"), join_path(bindir, "mpirun"), "mpiexec", "mpirun"
        )
        if launcher is None:
            raise SkipTest("no mpiexec or mpirun in the mpi dependency or on PATH")
        return launcher

    def test_version(self):
        """olsgd --version names exactly the device/host backends the variants asked for"""
        olsgd = which(self.prefix.bin.olsgd, required=True)
        out = olsgd("--version", output=str.split, error=str.split, extra_env=self.smoke_env)
        check_outputs([r"olsgd [0-9.]+ \(git [^)]*\), Kokkos [0-9.]+ \[", r"BLAS TPL on"], out)
        backends = re.search(r"Kokkos [0-9.]+ \[([^\]]*)\]", out).group(1).split(", ")
        for backend, variant in (("OpenMP", "openmp"), ("Cuda", "cuda"), ("HIP", "rocm")):
            wanted = self.spec.satisfies(f"+{variant}")
            if (backend in backends) != wanted:
                sign = "+" if wanted else "~"
                raise RuntimeError(f"{sign}{variant}, but Kokkos has [{', '.join(backends)}]")

    def test_smoke(self):
        """train the installed least-squares deck for 200 steps on one MPI rank"""
        deck = join_path(self.prefix.share.olsgd.inputs, self.smoke_deck)
        args = ["-n", "1", self.prefix.bin.olsgd, deck]
        for setting in self.smoke_settings:
            args += ["--set", setting]
        out = self._mpiexec()(*args, output=str.split, error=str.split, extra_env=self.smoke_env)
        check_outputs(list(self.smoke_expected), out)
