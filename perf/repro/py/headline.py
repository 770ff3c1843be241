"""Claims H1 and H2: the Overlap-Local-SGD paper's headline — the same accuracy as local SGD in
less wall-clock time when communication is slow, and tolerance of a straggler — tested on deep
networks with label-skewed data: LeNet-5 (H1: five methods, tuned step sizes, with and without a
straggler) and ResNet-20 (H2: three methods at the recipe's step size, the budget this machine
allows). Both on Fashion-MNIST split by Dirichlet(0.5) over 2 ranks.

The injected delay per collective is about tau steps of compute, the regime the paper targets:
a blocking allreduce then costs as much as the local steps between two syncs, which Overlap
hides. Runs are deterministic, so a straggler or a delay changes the time axis only; the
accuracy-per-step curves are the same with and without them (checked)."""

import math
import os
import subprocess
from types import SimpleNamespace

import numpy as np

import common as C
from olsgdperf import fmt as F
from olsgdperf import verdict as V
from olsgdperf.stats import mean_sd
from overlap import timing_reliability

TAU = 2
# algorithm -> its keys (tau 2 for every periodic method, so all but MB-SGD send the same bytes)
METHODS = {
    "minibatch_sgd": {},
    "local_sgd": {"algorithm.tau": TAU},
    "overlap_local_sgd": {"algorithm.tau": TAU, "algorithm.alpha": 0.6},
    "overlap_local_sgd_momentum": {"algorithm.tau": TAU, "algorithm.alpha": 0.6, "algorithm.anchor_momentum": 0.7},
    "slowmo": {"algorithm.tau": TAU, "algorithm.slow_lr": 1.0, "algorithm.slow_momentum": 0.7},
}
SHORT = {"minibatch_sgd": "MB-SGD", "local_sgd": "local SGD", "overlap_local_sgd": "Overlap",
         "overlap_local_sgd_momentum": "Overlap+mom", "slowmo": "SlowMo"}
COLOR = {"minibatch_sgd": "tab:green", "local_sgd": "tab:blue", "overlap_local_sgd": "tab:red",
         "overlap_local_sgd_momentum": "tab:purple", "slowmo": "tab:orange"}
TUNE_SEED = 100  # the lr grid runs on its own seed, so the reported seeds are not selected on


def plan(ctx, claim):
    if claim == "H1":
        return dict(claim="H1", exp="headline_lenet5", deck="fashion_lenet5.yaml", model="LeNet-5",
                    methods=list(METHODS), lrs=[0.025] if ctx.quick else [0.0125, 0.025, 0.05, 0.1],
                    length={"run.epochs": 1, "optimizer.warmup": 0.1, "optimizer.milestones": "0.5,0.8"}
                    if ctx.quick else {},
                    delay=0.014, conds=("delay", "delay+straggler"), straggler=(1, 2.0), alphas=[0.3, 0.9])
    return dict(claim="H2", exp="headline_resnet20", deck="fashion_resnet20.yaml", model="ResNet-20",
                methods=["minibatch_sgd", "local_sgd", "overlap_local_sgd"], lrs=[0.1],
                length={"run.steps": 16, "run.eval_every": 8, "optimizer.warmup": 4,
                        "optimizer.milestones": "8,12"} if ctx.quick else {},
                delay=0.55, conds=("delay",), straggler=None, alphas=[] if ctx.quick else [0.3, 0.9])


def _sets(p, algo, lr, seed):
    return {"run.seed": seed, "algorithm.name": algo, "optimizer.lr": lr, **METHODS[algo], **p["length"]}


def tune_runs(p, ctx):
    """The lr grid: one untimed run per (method, lr) on the tuning seed, no delay."""
    if len(p["lrs"]) == 1:
        return []
    return [C.Run(p["exp"] + "_lr", f"{a}_lr{F.num_id(lr)}", 2, p["deck"], _sets(p, a, lr, TUNE_SEED),
                  tags=dict(algo=a, lr=lr)) for a in p["methods"] for lr in p["lrs"]]


