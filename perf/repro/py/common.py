"""perf/repro/run_all's experiment machinery on top of the shared olsgdperf package: the
context of one invocation, runs keyed by deck text and overrides (so an interrupted run_all
resumes), the job pool, results with the tail statistics the claims use, and verdict records."""

import concurrent.futures as cf
import hashlib
import json
import os
import threading
import time

import numpy as np

from olsgdperf import log as L
from olsgdperf import plot as P
from olsgdperf import results as R
from olsgdperf import runner
from olsgdperf import verdict as V
from olsgdperf.fmt import set_value

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # perf/repro
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DECKS = os.path.join(ROOT, "inputs", "repro")

log = L.logger("repro")


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


# ---------------------------------------------------------------------------------------
# Runs


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
        return mpi + [ctx.olsgd, os.path.join(DECKS, self.deck)] + runner.set_args(
            {k: sets[k] for k in sorted(sets)})

    def key(self):
        """What makes a run's result reusable: the deck text and the overrides."""
        with open(os.path.join(DECKS, self.deck), "rb") as f:
            deck = f.read()
        h = hashlib.sha256(deck)
        h.update(json.dumps({k: set_value(v) for k, v in sorted(self.sets.items())}).encode())
        h.update(str(self.np).encode())
        return h.hexdigest()[:16]

    def done(self):
        meta = R.read_json(os.path.join(self.dir, "run.json"))
        return meta.get("key") == self.key() and meta.get("rc") == 0 and os.path.isfile(
            os.path.join(self.dir, "summary.json"))


def _env(timing):
    if timing:
        return runner.mpi_env(OMP_NUM_THREADS="1", OMP_PROC_BIND="spread", OMP_PLACES="threads")
    env = runner.mpi_env(OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
    env.pop("OMP_PLACES", None)
    return env


def execute(ctx, run):
    os.makedirs(run.dir, exist_ok=True)
    for stale in ("summary.json", "run.json"):
        p = os.path.join(run.dir, stale)
        if os.path.exists(p):
            os.remove(p)
    cmd = run.args(ctx)
    meta = {"key": run.key(), "cmd": cmd, "exp": run.exp, "name": run.name, "tags": run.tags}
    load0 = runner.loadavg()
    busy0, mine0 = runner.cpu_busy_s(), runner.children_cpu_s()
    rc, wall = runner.run_logged(cmd, os.path.join(run.dir, "olsgd.log"), env=_env(run.timing),
                                 timeout=900)
    meta.update(rc=rc, wall_s=wall, loadavg_before=load0)
    if run.timing:
        # CPU used by processes other than this run during it, in cores (mpirun's children
        # are this process's children; the pool is idle during timing runs).
        others = (runner.cpu_busy_s() - busy0) - (runner.children_cpu_s() - mine0)
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
            json.dump({"loadavg_before_timing_phase": runner.loadavg(),
                       "time": time.strftime("%Y-%m-%d %H:%M:%S"),
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


class Result(R.RunOutput):
    """A run's outputs (empty when it failed) with the tail statistics the claims read."""

    def __init__(self, run):
        super().__init__(run.dir, run.ok)
        self.run = run

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


def all_ok(runs):
    return all(r.ok for r in runs)


# ---------------------------------------------------------------------------------------
# Figures and verdicts

RC = {"font.size": 10, "axes.titlesize": 11, "legend.fontsize": 8.5, "figure.dpi": 110,
      "axes.grid": True, "grid.alpha": 0.3}


def plt():
    return P.pyplot(RC)


def save_fig(ctx, fig, claim):
    return P.save(fig, os.path.join(ctx.figdir, f"{claim.replace('.', '_')}.png"), bbox_inches="tight")


def verdict(ctx, claim, title, status, numbers, details, why, thresholds, seeds, figure=None,
            reliability=""):
    rec = V.write(ctx.verdict_dir(), V.record(claim, title, status, numbers, details, why, thresholds,
                                              seeds, figure, reliability, ctx.quick))
    log(f"{claim}: {status} — {numbers}")
    return rec


def run_claims(ctx, claims, shared, parts):
    """The claims of one experiment that were asked for, in the order of `parts` (claim ->
    (compute, figure, verdict)): each computes its numbers from the experiment's `shared` data,
    draws its figure and writes its verdict. Returns the verdict records."""
    out = []
    for claim, (compute, figure, write) in parts.items():
        if claim in claims:
            data = compute(ctx, shared)
            out.append(write(ctx, shared, data, figure(ctx, shared, data)))
    return out


def failed_verdict(ctx, claim, title, runs, why=""):
    bad = [r for r in runs if not r.ok]
    msg = f"{len(bad)} of {len(runs)} runs failed" + (f", e.g. {bad[0].exp}/{bad[0].name}: {bad[0].error}"
                                                      if bad else "")
    return verdict(ctx, claim, title, V.FAILED, msg, [msg], why, "", [], None)
