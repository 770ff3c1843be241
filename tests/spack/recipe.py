#!/usr/bin/env python3
"""Runs olsgd's Spack recipe without Spack (scripts/spack-check).

The unmodified spack/spack_repo/olsgd/packages/olsgd/package.py is imported against the stub
in spack_stub.py and instantiated on a fake concrete spec (variants as on a spack command line,
e.g. "+openmp+hdf5" or "+cuda cuda_arch=90"; the recipe's and the mixins' defaults fill the rest).

  recipe.py args  [--std] [--run-tests] --variants V --kokkos P [--kokkos-kernels P]
                  [--prefix P] [--nvcc-wrapper P] [--hip P]
      print the recipe's cmake_args(), one per line; with --std, Spack's standard CMake
      arguments (CMakeBuilder.std_args on Linux with CMake >= 3.16, emulated) first
  recipe.py test  --variants V --prefix INSTALLED --mpi-prefix P
      run the recipe's test_*() methods on an installed olsgd (in a scratch directory)
  recipe.py check
      check the directives (GPU arch forwarding, conflicts) and the GPU variants' cmake_args
A variant combination that one of the recipe's conflicts() rules out is refused (exit 1).
"""

import argparse
import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RECIPE = os.path.join(ROOT, "spack", "spack_repo", "olsgd", "packages", "olsgd", "package.py")

sys.dont_write_bytecode = True  # nothing under spack/ or tests/ from this run
sys.path.insert(0, HERE)
import spack_stub  # noqa: E402

spack_stub.install()


def load_recipe():
    name = "spack_repo.olsgd.packages.olsgd.package"
    module_spec = importlib.util.spec_from_file_location(name, RECIPE)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.Olsgd


Olsgd = load_recipe()


def directives(name):
    return [(a, k) for (n, a, k) in spack_stub.DIRECTIVES if n == name]


def default_variants():
    """The recipe's variant defaults plus those of CMakePackage, CudaPackage and ROCmPackage."""
    values = {"build_type": "Release", "ipo": False, "cuda": False, "rocm": False,
              "cuda_arch": "none", "amdgpu_target": "none"}  # fmt: skip
    for args, kwargs in directives("variant"):
        values[args[0]] = kwargs.get("default", False)
    return values


class FakeKokkosPackage:
    """What the recipe asks of the kokkos package: kokkos_cxx, as builtin's kokkos/package.py."""

    def __init__(self, spec, nvcc_wrapper_prefix):
        self.spec = spec
        self.nvcc_wrapper_prefix = nvcc_wrapper_prefix

    @property
    def kokkos_cxx(self):
        if self.spec.satisfies("+wrapper"):  # kokkos-nvcc-wrapper's kokkos_cxx
            return os.path.join(self.nvcc_wrapper_prefix, "bin", "nvcc_wrapper")
        return os.environ.get("CXX", "c++")  # spack_cxx: the compiler Kokkos was built with


def make_package(opts, run_tests=False):
    variants = default_variants()
    variants.update(spack_stub.parse_variants(opts.variants))
    prefix = opts.prefix or "/nonexistent/olsgd-prefix"
    gpu = {"cuda": variants["cuda"], "rocm": variants["rocm"], "openmp": variants["openmp"],
           "wrapper": variants["cuda"]}  # fmt: skip
    deps = {
        "kokkos": spack_stub.FakeSpec("kokkos", gpu, prefix=opts.kokkos, version="3.4.1"),
        "kokkos-kernels": spack_stub.FakeSpec(
            "kokkos-kernels", gpu, prefix=opts.kokkos_kernels or opts.kokkos
        ),
        "mpi": spack_stub.FakeSpec("mpi", {}, prefix=getattr(opts, "mpi_prefix", None) or "/usr"),
        "hip": spack_stub.FakeSpec("hip", {}, prefix=opts.hip),
    }
    deps["hip"].attrs["hipcc"] = os.path.join(opts.hip, "bin", "hipcc")
    spec = spack_stub.FakeSpec("olsgd", variants, deps=deps, prefix=prefix)
    for args, kwargs in directives("conflicts"):
        when = kwargs.get("when", "")
        if spec.satisfies(args[0]) and spec.satisfies(when):
            rule = f"conflicts({args[0]!r}" + (f", when={when!r})" if when else ")")
            sys.exit(f"olsgd{opts.variants}: refused by {rule}: {kwargs.get('msg', '')}")
    kokkos_pkg = FakeKokkosPackage(deps["kokkos"], opts.nvcc_wrapper)
    return Olsgd(spec, run_tests=run_tests, dep_packages={"kokkos": kokkos_pkg})


