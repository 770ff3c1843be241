#!/usr/bin/python3
"""PyTorch peer of olsgd's local_sgd on inputs/peers/{mlp,lenet5,resnet20}_local_sgd.yaml.

Trains the same network (`--model`: the MLP 784-H-10, LeNet-5, ResNet-20, ResNet-18, or `cnn`
with `--layers` in olsgd's model.layers grammar; ReLU, softmax cross-entropy, float32) on
Fashion-MNIST with plain Local SGD on R processes (torch.distributed, gloo, CPU): every rank takes local SGD
steps (PyTorch momentum / Nesterov, which is olsgd's form), and every tau steps the ranks'
models are averaged by torch.distributed.algorithms.model_averaging.averagers.
PeriodicModelAverager (period=tau, warmup_steps=tau-1, so the averages land after steps
tau, 2 tau, ... exactly like olsgd's `(k + 1) % tau == 0`). Momentum buffers stay local
(olsgd's local_sgd averages the parameters only, too). A network with batch norm averages its
running statistics with the parameters (olsgd keeps them at the end of the one flat vector it
averages): one torch.distributed.algorithms.model_averaging.utils.average_parameters over the
parameters and the running means and variances after steps tau, 2 tau, ...
(PeriodicModelAverager itself accepts only parameters with a gradient).

By default the peer reproduces olsgd's random choices bit for bit (Philox4x32-10 counter
streams, see include/olsgd/core/rng.hpp): the iid shard of every rank, the initial weights
(U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weights and biases of every conv and dense layer,
one substream per layer in network order, the same numbers; batch norm gamma 1, beta 0), and the minibatch
indices of every step (uniform with replacement over the shard). The same deck seed then
gives the same trajectory up to floating-point rounding, so accuracies are comparable
run by run. `--init torch --sampling torch` uses PyTorch's own generators instead (same
distributions).

Timing is olsgd's samples_per_s_all_ranks: steps * batch * ranks / (slowest rank's seconds
from the start of the training loop to the end of the last step's metrics: average of the
models + test evaluation). Data loading, partitioning and the batch index schedule are
set-up, outside the clock; the per-step gather of the batch rows is inside it.

Prints one JSON line (rank 0) on stdout, with each rank's peak resident memory (ru_maxrss) and,
with --trajectory, the minibatch loss of every step (mean over ranks). Run with Debian's
python3-torch:
    /usr/bin/python3 perf/peers/torch_local_sgd.py --hidden 256 --steps 2000
    /usr/bin/python3 perf/peers/torch_local_sgd.py --model resnet20 --batch 128 --steps 40
"""
import argparse
import gzip
import json
import os
import resource
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


def philox_uniform_chunked(count, seed, stream, substream, chunk=1 << 20):
    """philox_uniform over counters 0..count-1, a chunk at a time (bounded temporaries)."""
    out = np.empty(count, dtype=np.float64)
    for lo in range(0, count, chunk):
        hi = min(count, lo + chunk)
        out[lo:hi] = philox_uniform(np.arange(lo, hi, dtype=np.uint64), seed, stream, substream)
    return out


# --- the network: olsgd's layer spec (include/olsgd/model/network_spec.hpp) in torch.nn ------

PRESETS = {  # src/model/network_spec.cpp, preset_network_spec
    "lenet5": "conv 6 k=5 p=2, relu, maxpool 2, conv 16 k=5, relu, maxpool 2, dense 120, relu, "
              "dense 84, relu",
    "resnet20": "conv 16 k=3 p=1 nobias, bn, relu, block 16, block 16, block 16, block 32 s=2, "
                "block 32, block 32, block 64 s=2, block 64, block 64, gap",
    "resnet18": "conv 64 k=3 p=1 nobias, bn, relu, block 64, block 64, block 128 s=2, block 128, "
                "block 256 s=2, block 256, block 512 s=2, block 512, gap",
}


