"""Claims C2.1-C2.3 (Sketched SGD) and C4.1-C4.2 (QSGD / DQ-SGD)."""

import math
import os
import subprocess
from types import SimpleNamespace

import numpy as np

import common as C
from olsgdperf import fmt as F
from olsgdperf import verdict as V
from olsgdperf.stats import gmean, mean_sd, smooth

D_LOGISTIC = 7850  # 784 x 10 weights + 10 biases
SK = dict(rows=5, cols=1000, k=200, P=4)
COL = {"unc": "k", "topk": "tab:purple", "sk": "tab:red", "sk_noef": "tab:orange"}
LAB = {"unc": "uncompressed momentum SGD", "topk": "true top-k + error feedback",
       "sk": f"sketched r={SK['rows']} c={SK['cols']} k={SK['k']} P={SK['P']}",
       "sk_noef": "sketched, no error accumulation"}


def gtest(filter_):
    """Runs one GoogleTest case of the kernel tests (built with the project); returns
    (passed or None when the binary is missing, the output's last lines)."""
    for name in ("kernel_tests_serial", "kernel_tests_openmp"):
        exe = os.path.join(C.ROOT, "build", "tests", name)
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            env = dict(os.environ, OMP_NUM_THREADS="1", OMP_PROC_BIND="false")
            try:
                r = subprocess.run([exe, f"--gtest_filter={filter_}"], capture_output=True, text=True,
                                   timeout=300, env=env)
            except subprocess.TimeoutExpired:
                return False, f"{name}: timed out"
            lines = [l for l in r.stdout.splitlines() if l.startswith("[")]
            return r.returncode == 0 and "[  PASSED  ] 1 test" in r.stdout, f"{name} --gtest_filter={filter_}: " + \
                " / ".join(l.strip() for l in lines if "OK" in l or "FAILED" in l or "PASSED" in l)
    return None, "kernel test binary not built (build/tests/kernel_tests_serial)"


# =======================================================================================
# C2.1, C2.3: sketched SGD against uncompressed and true top-k; error accumulation off


def sk_steps(ctx):
    return 200 if ctx.quick else 800


def sketch_variant(v, seed, steps, cols=None, P=None):
    sets = {"run.seed": seed, "run.steps": steps}
    if v == "unc":
        sets["algorithm.name"] = "minibatch_sgd"
    elif v == "topk":
        # Exact top-k of the summed accumulators: with P*k >= d the second round fetches the exact
        # value of every coordinate, so the sketch (1 x k) plays no part in the selection.
        sets.update({"algorithm.name": "sketched_sgd", "sketch.rows": 1, "sketch.cols": SK["k"],
                     "sketch.candidates": math.ceil(D_LOGISTIC / SK["k"])})
    else:
        sets.update({"algorithm.name": "sketched_sgd", "sketch.rows": SK["rows"],
                     "sketch.cols": cols or SK["cols"], "sketch.k": SK["k"],
                     "sketch.candidates": SK["P"] if P is None else P})
        if v == "sk_noef":
            sets["sketch.error_feedback"] = False
    return sets


def c21_runs(ctx):
    runs = []
    for seed in ctx.seeds:
        for v in ("unc", "topk", "sk", "sk_noef"):
            runs.append(C.Run("sketch", f"{v}_seed{seed}", 2, "fashion_logistic.yaml",
                              sketch_variant(v, seed, sk_steps(ctx)), tags=dict(v=v, seed=seed)))
    return runs


def _sk_results(runs, seeds):
    res = C.results(runs)
    return {(r.run.tags["v"], r.run.tags["seed"]): r for r in res}


def c21_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, c, "Sketched SGD", runs) for c in claims]
    return C.run_claims(ctx, claims, c21_shared(ctx, runs), {
        "C2.1": (c21_compute, c21_figure, c21_verdict),
        "C2.3": (c23_compute, c23_figure, c23_verdict)})


