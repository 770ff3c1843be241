"""Claim X2: Overlap-Local-SGD with the state synced in F fragments (docs/algorithms.md §2e)
against the whole model at once, with the plain and the 4-bit quantized anchor: bursts F times
smaller at equal total bytes, the same test loss at equal steps, and at least as much of the
network time hidden.

Fashion-MNIST, iid over 2 ranks, tau = 8, F in {1, 4}, on an injected network of 1 ms latency
plus a bandwidth at which the whole model takes about tau steps of compute: the MLP (784-128-10)
and LeNet-5 (the CNN), 800 steps each, seeds 1-3."""

from types import SimpleNamespace

import numpy as np

import common as C
from olsgdperf import fmt as F
from olsgdperf import verdict as V
from olsgdperf.stats import mean_sd
from overlap import timing_reliability

EXP = "fragments"
TAU = 8
FRAGMENTS = [1, 4]
# model -> (deck, parameters, bandwidth in bytes/s: 4 bytes a parameter over ~tau steps' compute,
# the step times measured here: 0.45 ms (MLP), 8.5 ms (LeNet-5))
MODELS = {
    "MLP": ("fashion_mlp.yaml", 101770, 4 * 101770 / (TAU * 0.00045)),
    "LeNet-5": ("fashion_lenet5.yaml", 61706, 4 * 61706 / (TAU * 0.0085)),
}
LATENCY = 0.001
QUANTIZE = [0, 4]  # plain anchor, and the 4-bit quantized anchor (each fragment quantized on its own)


def runs(ctx):
    steps = 160 if ctx.quick else 800
    out = []
    for seed in ctx.seeds:
        for m, (deck, _, bw) in MODELS.items():
            for q in QUANTIZE:
                for f in FRAGMENTS:
                    sets = {"run.seed": seed, "run.steps": steps, "run.eval_every": steps // 4,
                            "run.log_every": 8, "data.partition": "iid", "algorithm.name": "overlap_local_sgd",
                            "algorithm.tau": TAU, "algorithm.alpha": 0.6, "algorithm.fragments": f,
                            "optimizer.schedule": "constant", "optimizer.warmup": 0, "comm.latency_s": LATENCY,
                            "comm.bandwidth_Bps": round(bw)}
                    if q:
                        sets.update({"algorithm.anchor_compression": "quantize", "quantize.bits": q})
                    name = f"{F.slug(m)}_f{f}" + (f"_q{q}" if q else "") + f"_seed{seed}"
                    out.append(C.Run(EXP, name, 2, deck, sets, timing=True, tags=dict(model=m, f=f, q=q, seed=seed)))
    return out


def analyze(ctx, runs_, claims):
    if not C.all_ok(runs_):
        return [C.failed_verdict(ctx, "X2", "fragments", runs_)]
    d = compute(ctx, runs_)
    return [verdict(ctx, d, figure(ctx, d))]


def compute(ctx, runs_):
    res = C.results(runs_)
    rel_note, _ = timing_reliability(res, ctx)
    by = {(r.run.tags["model"], r.run.tags["f"], r.run.tags.get("q", 0), r.run.tags["seed"]): r for r in res}
    seeds, models = ctx.seeds, list(MODELS)

    def per(key, fn):
        return {(m, f, q): [fn(by[(m, f, q, s)]) for s in seeds] for m in models for f in FRAGMENTS
                for q in QUANTIZE}

    peak = per("peak", lambda r: r.summary["traffic"]["peak_payload_bytes_in_one_step"])
    total = per("total", lambda r: r.summary["traffic"]["payload_bytes"])
    loss = per("loss", lambda r: r.test_loss_tail())
    hidden = per("hidden", lambda r: r.summary["syncs"]["hidden_frac"])
    train = per("train", lambda r: r.summary["timings"]["train_s_max_over_ranks"])
    fmax = max(FRAGMENTS)
    parts = []
    for m in models:
        for q in QUANTIZE:
            one, many = (m, 1, q), (m, fmax, q)
            # 1/F of the burst (up to a fragment one number larger, and F - 1 more norms quantized)
            parts.append(all(p * fmax <= b * 1.01 for p, b in zip(peak[many], peak[one])))
            parts.append(all(abs(a - b) <= 0.01 * b for a, b in zip(total[many], total[one])))
            parts.append(abs(np.mean(loss[many]) - np.mean(loss[one])) <= 0.01 * np.mean(loss[one]))
            parts.append(np.mean(hidden[many]) >= np.mean(hidden[one]) - 0.01)
    return SimpleNamespace(by=by, seeds=seeds, models=models, peak=peak, total=total, loss=loss, hidden=hidden,
                           train=train, fmax=fmax, status=V.combine(parts), rel_note=rel_note)