def final_acc(r, n=2):
    """Mean test accuracy of the last n evaluations (less sensitive to one minibatch)."""
    acc = r.m("test_acc")
    acc = acc[np.isfinite(acc)]
    return float(np.mean(acc[-n:])) if len(acc) else float("nan")


def best_lrs(ctx, p):
    """Each method's lr with the highest final accuracy on the tuning seed (the grid's only
    value when there is no grid)."""
    runs = tune_runs(p, ctx)
    if not runs:
        return {a: p["lrs"][0] for a in p["methods"]}, {}
    C.run_jobs(ctx, runs)
    grid = {}
    for r in C.results(runs):
        acc = final_acc(r) if r.run.ok else float("nan")
        grid[(r.run.tags["algo"], r.run.tags["lr"])] = acc if acc == acc else -1.0
    return {a: max(p["lrs"], key=lambda lr: grid[(a, lr)]) for a in p["methods"]}, grid


def runs_for(claim):
    def runs(ctx):
        p = plan(ctx, claim)
        lrs, _ = best_lrs(ctx, p)
        out = []
        for seed in ctx.seeds:
            for a in p["methods"]:
                for cond in p["conds"]:
                    sets = _sets(p, a, lrs[a], seed)
                    sets["comm.delay_s"] = p["delay"]
                    if cond == "delay+straggler":
                        sets.update({"straggler.rank": p["straggler"][0], "straggler.factor": p["straggler"][1]})
                    out.append(C.Run(p["exp"], f"{a}_{cond.replace('+', '_')}_seed{seed}", 2, p["deck"], sets,
                                     timing=True, tags=dict(algo=a, cond=cond, seed=seed, lr=lrs[a])))
            # Why Overlap may trail local SGD per step: its pull toward the anchor is partial
            # (alpha) and one round stale. The alpha sweep (untimed: only accuracy per step
            # matters) tells whether a stronger pull closes the gap.
            for alpha in p.get("alphas", []):
                sets = _sets(p, "overlap_local_sgd", lrs["overlap_local_sgd"], seed)
                sets["algorithm.alpha"] = alpha
                out.append(C.Run(p["exp"], f"overlap_alpha{F.num_id(alpha)}_seed{seed}", 2, p["deck"], sets,
                                 tags=dict(algo="overlap_local_sgd", cond="alpha", alpha=alpha, seed=seed)))
        return out

    return runs


def analyze_for(claim):
    def analyze(ctx, runs, claims):
        if not C.all_ok(runs):
            return [C.failed_verdict(ctx, claim, f"headline on {plan(ctx, claim)['model']}", runs)]
        data = compute(ctx, claim, runs)
        return [verdict(ctx, data, figure(ctx, data))]

    return analyze


# ---------------------------------------------------------------------------------------


def curve(r):
    """(steps, training seconds, accuracy) at each evaluation. Training seconds: rank 0's compute,
    communication and waits for in-flight averages at that row, i.e. the wall clock without the
    evaluations (the three add up to the summary's train_s - metrics_s)."""
    st, acc = r.m("step"), r.m("test_acc")
    clock = r.m("t_compute") + r.m("t_comm") + r.m("t_wait")
    sel = np.isfinite(acc)
    return st[sel], clock[sel], acc[sel]


def first_reach(r, target, axis):
    st, clock, acc = curve(r)
    idx = np.nonzero(acc >= target)[0]
    if not len(idx):
        return float("inf")
    return float((st if axis == "steps" else clock)[idx[0]])