def c21_shared(ctx, runs):
    """Sketched SGD runs by (variant, seed): test and training losses, accuracy and bytes per step."""
    seeds = ctx.seeds
    by = _sk_results(runs, seeds)
    vs = ("unc", "topk", "sk", "sk_noef")
    test = {v: [by[(v, s)].test_loss_tail() for s in seeds] for v in vs}
    acc = {v: [by[(v, s)].final("test_acc") for s in seeds] for v in vs}
    tail = {v: [by[(v, s)].train_loss_tail() for s in seeds] for v in vs}
    bps = {v: by[(v, seeds[0])].summary["traffic"]["payload_bytes_per_step"] for v in vs}
    return SimpleNamespace(bps=bps, test=test, seeds=seeds, by=by, tail=tail, acc=acc)


def c21_compute(ctx, shared):
    bps, test = shared.bps, shared.test
    expect = D_LOGISTIC / (SK["rows"] * SK["cols"] + min(SK["P"] * SK["k"], D_LOGISTIC))
    ratio = bps["unc"] / bps["sk"]
    ratio_ok = abs(ratio - expect) <= 1e-12 * expect
    mu, su = mean_sd(test["unc"])
    ms, ss = mean_sd(test["sk"])
    close = abs(ms - mu) <= 0.05 * mu
    status = V.combine([close, ratio_ok])
    return SimpleNamespace(mu=mu, ms=ms, ss=ss, su=su, ratio=ratio, expect=expect, status=status)


