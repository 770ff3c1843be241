"""Writes REPORT.md from the verdict records in <out>/verdicts/*.json."""

import os
import time

import common as C
from olsgdperf import fmt as F
from olsgdperf import verdict as V

ORDER = ["C5.1", "C5.2", "C5.3", "C6.1", "C6.2", "C6.3", "C1.1", "C1.2", "H1", "H2", "C1.3", "C3.1", "C3.2",
         "C2.1", "C2.2", "C2.3", "C4.1", "C4.2", "X1", "X2", "X3", "S1"]
TITLES = {
    "C5.1": "Q-HOM: local SGD <= MB-SGD at every (K,R), gap widening with K; sigma=0 closed form",
    "C5.2": "Q-HOM: methods approach the sigma*B/sqrt(mKR) floor, gaps shrink with sigma",
    "C5.3": "Q-HOM sigma=0: ACC-MB-SGD beats MB-SGD with a steeper slope",
    "C6.1": "Q-HET sigma=0: local SGD -> x_LS, gap ~ s^2; MB-SGD -> x*",
    "C6.2": "Q-HET: local SGD wins at zeta=0, MB-SGD at large zeta, crossover ~ HB/sqrt(R)",
    "C6.3": "Q-HET: MB-SGD and ACC-MB-SGD independent of zeta",
    "C1.1": "Overlap round time vs injected delay follows the formula",
    "C1.2": "Overlap (tau=2, alpha=0.6) loss close to local SGD; faster to target under delay",
    "H1": "LeNet-5, label skew: Overlap as accurate as local SGD, faster to an accuracy under delay and a straggler",
    "H2": "ResNet-20, label skew: Overlap as accurate as local SGD, faster to an accuracy under delay",
    "C1.3": "alpha=0 consensus grows; alpha=1 worse than alpha=0.6",
    "C3.1": "SlowMo beta>0 lowers the training loss at equal steps and bytes",
    "C3.2": "SlowMo special cases reproduce local SGD and heavy-ball MB-SGD (1e-6)",
    "C2.1": "Sketched SGD loss close to uncompressed; bytes ratio d/(rc+Pk)",
    "C2.2": "Count-sketch recall rises with columns",
    "C2.3": "No error accumulation raises the final loss",
    "C4.1": "DQ-SGD Pareto-dominates fixed-bit QSGD; bits non-decreasing",
    "C4.2": "Quantizer unbiased, variance <= min(d/s^2, sqrt(d)/s)||v||^2",
    "X1": "Beyond the papers: Overlap with a quantized anchor average",
    "X2": "Beyond the papers: Overlap with the model synced in fragments",
    "X3": "Beyond the papers: two-level Overlap, groups averaging often and the anchor crossing a slow link",
    "S1": "Stragglers: timed rounds reach fixed-tau Overlap's loss sooner with a slow rank",
}


def esc(s):
    return str(s).replace("|", "\\|").replace("\n", " ")


def write(ctx, meta):
    recs = V.load_all(os.path.join(ctx.out, "verdicts"))
    rel = os.path.relpath(ctx.figdir, os.path.dirname(os.path.abspath(ctx.report)))
    L = []
    L.append("# Reproducing the papers' claims with olsgd")
    L.append("")
    if ctx.quick:
        L.append("**QUICK smoke mode** (fewer seeds and smaller grids): the verdicts below only show that the "
                 "pipeline works; they are not evidence. Run `perf/repro/run_all` for the real thing.")
        L.append("")
    L.append(f"Written by `perf/repro/run_all` on {time.strftime('%Y-%m-%d %H:%M %Z')}. Every verdict is computed "
             "from the runs by the script, with the thresholds stated per claim; figures are in "
             f"`{os.path.relpath(ctx.figdir, C.ROOT)}/`. Claims and problems: docs/algorithms.md §6–§7.")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    for k, v in meta.items():
        L.append(f"| {esc(k)} | {esc(v)} |")
    L.append("")
    L.append("Conventions: *test loss* is the held-out loss of the averaged model, averaged over the "
             "evaluations in the last half of a run (Fashion-MNIST runs; less sensitive to the last minibatches "
             "than one value); *training loss* is the mean of the logged minibatch losses (averaged over ranks) over "
             "the last 20% of the steps; *mean +- sd* are over seeds; a factor-2 learning-rate grid is used where a "
             "claim says 'tuned'.")
    L.append("")
    L.append("Verdicts: **holds**; **partly** (some of the claim's parts hold); **does not hold at this scale**; "
             "**pending** (the experiment cannot run with this build); **not evaluated** (runs failed).")
    L.append("")
    L.append("## Summary")
    L.append("")
    L.append("| claim | what | verdict | key numbers | seeds |")
    L.append("|---|---|---|---|---|")
    for c in ORDER:
        r = recs.get(c)
        if r is None:
            L.append(f"| {c} | {esc(TITLES[c])} | not run yet | `perf/repro/run_all {c}` | |")
            continue
        v = r["verdict"] + (f" ({r['reliability']})" if r.get("reliability") else "")
        L.append(f"| [{c}](#{c.replace('.', '').lower()}) | {esc(TITLES.get(c, r['title']))} | **{esc(v)}** | "
                 f"{esc(r['numbers'])} | {esc(F.seeds_text(r['seeds']))} |")
    L.append("")
    for c in ORDER:
        r = recs.get(c)
        if r is None:
            continue
        L.append(f"## {c}")
        L.append("")
        L.append(f"**Claim.** {r['title']}.")
        L.append("")
        v = r["verdict"] + (f" — {r['reliability']}" if r.get("reliability") else "")
        L.append(f"**Verdict: {v}.** {r['numbers']}.")
        L.append("")
        if r.get("thresholds"):
            L.append(f"*Rule:* {r['thresholds']}.")
            L.append("")
        for d in r.get("details", []):
            L.append(f"- {d}")
        if r.get("details"):
            L.append("")
        if r.get("why"):
            L.append(f"*Why it may differ from the paper:* {r['why']}")
            L.append("")
        if r.get("figure"):
            fn = os.path.basename(r["figure"])
            L.append(f"![{c}]({rel}/{fn})")
            L.append("")
        L.append(f"<sub>seeds {F.seeds_text(r['seeds'])}; written {r.get('written', '')}</sub>")
        L.append("")
    with open(ctx.report + ".tmp", "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(ctx.report + ".tmp", ctx.report)
    return ctx.report
