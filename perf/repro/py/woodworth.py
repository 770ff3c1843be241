"""Claims C5.1-C5.3 (Woodworth et al., homogeneous) and C6.1-C6.3 (heterogeneous) on the
synthetic quadratics of docs/algorithms.md §6, and C1.3 (Overlap's pull coefficient on Q-HET)."""

import math
from types import SimpleNamespace

import numpy as np

import common as C
from olsgdperf import fmt as F
from olsgdperf import verdict as V
from olsgdperf.stats import gmean, loglog_slope, mean_sd
import qproblem as Q

M = 4  # ranks (oversubscribed on 2 cores): none of these claims is about time
METHODS = ("minibatch_sgd", "accelerated_minibatch_sgd", "local_sgd")
SHORT = {"minibatch_sgd": "MB-SGD", "accelerated_minibatch_sgd": "ACC-MB-SGD (AC-SA)",
         "local_sgd": "local SGD"}
COLOR = {"minibatch_sgd": "tab:blue", "accelerated_minibatch_sgd": "tab:green",
         "local_sgd": "tab:red"}
QHOM = dict(d=100, mu=1e-3, H=1.0, hessians="shared")
QHET = dict(d=100, mu=0.01, H=1.0, hessians="split")

_qcache = {}


def problem(seed, zeta, spec):
    key = (seed, zeta, tuple(sorted(spec.items())))
    if key not in _qcache:
        _qcache[key] = Q.Quadratic(spec["d"], M, seed, spec["mu"], spec["H"], spec["hessians"], zeta)
    return _qcache[key]


def lr_name(lr):
    e = math.log2(lr)
    return f"2^{e:g}" if abs(e - round(e)) < 1e-9 else F.g(lr)


# =======================================================================================
# Q-HOM: C5.1, C5.2, C5.3


def qhom_plan(ctx):
    if ctx.quick:
        return dict(Ks=[1, 16], sigmas=[0.0, 1.0], Rmax=30, Rs=[10, 30], Rfit=[5, 10, 20, 30],
                    grid={"minibatch_sgd": [2.0 ** e for e in (-3, -1, 0)],
                          "local_sgd": [2.0 ** e for e in (-3, -1, 0)],
                          "accelerated_minibatch_sgd": [2.0 ** e for e in (-5, -3, -2)]})
    return dict(Ks=[1, 4, 16, 64], sigmas=[0.0, 0.1, 1.0], Rmax=100, Rs=[10, 30, 100],
                Rfit=[10, 20, 30, 50, 100],
                grid={"minibatch_sgd": [2.0 ** e for e in range(-5, 1)],
                      "local_sgd": [2.0 ** e for e in range(-5, 1)],
                      "accelerated_minibatch_sgd": [2.0 ** e for e in range(-6, -1)]})


def qhom_runs(ctx):
    p = qhom_plan(ctx)
    runs = []
    for seed in ctx.seeds:
        for sigma in p["sigmas"]:
            for meth in METHODS:
                # At sigma = 0 the minibatch methods do not depend on K (K only sets the batch,
                # i.e. the noise): one run serves every K.
                Ks = [1] if (sigma == 0 and meth != "local_sgd") else p["Ks"]
                for K in Ks:
                    for lr in p["grid"][meth]:
                        sets = {"run.seed": seed, "data.noise": sigma, "algorithm.name": meth,
                                "optimizer.lr": lr}
                        if meth == "local_sgd":
                            sets.update({"algorithm.tau": K, "optimizer.batch": 1,
                                         "run.steps": K * p["Rmax"], "run.log_every": K})
                        else:
                            sets.update({"optimizer.batch": K, "run.steps": p["Rmax"],
                                         "run.log_every": 1})
                        name = f"{meth}_s{sigma:g}_K{K}_lr{lr:g}_seed{seed}"
                        runs.append(C.Run("qhom", name, M, "qhom.yaml", sets,
                                          tags=dict(meth=meth, sigma=sigma, K=K, lr=lr, seed=seed)))
    return runs


class Curves:
    """err[(meth, sigma, K, lr, seed)] = F(xhat) - F* after R = 1..Rmax rounds (and dist)."""

    def __init__(self, res, p):
        self.p = p
        self.err, self.dist, self.res = {}, {}, {}
        for r in res:
            t = r.run.tags
            if not r.ok:
                continue
            K = t["K"]
            steps, sub, dist = r.m("step"), r.m("suboptimality"), r.m("dist_opt")
            per = K if t["meth"] == "local_sgd" else 1
            e = np.full(p["Rmax"], np.inf)
            dd = np.full(p["Rmax"], np.inf)
            for s, v, w in zip(steps, sub, dist):
                R = int(round(s / per))
                if 1 <= R <= p["Rmax"] and abs(R * per - s) < 0.5:
                    e[R - 1] = v if np.isfinite(v) else np.inf
                    dd[R - 1] = w if np.isfinite(w) else np.inf
            Ks = p["Ks"] if (t["sigma"] == 0 and t["meth"] != "local_sgd") else [K]
            for k in Ks:
                key = (t["meth"], t["sigma"], k, t["lr"], t["seed"])
                self.err[key], self.dist[key], self.res[key] = e, dd, r

    def tuned(self, meth, sigma, K, R, seeds):
        """Best lr on the grid for (meth, sigma, K, R) by the geometric mean over seeds; returns
        (lr, per-seed errors, per-seed distances, at_edge)."""
        grid = self.p["grid"][meth]
        best = None
        for lr in grid:
            vals = [self.err.get((meth, sigma, K, lr, s), np.full(self.p["Rmax"], np.inf))[R - 1]
                    for s in seeds]
            gm = gmean(vals)
            if best is None or gm < best[0]:
                best = (gm, lr, vals)
        gm, lr, vals = best
        dists = [self.dist.get((meth, sigma, K, lr, s), np.full(self.p["Rmax"], np.inf))[R - 1]
                 for s in seeds]
        edge = lr in (grid[0], grid[-1]) and len(grid) > 1
        return lr, np.array(vals), np.array(dists), edge


def _host_recursion(q, meth, lr, K, Rmax):
    """F - F* after each round of the sigma = 0 recursion in numpy (fp64), with olsgd's
    averaging of m identical rank models / gradients."""
    a, c, m = q.a[0], q.c[0], q.m
    x = np.zeros(q.d)
    out = []
    for _ in range(Rmax):
        if meth == "local_sgd":
            for _ in range(K):
                x = x - lr * (a * (x - c))
            x = sum([x] * m) * (1.0 / m)
        else:
            g = a * (x - c)
            x = x - lr * (sum([g] * m) * (1.0 / m))
        out.append(q.subopt(x))
    return out