def c21_figure(ctx, shared, data):
    seeds, by, test, bps = shared.seeds, shared.by, shared.test, shared.bps
    mu = data.mu
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for v in ("unc", "topk", "sk"):
        for i, s in enumerate(seeds):
            r = by[(v, s)]
            a1.plot(r.m("bytes_payload") / 1e6, smooth(r.m("loss"), 5), color=COL[v], alpha=0.7, lw=1,
                    label=LAB[v] if i == 0 else None)
    a1.set_xlabel("cumulative payload per rank (MB)")
    a1.set_ylabel("training loss (minibatch, running mean of 5 rows)")
    a1.set_title("loss vs bytes")
    a1.set_ylim(top=min(1.5, a1.get_ylim()[1]))
    a1.legend(fontsize=8)
    x = np.arange(3)
    a2.bar(x, [np.mean(test[v]) for v in ("unc", "topk", "sk")], yerr=[np.std(test[v]) for v in ("unc", "topk", "sk")],
           capsize=4, color=[COL[v] for v in ("unc", "topk", "sk")])
    for i, v in enumerate(("unc", "topk", "sk")):
        a2.text(i, np.mean(test[v]) * 0.5, f"{np.mean(test[v]):.4f}\n{bps[v]} B/step", ha="center",
                va="center", fontsize=8.5, color="white")
    a2.axhline(mu * 1.05, color="gray", ls="--", lw=1, label="uncompressed + 5%")
    a2.set_xticks(x)
    a2.set_xticklabels(["uncompressed", "true top-k", "sketched"])
    a2.set_ylabel(f"test loss, last half of {sk_steps(ctx)} steps")
    a2.set_ylim(0, max(np.mean(test[v]) for v in ("unc", "topk", "sk")) * 1.3)
    a2.legend()
    fig.suptitle(f"C2.1: softmax regression on Fashion-MNIST (d={D_LOGISTIC}), 2 ranks, lr 0.003, rho 0.9, batch 64; "
                 f"seeds {F.seeds_text(seeds)}", fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C2.1")


def c21_verdict(ctx, shared, data, figp):
    bps, test, tail, acc, seeds = shared.bps, shared.test, shared.tail, shared.acc, shared.seeds
    mu, ms, ss, su, ratio, expect = data.mu, data.ms, data.ss, data.su, data.ratio, data.expect
    status = data.status
    rel = (ms - mu) / mu
    border = " — borderline: within 1 point of the 5% tolerance" if abs(abs(rel) - 0.05) < 0.01 else ""
    numbers = (f"test loss sketched {ms:.4f}+-{ss:.4f} vs uncompressed {mu:.4f}+-{su:.4f} "
               f"({100 * rel:+.1f}%{border}; true top-k {np.mean(test['topk']):.4f}); bytes/step "
               f"{bps['unc']} vs {bps['sk']}: ratio {ratio:.6f} = d/(rc+Pk) {expect:.6f}")
    details = [f"Sketch r={SK['rows']}, c={SK['cols']}, k={SK['k']}, P={SK['P']}: the claim's c ~ 10k cannot "
               f"compress a {D_LOGISTIC}-parameter model (r c alone would be {SK['rows'] * 10000} numbers), so "
               f"c = 5k is used, giving a modest {expect:.2f}x.",
               "True top-k is olsgd's sketched_sgd with P*k >= d (every coordinate fetched exactly in round 2).",
               "Test accuracy: " + ", ".join(f"{LAB[v]} {100 * np.mean(acc[v]):.2f}%" for v in ("unc", "topk", "sk")) + ".",
               "Final training loss (last 20% of logged rows): " +
               ", ".join(f"{v} {np.mean(tail[v]):.4f}" for v in ("unc", "topk", "sk")) + "."]
    return C.verdict(
        ctx, "C2.1", "Sketched SGD final loss within a small tolerance of uncompressed at equal steps; bytes/step "
        "ratio = d/(rc+Pk) exactly", status, numbers, details,
        "The paper's 40x is for models with 1e7-1e8 parameters where k << d; with d = 7850 the sketch must be a "
        "large fraction of d, and a short run leaves little time for the error accumulator to catch up.",
        "|test loss sketched - uncompressed| <= 5% of uncompressed (means over seeds), and the logged "
        "payload_bytes_per_step ratio equal to d/(rc + min(Pk, d)) to 1e-12", seeds, figp)


def c23_compute(ctx, shared):
    test = shared.test
    me, se = mean_sd(test["sk"])
    mn, sn = mean_sd(test["sk_noef"])
    per_seed = [b > a for a, b in zip(test["sk"], test["sk_noef"])]
    ok = all(per_seed) and (mn - me) > max(se, sn)
    status = V.HOLDS if ok else (V.PARTLY if mn > me else V.NO)
    return SimpleNamespace(mn=mn, sn=sn, me=me, se=se, per_seed=per_seed, status=status)


def c23_figure(ctx, shared, data):
    seeds, by, test = shared.seeds, shared.by, shared.test
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for v in ("sk", "sk_noef", "unc"):
        for i, s in enumerate(seeds):
            r = by[(v, s)]
            a1.plot(r.m("step"), smooth(r.m("loss"), 5), color=COL[v], alpha=0.7, lw=1, label=LAB[v] if i == 0 else None)
    a1.set_xlabel("step")
    a1.set_ylabel("training loss (running mean of 5 rows)")
    a1.set_ylim(top=min(1.5, a1.get_ylim()[1]))
    a1.legend(fontsize=8)
    a1.set_title("training loss")
    for i, v in enumerate(("sk", "sk_noef")):
        a2.scatter([i] * len(seeds), test[v], color=COL[v], s=40)
        a2.errorbar([i + 0.1], [np.mean(test[v])], yerr=[np.std(test[v])], fmt="s", color="k", capsize=4)
    a2.set_xticks([0, 1])
    a2.set_xticklabels(["error accumulation on", "off (v reset every step)"])
    a2.set_xlim(-0.5, 1.5)
    a2.set_ylabel("test loss, last half of the run (dots: seeds)")
    a2.set_title("test loss")
    fig.suptitle(f"C2.3: Sketched SGD with and without error accumulation (same sketch as C2.1); seeds {F.seeds_text(seeds)}",
                 fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C2.3")


def c23_verdict(ctx, shared, data, figp):
    tail, seeds = shared.tail, shared.seeds
    mn, sn, me, se, per_seed = data.mn, data.sn, data.me, data.se, data.per_seed
    status = data.status
    numbers = (f"test loss without error accumulation {mn:.4f}+-{sn:.4f} vs with {me:.4f}+-{se:.4f} "
               f"(higher in {sum(per_seed)}/{len(per_seed)} seeds); training loss {np.mean(tail['sk_noef']):.4f} "
               f"vs {np.mean(tail['sk']):.4f}")
    return C.verdict(
        ctx, "C2.3", "Turning off error accumulation raises the final loss", status, numbers,
        ["`sketch.error_feedback: false` restarts v_i every step (what is not sent is dropped)."],
        "Holds for any model where top-k drops a large share of the update each step; the size of the effect "
        "depends on k/d.", "higher test loss in every seed and the means apart by more than the larger sd "
        "(partly: higher mean only)", seeds, figp)


# =======================================================================================
# C2.2: recall vs columns (kernel test) and its effect on training (olsgd)


def c22_cols(ctx):
    return [200, 1000] if ctx.quick else [200, 1000, 5000]


def c22_runs(ctx):
    runs = c21_runs(ctx)  # shares uncompressed, true top-k and (c=1000, P=4)
    runs = [r for r in runs if r.tags["v"] in ("unc", "topk", "sk")]
    for seed in ctx.seeds:
        for c in c22_cols(ctx):
            for P in (0, SK["P"]):
                if c == SK["cols"] and P == SK["P"]:
                    continue
                runs.append(C.Run("sketch", f"sk_c{c}_P{P}_seed{seed}", 2, "fashion_logistic.yaml",
                                  sketch_variant("sk", seed, sk_steps(ctx), cols=c, P=P),
                                  tags=dict(v=f"c{c}_P{P}", seed=seed)))
    return runs


def c22_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, "C2.2", "count-sketch recall", runs)]
    data = c22_compute(ctx, runs)
    return [c22_verdict(ctx, data, c22_figure(ctx, data))]