def figure(ctx, d):
    plt = C.plt()
    fig, axes = plt.subplots(1, len(d.models) + 1, figsize=(4.8 * (len(d.models) + 1), 4.2))
    colors = {1: "tab:red", d.fmax: "tab:purple"}
    for ax, m in zip(axes, d.models):
        for q in QUANTIZE:
            for f in FRAGMENTS:
                for i, s in enumerate(d.seeds):
                    r = d.by[(m, f, q, s)]
                    ax.plot(r.m("step"), r.m("loss"), color=colors[f], alpha=0.6, lw=0.8, ls="--" if q else "-",
                            label=f"F = {f}" + (f", {q}-bit" if q else "") if i == 0 else None)
        ax.set_xlabel("step")
        ax.set_ylabel("minibatch loss")
        ax.set_title(f"{m}: loss per step")
        ax.legend(fontsize=8)
    ax = axes[-1]
    labels = [(m, q) for m in d.models for q in QUANTIZE]
    x = np.arange(len(labels))
    for j, f in enumerate(FRAGMENTS):
        ax.bar(x + (j - 0.5) * 0.4, [np.mean(d.peak[(m, f, q)]) / 1e3 for m, q in labels], 0.4, color=colors[f],
               label=f"F = {f}")
    ax.set_xticks(x)
    ax.set_xticklabels([m + (f", {q}-bit" if q else "") for m, q in labels], fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("peak payload in one step (kB per rank)")
    ax.set_title("burst size")
    ax.legend(fontsize=8)
    fig.suptitle(f"X2: Overlap in fragments, Fashion-MNIST iid, 2 ranks, tau={TAU}; seeds {F.seeds_text(d.seeds)}\n"
                 f"{d.rel_note}", fontsize=9.5)
    fig.tight_layout()
    return C.save_fig(ctx, fig, "X2")


def verdict(ctx, d, figp):
    def ms(xs, spec):
        m, sd = mean_sd(xs)
        return f"{m:{spec}}+-{sd:{spec}}"

    lines = []
    for m, q in [(m, q) for m in d.models for q in QUANTIZE]:
        one, many = (m, 1, q), (m, d.fmax, q)
        lines.append(
            f"{m}{f', {q}-bit anchor' if q else ''}: peak bytes in one step {np.mean(d.peak[one]):.0f} (F=1) vs {np.mean(d.peak[many]):.0f} "
            f"(F={d.fmax}); total {np.mean(d.total[one]):.0f} vs {np.mean(d.total[many]):.0f}; test loss "
            f"{ms(d.loss[one], '.4f')} vs {ms(d.loss[many], '.4f')}; hidden {ms(d.hidden[one], '.2f')} vs "
            f"{ms(d.hidden[many], '.2f')}; train {ms(d.train[one], '.2f')} s vs {ms(d.train[many], '.2f')} s")
    numbers = "; ".join(lines)
    details = [ln + "." for ln in lines] + [
        f"Network: {LATENCY * 1e3:g} ms latency per collective plus bytes / bandwidth, the bandwidth set so the whole "
        "model takes about tau steps of compute; each request is timed from its last post on its own (no shared "
        "link is modelled, so F fragments in flight do not slow each other).",
        f"Machine load: {d.rel_note}."]
    return C.verdict(
        ctx, "X2", f"Overlap in {d.fmax} fragments (plain or 4-bit anchor): bursts {d.fmax}x smaller at equal total "
        "bytes, test loss within 1%, hidden fraction at least as high", d.status, numbers, details,
        "No paper makes this claim for Overlap-Local-SGD; Streaming DiLoCo syncs fragments of an outer update "
        "with an outer optimizer, which this exchange does not have.",
        f"per model and anchor: peak bytes per step x {d.fmax} <= 1.01 x F=1's; total bytes within 1%; |test loss - "
        "F=1's| <= 1%; hidden fraction >= F=1's - 0.01 (partly: some of these)", d.seeds, figp,
        reliability="timing unreliable: machine loaded" if d.rel_note.startswith("UNRELIABLE") else "")