def _closed_form_check(ctx, curves, seeds):
    """sigma = 0: olsgd against the closed form of §6 (MB-SGD and local SGD are homogeneous GD)
    and against the same recursion in numpy (all three methods), at every logged round of every
    lr and K where F - F* >= 1e-6 (F(x0) - F*): below that, fp64 rounding of the iterates
    (~ eps |x*| per coordinate) alone is a relative error above 1e-12 of F - F*."""
    w = {"olsgd_vs_closed": 0.0, "olsgd_vs_host": 0.0, "host_vs_closed": 0.0, "acsa_vs_host": 0.0}
    n_checked = 0
    mismatch = []
    p = curves.p
    for seed in seeds:
        q = problem(seed, 0.0, QHOM)
        f0 = q.subopt(np.zeros(q.d))
        r0 = next((r for (m_, s_, k_, lr_, sd), r in curves.res.items() if sd == seed), None)
        if r0 is None:
            continue
        mismatch += Q.check_against_summary(q, r0.summary)
        for meth in METHODS:
            Ks = p["Ks"] if meth == "local_sgd" else [p["Ks"][0]]
            for K in Ks:
                for lr in p["grid"][meth]:
                    e = curves.err.get((meth, 0.0, K, lr, seed))
                    if e is None:
                        continue
                    if meth == "accelerated_minibatch_sgd":
                        host = [q.subopt(x) for x in q.ac_sa(lr, p["Rmax"])]
                        cf = None
                    else:
                        host = _host_recursion(q, meth, lr, K, p["Rmax"])
                        per = K if meth == "local_sgd" else 1
                        cf = [q.closed_form_gd(lr, per * R) for R in range(1, p["Rmax"] + 1)]
                    for R in range(1, p["Rmax"] + 1):
                        v, h = e[R - 1], host[R - 1]
                        if not (np.isfinite(v) and h >= 1e-6 * f0):
                            continue
                        n_checked += 1
                        if cf is None:
                            w["acsa_vs_host"] = max(w["acsa_vs_host"], abs(v - h) / h)
                            continue
                        w["olsgd_vs_host"] = max(w["olsgd_vs_host"], abs(v - h) / h)
                        w["olsgd_vs_closed"] = max(w["olsgd_vs_closed"], abs(v - cf[R - 1]) / cf[R - 1])
                        w["host_vs_closed"] = max(w["host_vs_closed"], abs(h - cf[R - 1]) / cf[R - 1])
    return w, n_checked, mismatch


def qhom_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, c, "Q-HOM", runs) for c in claims]
    return C.run_claims(ctx, claims, qhom_shared(ctx, runs), {
        "C5.1": (c51_compute, c51_figure, c51_verdict),
        "C5.2": (c52_compute, c52_figure, c52_verdict),
        "C5.3": (c53_compute, c53_figure, c53_verdict)})


def qhom_shared(ctx, runs):
    """Q-HOM: the tuned table T[(meth, sigma, K, R)] = (lr, errors, distances, at grid edge)
    and the texts C5.1-C5.3 share."""
    res = C.results(runs)
    p = qhom_plan(ctx)
    seeds = ctx.seeds
    cv = Curves(res, p)
    # tuned table: T[(meth, sigma, K, R)] = (lr, errs, dists, edge)
    T = {}
    for meth in METHODS:
        for sigma in p["sigmas"]:
            for K in p["Ks"]:
                for R in sorted(set(p["Rs"]) | set(p["Rfit"])):
                    T[(meth, sigma, K, R)] = cv.tuned(meth, sigma, K, R, seeds)
    cells = [(k, v) for k, v in T.items() if k[3] in p["Rs"]]
    top = [k for k, v in cells if v[3] and v[0] == p["grid"][k[0]][-1]]
    low = sorted({(SHORT[k[0]], k[1], k[2], k[3]) for k, v in cells if v[3] and v[0] == p["grid"][k[0]][0]})
    top_ac = sum(1 for k in top if k[0] == "accelerated_minibatch_sgd")
    B = np.mean([np.linalg.norm(problem(s, 0.0, QHOM).xstar) for s in seeds])
    tuning = (f"eta tuned per (method, sigma, K, R) on a factor-2 grid — MB-SGD and local SGD "
              f"{lr_name(p['grid']['local_sgd'][0])}..{lr_name(p['grid']['local_sgd'][-1])}, AC-SA "
              f"{lr_name(p['grid']['accelerated_minibatch_sgd'][0])}.."
              f"{lr_name(p['grid']['accelerated_minibatch_sgd'][-1])} (cap 1/(4H)) — by the geometric "
              f"mean of F-F* over the seeds; the same lr is then used for every seed.")
    edge_note = (f"Grid edges: of {len(cells)} tuned (method, sigma, K, R) cells, {top_ac} AC-SA cells picked the cap "
                 f"1/(4H) and {len(top) - top_ac} MB-SGD/local-SGD cells picked eta = 1/H (the next factor-2 value, 2/H, "
                 f"is the stability limit of the stiffest coordinate); {len(low)} picked the smallest lr" +
                 (f" ({', '.join(f'{m} sigma={s_:g} K={K} R={R}' for m, s_, K, R in low[:4])}: the grid may be too "
                  f"short there)" if low else "") + ".")
    return SimpleNamespace(p=p, T=T, cv=cv, seeds=seeds, tuning=tuning, edge_note=edge_note, B=B)


def c51_compute(ctx, shared):
    p, T, cv, seeds = shared.p, shared.T, shared.cv, shared.seeds
    cells, fails = 0, []
    for sigma in p["sigmas"]:
        for K in p["Ks"]:
            for R in p["Rs"]:
                loc = gmean(T[("local_sgd", sigma, K, R)][1])
                mb = gmean(T[("minibatch_sgd", sigma, K, R)][1])
                cells += 1
                if not loc <= 1.05 * mb:
                    fails.append((sigma, K, R, loc, mb))
    widen_fail, widen_n = [], 0
    small = [s for s in p["sigmas"] if s <= 0.1]
    ratios = {}
    for sigma in small:
        for R in p["Rs"]:
            rs = [gmean(T[("minibatch_sgd", sigma, K, R)][1]) /
                  gmean(T[("local_sgd", sigma, K, R)][1]) for K in p["Ks"]]
            ratios[(sigma, R)] = rs
            widen_n += 1
            if not all(b >= 0.95 * a for a, b in zip(rs, rs[1:])):
                widen_fail.append((sigma, R, rs))
    worst, n_checked, mismatch = _closed_form_check(ctx, cv, seeds)
    # the closed form to 1e-12, or (when fp64 rounding of the long recursions exceeds that)
    # olsgd equal to the same fp64 recursion on the host to 1e-12 and no further from the
    # closed form than twice the host's own distance
    cf_ok = (not mismatch and n_checked > 0 and worst["acsa_vs_host"] <= 1e-12 and
             (worst["olsgd_vs_closed"] <= 1e-12 or
              (worst["olsgd_vs_host"] <= 1e-12 and worst["olsgd_vs_closed"] <= 2 * worst["host_vs_closed"] + 1e-15)))
    a_ok, b_ok = not fails, not widen_fail
    parts = [a_ok, b_ok, cf_ok]
    status = V.combine(parts)
    return SimpleNamespace(ratios=ratios, cells=cells, widen_n=widen_n, n_checked=n_checked,
                           fails=fails, widen_fail=widen_fail, worst=worst, mismatch=mismatch,
                           status=status)