def c22_compute(ctx, runs):
    seeds = ctx.seeds
    res = C.results(runs)
    by = {}
    for r in res:
        v = r.run.tags["v"]
        if v == "sk":
            v = f"c{SK['cols']}_P{SK['P']}"
        by[(v, r.run.tags["seed"])] = r
    cols = c22_cols(ctx)
    L = {(c, P): [by[(f"c{c}_P{P}", s)].test_loss_tail() for s in seeds] for c in cols for P in (0, SK["P"])}
    topk = np.mean([by[("topk", s)].test_loss_tail() for s in seeds])
    unc = np.mean([by[("unc", s)].test_loss_tail() for s in seeds])
    passed, text = gtest("count_sketch.recovers_planted_heavy_hitters")
    g = {cp: gmean(v) for cp, v in L.items()}
    big = [c for c in cols if c >= 5 * SK["k"]]
    p4_ok = all(abs(g[(c, SK["P"])] - topk) <= 0.05 * topk for c in big) if big else False
    p0 = [g[(c, 0)] for c in cols]
    p0_ok = all(b <= a * 1.05 for a, b in zip(p0, p0[1:]))
    if passed is False:
        status = V.NO
    elif passed and p4_ok and p0_ok:
        status = V.HOLDS
    elif passed or (p4_ok and p0_ok):
        status = V.PARTLY
    else:
        status = V.NO
    return SimpleNamespace(cols=cols, g=g, L=L, topk=topk, unc=unc, seeds=seeds, passed=passed,
                           text=text, status=status)


