"""Shared machinery of perf/repro/run_all: runs, the job pool, reading outputs, statistics,
figures and verdict records. Python 3 standard library + numpy + matplotlib (Debian)."""

import concurrent.futures as cf
import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # perf/repro
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DECKS = os.path.join(ROOT, "inputs", "repro")

VERDICT_HOLDS = "holds"
VERDICT_PARTLY = "partly"
VERDICT_NO = "does not hold at this scale"
VERDICT_PENDING = "pending"
VERDICT_FAILED = "not evaluated"


def log(msg):
    print(f"[repro] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Context


class Ctx:
    def __init__(self, out, figdir, report, quick, force, jobs, olsgd, mpirun="mpirun"):
        self.out = out
        self.figdir = figdir
        self.report = report
        self.quick = quick
        self.force = force
        self.jobs = jobs
        self.olsgd = olsgd
        self.mpirun = mpirun
        self.seeds = [1, 2] if quick else [1, 2, 3]
        self.timing_log = []  # per timing run: load before, others' CPU during
        os.makedirs(out, exist_ok=True)
        os.makedirs(figdir, exist_ok=True)

    def verdict_dir(self):
        d = os.path.join(self.out, "verdicts")
        os.makedirs(d, exist_ok=True)
        return d


def olsgd_help(olsgd):
    try:
        return subprocess.run([olsgd, "--help"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def olsgd_version(olsgd):
    try:
        r = subprocess.run([olsgd, "--version"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, OMP_PROC_BIND="false", OMP_NUM_THREADS="1"))
        lines = [l.strip() for l in r.stdout.splitlines() if l.strip() and "Kokkos::OpenMP" not in l
                 and not l.startswith(("In general", "For best", "For unit"))]
        return "; ".join(lines)[:400]
    except (OSError, subprocess.TimeoutExpired):
        return "?"


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


# ---------------------------------------------------------------------------------------
# Runs


def fmt_val(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


class Run:
    """One olsgd invocation: ranks, deck, --set overrides; output in out/runs/<exp>/<name>."""

    def __init__(self, exp, name, np_, deck, sets, timing=False, tags=None):
        self.exp, self.name, self.np, self.deck = exp, name, np_, deck
        self.sets = dict(sets)
        self.timing = timing
        self.tags = dict(tags or {})
        self.dir = None
        self.ok = None
        self.error = ""

    def bind(self, ctx):
        self.dir = os.path.join(ctx.out, "runs", self.exp, self.name)
        return self

    def args(self, ctx):
        oversub = self.np > (os.cpu_count() or 2)
        mpi = [ctx.mpirun, "--mca", "btl", "self,vader", "-np", str(self.np)]
        if oversub or not self.timing:
            # Several jobs share the 2 cores: ranks waiting in MPI yield instead of spinning
            # (the timed runs keep Open MPI's busy polling, one job at a time).
            mpi += ["--oversubscribe", "--bind-to", "none", "--mca", "mpi_yield_when_idle", "1"]
        else:
            mpi += ["--bind-to", "core"]
        sets = dict(self.sets)
        sets["run.output_dir"] = self.dir
        sets["run.progress"] = "false"
        cmd = mpi + [ctx.olsgd, os.path.join(DECKS, self.deck)]
        for k in sorted(sets):
            cmd += ["--set", f"{k}={fmt_val(sets[k])}"]
        return cmd

    def key(self):
        """What makes a run's result reusable: the deck text and the overrides."""
        with open(os.path.join(DECKS, self.deck), "rb") as f:
            deck = f.read()
        h = hashlib.sha256(deck)
        h.update(json.dumps({k: fmt_val(v) for k, v in sorted(self.sets.items())}).encode())
        h.update(str(self.np).encode())
        return h.hexdigest()[:16]

    def done(self):
        try:
            with open(os.path.join(self.dir, "run.json")) as f:
                meta = json.load(f)
        except (OSError, json.JSONDecodeError):
            return False
        return meta.get("key") == self.key() and meta.get("rc") == 0 and os.path.isfile(
            os.path.join(self.dir, "summary.json"))


def _env(timing):
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    if timing:
        env.update(OMP_PROC_BIND="spread", OMP_PLACES="threads")
    else:
        env.update(OMP_PROC_BIND="false")
        env.pop("OMP_PLACES", None)
    return env


def _loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except OSError:
        return float("nan")


def _cpu_busy_s():
    """Seconds of CPU time spent by everything on the machine (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        v = [int(x) for x in parts]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _children_cpu_s():
    t = os.times()
    return t.children_user + t.children_system


def execute(ctx, run):
    os.makedirs(run.dir, exist_ok=True)
    for stale in ("summary.json", "run.json"):
        p = os.path.join(run.dir, stale)
        if os.path.exists(p):
            os.remove(p)
    cmd = run.args(ctx)
    meta = {"key": run.key(), "cmd": cmd, "exp": run.exp, "name": run.name, "tags": run.tags}
    load0 = _loadavg()
    busy0, mine0, t0 = _cpu_busy_s(), _children_cpu_s(), time.time()
    with open(os.path.join(run.dir, "olsgd.log"), "w") as logf:
        try:
            rc = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env=_env(run.timing),
                                timeout=900).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    wall = time.time() - t0
    meta.update(rc=rc, wall_s=wall, loadavg_before=load0)
    if run.timing:
        # CPU used by processes other than this run during it, in cores (mpirun's children
        # are this process's children; the pool is idle during timing runs).
        others = (_cpu_busy_s() - busy0) - (_children_cpu_s() - mine0)
        meta["others_cpu_cores"] = max(0.0, others / wall) if wall > 0 else float("nan")
    with open(os.path.join(run.dir, "run.json"), "w") as f:
        json.dump(meta, f, indent=1)
    # exit 3: training diverged and stopped early; its summary holds the non-finite final row,
    # which the lr grids read as a diverged run, as before the early stop.
    run.ok = rc in (0, 3) and os.path.isfile(os.path.join(run.dir, "summary.json"))
    if not run.ok:
        try:
            with open(os.path.join(run.dir, "olsgd.log")) as f:
                lines = [l for l in f.read().splitlines() if "olsgd:" in l or "rror" in l]
            run.error = (lines[-1] if lines else f"exit {rc}")[:300]
        except OSError:
            run.error = f"exit {rc}"
    return run


def run_jobs(ctx, runs):
    """Runs what is not done yet: timing runs one at a time with nothing else of ours running,
    then the rest ctx.jobs at a time. Returns the runs (with .ok set)."""
    for r in runs:
        r.bind(ctx)
    todo = []
    for r in runs:
        if not ctx.force and r.done():
            r.ok = True
        else:
            todo.append(r)
    timing = [r for r in todo if r.timing]
    other = [r for r in todo if not r.timing]
    n_done = len(runs) - len(todo)
    if todo:
        log(f"{len(todo)} runs to do ({len(timing)} timing, one at a time), {n_done} already done")
    t0 = time.time()
    if timing:
        # the load of the machine before our first timed run (later 1-min averages include our own
        # two ranks of the run before)
        with open(os.path.join(ctx.out, "timing_phase.json"), "w") as f:
            json.dump({"loadavg_before_timing_phase": _loadavg(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "runs": [f"{r.exp}/{r.name}" for r in timing]}, f, indent=1)
    for i, r in enumerate(timing, 1):
        execute(ctx, r)
        if not r.ok:
            log(f"FAILED {r.exp}/{r.name}: {r.error}")
        if i % 20 == 0:
            log(f"  timing {i}/{len(timing)} ({time.time() - t0:.0f} s)")
    lock = threading.Lock()
    count = [0]

    def one(r):
        execute(ctx, r)
        with lock:
            count[0] += 1
            if not r.ok:
                log(f"FAILED {r.exp}/{r.name}: {r.error}")
            if count[0] % 50 == 0:
                log(f"  {count[0]}/{len(other)} ({time.time() - t0:.0f} s)")

    if other:
        with cf.ThreadPoolExecutor(max_workers=max(1, ctx.jobs)) as pool:
            list(pool.map(one, other))
    if todo:
        log(f"  done in {time.time() - t0:.0f} s")
    return runs


# ---------------------------------------------------------------------------------------
# Reading outputs


def _num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def read_csv_cols(path):
    cols = {}
    try:
        with open(path, newline="") as f:
            rd = csv.DictReader(f)
            for row in rd:
                for k, v in row.items():
                    cols.setdefault(k, []).append(_num(v))
    except OSError:
        return {}
    return {k: np.array(v) for k, v in cols.items()}


class Result:
    def __init__(self, run):
        self.run = run
        self.ok = bool(run.ok)
        self.summary, self.metrics, self.syncs, self.meta = {}, {}, {}, {}
        if self.ok:
            with open(os.path.join(run.dir, "summary.json")) as f:
                self.summary = json.load(f)
            self.metrics = read_csv_cols(os.path.join(run.dir, "metrics.csv"))
            self.syncs = read_csv_cols(os.path.join(run.dir, "syncs.csv"))
            try:
                with open(os.path.join(run.dir, "run.json")) as f:
                    self.meta = json.load(f)
            except (OSError, json.JSONDecodeError):
                pass

    def m(self, col):
        return self.metrics.get(col, np.array([]))

    def final(self, key):
        v = self.summary.get("final", {}).get(key)
        return float("nan") if v is None else float(v)

    def train_loss_tail(self, frac=0.2):
        """Mean minibatch loss over the logged rows of the last `frac` of the steps."""
        steps, loss = self.m("step"), self.m("loss")
        if len(steps) == 0:
            return float("nan")
        cut = steps[-1] * (1 - frac)
        sel = steps > cut
        return float(np.mean(loss[sel])) if sel.any() else float(loss[-1])

    def test_loss_tail(self, frac=0.5):
        """Mean held-out loss of the averaged model over the evaluations in the last `frac` of
        the run (less sensitive to the last minibatches than the final value alone)."""
        steps, tl = self.m("step"), self.m("test_loss")
        if len(steps) == 0:
            return float("nan")
        sel = (steps > steps[-1] * (1 - frac)) & np.isfinite(tl)
        return float(np.mean(tl[sel])) if sel.any() else self.final("test_loss")

    def at_step(self, col, step):
        steps = self.m("step")
        idx = np.nonzero(steps == step)[0]
        if len(idx) == 0:
            return float("nan")
        return float(self.m(col)[idx[0]])


def results(runs):
    return [Result(r) for r in runs]


# ---------------------------------------------------------------------------------------
# Statistics helpers


def finite(x):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def mean_sd(xs):
    x = finite(xs)
    if len(x) == 0:
        return float("nan"), float("nan")
    return float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else 0.0


def gmean(xs):
    """Geometric mean of positive values (inf if any is inf/nan: a diverged run)."""
    x = np.asarray(xs, dtype=float)
    if len(x) == 0 or not np.all(np.isfinite(x)):
        return float("inf")
    x = np.maximum(x, 1e-300)
    return float(np.exp(np.mean(np.log(x))))


def loglog_slope(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def g(v, p=3):
    """Compact number for tables."""
    if v is None:
        return "-"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return format(v, f".{p}g")


# ---------------------------------------------------------------------------------------
# Figures


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as p

    p.rcParams.update({"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 8.5,
                       "figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3})
    return p


def save_fig(ctx, fig, claim):
    name = f"{claim.replace('.', '_')}.png"
    path = os.path.join(ctx.figdir, name)
    fig.savefig(path, bbox_inches="tight")
    import matplotlib.pyplot as p

    p.close(fig)
    return path


# ---------------------------------------------------------------------------------------
# Verdicts


def verdict(ctx, claim, title, status, numbers, details, why, thresholds, seeds, figure=None,
            reliability=""):
    rec = {"claim": claim, "title": title, "verdict": status, "numbers": numbers,
           "details": details, "why": why, "thresholds": thresholds, "seeds": seeds,
           "figure": figure, "reliability": reliability, "quick": ctx.quick,
           "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    with open(os.path.join(ctx.verdict_dir(), f"{claim}.json"), "w") as f:
        json.dump(rec, f, indent=1)
    log(f"{claim}: {status} — {numbers}")
    return rec


def failed_verdict(ctx, claim, title, runs, why=""):
    bad = [r for r in runs if not r.ok]
    msg = f"{len(bad)} of {len(runs)} runs failed" + (f", e.g. {bad[0].exp}/{bad[0].name}: {bad[0].error}"
                                                      if bad else "")
    return verdict(ctx, claim, title, VERDICT_FAILED, msg, [msg], why, "", [], None)


def all_ok(runs):
    return all(r.ok for r in runs)


def seeds_text(seeds):
    return ",".join(str(s) for s in seeds)


def slug(x):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(x))