def c51_figure(ctx, shared, data):
    p, T, seeds = shared.p, shared.T, shared.seeds
    plt = C.plt()
    # figure: one panel per sigma, F-F* (tuned) vs K, per method, line style per R
    fig, axes = plt.subplots(1, len(p["sigmas"]), figsize=(5.2 * len(p["sigmas"]), 4.4), sharey=False)
    styles = ["-", "--", ":"]
    for ax, sigma in zip(np.atleast_1d(axes), p["sigmas"]):
        for meth in ("minibatch_sgd", "local_sgd"):
            for R, ls in zip(p["Rs"], styles):
                ys = [T[(meth, sigma, K, R)][1] for K in p["Ks"]]
                gm = [gmean(y) for y in ys]
                lo = [np.min(y) for y in ys]
                hi = [np.max(y) for y in ys]
                ax.plot(p["Ks"], gm, ls, marker="o", color=COLOR[meth], label=f"{SHORT[meth]}, R={R}")
                ax.fill_between(p["Ks"], lo, hi, color=COLOR[meth], alpha=0.12)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("K (gradients per machine per round)")
        ax.set_ylabel("F(x_hat) - F*  (eta tuned)")
        ax.set_title(f"Q-HOM, sigma = {sigma:g}")
    np.atleast_1d(axes)[0].legend(loc="lower left", ncol=1)
    fig.suptitle(f"C5.1: local SGD vs minibatch SGD at equal K and R (m={M}, d=100, mu=1e-3, H=1; "
                 f"band = min..max over seeds {F.seeds_text(seeds)})", fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C5.1")


def c51_verdict(ctx, shared, data, figp):
    tuning, edge_note, p, seeds = shared.tuning, shared.edge_note, shared.p, shared.seeds
    ratios, cells, widen_n, n_checked = data.ratios, data.cells, data.widen_n, data.n_checked
    fails, widen_fail, worst, mismatch = data.fails, data.widen_fail, data.worst, data.mismatch
    status = data.status
    rat_txt = "; ".join(f"sigma={s:g},R={R}: " + "/".join(F.g(x, 3) for x in rs)
                        for (s, R), rs in ratios.items())
    numbers = (f"local<=MB in {cells - len(fails)}/{cells} (sigma,K,R) cells; MB/local gap vs K "
               f"widening in {widen_n - len(widen_fail)}/{widen_n} rows at sigma<=0.1; sigma=0: vs closed form "
               f"max rel err {F.g(worst['olsgd_vs_closed'], 2)} (host fp64 recursion itself "
               f"{F.g(worst['host_vs_closed'], 2)}), vs host recursion {F.g(worst['olsgd_vs_host'], 2)}, AC-SA vs "
               f"host {F.g(worst['acsa_vs_host'], 2)} ({n_checked} values)")
    details = [
        tuning, edge_note,
        f"MB-SGD / local SGD error ratio at K = {p['Ks']} (gmean over seeds): {rat_txt}.",
        "Cells where local SGD lost (sigma, K, R, local, MB): " +
        (", ".join(f"({s:g},{K},{R},{F.g(l)},{F.g(m)})" for s, K, R, l, m in fails[:6]) or "none") + ".",
        "Closed form (sigma = 0): F - F* = 1/2 sum_j a_j (1 - eta a_j)^(2n) (x0 - x*)_j^2 with n = KR "
        "(local SGD) or R (MB-SGD), evaluated for the exact problem olsgd generated (its Philox "
        "draws repeated on the host; F* and zeta_* match summary.json"
        + (f" — MISMATCH: {mismatch}" if mismatch else "") + "); every method is also compared with the same "
        "recursion run on the host in numpy (AC-SA has no closed form). Values with F - F* < 1e-6 (F(x0) - F*) "
        "are skipped: there fp64 rounding of the iterates alone exceeds 1e-12 relative.",
    ]
    return C.verdict(
        ctx, "C5.1", "Q-HOM: local SGD <= MB-SGD at every (K,R); gap widens with K at small sigma; "
        "sigma=0 matches the closed form", status, numbers, details,
        "The papers' statements are worst-case bounds over all quadratics with these constants; one "
        "log-spaced spectrum with tuned eta on a factor-2 grid is a single instance of that class.",
        "local <= 1.05 x MB (geometric means over seeds) in every cell; MB/local non-decreasing in K "
        "(5% slack) for sigma <= 0.1; closed form within 1e-12 relative — or, where fp64 rounding of the long "
        "recursions exceeds that, olsgd within 1e-12 of the same recursion on the host and no further from the closed "
        "form than twice the host's own distance", seeds, figp)


def c52_compute(ctx, shared):
    p, T, B = shared.p, shared.T, shared.B
    noisy = [s for s in p["sigmas"] if s > 0]
    spread = {}
    for sigma in p["sigmas"]:
        for K in p["Ks"]:
            for R in p["Rs"]:
                v = [gmean(T[(m, sigma, K, R)][1]) for m in METHODS]
                spread[(sigma, K, R)] = max(v) / min(v)
    shrink_n, shrink_ok = 0, 0
    for K in p["Ks"]:
        for R in p["Rs"]:
            seq = [spread[(s, K, R)] for s in p["sigmas"]]
            shrink_n += 1
            shrink_ok += all(b <= a * 1.05 for a, b in zip(seq, seq[1:]))
    top = max(noisy)
    floor_ratio = {}
    for m in METHODS:
        rr = [gmean(T[(m, top, K, R)][1]) / (top * B / math.sqrt(M * K * R))
              for K in p["Ks"] for R in p["Rs"]]
        floor_ratio[m] = float(np.median(rr))
    frac = shrink_ok / shrink_n
    floor_ok = all(0.1 <= v <= 10 for v in floor_ratio.values())
    status = (V.HOLDS if frac >= 0.8 and floor_ok else
              V.PARTLY if frac >= 0.5 or floor_ok else V.NO)
    return SimpleNamespace(noisy=noisy, spread=spread, shrink_ok=shrink_ok, shrink_n=shrink_n,
                           top=top, floor_ratio=floor_ratio, status=status)


def c52_figure(ctx, shared, data):
    p, B, T, seeds = shared.p, shared.B, shared.T, shared.seeds
    noisy, spread = data.noisy, data.spread
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.5, 4.5))
    marks = {0.1: "s", 1.0: "o", 0.0: "x"}
    for m in METHODS:
        for sigma in noisy:
            xs, ys = [], []
            for K in p["Ks"]:
                for R in p["Rs"]:
                    xs.append(sigma * B / math.sqrt(M * K * R))
                    ys.append(gmean(T[(m, sigma, K, R)][1]))
            a1.scatter(xs, ys, marker=marks.get(sigma, "o"), color=COLOR[m], alpha=0.8,
                       label=f"{SHORT[m]}, sigma={sigma:g}")
    lim = [1e-4, 10]
    a1.plot(lim, lim, "k--", lw=1, label="error = floor")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("statistical floor  sigma B / sqrt(m K R)")
    a1.set_ylabel("tuned F(x_hat) - F*")
    a1.set_title("errors against the floor (all K, R)")
    a1.legend(fontsize=7.5)
    labels = [f"K={K},R={R}" for K in p["Ks"] for R in p["Rs"]]
    x = np.arange(len(labels))
    w = 0.8 / len(p["sigmas"])
    for i, sigma in enumerate(p["sigmas"]):
        a2.bar(x + i * w, [spread[(sigma, K, R)] for K in p["Ks"] for R in p["Rs"]], w,
               label=f"sigma={sigma:g}")
    a2.set_yscale("log")
    a2.set_xticks(x + w * (len(p["sigmas"]) - 1) / 2)
    a2.set_xticklabels(labels, rotation=70, fontsize=7)
    a2.set_ylabel("max / min tuned error over the 3 methods")
    a2.set_title("gap between the methods shrinks as sigma grows?")
    a2.legend()
    fig.suptitle(f"C5.2: Q-HOM, m={M}, B=||x0-x*||={B:.2f} (mean over seeds {F.seeds_text(seeds)})",
                 fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C5.2")


def c52_verdict(ctx, shared, data, figp):
    p, tuning, edge_note, B = shared.p, shared.tuning, shared.edge_note, shared.B
    seeds = shared.seeds
    spread, shrink_ok, shrink_n, top = data.spread, data.shrink_ok, data.shrink_n, data.top
    floor_ratio, status = data.floor_ratio, data.status
    med = {s: float(np.median([spread[(s, K, R)] for K in p["Ks"] for R in p["Rs"]]))
           for s in p["sigmas"]}
    numbers = ("median max/min gap over methods: " +
               ", ".join(f"sigma={s:g}: {F.g(v)}" for s, v in med.items()) +
               f"; gap shrinking with sigma in {shrink_ok}/{shrink_n} (K,R); error/floor at "
               f"sigma={top:g} (median): " +
               ", ".join(f"{SHORT[m]} {F.g(v, 2)}" for m, v in floor_ratio.items()))
    details = [tuning, edge_note,
               f"Floor = sigma*B/sqrt(mKR) with B = ||x0 - x*|| = {B:.3f} (x0 = 0), constants dropped."]
    return C.verdict(
        ctx, "C5.2", "Q-HOM: as sigma grows the methods approach the sigma*B/sqrt(mKR) floor and the "
        "gaps shrink", status, numbers, details,
        "The floor is an order-of-magnitude bound with constants dropped; on one spectrum the "
        "constant in front of it differs per method and per (K,R).",
        "gap (max/min over methods) non-increasing in sigma (5% slack) in >= 80% of (K,R) cells, "
        "and the median error/floor at the largest sigma within [0.1, 10] for every method "
        "(partly: one of the two, or >= 50% of cells)", seeds, figp)


def c53_compute(ctx, shared):
    p, T = shared.p, shared.T
    K0 = p["Ks"][0]
    Rs = p["Rfit"]
    mb = [T[("minibatch_sgd", 0.0, K0, R)] for R in Rs]
    ac = [T[("accelerated_minibatch_sgd", 0.0, K0, R)] for R in Rs]
    mb_g = [gmean(t[1]) for t in mb]
    ac_g = [gmean(t[1]) for t in ac]
    wins = sum(a < b for a, b in zip(ac_g, mb_g))
    s_mb, s_ac = loglog_slope(Rs, mb_g), loglog_slope(Rs, ac_g)
    beats = wins == len(Rs)
    steeper = s_ac < s_mb
    status = V.HOLDS if beats and steeper else (
        V.PARTLY if beats or steeper or wins > 0 else V.NO)
    return SimpleNamespace(mb=mb, mb_g=mb_g, s_mb=s_mb, ac=ac, ac_g=ac_g, s_ac=s_ac, Rs=Rs,
                           wins=wins, status=status)


def c53_figure(ctx, shared, data):
    seeds = shared.seeds
    mb, mb_g, s_mb, ac, ac_g, s_ac = data.mb, data.mb_g, data.s_mb, data.ac, data.ac_g, data.s_ac
    Rs = data.Rs
    plt = C.plt()
    fig, ax = plt.subplots(figsize=(6.8, 4.8))
    for meth, tt, gg, s in (("minibatch_sgd", mb, mb_g, s_mb), ("accelerated_minibatch_sgd", ac, ac_g, s_ac)):
        ax.plot(Rs, gg, "o-", color=COLOR[meth], label=f"{SHORT[meth]} (slope {s:.2f})")
        ax.fill_between(Rs, [np.min(t[1]) for t in tt], [np.max(t[1]) for t in tt],
                        color=COLOR[meth], alpha=0.15)
    r0, y0 = Rs[0], mb_g[0]
    ax.plot(Rs, [y0 * r0 / R for R in Rs], "k:", lw=1, label="1/R guide")
    ax.plot(Rs, [y0 * (r0 / R) ** 2 for R in Rs], "k--", lw=1, label="1/R^2 guide")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("R (rounds)")
    ax.set_ylabel("F(x_hat) - F*, eta tuned per R")
    ax.set_title(f"C5.3: Q-HOM sigma=0, ACC-MB-SGD vs MB-SGD (m={M}; band = seeds {F.seeds_text(seeds)})",
                 fontsize=10)
    ax.legend()
    return C.save_fig(ctx, fig, "C5.3")


def c53_verdict(ctx, shared, data, figp):
    tuning, seeds = shared.tuning, shared.seeds
    wins, Rs, s_ac, s_mb, ac_g = data.wins, data.Rs, data.s_ac, data.s_mb, data.ac_g
    mb_g, ac, mb, status = data.mb_g, data.ac, data.mb, data.status
    numbers = (f"ACC < MB at {wins}/{len(Rs)} R in {Rs}; log-log slope ACC {s_ac:.2f} vs MB {s_mb:.2f}; "
               f"R={Rs[-1]}: ACC {F.g(ac_g[-1])} vs MB {F.g(mb_g[-1])}")
    details = [tuning, "At sigma = 0 K does not matter for either method (it only sets the batch).",
               "Best lr per R: MB " + ", ".join(lr_name(t[0]) for t in mb) + "; AC-SA " +
               ", ".join(lr_name(t[0]) for t in ac) + "."]
    return C.verdict(
        ctx, "C5.3", "Q-HOM sigma=0: ACC-MB-SGD beats MB-SGD at equal R with a steeper log-log slope",
        status, numbers, details,
        "1/R vs 1/R^2 are worst-case rates; with mu = 1e-3 and a log-spaced spectrum both curves "
        "bend (the strongly convex part is linear-rate), so the measured slopes are local.",
        "ACC below MB (gmean over seeds) at every R, and ACC's fitted slope below MB's "
        "(partly: either)", seeds, figp)


# =======================================================================================
# Q-HET: C6.1 (sigma = 0 fixed points)


def c61_plan(ctx):
    return dict(zetas=[0.1, 1.0, 10.0] if ctx.quick else [0.0, 0.1, 1.0, 10.0], eta=0.5, K=16,
                R=120 if ctx.quick else 200, mb_steps=400)


def c61_runs(ctx):
    p = c61_plan(ctx)
    runs = []
    for seed in ctx.seeds:
        for z in p["zetas"]:
            base = {"run.seed": seed, "data.zeta": z, "data.noise": 0.0, "optimizer.lr": p["eta"],
                    "optimizer.batch": 1}
            runs.append(C.Run("qhet_fixed", f"local_z{z:g}_seed{seed}", M, "qhet.yaml", dict(
                base, **{"algorithm.name": "local_sgd", "algorithm.tau": p["K"],
                         "run.steps": p["K"] * p["R"], "run.log_every": p["K"] * 5}),
                tags=dict(meth="local_sgd", zeta=z, seed=seed)))
            runs.append(C.Run("qhet_fixed", f"mb_z{z:g}_seed{seed}", M, "qhet.yaml", dict(
                base, **{"algorithm.name": "minibatch_sgd", "run.steps": p["mb_steps"],
                         "run.log_every": 10}), tags=dict(meth="minibatch_sgd", zeta=z, seed=seed)))
    return runs


def c61_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, "C6.1", "Q-HET fixed points", runs)]
    data = c61_compute(ctx, runs)
    return [c61_verdict(ctx, data, c61_figure(ctx, data))]