def c22_figure(ctx, data):
    cols, g, L, topk, unc, seeds = data.cols, data.g, data.L, data.topk, data.unc, data.seeds
    passed = data.passed
    plt = C.plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for P, col, mk in ((0, "tab:orange", "s"), (SK["P"], "tab:red", "o")):
        ys = [g[(c, P)] for c in cols]
        lo = [min(L[(c, P)]) for c in cols]
        hi = [max(L[(c, P)]) for c in cols]
        ax.plot(cols, ys, mk + "-", color=col, label=f"P={P}" + (" (one round: top-k of the estimates)" if P == 0 else
                                                                   " (exact values of P*k candidates)"))
        ax.fill_between(cols, lo, hi, color=col, alpha=0.15)
    ax.axhline(topk, color="tab:purple", ls="--", label=f"true top-k {topk:.4f}")
    ax.axhline(unc, color="k", ls=":", label=f"uncompressed {unc:.4f}")
    ax.axvline(SK["k"], color="gray", lw=0.8)
    ax.text(SK["k"] * 1.05, ax.get_ylim()[1], "c = k", va="top", fontsize=8, color="gray")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"sketch columns c (r={SK['rows']}, k={SK['k']})")
    ax.set_ylabel(f"test loss, last half of {sk_steps(ctx)} steps")
    ax.set_title(f"C2.2 (proxy): sketched SGD approaches true top-k as c grows; seeds {F.seeds_text(seeds)}\n"
                 f"kernel test 'recall rising with the columns': {'PASSED' if passed else 'FAILED' if passed is False else 'not run'}",
                 fontsize=9.5)
    ax.legend(fontsize=8)
    return C.save_fig(ctx, fig, "C2.2")


def c22_verdict(ctx, data, figp):
    cols, topk, g, passed, text = data.cols, data.topk, data.g, data.passed, data.text
    status, seeds = data.status, data.seeds
    numbers = (f"kernel test {'passed' if passed else 'FAILED' if passed is False else 'not run'}; olsgd proxy: test loss "
               f"P=0 " + "/".join(F.g(g[(c, 0)], 3) for c in cols) + f", P={SK['P']} " +
               "/".join(F.g(g[(c, SK['P'])], 3) for c in cols) + f" at c={cols} vs true top-k {topk:.4f}")
    details = [
        "olsgd does not report top-k recall (no such key in `olsgd --help` or column in metrics.csv), so the recall "
        "itself is the kernel test's: " + text + ". That test plants 10 heavy hitters in a 10000-vector and requires "
        "the averaged recall of the top-k estimates (5 rows) to be non-decreasing in c = 1, 2, 5, 20, 100 x k, below "
        "0.5 at c = k and exactly 1 at c = 100k, and the top-2k candidates (round 2 with P = 2) to hold every planted "
        "index at c = 20k.",
        "The figure is a proxy measured with olsgd: if the candidates hold the true top-k (recall ~ 1), sketched SGD "
        "with round 2 follows true top-k; with P = 0 the applied values are the sketch estimates themselves.",
    ]
    return C.verdict(
        ctx, "C2.2", "Recall of the true top-k rises with c; with round 2 it is ~1 once c >~ several k", status,
        numbers, details,
        "The kernel test uses planted heavy hitters rather than training accumulators; real gradients are less "
        "spiky, so recall at a given c/k is lower than on a planted vector.",
        f"kernel test passes; and (proxy) P={SK['P']} within 5% of true top-k for c >= 5k, P=0 loss non-increasing "
        "in c (5% slack). Partly: the test passes but a proxy part fails", seeds, figp)


# =======================================================================================
# C4.1, C4.2: QSGD fixed bits vs DQ-SGD


def q_plan(ctx):
    if ctx.quick:
        return dict(bits=[2, 8], eps=[8.0], steps=300)
    return dict(bits=[2, 3, 4, 8], eps=[2.0, 8.0, 32.0], steps=1000)