def std_args(pkg, opts):
    """CMakeBuilder.std_args + _conditional_cmake_defaults (Linux, Unix Makefiles, CMake 3.16+)."""
    d = spack_stub.define
    prefix = pkg.spec.prefix
    return [
        "-G",
        "Unix Makefiles",
        d("CMAKE_INSTALL_PREFIX", prefix),
        d("CMAKE_INSTALL_RPATH_USE_LINK_PATH", True),
        d("CMAKE_INSTALL_RPATH", [os.path.join(prefix, "lib"), os.path.join(prefix, "lib64")]),
        d("CMAKE_PREFIX_PATH", sorted({opts.kokkos, opts.kokkos_kernels or opts.kokkos})),
        d("CMAKE_BUILD_TYPE", pkg.spec.variants_dict["build_type"]),
        d("CMAKE_VERBOSE_MAKEFILE", True),
        d("CMAKE_INTERPROCEDURAL_OPTIMIZATION", pkg.spec.variants_dict["ipo"]),
        d("CMAKE_POLICY_DEFAULT_CMP0090", "NEW"),
        d("CMAKE_FIND_USE_PACKAGE_REGISTRY", False),
        d("CMAKE_EXPORT_COMPILE_COMMANDS", True),
    ]


def cmd_args(opts):
    pkg = make_package(opts, run_tests=opts.run_tests)
    args = (std_args(pkg, opts) if opts.std else []) + [a for a in pkg.cmake_args() if a]
    print("\n".join(args))


def cmd_test(opts):
    pkg = make_package(opts)
    tests = sorted(n for n in dir(pkg) if n.startswith("test_") and callable(getattr(pkg, n)))
    passed = failed = skipped = 0
    with tempfile.TemporaryDirectory(prefix="olsgd-spack-test-") as scratch:
        os.chdir(scratch)  # like Spack's test stage: outputs land here
        for name in tests:
            print(f"==> [stub] {name}: {getattr(pkg, name).__doc__.strip()}", flush=True)
            try:
                getattr(pkg, name)()
                print(f"{name} ... PASSED", flush=True)
                passed += 1
            except spack_stub.SkipTest as e:
                print(f"{name} ... SKIPPED ({e})", flush=True)
                skipped += 1
            except Exception as e:  # noqa: BLE001 - report every failure, as spack test run
                print(f"{name} ... FAILED: {e}", flush=True)
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or skipped or not passed else 0  # CI: a skipped smoke test is a failure