def c61_compute(ctx, runs):
    p = c61_plan(ctx)
    res = C.results(runs)
    seeds = ctx.seeds
    rel_ls, rel_traj, mb_final, mism = 0.0, 0.0, [], []
    gap = {}  # zeta -> list over seeds of F(x_LS) - F* (host) and olsgd final
    curves = {}
    for r in res:
        t = r.run.tags
        q = problem(t["seed"], t["zeta"], QHET)
        mism += Q.check_against_summary(q, r.summary)
        if t["meth"] == "local_sgd":
            xls = q.x_ls(p["eta"], p["K"])
            f_ls, d_ls = q.subopt(xls), q.dist2(xls)
            f_run, d_run = r.m("suboptimality")[-1], r.m("dist_opt")[-1]
            if t["zeta"] > 0:
                rel_ls = max(rel_ls, abs(f_run - f_ls) / f_ls, abs(d_run - d_ls) / d_ls)
            else:
                rel_ls = max(rel_ls, f_run / max(q.subopt(np.zeros(q.d)), 1e-300))
            # the whole trajectory against the numpy recursion (every logged round)
            xs = q.local_sgd(p["eta"], p["K"], p["R"])
            f0 = q.subopt(np.zeros(q.d))
            for s, v in zip(r.m("step"), r.m("suboptimality")):
                ref = q.subopt(xs[int(s) // p["K"] - 1])
                if ref >= 1e-6 * f0:  # below, fp64 rounding of x alone exceeds 1e-12 of F - F*
                    rel_traj = max(rel_traj, abs(v - ref) / ref)
            gap.setdefault(t["zeta"], []).append((f_ls, f_run))
            curves[("local", t["zeta"], t["seed"])] = (r.m("step") / p["K"], r.m("suboptimality"), f_ls)
        else:
            f0 = q.subopt(np.zeros(q.d))
            mb_final.append(r.m("suboptimality")[-1] / f0)
            curves[("mb", t["zeta"], t["seed"])] = (r.m("step"), r.m("suboptimality"), None)
    zs = [z for z in p["zetas"] if z > 0]
    f_ls_mean = [np.mean([a for a, _ in gap[z]]) for z in zs]
    slope = loglog_slope(zs, f_ls_mean)
    conv_ok = rel_ls <= 1e-10 and not mism
    slope_ok = abs(slope - 2) <= 0.1
    mb_ok = max(mb_final) <= 1e-12
    parts = [conv_ok, slope_ok, mb_ok]
    status = V.combine(parts)
    return SimpleNamespace(p=p, seeds=seeds, curves=curves, zs=zs, gap=gap, f_ls_mean=f_ls_mean,
                           slope=slope, rel_ls=rel_ls, rel_traj=rel_traj, mb_final=mb_final,
                           mism=mism, status=status)


def c61_figure(ctx, data):
    p, seeds, curves, zs, gap = data.p, data.seeds, data.curves, data.zs, data.gap
    f_ls_mean, slope = data.f_ls_mean, data.slope
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    cmap = plt.get_cmap("viridis")
    for i, z in enumerate(p["zetas"]):
        col = cmap(i / max(1, len(p["zetas"]) - 1))
        for seed in seeds[:1]:
            x, y, f_ls = curves[("local", z, seed)]
            a1.plot(x, np.maximum(y, 1e-32), "-", color=col, label=f"local SGD, zeta*={z:g}")
            if f_ls and f_ls > 0:
                a1.axhline(f_ls, color=col, ls=":", lw=1)
            x, y, _ = curves[("mb", z, seed)]
            a1.plot(x, np.maximum(y, 1e-32), "--", color=col, alpha=0.7, label=f"MB-SGD, zeta*={z:g}")
    a1.set_yscale("log")
    a1.set_xlabel("round (local SGD: K=16 steps; MB-SGD: 1 step)")
    a1.set_ylabel("F(x_bar) - F*")
    a1.set_title(f"sigma=0, eta={p['eta']}: dotted = host F(x_LS)-F* (seed {seeds[0]})")
    a1.legend(fontsize=7, ncol=2)
    for seed_i, seed in enumerate(seeds):
        a2.plot(zs, [gap[z][seed_i][1] for z in zs], "o", color="tab:red", alpha=0.6,
                label="olsgd local SGD, final" if seed_i == 0 else None)
    a2.plot(zs, f_ls_mean, "k+", ms=14, label="host F(x_LS) - F* (mean over seeds)")
    a2.plot(zs, [f_ls_mean[0] * (z / zs[0]) ** 2 for z in zs], "k--", lw=1, label="zeta^2 guide")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("zeta_*")
    a2.set_ylabel("F(x_LS) - F*")
    a2.set_title(f"fixed-point gap vs heterogeneity: slope {slope:.3f}")
    a2.legend()
    fig.suptitle(f"C6.1: Q-HET (m={M}, d=100, split Hessians H=1, mu=0.01), K={p['K']}, seeds {F.seeds_text(seeds)}",
                 fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C6.1")


def c61_verdict(ctx, data, figp):
    slope, rel_ls, rel_traj, mb_final = data.slope, data.rel_ls, data.rel_traj, data.mb_final
    mism, zs, f_ls_mean, status = data.mism, data.zs, data.f_ls_mean, data.status
    seeds = data.seeds
    numbers = (f"local SGD final vs host x_LS: max rel diff {F.g(rel_ls, 2)} (F-F* and ||x-x*||^2); "
               f"trajectory vs numpy {F.g(rel_traj, 2)}; F(x_LS)-F* slope in zeta {slope:.3f}; "
               f"MB-SGD final (F-F*)/(F(x0)-F*) max {F.g(max(mb_final), 2)}")
    details = [
        "x_LS = sum_i e_i c_i / sum_i e_i with e_i = 1 - (1 - eta a_i)^K per coordinate, computed on the "
        "host for exactly the problem olsgd generated (F* and zeta_* checked against summary.json"
        + (f" — MISMATCH {mism[:2]}" if mism else "") + "). olsgd reports F(x_bar)-F* and ||x_bar-x*||^2, "
        "so the comparison uses both scalars (two independent functions of x_bar) rather than the vector.",
        "F(x_LS) - F* by zeta: " + ", ".join(f"{z:g}: {F.g(v)}" for z, v in zip(zs, f_ls_mean)) + ".",
    ]
    return C.verdict(
        ctx, "C6.1", "Q-HET sigma=0: local SGD converges to x_LS, F(x_LS)-F* grows as s^2; MB-SGD converges to x*",
        status, numbers, details,
        "This is an exact property of the recursion, so scale does not enter; only fp64 rounding limits it.",
        "final F-F* and ||x-x*||^2 within 1e-10 relative of the host x_LS; slope of F(x_LS)-F* in zeta "
        "2 +- 0.1; MB-SGD's final F-F* <= 1e-12 of the initial", seeds, figp)


# =======================================================================================
# Q-HET: C6.2, C6.3 (zeta sweep at sigma = 0.1)


def c62_plan(ctx):
    if ctx.quick:
        return dict(mults=[0.0, 1.0, 10.0], R=10, K=16, sigma=0.1,
                    grid={"local_sgd": [2.0 ** e for e in (-4, -2, 0)],
                          "minibatch_sgd": [2.0 ** e for e in (-1, 1)],
                          "accelerated_minibatch_sgd": [2.0 ** e for e in (-3, -1)]})
    return dict(mults=[0.0, 0.1, 0.3, 1.0, 3.0, 10.0], R=30, K=16, sigma=0.1,
                grid={"local_sgd": [2.0 ** e for e in range(-5, 1)],
                      "minibatch_sgd": [2.0 ** e for e in range(-2, 3)],
                      "accelerated_minibatch_sgd": [2.0 ** e for e in range(-4, 1)]})


def c62_B(seed):
    return float(np.linalg.norm(problem(seed, 0.0, QHET).xstar))


def c62_runs(ctx):
    p = c62_plan(ctx)
    runs = []
    for seed in ctx.seeds:
        B = c62_B(seed)
        for mult in p["mults"]:
            z = mult * QHET["H"] * B / math.sqrt(p["R"])
            for meth in METHODS:
                for lr in p["grid"][meth]:
                    sets = {"run.seed": seed, "data.zeta": z, "data.noise": p["sigma"],
                            "algorithm.name": meth, "optimizer.lr": lr}
                    if meth == "local_sgd":
                        sets.update({"algorithm.tau": p["K"], "optimizer.batch": 1,
                                     "run.steps": p["K"] * p["R"], "run.log_every": p["K"]})
                    else:
                        sets.update({"optimizer.batch": p["K"], "run.steps": p["R"], "run.log_every": 1})
                    runs.append(C.Run("qhet_sweep", f"{meth}_m{mult:g}_lr{lr:g}_seed{seed}", M, "qhet.yaml",
                                      sets, tags=dict(meth=meth, mult=mult, zeta=z, lr=lr, seed=seed)))
    return runs


def _zeta_curves(ax, shared, meths, norm=False):
    """Tuned error against zeta_*/(HB/sqrt R) per method, band = min..max over seeds."""
    p, tuned, xs = shared.p, shared.tuned, shared.xs
    for meth in meths:
        gm = np.array([tuned[(meth, mu)][0] for mu in p["mults"]])
        lo = np.array([np.min(tuned[(meth, mu)][2]) for mu in p["mults"]])
        hi = np.array([np.max(tuned[(meth, mu)][2]) for mu in p["mults"]])
        if norm:
            gm, lo, hi = gm / gm[0], lo / gm[0], hi / gm[0]
        ax.plot(xs, gm, "o-", color=COLOR[meth], label=SHORT[meth])
        ax.fill_between(xs, lo, hi, color=COLOR[meth], alpha=0.15)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels(["0"] + [f"{mu:g}" for mu in p["mults"][1:]])
    ax.set_xlabel("zeta_* / (H B / sqrt(R))")


def c62_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, c, "Q-HET zeta sweep", runs) for c in claims]
    return C.run_claims(ctx, claims, c62_shared(ctx, runs), {
        "C6.2": (c62_compute, c62_figure, c62_verdict),
        "C6.3": (c63_compute, c63_figure, c63_verdict)})


def c62_shared(ctx, runs):
    """Q-HET zeta sweep: final errors E, each instance's B, the tuned errors per (method, zeta)
    and the texts C6.2 and C6.3 share."""
    p = c62_plan(ctx)
    seeds = ctx.seeds
    res = C.results(runs)
    E = {}
    Bz = {}
    for r in res:
        t = r.run.tags
        v = r.m("suboptimality")[-1]
        E[(t["meth"], t["mult"], t["lr"], t["seed"])] = v if np.isfinite(v) else np.inf
        q = problem(t["seed"], t["zeta"], QHET)
        Bz[(t["mult"], t["seed"])] = float(np.linalg.norm(q.xstar))
    tuned = {}
    for meth in METHODS:
        for mult in p["mults"]:
            best = None
            for lr in p["grid"][meth]:
                vals = np.array([E[(meth, mult, lr, s)] for s in seeds])
                gm = gmean(vals)
                if best is None or gm < best[0]:
                    best = (gm, lr, vals)
            tuned[(meth, mult)] = best
    edges = [f"{SHORT[m]} at zeta-mult {mu:g}: {lr_name(b[1])}" for (m, mu), b in tuned.items()
             if b[1] in (p["grid"][m][0], p["grid"][m][-1])]
    ratio = [tuned[("local_sgd", mu)][0] / tuned[("minibatch_sgd", mu)][0] for mu in p["mults"]]
    B = np.mean([c62_B(s) for s in seeds])
    xs = [mu if mu > 0 else p["mults"][1] / 3 for mu in p["mults"]]  # zeta = 0 drawn at the left
    tuning = (f"eta tuned per (method, zeta) on factor-2 grids (local SGD {lr_name(p['grid']['local_sgd'][0])}.."
              f"{lr_name(p['grid']['local_sgd'][-1])}, MB-SGD {lr_name(p['grid']['minibatch_sgd'][0])}.."
              f"{lr_name(p['grid']['minibatch_sgd'][-1])}, AC-SA {lr_name(p['grid']['accelerated_minibatch_sgd'][0])}.."
              f"{lr_name(p['grid']['accelerated_minibatch_sgd'][-1])}) by the geometric mean over seeds; "
              + (f"grid-edge picks: {'; '.join(edges)}" if edges else "no grid-edge picks") + ".")
    return SimpleNamespace(p=p, ratio=ratio, B=B, seeds=seeds, tuning=tuning, res=res, tuned=tuned,
                           Bz=Bz, E=E, xs=xs)


def c62_compute(ctx, shared):
    p, ratio = shared.p, shared.ratio
    # crossover: first zeta where local/MB > 1, interpolated in log(zeta) between grid points
    cross = None
    for i in range(1, len(p["mults"])):
        a, b = ratio[i - 1], ratio[i]
        if a <= 1 < b and p["mults"][i - 1] > 0:
            la, lb = math.log(a), math.log(b)
            f = (0 - la) / (lb - la)
            cross = math.exp(math.log(p["mults"][i - 1]) + f * (math.log(p["mults"][i]) - math.log(p["mults"][i - 1])))
            break
        if a <= 1 < b and p["mults"][i - 1] == 0:
            cross = p["mults"][i]
            break
    local_wins0 = ratio[0] < 1
    mb_wins_big = ratio[-1] > 1
    cross_ok = cross is not None and 0.1 ** 0.5 <= cross <= 10 ** 0.5
    parts = [local_wins0, mb_wins_big, cross_ok]
    status = V.combine(parts)
    return SimpleNamespace(cross=cross, status=status)


def c62_figure(ctx, shared, data):
    p, B, seeds = shared.p, shared.B, shared.seeds
    cross = data.cross
    plt = C.plt()
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    _zeta_curves(ax, shared, METHODS)
    ax.axvline(1.0, color="gray", ls="--", lw=1, label="predicted crossover zeta^2 = H^2B^2/R")
    if cross:
        ax.axvline(cross, color="tab:purple", ls=":", lw=1.5, label=f"measured crossover {cross:.2g}")
    ax.set_ylabel(f"F(x_hat) - F* after R={p['R']} rounds (eta tuned)")
    ax.set_title(f"C6.2: Q-HET, R={p['R']}, K={p['K']}, sigma={p['sigma']}, m={M}, B~{B:.1f}; "
                 f"band = seeds {F.seeds_text(seeds)}", fontsize=10)
    ax.legend(fontsize=8)
    return C.save_fig(ctx, fig, "C6.2")


def c62_verdict(ctx, shared, data, figp):
    ratio, p, tuning, B, res = shared.ratio, shared.p, shared.tuning, shared.B, shared.res
    tuned, Bz, seeds = shared.tuned, shared.Bz, shared.seeds
    cross, status = data.cross, data.status
    numbers = ("local/MB error ratio by zeta/(HB/sqrt R) " +
               ", ".join(f"{mu:g}: {F.g(r_, 2)}" for mu, r_ in zip(p["mults"], ratio)) +
               f"; crossover at {F.g(cross, 2) if cross else 'none'} x HB/sqrt(R)")
    details = [tuning,
               f"zeta_* = mult x H B / sqrt(R), with B = ||x0 - x*|| of the zeta = 0 instance of each seed "
               f"(mean {B:.2f}); H = 1 is each rank's largest curvature.",
               "But olsgd keeps x0 = 0 while x* moves with zeta (the centres c_i = c0 + s delta_i), so B itself "
               "grows with zeta: B = " + ", ".join(f"{np.mean([Bz[(mu, s_)] for s_ in seeds]):.3g}" for mu in p["mults"])
               + " at the sweep's points, and in units of each instance's own H B / sqrt(R) the sweep spans only "
               "zeta_* = " + ", ".join(
                   f"{np.mean([r.run.tags['zeta'] / (QHET['H'] * Bz[(r.run.tags['mult'], r.run.tags['seed'])] / math.sqrt(p['R'])) for r in res if r.run.tags['mult'] == mu]):.2g}"
                   for mu in p["mults"]) + ": the regime zeta >> HB/sqrt(R) is out of reach of this generator.",
               "Tuned F-F* (gmean): " + "; ".join(
                   f"{SHORT[m]}: " + ", ".join(F.g(tuned[(m, mu)][0], 2) for mu in p["mults"]) for m in METHODS) + "."]
    return C.verdict(
        ctx, "C6.2", "Q-HET zeta sweep: local SGD wins at zeta=0, MB-SGD at large zeta, crossover near "
        "zeta^2 ~ H^2B^2/R", status, numbers, details,
        "The crossover rule is an order-of-magnitude comparison of bounds at fixed B; olsgd's Q-HET moves x* (and B) "
        "with zeta, and the split-Hessian recipe makes the averaged objective perfectly conditioned (abar_j "
        "identical), which favours MB-SGD at any zeta.",
        "local/MB < 1 at zeta=0; > 1 at the largest zeta; the crossover (log-interpolated) within a "
        "factor sqrt(10) of HB/sqrt(R) in zeta, i.e. within 10x in zeta^2 (partly: some of these)",
        seeds, figp)


def c63_compute(ctx, shared):
    p, tuned, seeds, E, Bz = shared.p, shared.tuned, shared.seeds, shared.E, shared.Bz
    stats = {}
    for meth in ("minibatch_sgd", "accelerated_minibatch_sgd"):
        gm = [tuned[(meth, mu)][0] for mu in p["mults"]]
        across = max(gm) / min(gm)
        seed_spread = float(np.median([np.max(tuned[(meth, mu)][2]) / np.min(tuned[(meth, mu)][2])
                                       for mu in p["mults"]]))
        # the same with each seed's error divided by its B^2 (B moves with zeta, see below)
        gn = [gmean([tuned[(meth, mu)][2][i] / Bz[(mu, s)] ** 2 for i, s in enumerate(seeds)])
              for mu in p["mults"]]
        # at one fixed lr of the grid (the same for every zeta): the flattest curve
        flat = []
        for lr in p["grid"][meth]:
            gz = [gmean([E[(meth, mu, lr, s_)] for s_ in seeds]) for mu in p["mults"]]
            if all(np.isfinite(gz)):
                flat.append((max(gz) / min(gz), lr))
        fl = min(flat) if flat else (float("inf"), None)
        stats[meth] = (across, seed_spread, max(gn) / min(gn), fl)
    ok = {m: a <= max(1.5, s) for m, (a, s, _, _) in stats.items()}
    ok_fixed = {m: f[0] <= max(1.05, s) for m, (_, s, _, f) in stats.items()}
    status = (V.HOLDS if all(ok.values()) else
              V.PARTLY if any(ok.values()) or all(ok_fixed.values()) else V.NO)
    return SimpleNamespace(stats=stats, status=status)


def c63_figure(ctx, shared, data):
    p, seeds = shared.p, shared.seeds
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.5, 4.5))
    _zeta_curves(a1, shared, ("minibatch_sgd", "accelerated_minibatch_sgd"))
    a1.set_ylabel("tuned F(x_hat) - F*")
    a1.set_title("raw")
    a1.legend()
    _zeta_curves(a2, shared, ("minibatch_sgd", "accelerated_minibatch_sgd", "local_sgd"), norm=True)
    a2.set_ylabel("error / error at zeta=0")
    a2.set_title("relative to zeta = 0 (local SGD for contrast)")
    a2.legend()
    fig.suptitle(f"C6.3: MB-SGD and ACC-MB-SGD do not depend on zeta? (Q-HET R={p['R']}, K={p['K']}, "
                 f"sigma={p['sigma']}, seeds {F.seeds_text(seeds)})", fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C6.3")


def c63_verdict(ctx, shared, data, figp):
    Bz, seeds, p, tuning = shared.Bz, shared.seeds, shared.p, shared.tuning
    stats, status = data.stats, data.status
    bvals = [Bz[(mu, s)] for mu in p["mults"] for s in seeds]
    numbers = "; ".join(f"{SHORT[m]}: tuned max/min over zeta {F.g(a, 3)} (seed spread {F.g(s, 3)}), at fixed lr "
                        f"{lr_name(f[1]) if f[1] else '-'} {F.g(f[0], 4)}" for m, (a, s, n, f) in stats.items())
    details = [tuning,
               f"B = ||x0 - x*|| itself moves with zeta (the centres c_i shift): {min(bvals):.2f}..{max(bvals):.2f} "
               f"over the sweep, which alone can move the bias term HB^2/R.",
               "Seed spread = median over zeta of max/min over seeds at the tuned lr.",
               "Divided by each instance's B^2 the tuned errors vary more, not less (" + ", ".join(
                   f"{SHORT[m]} {F.g(n, 3)}" for m, (_, _, n, _) in stats.items()) + "): the noise term, not the "
               "B^2 bias term, dominates at the best lr. What moves the tuned curve is the factor-2 grid: as B grows "
               "with zeta the best lr jumps to the next grid value, whose noise floor differs; at one fixed lr whose "
               "bias has contracted away, the error is the same at every zeta (the 'at fixed lr' numbers)."]
    return C.verdict(
        ctx, "C6.3", "Q-HET: MB-SGD and ACC-MB-SGD errors do not depend on zeta", status, numbers, details,
        "The bounds are independent of zeta at fixed B; this generator moves x* (and so B) with zeta, and the "
        "tuned lr, picked from a factor-2 grid, jumps with B.",
        "holds: max/min over zeta of the tuned error <= max(1.5, the median seed spread) for each method; "
        "partly: for one method, or for both only at some fixed lr of the grid (max/min <= max(1.05, seed spread))",
        seeds, figp)


# =======================================================================================
# C1.3: Overlap's alpha on Q-HET


def c13_plan(ctx):
    return dict(alphas=[0.0, 0.6, 1.0], tau=16, steps=1600 if ctx.quick else 3200, lr=0.25, zeta=1.0, sigma=0.1)


def c13_runs(ctx):
    p = c13_plan(ctx)
    runs = []
    for seed in ctx.seeds:
        base = {"run.seed": seed, "data.zeta": p["zeta"], "data.noise": p["sigma"], "algorithm.tau": p["tau"],
                "optimizer.lr": p["lr"], "run.steps": p["steps"], "run.log_every": 4}
        for a in p["alphas"]:
            runs.append(C.Run("alpha", f"overlap_a{a:g}_seed{seed}", M, "qhet.yaml",
                              dict(base, **{"algorithm.name": "overlap_local_sgd", "algorithm.alpha": a}),
                              tags=dict(alpha=a, seed=seed)))
        runs.append(C.Run("alpha", f"local_seed{seed}", M, "qhet.yaml", dict(base, **{"algorithm.name": "local_sgd"}),
                          tags=dict(alpha="local", seed=seed)))
    return runs


def _round_means(r, col, tau):
    """Rounds of tau steps and the mean of metrics.csv's `col` over each round's logged rows."""
    s, v = r.m("step"), r.m(col)
    rnd = np.ceil(s / tau).astype(int)
    xs = np.unique(rnd)
    return xs, np.array([np.mean(v[rnd == j]) for j in xs])


def c13_analyze(ctx, runs, claims):
    if not C.all_ok(runs):
        return [C.failed_verdict(ctx, "C1.3", "Overlap alpha", runs)]
    data = c13_compute(ctx, runs)
    return [c13_verdict(ctx, data, c13_figure(ctx, data))]


def c13_compute(ctx, runs):
    p = c13_plan(ctx)
    seeds = ctx.seeds
    res = C.results(runs)
    by = {}
    for r in res:
        by[(r.run.tags["alpha"], r.run.tags["seed"])] = r

    def tail(r, col, frac=0.2):
        s, v = r.m("step"), r.m(col)
        return float(np.mean(v[s > s[-1] * (1 - frac)]))

    def head(r, col):
        return float(r.m(col)[0])  # the first logged step (4 local steps in)

    cons = {a: [tail(by[(a, s)], "consensus") for s in seeds] for a in p["alphas"] + ["local"]}
    cons0 = {a: [head(by[(a, s)], "consensus") for s in seeds] for a in p["alphas"]}
    loss = {a: [tail(by[(a, s)], "suboptimality") for s in seeds] for a in p["alphas"] + ["local"]}
    grow = np.mean(cons[0.0]) / max(np.mean(cons0[0.0]), 1e-300)
    vs06 = np.mean(cons[0.0]) / max(np.mean(cons[0.6]), 1e-300)
    grow_ok = grow >= 1 and vs06 >= 10
    worse = [l1 > l6 for l1, l6 in zip(loss[1.0], loss[0.6])]
    m1, s1 = mean_sd(loss[1.0])
    m6, s6 = mean_sd(loss[0.6])
    worse_ok = all(worse) and (m1 - m6) > max(s1, s6)
    status = V.combine([grow_ok, worse_ok])
    return SimpleNamespace(p=p, seeds=seeds, by=by, grow=grow, vs06=vs06,
                           m1=m1, s1=s1, m6=m6, s6=s6, loss=loss, worse=worse, status=status)


def c13_figure(ctx, data):
    p, seeds, by = data.p, data.seeds, data.by
    plt = C.plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    cols = {0.0: "tab:orange", 0.6: "tab:blue", 1.0: "tab:purple", "local": "gray"}
    for a in p["alphas"] + ["local"]:
        lab = "local SGD (reference)" if a == "local" else f"Overlap alpha={a:g}"
        for i, s in enumerate(seeds):
            r = by[(a, s)]
            x, y = _round_means(r, "consensus", p["tau"])
            a1.plot(x, y, color=cols[a], alpha=0.7, lw=1, label=lab if i == 0 else None)
            x, y = _round_means(r, "suboptimality", p["tau"])
            a2.plot(x, y, color=cols[a], alpha=0.7, lw=1, label=lab if i == 0 else None)
    a1.set_yscale("log")
    a1.set_xlabel(f"round ({p['tau']} steps)")
    a1.set_ylabel("consensus (1/m) sum ||x_i - x_bar||^2, round mean")
    a1.set_title("consensus distance")
    a1.legend()
    a2.set_yscale("log")
    a2.set_xlabel(f"round ({p['tau']} steps)")
    a2.set_ylabel("F(x_bar) - F*, round mean")
    a2.set_title("loss of the averaged model")
    a2.legend()
    fig.suptitle(f"C1.3: Overlap-Local-SGD pull coefficient on Q-HET (m={M}, zeta*={p['zeta']}, sigma={p['sigma']}, "
                 f"tau={p['tau']}, eta={p['lr']}; seeds {F.seeds_text(seeds)})", fontsize=10)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "C1.3")


