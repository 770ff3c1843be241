#!/usr/bin/python3
"""PyTorch peer of olsgd's local_sgd on inputs/peers/mlp_local_sgd.yaml.

Trains the same MLP (784-H-10, ReLU, softmax cross-entropy, float32) on Fashion-MNIST with
plain Local SGD on R processes (torch.distributed, gloo, CPU): every rank takes local SGD
steps (PyTorch momentum / Nesterov, which is olsgd's form), and every tau steps the ranks'
models are averaged by torch.distributed.algorithms.model_averaging.averagers.
PeriodicModelAverager (period=tau, warmup_steps=tau-1, so the averages land after steps
tau, 2 tau, ... exactly like olsgd's `(k + 1) % tau == 0`). Momentum buffers stay local
(olsgd's local_sgd averages the parameters only, too).

By default the peer reproduces olsgd's random choices bit for bit (Philox4x32-10 counter
streams, see include/olsgd/core/rng.hpp): the iid shard of every rank, the initial weights
(U(-1/sqrt(in), 1/sqrt(in)) for weights and biases, the same numbers), and the minibatch
indices of every step (uniform with replacement over the shard). The same deck seed then
gives the same trajectory up to floating-point rounding, so accuracies are comparable
run by run. `--init torch --sampling torch` uses PyTorch's own generators instead (same
distributions).

Timing is olsgd's samples_per_s_all_ranks: steps * batch * ranks / (slowest rank's seconds
from the start of the training loop to the end of the last step's metrics: average of the
models + test evaluation). Data loading, partitioning and the batch index schedule are
set-up, outside the clock; the per-step gather of the batch rows is inside it.

Prints one JSON line (rank 0) on stdout. Run with Debian's python3-torch:
    /usr/bin/python3 perf/peers/torch_local_sgd.py --hidden 256 --steps 2000
"""
import argparse
import gzip
import json
import os
import socket
import sys
import time

# One thread per process, decided before torch (and its OpenMP / OpenBLAS pools) load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Pinning is done here with sched_setaffinity (rank r -> core r, like mpirun --bind-to core).
# OMP_PROC_BIND / OMP_PLACES (set for olsgd) would make libgomp bind every process that loads
# torch to the first core of its mask, i.e. all ranks onto one core: drop them first.
_OMP_BIND = {v: os.environ.pop(v) for v in ("OMP_PROC_BIND", "OMP_PLACES") if v in os.environ}
_ALLOWED = sorted(os.sched_getaffinity(0))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# --- olsgd's counter-based random numbers (Philox4x32-10), vectorised over counters --------

STREAM_SAMPLING, STREAM_INIT, STREAM_PARTITION = 4, 5, 7
_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LO = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def philox_u64(counters, seed, stream, substream):
    """64 random bits per counter: olsgd's CounterRng(seed, stream, substream).u64(counter)."""
    c = np.asarray(counters, dtype=np.uint64)
    x0, x1 = c & _LO, c >> _32
    x2 = np.full_like(c, substream)
    x3 = np.full_like(c, stream)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = _M0 * x0, _M1 * x2  # 32 x 32 -> 64 bits, exact in uint64
        x0, x1, x2, x3 = (p1 >> _32) ^ x1 ^ np.uint64(k0), p1 & _LO, (p0 >> _32) ^ x3 ^ np.uint64(
            k1), p0 & _LO
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return (x1 << _32) | x0