def cmd_check(opts):
    """Static checks of the recipe, no build: what CI can verify of the GPU variants here."""
    errors = []

    def expect(cond, what):
        print(("ok      " if cond else "FAILED  ") + what)
        if not cond:
            errors.append(what)

    deps = {(a[0], k.get("when", "")) for a, k in directives("depends_on")}
    for arch in spack_stub.CudaPackage.cuda_arch_values:
        when = f"+cuda cuda_arch={arch}"
        if (f"kokkos+cuda+cuda_lambda cuda_arch={arch}", when) not in deps:
            errors.append(f"cuda_arch={arch} not forwarded to kokkos")
        if (f"kokkos-kernels+cuda cuda_arch={arch}", when) not in deps:
            errors.append(f"cuda_arch={arch} not forwarded to kokkos-kernels")
    expect(not [e for e in errors if "cuda_arch" in e],
           "every cuda_arch forwarded to kokkos (+cuda+cuda_lambda) and kokkos-kernels (+cuda)")
    missing = [t for t in spack_stub.ROCmPackage.amdgpu_targets
               if (f"kokkos+rocm amdgpu_target={t}", f"+rocm amdgpu_target={t}") not in deps]
    expect(not missing, "every amdgpu_target forwarded to kokkos (+rocm)")
    for dep, when in [("kokkos+openmp", "+openmp"), ("kokkos-kernels+openmp", "+openmp"),
                      ("kokkos~openmp", "~openmp"), ("kokkos~cuda", "~cuda"),
                      ("kokkos+wrapper", "+cuda %cxx=gcc"),
                      ("kokkos~rocm", "~rocm"), ("kokkos-kernels+blas", ""),
                      ("kokkos-kernels+cublas", "+cuda"), ("kokkos-kernels+rocblas", "+rocm"),
                      ("hdf5@1.10:+mpi", "+hdf5"), ("mpi", ""), ("yaml-cpp@0.6:", ""),
                      ("zlib-api", ""), ("blas", ""), ("kokkos@3.4:4", ""),
                      ("kokkos-kernels@3.4:4", "")]:  # fmt: skip
        expect((dep, when) in deps, f"depends_on({dep!r}" + (f", when={when!r})" if when else ")"))
    conflicts = {(a[0], k.get("when", "")) for a, k in directives("conflicts")}
    for c in [("+cuda", "+rocm"), ("+cuda", "cuda_arch=none"),
              ("+rocm", "amdgpu_target=none")]:  # fmt: skip
        expect(c in conflicts, f"conflicts{c}")

    base = dict(kokkos="/opt/kokkos", kokkos_kernels="/opt/kokkos-kernels", prefix=None,
                nvcc_wrapper="/opt/kokkos-nvcc-wrapper", hip="/opt/rocm/hip", std=False,
                run_tests=False)  # fmt: skip
    d = spack_stub.define
    for variants, compiler in [("+cuda cuda_arch=90", "/opt/kokkos-nvcc-wrapper/bin/nvcc_wrapper"),
                               ("+rocm amdgpu_target=gfx90a", "/opt/rocm/hip/bin/hipcc"),
                               ("+openmp+hdf5", None), ("~openmp", None),
                               ("+openmp~hdf5", None)]:  # fmt: skip
        pkg = make_package(argparse.Namespace(variants=variants, **base))
        args = pkg.cmake_args()
        print(f"  olsgd{variants if variants[0] in '+~' else ' ' + variants}: {' '.join(args)}")
        want = [d("OLSGD_ENABLE_TESTS", False), d("OLSGD_ENABLE_BENCHMARKS", False),
                d("OLSGD_ENABLE_HDF5", "~hdf5" not in variants),
                d("Kokkos_ROOT", "/opt/kokkos"), d("KokkosKernels_ROOT", "/opt/kokkos-kernels")]
        if compiler:
            want.append(d("CMAKE_CXX_COMPILER", compiler))
        expect(args == want, f"olsgd {variants}: cmake_args == {' '.join(want)}")
        expect(not [a for a in args if "CUDA" in a or "HIP" in a or "OPENMP" in a],
               f"olsgd {variants}: no backend options (the backend comes from Kokkos)")
    pkg = make_package(argparse.Namespace(variants="+openmp", **base), run_tests=True)
    expect(d("OLSGD_ENABLE_TESTS", True) in pkg.cmake_args(), "run_tests -> OLSGD_ENABLE_TESTS=ON")
    for variants in ["+cuda+rocm cuda_arch=90 amdgpu_target=gfx90a", "+cuda"]:
        try:
            make_package(argparse.Namespace(variants=variants, **base))
            refused = False
        except SystemExit as e:
            print(f"  {e}")
            refused = True
        expect(refused, f"olsgd {variants} refused by a conflict")
    print(f"{len(errors)} recipe checks failed" if errors else "recipe checks passed")
    return 1 if errors else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("args", "test"):
        s = sub.add_parser(name)
        s.add_argument("--variants", default="")
        s.add_argument("--kokkos", default="/nonexistent/kokkos")
        s.add_argument("--kokkos-kernels", dest="kokkos_kernels")
        s.add_argument("--prefix")
        s.add_argument("--nvcc-wrapper", dest="nvcc_wrapper", default="/nonexistent/nvcc-wrapper")
        s.add_argument("--hip", default="/nonexistent/hip")
        s.add_argument("--std", action="store_true")
        s.add_argument("--run-tests", dest="run_tests", action="store_true")
        s.add_argument("--mpi-prefix", dest="mpi_prefix")
    sub.add_parser("check")
    opts = p.parse_args()
    if opts.cmd == "args":
        return cmd_args(opts)
    if opts.cmd == "test":
        return cmd_test(opts)
    return cmd_check(opts)


if __name__ == "__main__":
    sys.exit(main())