def c13_verdict(ctx, data, figp):
    grow, vs06, m1, s1, m6, s6 = data.grow, data.vs06, data.m1, data.s1, data.m6, data.s6
    loss, seeds, p, worse, status = data.loss, data.seeds, data.p, data.worse, data.status
    numbers = (f"alpha=0 consensus grows x{F.g(grow, 3)} from the first logged step and is x{F.g(vs06, 3)} that of "
               f"alpha=0.6; final F-F*: alpha=1 {F.g(m1)}+-{F.g(s1, 2)} vs alpha=0.6 {F.g(m6)}+-{F.g(s6, 2)} "
               f"(alpha=0 {F.g(np.mean(loss[0.0]))}, local SGD {F.g(np.mean(loss['local']))})")
    f0 = np.mean([problem(s, p["zeta"], QHET).subopt(np.zeros(100)) for s in seeds])
    details = ["Values are means over the logged steps of the last 20% of the run (every 4 steps, so every "
               "phase of a round is represented), then mean +- sd over seeds; the figure shows means per round.",
               f"alpha=1 worse than 0.6 in {sum(worse)}/{len(worse)} seeds.",
               f"With alpha=1 the rule of docs/algorithms.md §2 never moves the anchor: every rank is overwritten by the "
               f"anchor and then posts that same model, so the next anchor is the same point, x0 (F(x0)-F* = "
               f"{F.g(f0)} here); only the tau local steps of the current round move x_bar."]
    return C.verdict(
        ctx, "C1.3", "Overlap on heterogeneous data: alpha=0 lets consensus grow; alpha=1 gives a worse loss than 0.6",
        status, numbers, details,
        "A derived sanity check, not a paper claim; on a quadratic the effect of alpha depends on tau, eta and "
        "zeta, and real non-IID data (the paper's Dirichlet CIFAR-10) may weigh staleness differently.",
        "consensus(alpha=0) over the last 20% at least its value at the first logged step (no contraction) and "
        ">= 10x that of alpha=0.6; "
        "F-F*(alpha=1) > F-F*(alpha=0.6) in every seed and by more than one sd", seeds, figp)