def compute(ctx, claim, runs):
    p = plan(ctx, claim)
    lrs, grid = best_lrs(ctx, p)
    res = C.results([r for r in runs if r.timing])
    rel_note, _ = timing_reliability(res, ctx)
    by = {(r.run.tags["algo"], r.run.tags["cond"], r.run.tags["seed"]): r for r in res}
    # accuracy and consensus distance (mean over logged rows) against alpha, with the main runs' alpha
    sweep = {r.tags["alpha"]: [] for r in runs if not r.timing}
    for r in C.results([r for r in runs if not r.timing]):
        sweep[r.run.tags["alpha"]].append(r)
    if sweep:  # the main runs are the sweep's alpha 0.6
        sweep[METHODS["overlap_local_sgd"]["algorithm.alpha"]] = [by[("overlap_local_sgd", "delay", s)] for s in ctx.seeds]
    alpha_acc = {a: [final_acc(r) for r in rs] for a, rs in sorted(sweep.items())}
    alpha_cons = {a: [float(np.nanmean(r.m("consensus"))) for r in rs] for a, rs in sorted(sweep.items())}
    local_cons = [float(np.nanmean(by[("local_sgd", "delay", s)].m("consensus"))) for s in ctx.seeds]
    seeds, methods, conds = ctx.seeds, p["methods"], p["conds"]
    # The highest accuracy every run reaches (each run's best evaluation, the lowest of those):
    # every time to target is then finite.
    target = min(float(np.max(curve(r)[2])) for r in res)
    T = {(a, c): [first_reach(by[(a, c, s)], target, "time") for s in seeds] for a in methods for c in conds}
    S = {a: [first_reach(by[(a, conds[0], s)], target, "steps") for s in seeds] for a in methods}
    acc = {a: [final_acc(by[(a, conds[0], s)]) for s in seeds] for a in methods}
    steps = {r.summary["progress"]["steps_done"] for r in res}
    per_step = {(a, c): [float((curve(by[(a, c, s)])[1][-1]) / by[(a, c, s)].summary["progress"]["steps_done"])
                         for s in seeds] for a in methods for c in conds}
    compute_step = float(np.median([r.summary["timings"]["compute_s"] / r.summary["progress"]["steps_done"]
                                    for r in res if r.run.tags["cond"] == "delay"]))
    hidden = {(a, c): [by[(a, c, s)].summary["syncs"]["hidden_frac"] for s in seeds]
              for a in methods if a.startswith("overlap") for c in conds}
    # deterministic runs: the straggler must not change any accuracy
    same = all(np.array_equal(curve(by[(a, conds[0], s)])[2], curve(by[(a, c, s)])[2])
               for a in methods for c in conds for s in seeds)
    o, l = "overlap_local_sgd", "local_sgd"
    ma_o, sa_o = mean_sd(acc[o])
    ma_l, sa_l = mean_sd(acc[l])
    close = abs(ma_o - ma_l) <= 0.01  # accuracy points as fractions
    parts = [close]
    for c in conds:
        wins = sum(x < y for x, y in zip(T[(o, c)], T[(l, c)]))
        parts.append(np.mean(T[(o, c)]) < np.mean(T[(l, c)]) and wins >= math.ceil(2 * len(seeds) / 3))
    return SimpleNamespace(p=p, claim=claim, lrs=lrs, grid=grid, by=by, seeds=seeds, methods=methods, conds=conds,
                           target=target, T=T, S=S, acc=acc, steps=sorted(steps), per_step=per_step,
                           compute_step=compute_step, hidden=hidden, same=same,
                           ma_o=ma_o, sa_o=sa_o, ma_l=ma_l, sa_l=sa_l, rel_note=rel_note,
                           alpha_acc=alpha_acc, alpha_cons=alpha_cons, local_cons=local_cons,
                           status=V.combine(parts))


def _cond_title(p, c):
    t = f"delay {p['delay'] * 1e3:g} ms per collective"
    if c == "delay+straggler":
        t += f" + rank {p['straggler'][0]} x{p['straggler'][1]:g} slower"
    return t