def q_runs(ctx):
    p = q_plan(ctx)
    runs = []
    for seed in ctx.seeds:
        base = {"run.seed": seed, "run.steps": p["steps"]}
        runs.append(C.Run("quant", f"unc_seed{seed}", 2, "logistic_l2.yaml", dict(base, **{"algorithm.name": "minibatch_sgd"}),
                          tags=dict(v="unc", seed=seed)))
        for b in p["bits"]:
            runs.append(C.Run("quant", f"qsgd_b{b}_seed{seed}", 2, "logistic_l2.yaml",
                              dict(base, **{"algorithm.name": "qsgd", "quantize.bits": b}), tags=dict(v=f"q{b}", seed=seed)))
        for e in p["eps"]:
            runs.append(C.Run("quant", f"dq_e{e:g}_seed{seed}", 2, "logistic_l2.yaml",
                              dict(base, **{"algorithm.name": "dq_sgd", "quantize.target_error": e}),
                              tags=dict(v=f"dq{e:g}", seed=seed)))
    return runs


def _chunk_medians(levels, n=10):
    lv = np.asarray(levels[1:], float)  # t = 0 uses s_max by definition
    if len(lv) < n:
        return list(lv)
    return [float(np.median(c)) for c in np.array_split(lv, n)]


def q_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, c, "QSGD / DQ-SGD", runs) for c in claims]
    return C.run_claims(ctx, claims, q_shared(ctx, runs), {
        "C4.1": (c41_compute, c41_figure, c41_verdict),
        "C4.2": (c42_compute, c42_figure, c42_verdict)})


def q_shared(ctx, runs):
    """QSGD / DQ-SGD runs by (variant, seed): bits sent, test and training losses."""
    p = q_plan(ctx)
    seeds = ctx.seeds
    res = C.results(runs)
    by = {(r.run.tags["v"], r.run.tags["seed"]): r for r in res}
    fixed = [f"q{b}" for b in p["bits"]]
    dyn = [f"dq{e:g}" for e in p["eps"]]
    allv = ["unc"] + fixed + dyn
    bits = {v: np.mean([by[(v, s)].summary["traffic"]["payload_bytes"] * 8 for s in seeds]) for v in allv}
    loss = {v: [by[(v, s)].test_loss_tail() for s in seeds] for v in allv}
    tail = {v: [by[(v, s)].train_loss_tail() for s in seeds] for v in allv}
    lm = {v: float(np.mean(loss[v])) for v in allv}
    return SimpleNamespace(fixed=fixed, dyn=dyn, bits=bits, lm=lm, seeds=seeds, by=by, loss=loss,
                           p=p, allv=allv, tail=tail)


def c41_compute(ctx, shared):
    fixed, dyn, bits, lm, seeds = shared.fixed, shared.dyn, shared.bits, shared.lm, shared.seeds
    by = shared.by
    dominated_fixed = [f for f in fixed if any(bits[d] <= bits[f] and lm[d] <= lm[f] for d in dyn)]
    dominated_dyn = [d for d in dyn if any(bits[f] <= bits[d] and lm[f] <= lm[d] for f in fixed)]
    pareto = len(dominated_fixed) == len(fixed)
    chunks = {(d, s): _chunk_medians(by[(d, s)].syncs.get("levels", [])) for d in dyn for s in seeds}
    nondec = {k: all(b >= a for a, b in zip(c, c[1:])) for k, c in chunks.items()}
    growth = {k: (c[-1] / c[0] if c and c[0] > 0 else float("nan")) for k, c in chunks.items()}
    mono_ok = all(nondec.values())
    status = (V.HOLDS if pareto and mono_ok else
              V.PARTLY if pareto or mono_ok or len(dominated_dyn) < len(dyn) else V.NO)
    return SimpleNamespace(chunks=chunks, dominated_fixed=dominated_fixed,
                           dominated_dyn=dominated_dyn, nondec=nondec, growth=growth, status=status)


