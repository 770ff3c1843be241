"""A minimal stand-in for the parts of the Spack API that spack/.../olsgd/package.py imports.

Only for tests/spack/recipe.py (run by scripts/spack-check): it lets the unmodified recipe be
imported and its cmake_args() and test_*() methods be run without Spack. Directives are
recorded, not interpreted; a FakeSpec answers satisfies() for the simple forms the recipe uses.
define() and the CudaPackage/ROCmPackage value lists follow spack-packages'
build_systems/{cmake,cuda,rocm}.py.
"""

import collections.abc
import contextlib
import os
import re
import shutil
import subprocess
import sys
import types

#: Every directive the recipe's class body ran: (name, args, kwargs).
DIRECTIVES = []


def _directive(name):
    def record(*args, **kwargs):
        DIRECTIVES.append((name, args, kwargs))

    record.__name__ = name
    return record


def _context(*args, **kwargs):
    return contextlib.nullcontext()


class SkipTest(Exception):
    pass


class ProcessError(RuntimeError):
    pass


class Prefix(str):
    """Like spack.util.prefix.Prefix: attribute access joins path components."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return Prefix(os.path.join(self, name))


def join_path(*parts):
    return os.path.join(*parts)


class Executable:
    """The subset of spack.util.executable.Executable the recipe's tests use."""

    def __init__(self, path):
        self.path = path

    def __call__(self, *args, output=None, error=None, extra_env=None, fail_on_error=True):
        env = dict(os.environ)
        env.update(extra_env or {})
        cmd = [self.path] + [str(a) for a in args]
        print("==> [stub] " + " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out = proc.stdout.decode() if output in (str, str.split) else ""
        err = proc.stderr.decode() if error in (str, str.split) else ""
        sys.stdout.write(proc.stdout.decode())
        sys.stderr.write(proc.stderr.decode())
        if fail_on_error and proc.returncode != 0:
            raise ProcessError(f"Command exited with status {proc.returncode}: {' '.join(cmd)}")
        return out + err if (output in (str, str.split) or error in (str, str.split)) else None


def which(*names, path=None, required=False):
    for name in names:
        if os.sep in name:
            found = name if os.path.isfile(name) and os.access(name, os.X_OK) else None
        else:
            found = shutil.which(name, path=path)
        if found:
            return Executable(found)
    if required:
        raise RuntimeError(f"none of {names} found")
    return None


def check_outputs(expected, actual):
    """As spack.install_test.check_outputs."""
    expected = expected if isinstance(expected, (list, set)) else [expected]
    errors = [f"Expected '{c}' in output '{actual}'" for c in expected if not re.search(c, actual)]
    if errors:
        raise RuntimeError("\n  ".join(errors))


def define(cmake_var, value):
    """As spack_repo.builtin.build_systems.cmake.define."""
    if isinstance(value, bool):
        kind = "BOOL"
        value = "ON" if value else "OFF"
    else:
        kind = "STRING"
        if isinstance(value, collections.abc.Sequence) and not isinstance(value, str):
            value = ";".join(str(v) for v in value)
        else:
            value = str(value)
    return "".join(["-D", cmake_var, ":", kind, "=", value])


_VARIANT_TOKEN = re.compile(r"([+~])([A-Za-z_][\w-]*)|([A-Za-z_][\w-]*)=(\S+)")


def parse_variants(text):
    """'+cuda cuda_arch=90 ~openmp' -> {'cuda': True, 'cuda_arch': '90', 'openmp': False}.

    As in Spack, '+a~b' may be run together; a key=value term ends at whitespace.
    """
    values = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _VARIANT_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse variants at {text[pos:]!r} in {text!r}")
        if m.group(1):
            values[m.group(2)] = m.group(1) == "+"
        else:
            values[m.group(3)] = m.group(4)
        pos = m.end()
    return values


class FakeSpec:
    """A concrete spec of one package: its variants and its dependencies by name."""

    def __init__(self, name, variants, deps=None, prefix="/nonexistent", version="0.1.0"):
        self.name = name
        self.variants_dict = dict(variants)
        self.deps = deps or {}
        self.prefix = Prefix(prefix)
        self.version = version
        self.attrs = {}

    @property
    def variants(self):
        return {k: types.SimpleNamespace(value=v) for k, v in self.variants_dict.items()}

    def __getitem__(self, name):
        if name == self.name:
            return self
        return self.deps[name]

    def __getattr__(self, name):
        if name != "attrs" and name in self.attrs:
            return self.attrs[name]
        raise AttributeError(name)

    def satisfies(self, constraint):
        """Handles '+v ~w x=y' on this spec, optionally followed by '^dep+v ...'."""
        head, _, dep = constraint.partition("^")
        if dep:
            m = re.match(r"([\w-]+)(.*)", dep.strip())
            if m.group(1) not in self.deps or not self.deps[m.group(1)].satisfies(m.group(2)):
                return False
        for key, want in parse_variants(head).items():
            have = self.variants_dict.get(key)
            if have is None:
                return False
            if (have is not want) if isinstance(want, bool) else (str(have) != want):
                return False
        return True


class _PackageBase:
    """What the recipe uses of spack's PackageBase and CMakePackage."""

    def __init__(self, spec, run_tests=False, dep_packages=None):
        self.spec = spec
        self.run_tests = run_tests
        self.prefix = spec.prefix
        self._dep_packages = dep_packages or {}

    def __getitem__(self, name):
        return self._dep_packages[name]

    def define(self, cmake_var, value):
        return define(cmake_var, value)

    def define_from_variant(self, cmake_var, variant=None):
        variant = variant or cmake_var.lower()
        if variant not in self.spec.variants_dict:
            return ""
        return define(cmake_var, self.spec.variants_dict[variant])


class CMakePackage(_PackageBase):
    pass


class CudaPackage(_PackageBase):
    cuda_arch_values = (
        "10", "11", "12", "13", "20", "21", "30", "32", "35", "37", "50", "52", "53", "60",
        "61", "62", "70", "72", "75", "80", "86", "87", "89", "90", "90a", "100", "100a",
        "100f", "101", "101a", "101f", "103", "103a", "103f", "110", "110a", "110f", "120",
        "120a", "120f", "121", "121a", "121f",
    )  # fmt: skip


class ROCmPackage(_PackageBase):
    amdgpu_targets = (
        "gfx701", "gfx801", "gfx802", "gfx803", "gfx900", "gfx900:xnack-", "gfx902", "gfx904",
        "gfx906", "gfx906:xnack-", "gfx908", "gfx908:xnack-", "gfx909", "gfx90a",
        "gfx90a:xnack-", "gfx90a:xnack+", "gfx90c", "gfx940", "gfx941", "gfx942", "gfx950",
        "gfx1010", "gfx1011", "gfx1012", "gfx1013", "gfx1030", "gfx1031", "gfx1032", "gfx1033",
        "gfx1034", "gfx1035", "gfx1036", "gfx1100", "gfx1101", "gfx1102", "gfx1103", "gfx1150",
        "gfx1151", "gfx1152", "gfx1153", "gfx1200", "gfx1201", "gfx1250", "gfx1251",
    )  # fmt: skip


_DIRECTIVE_NAMES = (
    "version", "variant", "depends_on", "conflicts", "requires", "provides", "patch",
    "resource", "maintainers", "license", "extends", "build_system",
)  # fmt: skip


def install():
    """Registers the stub modules under the names the recipe imports."""
    package = types.ModuleType("spack.package")
    for name in _DIRECTIVE_NAMES:
        setattr(package, name, _directive(name))
    package.when = _context
    package.default_args = _context
    package.run_after = package.run_before = lambda *a, **k: (lambda f: f)
    for name in ("SkipTest", "ProcessError", "Prefix", "join_path", "which", "check_outputs",
                 "Executable"):  # fmt: skip
        setattr(package, name, globals()[name])
    package.__all__ = [n for n in vars(package) if not n.startswith("_")]

    modules = {
        "spack": types.ModuleType("spack"),
        "spack.package": package,
        "spack_repo": types.ModuleType("spack_repo"),
        "spack_repo.builtin": types.ModuleType("spack_repo.builtin"),
        "spack_repo.builtin.build_systems": types.ModuleType("spack_repo.builtin.build_systems"),
        "spack_repo.builtin.build_systems.cmake": types.ModuleType("cmake"),
        "spack_repo.builtin.build_systems.cuda": types.ModuleType("cuda"),
        "spack_repo.builtin.build_systems.rocm": types.ModuleType("rocm"),
    }
    modules["spack"].package = package
    modules["spack_repo.builtin.build_systems.cmake"].CMakePackage = CMakePackage
    modules["spack_repo.builtin.build_systems.cmake"].define = define
    modules["spack_repo.builtin.build_systems.cuda"].CudaPackage = CudaPackage
    modules["spack_repo.builtin.build_systems.rocm"].ROCmPackage = ROCmPackage
    sys.modules.update(modules)