def figure(ctx, d):
    p = d.p
    plt = C.plt()
    ncol = len(d.conds) + 2
    fig, axes = plt.subplots(1, ncol, figsize=(4.6 * ncol, 4.4))
    panels = [(c, "time") for c in d.conds] + [(d.conds[0], "steps")]
    for ax, (c, axis) in zip(axes, panels):
        for a in d.methods:
            for i, s in enumerate(d.seeds):
                st, clock, acc = curve(d.by[(a, c, s)])
                ax.plot(clock if axis == "time" else st, 100 * acc, color=COLOR[a], alpha=0.75, lw=1,
                        label=f"{SHORT[a]} (lr {d.lrs[a]:g})" if i == 0 else None)
        ax.axhline(100 * d.target, color="k", ls=":", lw=1, label=f"target {100 * d.target:.2f}%")
        ax.set_ylim(max(0, 100 * d.target - 25), None)
        ax.set_ylabel("test accuracy (%)")
        if axis == "time":
            ax.set_xlabel("training time (s, without evaluations)")
            ax.set_title(_cond_title(p, c))
        else:
            ax.set_xlabel("step")
            ax.set_title("per step (the same with any delay)")
        ax.legend(fontsize=7)
    ax = axes[-1]
    x = np.arange(len(d.methods))
    w = 0.8 / len(d.conds)
    for j, c in enumerate(d.conds):
        m = [np.mean(d.T[(a, c)]) for a in d.methods]
        sd = [np.std(d.T[(a, c)]) for a in d.methods]
        ax.bar(x + (j - (len(d.conds) - 1) / 2) * w, m, w, yerr=sd, capsize=3,
               color=[COLOR[a] for a in d.methods], alpha=1.0 if j == 0 else 0.5,
               hatch=None if j == 0 else "//", label=c)
    ax.set_xticks(x)
    ax.set_xticklabels([SHORT[a] for a in d.methods], rotation=20)
    ax.set_ylabel(f"time to {100 * d.target:.2f}% (s, mean +- sd)")
    ax.set_title("time to target (hatched: with straggler)" if len(d.conds) > 1 else "time to target")
    fig.suptitle(f"{d.claim}: {p['model']} on Fashion-MNIST, Dirichlet(0.5) over 2 ranks, tau={TAU}, "
                 f"delay {p['delay'] * 1e3:g} ms = {p['delay'] / (TAU * d.compute_step):.2f} x tau steps of compute; "
                 f"seeds {F.seeds_text(d.seeds)}\n{d.rel_note}", fontsize=9.5)
    fig.tight_layout()
    return C.save_fig(ctx, fig, d.claim)


def runs_figure(ctx, d):
    """scripts/plot (what a user draws any run with) on seed 1's runs of the last condition:
    where each method's time went (compute, exposed wait, hidden network). Returns the PNG's
    name, or "" when plotting failed (the verdict does not depend on it)."""
    c, s = d.conds[-1], d.seeds[0]
    name = f"{d.claim}_runs.png"
    cmd = [os.path.join(C.ROOT, "scripts", "plot")] + [d.by[(a, c, s)].run.dir for a in d.methods] + [
        "-o", os.path.join(ctx.figdir, name), "--labels", ",".join(SHORT[a] for a in d.methods)]
    ok = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if not ok:
        C.log(f"{d.claim}: scripts/plot failed: {F.cmdline(cmd)}")
    return name if ok else ""