def c41_figure(ctx, shared, data):
    loss, fixed, dyn, bits, lm = shared.loss, shared.fixed, shared.dyn, shared.bits, shared.lm
    p, by, seeds = shared.p, shared.by, shared.seeds
    chunks = data.chunks
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12.5, 4.7))
    for v, col, mk in [(f, "tab:blue", "o") for f in fixed] + [(d, "tab:red", "s") for d in dyn] + [("unc", "k", "*")]:
        ys = loss[v]
        a1.errorbar([bits[v] / 8e6], [np.mean(ys)], yerr=[[np.mean(ys) - min(ys)], [max(ys) - np.mean(ys)]],
                    fmt=mk, color=col, capsize=3, ms=8 if v == "unc" else 6)
        lab = "fp32" if v == "unc" else (f"{v[1:]} bit" if v.startswith("q") else f"eps={v[2:]}")
        off = (6, -12) if v.startswith("q") else (6, 6)
        a1.annotate(lab, (bits[v] / 8e6, np.mean(ys)), textcoords="offset points", xytext=off, fontsize=8.5,
                    color=col)
    fx = sorted(fixed, key=lambda v: bits[v])
    a1.plot([bits[v] / 8e6 for v in fx], [lm[v] for v in fx], "-", color="tab:blue", alpha=0.5, label="fixed-bit QSGD")
    dx = sorted(dyn, key=lambda v: bits[v])
    a1.plot([bits[v] / 8e6 for v in dx], [lm[v] for v in dx], "-", color="tab:red", alpha=0.5, label="DQ-SGD")
    a1.set_xscale("log")
    a1.set_xlabel("total payload per rank (MB)")
    a1.set_ylabel(f"test loss, last half of {p['steps']} steps")
    a1.set_title("loss vs bytes (bars: min..max over seeds)")
    a1.legend()
    for i, d in enumerate(dyn):
        r = by[(d, seeds[0])]
        lv = r.syncs.get("levels", np.array([]))
        a2.plot(r.syncs.get("step", np.arange(len(lv))), lv, lw=0.6, alpha=0.5,
                color=plt.get_cmap("autumn")(i / max(1, len(dyn) - 1)), label=f"eps_q={d[2:]} (seed {seeds[0]})")
        c = chunks[(d, seeds[0])]
        xs = np.linspace(0, p["steps"], len(c) + 1)
        a2.step(xs[:-1], c, where="post", color="k", lw=1.2)
    a2.set_yscale("log")
    a2.set_xlabel("step")
    a2.set_ylabel("levels s_t (syncs.csv); black: medians of 10 chunks")
    a2.set_title("DQ-SGD levels over the run")
    a2.legend(fontsize=8)
    fig.suptitle(f"C4.1: L2 softmax regression (lambda=mu=0.01) on Fashion-MNIST, 2 ranks, lr 0.05, batch 64; "
                 f"seeds {F.seeds_text(seeds)}", fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C4.1")


def c41_verdict(ctx, shared, data, figp):
    fixed, dyn, seeds, allv, p = shared.fixed, shared.dyn, shared.seeds, shared.allv, shared.p
    lm, bits, tail = shared.lm, shared.bits, shared.tail
    dominated_fixed, dominated_dyn, nondec = data.dominated_fixed, data.dominated_dyn, data.nondec
    growth, status = data.growth, data.status
    numbers = (f"fixed-bit points dominated by a DQ point: {len(dominated_fixed)}/{len(fixed)}; DQ points dominated "
               f"by a fixed-bit point: {len(dominated_dyn)}/{len(dyn)}; levels non-decreasing (10-chunk medians) in "
               f"{sum(nondec.values())}/{len(nondec)} DQ runs, last/first chunk " +
               ", ".join(f"{d}: {F.g(np.mean([growth[(d, s)] for s in seeds]), 2)}" for d in dyn))
    details = [
        "Points (MB per rank, test loss): " + "; ".join(f"{v} ({bits[v] / 8e6:.2f}, {lm[v]:.4f})" for v in allv) + ".",
        "Final training loss (last 20% of logged minibatch losses): " + ", ".join(f"{v} {np.mean(tail[v]):.4f}" for v in allv) + ".",
        "A point dominates another if it uses no more bits and reaches no higher mean test loss.",
        "The DQ rule's weight w_t ~ (1 - lr mu)^(T-1-t) grows by e^(lr mu T) = "
        f"{math.exp(0.05 * 0.01 * p['steps']):.2f}x over the run while the gradient norm G_t falls; levels rise "
        "toward T only if the first outpaces the second.",
    ]
    return C.verdict(
        ctx, "C4.1", "DQ-SGD Pareto-dominates fixed-bit QSGD (final loss vs total bits); bits_t non-decreasing toward T",
        status, numbers, details,
        "The paper's rule and constants are unverified (docs/algorithms.md §5 reconstructs it); with lr mu T = "
        f"{0.05 * 0.01 * p['steps']:.1f} the horizon weight barely grows, unlike long strongly-convex runs.",
        "every fixed-bit point dominated by some DQ point (means over seeds), and the 10-chunk medians of the "
        "levels non-decreasing in every DQ run (partly: one of them, or some DQ point not dominated)", seeds, figp)


def c42_compute(ctx, shared):
    p, lm, loss = shared.p, shared.lm, shared.loss
    passed, text = gtest("Quantize.UnbiasedWithBoundedVariance")
    status = V.HOLDS if passed else (V.NO if passed is False else V.FAILED)
    svals = [2 ** b - 1 for b in p["bits"]]
    exc = [np.mean(loss[f"q{b}"]) - lm["unc"] for b in p["bits"]]
    return SimpleNamespace(passed=passed, text=text, status=status, svals=svals, exc=exc)


def c42_figure(ctx, shared, data):
    passed, svals, exc = data.passed, data.svals, data.exc
    plt = C.plt()
    fig, ax = plt.subplots(figsize=(7.2, 4.6))
    ax.plot(svals, np.maximum(exc, 1e-6), "o-", color="tab:blue", label="QSGD test loss - fp32 test loss (olsgd)")
    d = D_LOGISTIC
    bound = [min(d / s ** 2, math.sqrt(d) / s) for s in svals]
    scale = exc[0] / bound[0] if bound[0] > 0 and exc[0] > 0 else 1.0
    ax.plot(svals, [scale * b for b in bound], "k--", lw=1, label="variance bound min(d/s^2, sqrt(d)/s), scaled")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("levels s = 2^bits - 1")
    ax.set_ylabel("excess test loss (last half of the run)")
    ax.set_title(f"C4.2: the quantizer's variance in training (d={d}); kernel test "
                 f"{'PASSED' if passed else 'FAILED' if passed is False else 'not run'}", fontsize=9.5)
    ax.legend(fontsize=8)
    return C.save_fig(ctx, fig, "C4.2")


def c42_verdict(ctx, shared, data, figp):
    seeds = shared.seeds
    passed, text, status, svals, exc = data.passed, data.text, data.status, data.svals, data.exc
    numbers = (f"kernel test {'passed' if passed else 'FAILED' if passed is False else 'not run'} (d=64, s in "
               f"{{1,4,32}}, 20000 draws); in training, excess test loss over fp32 at s=" +
               ", ".join(f"{s}: {F.g(e, 2)}" for s, e in zip(svals, exc)))
    details = [
        "The claim is a property of the quantizer, checked by the kernel test " + text + ": every coordinate's mean "
        "of Q(v) within 5 standard errors of v, the empirical E||Q(v)-v||^2 <= min(d/s^2, sqrt(d)/s)||v||^2, and "
        "within 5% of the exact (N/s)^2 sum p(1-p).",
        "The figure shows the same variance in training: the excess loss of fixed-bit QSGD over fp32 minibatch SGD "
        "(C4.1's runs) against s, beside the bound's shape (scaled to the first point).",
    ]
    return C.verdict(
        ctx, "C4.2", "QSGD quantizer: mean of Q_s(v) tends to v; empirical variance <= min(d/s^2, sqrt(d)/s)||v||^2",
        status, numbers, details,
        "The test uses 2e4 draws (not 1e5) and d = 64; the bound is a worst case, so the measured variance sits "
        "below it.", "the kernel test Quantize.UnbiasedWithBoundedVariance passes", seeds, figp)