def network_spec(model, hidden, layers):
    if model == "mlp":
        return ", ".join(f"dense {h}, relu" for h in hidden)
    if model == "cnn":
        return layers
    return PRESETS[model]


def parse_spec(spec):
    """[(name, out, {k, s, p, bias})] as olsgd's parse_network_spec reads the spec."""
    out = []
    for text in spec.split(","):
        words = text.split()
        if not words:
            continue
        name, opt = words[0], {"k": 1, "s": 1, "p": 0, "bias": True}
        n = int(words[1]) if name in ("conv", "dense", "block", "maxpool", "avgpool") else 0
        if name == "block":
            opt.update(k=3, p=1, bias=False)
        for w in words[2 if n else 1:]:
            if w == "nobias":
                opt["bias"] = False
            else:
                key, val = w.split("=")
                opt[key] = int(val)
        out.append((name, n, opt))
    return out


class BasicBlock(nn.Module):
    """olsgd's `block C s=S`: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3x3 convs
    without bias, shortcut the identity or conv1x1(S)+bn when C or S change (kuangliu's
    pytorch-cifar BasicBlock). Parameters: conv1, bn1, conv2, bn2[, shortcut conv, bn]."""

    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != c:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False),
                                          nn.BatchNorm2d(c))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def build_network(spec, shape, classes=10):
    """nn.Sequential of the spec on inputs of shape (C, H, W) (H = W = 1: flat features), plus
    the classifier dense layer; parameters in olsgd's flat order."""
    c, h, w = shape
    flat = h == 1 and w == 1
    mods = []
    for name, n, o in parse_spec(spec) + [("dense", classes, {"bias": True})]:
        if name == "conv":
            mods.append(nn.Conv2d(c, n, o["k"], o["s"], o["p"], bias=o["bias"]))
            h, w = (h + 2 * o["p"] - o["k"]) // o["s"] + 1, (w + 2 * o["p"] - o["k"]) // o["s"] + 1
            c = n
        elif name == "bn":
            mods.append(nn.BatchNorm1d(c * h * w) if flat else nn.BatchNorm2d(c))
        elif name == "relu":
            mods.append(nn.ReLU())
        elif name in ("maxpool", "avgpool"):
            mods.append((nn.MaxPool2d if name == "maxpool" else nn.AvgPool2d)(n))
            h, w = h // n, w // n
        elif name == "gap":
            mods.append(nn.AdaptiveAvgPool2d(1))
            h = w = 1
        elif name == "block":
            mods.append(BasicBlock(c, n, o["s"]))
            h, w = (h + 2 - 3) // o["s"] + 1, (w + 2 - 3) // o["s"] + 1
            c = n
        elif name == "dense":
            if not flat:  # NCHW order, as olsgd flattens
                mods.append(nn.Flatten())
                flat = True
            mods.append(nn.Linear(c * h * w, n))
            c, h, w = n, 1, 1
        else:
            raise SystemExit(f"torch_local_sgd: unknown layer '{name}'")
    return nn.Sequential(*mods)


def olsgd_init_network(model, seed, dtype=np.float32):
    """olsgd's initial weights: each conv or dense layer in network order (a block's convs
    included: conv1, conv2, shortcut) draws substream 0, 1, 2, ... of CounterRng(seed, Init):
    weights then bias as one stream, bound * (2 u - 1), bound = 1/sqrt(fan_in). Batch norm:
    gamma 1, beta 0, running mean 0, running var 1."""
    sub = 0
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nw = m.weight.numel()
                nb = m.bias.numel() if m.bias is not None else 0
                bound = 1.0 / np.sqrt(float(m.weight[0].numel()))
                u = philox_uniform_chunked(nw + nb, seed, STREAM_INIT, sub)
                v = (bound * (2.0 * u - 1.0)).astype(dtype)
                m.weight.copy_(torch.from_numpy(v[:nw]).view_as(m.weight))
                if nb:
                    m.bias.copy_(torch.from_numpy(v[nw:]))
                sub += 1
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()