def verdict(ctx, d, figp):
    p, o, l, mb = d.p, "overlap_local_sgd", "local_sgd", "minibatch_sgd"

    def t(a, c):
        return F.g(np.mean(d.T[(a, c)]))

    numbers = (f"final accuracy Overlap {100 * d.ma_o:.2f}+-{100 * d.sa_o:.2f}% vs local SGD "
               f"{100 * d.ma_l:.2f}+-{100 * d.sa_l:.2f}% (MB-SGD {100 * np.mean(d.acc[mb]):.2f}%); time to "
               f"{100 * d.target:.2f}%: " + "; ".join(
                   f"{c}: Overlap {t(o, c)} s, local {t(l, c)} s, MB {t(mb, c)} s" for c in d.conds))
    ratio = p["delay"] / (TAU * d.compute_step)
    details = [
        f"{p['model']}, {d.steps[0]} steps of 2 x {64} images, deck `inputs/repro/{p['deck']}`; delay "
        f"{p['delay'] * 1e3:g} ms per collective against a median {d.compute_step * 1e3:.2f} ms of compute per step: "
        f"one collective costs {ratio:.2f} x tau local steps.",
        ("Step size per method, tuned on seed " + str(TUNE_SEED) + " (no delay; lr per base batch, grid "
         + ", ".join(f"{x:g}" for x in p["lrs"]) + ") by the mean accuracy of the last two evaluations: "
         + "; ".join(f"{SHORT[a]} {d.lrs[a]:g}" + (" (a grid edge)" if d.lrs[a] in (p["lrs"][0], p["lrs"][-1]) else "")
                     + " (" + ", ".join(f"{100 * d.grid[(a, lr)]:.1f}%" if d.grid[(a, lr)] >= 0 else "failed"
                                        for lr in p["lrs"]) + ")" for a in d.methods) + "."
         if d.grid else "Step size: the deck's for every method (not tuned: "
         f"{', '.join(f'{x:g}' for x in p['lrs'])})."),
        "Final accuracy (mean of the last two evaluations, mean +- sd over seeds): " + ", ".join(
            f"{SHORT[a]} {100 * np.mean(d.acc[a]):.2f}+-{100 * np.std(d.acc[a]):.2f}%" for a in d.methods) + ".",
        "Steps to the target (mean over seeds): " + ", ".join(
            f"{SHORT[a]} {np.mean(d.S[a]):.0f}" for a in d.methods) + ".",
        "Time to the target (s, per seed " + F.seeds_text(d.seeds) + "): " + "; ".join(
            f"{SHORT[a]} {c}: " + "/".join(F.g(x) for x in d.T[(a, c)]) for a in d.methods for c in d.conds) + ".",
        "Training time per step (ms, mean): " + "; ".join(
            f"{SHORT[a]} {c}: {1e3 * np.mean(d.per_step[(a, c)]):.1f}" for a in d.methods for c in d.conds) + ".",
        "Hidden fraction of the network time: " + "; ".join(
            f"{SHORT[a]} {c}: {np.mean(v):.2f}" for (a, c), v in d.hidden.items()) + ".",
        *([("Overlap's alpha (untimed runs, same seeds and lr): final accuracy " + ", ".join(
            f"alpha {a:g} {100 * np.mean(v):.2f}%" for a, v in d.alpha_acc.items()) + "; mean consensus distance "
            + ", ".join(f"alpha {a:g} {F.g(np.mean(v))}" for a, v in d.alpha_cons.items())
            + f" (local SGD {F.g(np.mean(d.local_cons))}).")] if d.alpha_acc else []),
        ("The straggler and the delay change no accuracy value (deterministic runs)." if d.same else
         "WARNING: a straggler changed an accuracy curve (the runs should be deterministic)."),
        f"Machine load: {d.rel_note}.",
    ]
    runs_png = runs_figure(ctx, d)
    if runs_png:
        c = d.conds[-1]
        details.append(f"Seed {d.seeds[0]}'s runs ({c}) drawn by `scripts/plot`, the figure command for any run "
                       f"(loss, accuracy, where the time went, bytes, step size, per-sync waits): "
                       f"![{d.claim} runs](figures/{runs_png})")
    rule = ("Overlap's final accuracy within 1 point of local SGD's (seed means), and Overlap's time to the target "
            "accuracy (the lowest of the runs' best evaluations, so every run reaches it) below local SGD's on "
            "average and in >= 2/3 of the seeds" + (", both without and with the straggler" if len(d.conds) > 1 else ""))
    return C.verdict(
        ctx, d.claim, TITLES[d.claim], d.status, numbers, details,
        "The paper trains ResNet-18 on CIFAR-10 for 300 epochs on 16 GPUs with a real network; here "
        f"{p['model']} on Fashion-MNIST for {'6 epochs' if d.claim == 'H1' else 'half an epoch'} on 2 ranks of one "
        "2-core machine with an injected delay, and the target accuracy is the level every run reaches, "
        "far below a converged network's.",
        rule, d.seeds, figp,
        reliability="timing unreliable: machine loaded" if d.rel_note.startswith("UNRELIABLE") else "")


TITLES = {
    "H1": "Headline on LeNet-5, label skew: Overlap as accurate as local SGD, faster to an accuracy under delay "
          "and with a straggler",
    "H2": "Headline on ResNet-20, label skew: Overlap as accurate as local SGD, faster to an accuracy under delay",
}