def philox_uniform(counters, seed, stream, substream):
    """Uniform doubles in (0, 1): CounterRng::uniform."""
    u = philox_u64(counters, seed, stream, substream)
    return ((u >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def philox_below(counters, n, seed, stream, substream):
    """Uniform integers in [0, n): CounterRng::below (n scalar or per counter)."""
    return philox_u64(counters, seed, stream, substream) % np.asarray(n, dtype=np.uint64)


def iid_shard(n, seed, rank, ranks):
    """olsgd's data.partition=iid: a seeded Fisher-Yates shuffle, block `rank`, sorted."""
    order = np.arange(n, dtype=np.int64)
    counters = np.arange(n - 1, dtype=np.uint64)  # i = n .. 2 draws counter n - i
    js = philox_below(counters, n - counters, seed, STREAM_PARTITION, 0).astype(np.int64)
    o = order.tolist()
    for c, j in enumerate(js.tolist()):
        i = n - c
        o[i - 1], o[j] = o[j], o[i - 1]
    lo, hi = n * rank // ranks, n * (rank + 1) // ranks
    return np.sort(np.asarray(o[lo:hi], dtype=np.int64))


def olsgd_init(widths, seed):
    """Per layer l: CounterRng(seed, Init, l).uniform(i) for weights (out x in) then biases."""
    params = []
    for layer in range(len(widths) - 1):
        fan_in, out = widths[layer], widths[layer + 1]
        bound = 1.0 / np.sqrt(float(fan_in))
        u = philox_uniform(np.arange(out * fan_in + out, dtype=np.uint64), seed, STREAM_INIT,
                           layer)
        v = (bound * (2.0 * u - 1.0)).astype(np.float32)
        params.append((v[:out * fan_in].reshape(out, fan_in), v[out * fan_in:]))
    return params


# --- Fashion-MNIST from Debian's gzip IDX files, normalised like src/data/loader.cpp -------

FASHION_MEAN, FASHION_STD = np.float32(0.2860), np.float32(0.3530)


def read_idx(folder, images, labels):
    with gzip.open(os.path.join(folder, labels), "rb") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
    with gzip.open(os.path.join(folder, images), "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    return x, y


def normalise(raw):
    # (pixel / 255 - mean) / std in float32, operation by operation as olsgd does it.
    return (raw.astype(np.float32) / np.float32(255.0) - FASHION_MEAN) / FASHION_STD


# --- one rank -------------------------------------------------------------------------------


def worker(rank, args, port):
    cores = args.cores
    if cores:
        core = cores[rank % len(cores)]
        os.sched_setaffinity(0, {core})  # like mpirun --bind-to core: rank r on its own core
    torch.set_num_threads(args.threads)
    bound = sorted(os.sched_getaffinity(0))
    torch.set_num_interop_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method="env://", rank=rank, world_size=args.ranks)
    ranks = args.ranks

    # Set-up (not timed): this rank's shard and test block, the model, the index schedule.
    x_raw, y_all = read_idx(args.data, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    n = len(y_all) if args.limit <= 0 else min(args.limit, len(y_all))
    if args.partition == "iid":
        keep = iid_shard(n, args.seed, rank, ranks)
    else:  # contiguous
        keep = np.arange(n * rank // ranks, n * (rank + 1) // ranks, dtype=np.int64)
    x_train = torch.from_numpy(normalise(x_raw[keep]))
    y_train = torch.from_numpy(y_all[keep])
    xt_raw, yt_all = read_idx(args.data, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    nt = len(yt_all)
    lo, hi = nt * rank // ranks, nt * (rank + 1) // ranks
    x_test = torch.from_numpy(normalise(xt_raw[lo:hi]))
    y_test = torch.from_numpy(yt_all[lo:hi])
    rows = x_train.shape[0]

    widths = [784] + args.hidden + [10]
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    if args.init == "torch":
        torch.manual_seed(args.seed)  # every rank starts from the same model
        model = nn.Sequential(*layers)
    else:
        model = nn.Sequential(*layers)
        linears = [m for m in model if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, (w, b) in zip(linears, olsgd_init(widths, args.seed)):
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
    model = model.float()

    steps, batch = args.steps, args.batch
    if args.sampling == "olsgd":
        counters = np.arange(steps * batch, dtype=np.uint64)
        sample_rank = 0 if args.replicate else rank
        idx = philox_below(counters, rows, args.seed, STREAM_SAMPLING, sample_rank)
        schedule = torch.from_numpy(idx.astype(np.int64).reshape(steps, batch))
    else:
        g = torch.Generator().manual_seed(args.seed * 1000003 + rank)
        schedule = torch.randint(0, rows, (steps, batch), generator=g)

    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                          nesterov=args.nesterov, foreach=args.foreach)
    if args.averager == "periodic":
        from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager
        averager = PeriodicModelAverager(period=args.tau, warmup_steps=args.tau - 1)

        def average(k):
            averager.average_parameters(model.parameters())  # averages when (k + 1) % tau == 0
    else:
        params = list(model.parameters())

        def average(k):
            if (k + 1) % args.tau:
                return
            with torch.no_grad():
                flat = torch.cat([p.reshape(-1) for p in params])
                dist.all_reduce(flat)
                flat /= ranks
                off = 0
                for p in params:
                    p.copy_(flat[off:off + p.numel()].view_as(p))
                    off += p.numel()

    comm_s = 0.0
    dist.barrier()
    start = time.perf_counter()
    for k in range(steps):
        rows_k = schedule[k]
        xb = x_train.index_select(0, rows_k)
        yb = y_train.index_select(0, rows_k)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        t0 = time.perf_counter()
        average(k)  # every step: the averager counts steps
        comm_s += time.perf_counter() - t0
    # The last step's metrics, as olsgd takes them: loss over ranks, xbar, test evaluation.
    with torch.no_grad():
        sums = torch.tensor([float(loss)], dtype=torch.float64)
        flat = torch.cat([p.reshape(-1) for p in model.parameters()])
        xbar = flat.clone()
        dist.all_reduce(xbar)
        xbar /= ranks
        consensus = torch.tensor([float(((flat - xbar) ** 2).sum())], dtype=torch.float64)
        h, off = x_test, 0
        linears = [m for m in model if isinstance(m, nn.Linear)]
        for i, lin in enumerate(linears):  # the averaged model's forward pass
            w = xbar[off:off + lin.weight.numel()].view_as(lin.weight)
            off += lin.weight.numel()
            b = xbar[off:off + lin.bias.numel()]
            off += lin.bias.numel()
            h = F.linear(h, w, b)
            if i + 1 < len(linears):
                h = F.relu(h)
        logits = h
        test = torch.tensor([float(F.cross_entropy(logits, y_test, reduction="sum")),
                             float((logits.argmax(1) == y_test).sum()), float(len(y_test))],
                            dtype=torch.float64)
        dist.all_reduce(sums)
        dist.all_reduce(consensus)
        dist.all_reduce(test)
    train_s = time.perf_counter() - start
    slowest = torch.tensor([train_s], dtype=torch.float64)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    masks = [torch.zeros(64, dtype=torch.int64) for _ in range(ranks)]
    mine = torch.zeros(64, dtype=torch.int64)
    mine[bound] = 1
    dist.all_gather(masks, mine)
    if rank == 0:
        result = {
            "impl": "pytorch",
            "torch_version": torch.__version__,
            "backend": "gloo",
            "hidden": ",".join(str(h) for h in args.hidden),
            "params": sum(p.numel() for p in model.parameters()),
            "steps": steps,
            "ranks": ranks,
            "batch": batch,
            "tau": args.tau,
            "lr": args.lr,
            "momentum": args.momentum,
            "nesterov": args.nesterov,
            "seed": args.seed,
            "averager": (f"PeriodicModelAverager(period={args.tau}, warmup_steps={args.tau - 1})"
                         if args.averager == "periodic" else "explicit all_reduce every tau"),
            "init": args.init,
            "sampling": args.sampling,
            "threads_per_rank": torch.get_num_threads(),
            "cores_per_rank": [torch.nonzero(m).flatten().tolist() for m in masks],
            "omp_env_dropped": args.omp_env_dropped,
            "train_s": train_s,
            "train_s_max_over_ranks": float(slowest[0]),
            "comm_s": comm_s,
            "samples_per_s_all_ranks": steps * batch * ranks / float(slowest[0]),
            "final_loss": float(sums[0]) / ranks,
            "consensus": float(consensus[0]) / ranks,
            "test_loss": float(test[0] / test[2]),
            "test_acc": float(test[1] / test[2]),
        }
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--hidden", default="256", help="hidden widths, e.g. 256 or 256,128")
    p.add_argument("--steps", type=int, default=2000, help="training steps per rank")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="samples per rank per step")
    p.add_argument("--tau", type=int, default=8, help="local steps between model averages")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--seed", type=int, default=42, help="olsgd's run.seed")
    p.add_argument("--partition", choices=["iid", "contiguous"], default="iid")
    p.add_argument("--limit", type=int, default=0, help="first N training samples (0: all)")
    p.add_argument("--replicate", action="store_true", help="olsgd's data.replicate")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--init", choices=["olsgd", "torch"], default="olsgd",
                   help="olsgd: olsgd's exact initial weights; torch: nn.Linear's default")
    p.add_argument("--sampling", choices=["olsgd", "torch"], default="olsgd",
                   help="olsgd: olsgd's exact batch indices; torch: torch.randint")
    p.add_argument("--averager", choices=["periodic", "allreduce"], default="periodic",
                   help="periodic: PeriodicModelAverager; allreduce: explicit all_reduce")
    p.add_argument("--foreach", action=argparse.BooleanOptionalAction, default=False,
                   help="torch.optim.SGD(foreach=...)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--cores", default="auto",
                   help="cores to pin rank r to (rank r -> r-th listed), 'auto' (the cores this "
                   "process may use, in order) or 'none'")
    args = p.parse_args(argv)
    args.omp_env_dropped = _OMP_BIND
    args.hidden = [int(h) for h in args.hidden.split(",") if h.strip()]
    if args.cores == "none":
        args.cores = []
    elif args.cores == "auto":
        args.cores = _ALLOWED
    else:
        args.cores = [int(c) for c in args.cores.split(",")]
    if args.steps % args.tau:
        print("torch_local_sgd: note: steps is not a multiple of tau; the last models differ",
              file=sys.stderr)
    mp.spawn(worker, args=(args, free_port()), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
