"""Launching olsgd under mpirun: environment, command line, logged execution, and what the
machine was doing meanwhile (load, CPU used by others)."""

import os
import shutil
import subprocess
import time

from . import fmt


def mpi_env(base=None, **overrides):
    """A copy of the environment (or of `base`) for mpirun. Open MPI refuses to run as root
    unless told twice (as scripts/lib.sh does); the two variables do nothing otherwise."""
    env = dict(os.environ if base is None else base)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(overrides)
    return env


def mpirun_cmd(mpirun, ranks, oversubscribe=False, bind="core", args=()):
    """mpirun -np R [...]: oversubscribed runs (more ranks than cores) are not bound, since
    binding two ranks to one core serialises them; otherwise --bind-to `bind` when given."""
    cmd = [mpirun] + list(args) + ["-np", str(ranks)]
    if oversubscribe:
        cmd += ["--oversubscribe", "--bind-to", "none"]
    elif bind:
        cmd += ["--bind-to", bind]
    return cmd


def set_args(sets):
    """--set KEY=VALUE arguments in the dict's order."""
    out = []
    for k, v in sets.items():
        out += ["--set", f"{k}={fmt.set_value(v)}"]
    return out


def run_logged(cmd, log_path, env=None, cwd=None, timeout=None):
    """Runs cmd with stdout and stderr into log_path; returns (exit code, wall seconds).
    A timeout is exit 124, as timeout(1) reports it."""
    t0 = time.monotonic()
    with open(log_path, "w") as logf:
        try:
            rc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    return rc, time.monotonic() - t0


def capture(cmd, env=None, timeout=60):
    """stdout of a short command, "" when it cannot run (version strings, lscpu)."""
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def cores_here():
    """Cores this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def loadavg(n=1):
    """The first n load averages (1, 5, 15 min); NaN when /proc is not readable."""
    try:
        with open("/proc/loadavg") as f:
            v = [float(x) for x in f.read().split()[:3]]
    except OSError:
        v = [float("nan")] * 3
    return v[0] if n == 1 else v[:n]


def cpu_busy_s():
    """Seconds of CPU time spent by everything on the machine (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        v = [int(x) for x in parts]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def children_cpu_s():
    """CPU seconds of this process's finished children (mpirun and its ranks)."""
    t = os.times()
    return t.children_user + t.children_system


def olsgd_help(olsgd):
    return capture([olsgd, "--help"])


def olsgd_version(olsgd):
    """olsgd --version on one line, without Kokkos' OpenMP advice; "?" when it cannot run."""
    try:
        r = subprocess.run([olsgd, "--version"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, OMP_PROC_BIND="false", OMP_NUM_THREADS="1"))
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = [l.strip() for l in r.stdout.splitlines() if l.strip() and "Kokkos::OpenMP" not in l
             and not l.startswith(("In general", "For best", "For unit"))]
    return "; ".join(lines)[:400]


def snapshot_binary(src, out):
    """Copies the olsgd binary into out/bin so that a rebuild of build/ by someone else during
    a long run cannot change (or remove) the program half way; returns the copy's path."""
    d = os.path.join(out, "bin")
    os.makedirs(d, exist_ok=True)
    dst = os.path.join(d, "olsgd")
    tmp = dst + ".tmp"
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)
    return dst