def bn_buffers(model):
    """Running mean then running var of each batch-norm layer in network order (olsgd's tail)."""
    out = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            out += [m.running_mean, m.running_var]
    return out


# --- Fashion-MNIST from Debian's gzip IDX files, normalised like src/data/loader.cpp -------

FASHION_MEAN, FASHION_STD = np.float32(0.2860), np.float32(0.3530)


def read_idx(folder, images, labels):
    with gzip.open(os.path.join(folder, labels), "rb") as f:
        y = np.frombuffer(f.read(), dtype=np.uint8, offset=8).astype(np.int64)
    with gzip.open(os.path.join(folder, images), "rb") as f:
        x = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    return x, y


def normalise(raw):
    # (pixel / 255 - mean) / std in float32, operation by operation as olsgd does it; in place,
    # so that set-up holds one float copy (it counts in the peak memory).
    x = raw.astype(np.float32)
    x /= np.float32(255.0)
    x -= FASHION_MEAN
    x /= FASHION_STD
    return x


# --- peak memory, as olsgd measures it (src/core/memory_usage.cpp) ------------------------


def rusage_peak_bytes():
    return 1024.0 * resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB


def reset_peak_rss():
    """Resets the kernel's high-water mark (/proc/self/clear_refs 5); False if it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def vm_hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return 1024.0 * float(line.split()[1])
    return float("nan")


# --- one rank -------------------------------------------------------------------------------


def profile_kernels(step, steps, cuda):
    """PyTorch's work per training step over `steps` more local steps (none when 0): on a GPU
    its device kernels, copies and memsets, counted and timed (olsgd's kernel profile counts
    its Kokkos kernels but not cuBLAS's); on a CPU the operators it records at the top level
    (a CPU has no device kernels: only the mechanics are checked there)."""
    if steps <= 0:
        return {}
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for k in range(steps):
            step(k)
        if cuda:
            torch.cuda.synchronize()
    if cuda:
        events = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    else:
        events = [e for e in prof.events() if e.cpu_parent is None]
    return {"profile_what": "device kernels" if cuda else "top-level operators",
            "launches_per_step": len(events) / steps,
            "kernel_s_per_step": sum(e.time_range.elapsed_us() for e in events) / 1e6 / steps}


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
    del x_raw
    xt_raw, yt_all = read_idx(args.data, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    nt = len(yt_all)
    lo, hi = nt * rank // ranks, nt * (rank + 1) // ranks
    x_test = torch.from_numpy(normalise(xt_raw[lo:hi]))
    y_test = torch.from_numpy(yt_all[lo:hi])
    del xt_raw
    rows = x_train.shape[0]

    double = args.precision == "float64"
    if double:  # olsgd's run.precision float64: the float32 images in double, double weights
        x_train, x_test = x_train.double(), x_test.double()
    image = args.model != "mlp"
    shape = (1, 28, 28) if image else (784, 1, 1)
    if image:
        x_train, x_test = x_train.view(-1, *shape), x_test.view(-1, *shape)
    spec = network_spec(args.model, args.hidden, args.layers)
    if args.init == "torch":
        torch.manual_seed(args.seed)  # every rank starts from the same model
    model = build_network(spec, shape)
    model = (model.double() if double else model.float()).train()
    if args.init == "olsgd":
        olsgd_init_network(model, args.seed, np.float64 if double else np.float32)
    # --device cuda: data, schedule and model on the GPU (gloo reduces CUDA tensors too); float32
    # stays float32 (no TF32 in matrix products or convolutions), cuDNN picks its fastest
    # algorithm per shape.
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        model = model.to(dev)
        x_train, y_train, x_test, y_test = (t.to(dev) for t in (x_train, y_train, x_test, y_test))
    params = list(model.parameters())
    buffers = bn_buffers(model)
    state = params + buffers  # olsgd's flat vector: parameters, then running statistics

    steps, batch = args.steps, args.batch
    if args.sampling == "olsgd":
        counters = np.arange(steps * batch, dtype=np.uint64)
        sample_rank = 0 if args.replicate else rank
        idx = philox_below(counters, rows, args.seed, STREAM_SAMPLING, sample_rank)
        schedule = torch.from_numpy(idx.astype(np.int64).reshape(steps, batch))
    else:
        g = torch.Generator().manual_seed(args.seed * 1000003 + rank)
        schedule = torch.randint(0, rows, (steps, batch), generator=g)
    schedule = schedule.to(dev)

    opt = torch.optim.SGD(params, lr=args.lr, momentum=args.momentum, nesterov=args.nesterov,
                          foreach=args.foreach)
    if args.averager == "periodic" and not buffers:
        from torch.distributed.algorithms.model_averaging.averagers import PeriodicModelAverager
        averager = PeriodicModelAverager(period=args.tau, warmup_steps=args.tau - 1)
        averager_text = f"PeriodicModelAverager(period={args.tau}, warmup_steps={args.tau - 1})"

        def average(k):
            averager.average_parameters(params)  # averages when (k + 1) % tau == 0
    elif args.averager == "periodic":
        from torch.distributed.algorithms.model_averaging.utils import average_parameters
        averager_text = ("model_averaging.utils.average_parameters(parameters + running "
                         "statistics) every tau")

        def average(k):
            if (k + 1) % args.tau == 0:
                average_parameters(iter(state), None)
    else:
        averager_text = "explicit all_reduce every tau"

        def average(k):
            if (k + 1) % args.tau:
                return
            with torch.no_grad():
                flat = torch.cat([p.reshape(-1) for p in state])
                dist.all_reduce(flat)
                flat /= ranks
                off = 0
                for p in state:
                    p.copy_(flat[off:off + p.numel()].view_as(p))
                    off += p.numel()

    losses = []
    comm_s = 0.0
    dist.barrier()
    setup_peak = rusage_peak_bytes()  # imports, data, model: before the first step
    was_reset = reset_peak_rss()  # from here VmHWM (and ru_maxrss) is training's peak
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    def local_step(k):
        rows_k = schedule[k % steps]
        xb = x_train.index_select(0, rows_k)
        yb = y_train.index_select(0, rows_k)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    for k in range(steps):
        loss = local_step(k)
        losses.append(loss.detach())
        t0 = time.perf_counter()
        average(k)  # every step: the averager counts steps
        comm_s += time.perf_counter() - t0
    if args.dump_state and rank == 0:  # debugging: the flat vector as olsgd lays it out
        with torch.no_grad():
            np.save(args.dump_state, torch.cat([p.reshape(-1) for p in state]).cpu().numpy())
    # The last step's metrics, as olsgd takes them: loss over ranks, xbar (parameters and
    # running statistics), and the test evaluation of xbar in eval mode (running statistics).
    with torch.no_grad():
        sums = torch.tensor([float(loss)], dtype=torch.float64)
        flat = torch.cat([p.reshape(-1) for p in state])
        xbar = flat.clone()
        dist.all_reduce(xbar)
        xbar /= ranks
        consensus = torch.tensor([float(((flat - xbar) ** 2).sum())], dtype=torch.float64)
        off = 0
        for p in state:  # the averaged model (the last step averaged it already when tau | k)
            p.copy_(xbar[off:off + p.numel()].view_as(p))
            off += p.numel()
        model.eval()
        test = torch.zeros(3, dtype=torch.float64)
        for lo in range(0, len(y_test), args.eval_chunk):
            logits = model(x_test[lo:lo + args.eval_chunk])
            yt = y_test[lo:lo + args.eval_chunk]
            test += torch.tensor([float(F.cross_entropy(logits, yt, reduction="sum")),
                                  float((logits.argmax(1) == yt).sum()), float(len(yt))],
                                 dtype=torch.float64)
        dist.all_reduce(sums)
        dist.all_reduce(consensus)
        dist.all_reduce(test)
    train_s = time.perf_counter() - start
    slowest = torch.tensor([train_s], dtype=torch.float64)
    dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
    traj = torch.stack(losses).double() if args.trajectory else torch.zeros(1, dtype=torch.float64)
    dist.all_reduce(traj)
    # Peaks as olsgd's summary.json has them: training's (from the first step on) and the whole
    # run's (set-up's peak included; ru_maxrss after the reset is training's).
    rss = torch.zeros(ranks, 3, dtype=torch.float64)
    training_peak = vm_hwm_bytes() if was_reset else float("nan")
    rss[rank, 0] = max(setup_peak, rusage_peak_bytes(), training_peak if was_reset else 0.0)
    rss[rank, 1] = training_peak
    rss[rank, 2] = setup_peak
    dist.all_reduce(rss)
    # After every figure above: the profiled steps move the model.
    kernels = profile_kernels(local_step, args.kernel_profile, dev.type == "cuda")
    masks = [torch.zeros(64, dtype=torch.int64) for _ in range(ranks)]
    mine = torch.zeros(64, dtype=torch.int64)
    mine[bound] = 1
    dist.all_gather(masks, mine)
    if rank == 0:
        result = {
            "impl": "pytorch",
            "torch_version": torch.__version__,
            "backend": "gloo",
            "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
            "precision": args.precision,
            "model": args.model,
            "spec": spec,
            "hidden": ",".join(str(h) for h in args.hidden) if args.model == "mlp" else "",
            "params": sum(p.numel() for p in params),
            "buffers": sum(b.numel() for b in buffers),
            "steps": steps,
            "ranks": ranks,
            "batch": batch,
            "tau": args.tau,
            "lr": args.lr,
            "momentum": args.momentum,
            "nesterov": args.nesterov,
            "seed": args.seed,
            "averager": averager_text,
            "init": args.init,
            "sampling": args.sampling,
            "threads_per_rank": torch.get_num_threads(),
            "mkldnn": torch.backends.mkldnn.is_available(),
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
            "test_rows": int(test[2]),
            "peak_rss_bytes_per_rank": [float(r) for r in rss[:, 0]],
            "training_peak_rss_bytes_per_rank": [float(r) for r in rss[:, 1]],
            "peak_rss_bytes_max_over_ranks": float(rss[:, 0].max()),
            "training_peak_rss_bytes_max_over_ranks": float(rss[:, 1].max()),
            "setup_peak_rss_bytes_max_over_ranks": float(rss[:, 2].max()),
        }
        if args.trajectory:
            result["losses"] = [float(v) / ranks for v in traj]
        if kernels:
            result.update(kernels)
        print(json.dumps(result), flush=True)
    dist.destroy_process_group()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", choices=["mlp", "lenet5", "resnet20", "resnet18", "cnn"],
                   default="mlp", help="olsgd's model.kind")
    p.add_argument("--hidden", default="256", help="mlp: hidden widths, e.g. 256 or 256,128")
    p.add_argument("--layers", default="", help="cnn: olsgd's model.layers spec")
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
    p.add_argument("--trajectory", action="store_true",
                   help="print every step's minibatch loss (mean over ranks) in the JSON")
    p.add_argument("--dump-state", default="",
                   help="rank 0 saves its parameters and running statistics after the last step "
                   "(before the final average) as .npy, in olsgd's flat order")
    p.add_argument("--precision", choices=["float32", "float64"], default="float32",
                   help="olsgd's run.precision")
    p.add_argument("--eval-chunk", type=int, default=1024, help="test rows per forward pass")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--device", default="cpu", help="cpu, or cuda (every rank on GPU 0)")
    p.add_argument("--kernel-profile", type=int, default=0, metavar="K",
                   help="after the run, K more local steps under torch.profiler: kernels per step")
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
