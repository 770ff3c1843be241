"""Alpha-beta costs of the collectives olsgd uses, and the time per step of Overlap-Local-SGD's
exchanges (flat, in fragments, in two levels; plain or quantized) on a cluster of nodes.

A collective of n bytes over p processes costs a latency term in alpha and a bandwidth term in
beta (seconds per byte); the local reduction is neglected. Sources: Thakur, Rabenseifner, Gropp,
"Optimization of Collective Communication Operations in MPICH", IJHPCA 19(1), 2005 (recursive
halving/doubling, Rabenseifner's allreduce); Patarasuk, Yuan, JPDC 69(2), 2009 (ring).
"""

import math

ALLREDUCE = ("rabenseifner", "ring", "recursive_doubling")


def lg(p):
    """ceil(log2 p): the rounds of a recursive halving or doubling (p not a power of two too)."""
    return math.ceil(math.log2(p) - 1e-12) if p > 1 else 0


def allreduce_time(p, n, alpha, beta, algo="rabenseifner"):
    """Allreduce of n bytes over p processes. rabenseifner: 2 lg(p) alpha + 2 (p-1)/p n beta;
    ring: 2 (p-1) alpha + 2 (p-1)/p n beta; recursive_doubling: lg(p) (alpha + n beta)."""
    if p <= 1:
        return 0.0
    if algo == "rabenseifner":
        return 2 * lg(p) * alpha + 2 * (p - 1) / p * n * beta
    if algo == "ring":
        return 2 * (p - 1) * alpha + 2 * (p - 1) / p * n * beta
    if algo == "recursive_doubling":
        return lg(p) * (alpha + n * beta)
    raise ValueError(f"allreduce must be one of {', '.join(ALLREDUCE)}, got '{algo}'")


def allgather_time(p, n, alpha, beta):
    """Allgather of n bytes from each of p processes, recursive doubling: lg(p) alpha +
    (p-1) n beta."""
    if p <= 1:
        return 0.0
    return lg(p) * alpha + (p - 1) * n * beta


def reduce_scatter_time(p, n, alpha, beta):
    """Reduce-scatter of n bytes into p ranges, recursive halving: lg(p) alpha + (p-1)/p n beta.
    The allgather of the p ranges back costs the same."""
    if p <= 1:
        return 0.0
    return lg(p) * alpha + (p - 1) / p * n * beta


class Cluster:
    """Nodes of `per_node` ranks. Inside a node: alpha_node, beta_node per rank. Between nodes:
    alpha, beta per byte through a node's link, which the node's ranks share: when every rank
    of a node crosses at once, each gets 1/per_node of it."""

    def __init__(self, per_node, alpha, beta, alpha_node, beta_node, algo="rabenseifner"):
        self.per_node, self.alpha, self.beta = per_node, alpha, beta
        self.alpha_node, self.beta_node, self.algo = alpha_node, beta_node, algo

    def level(self, p):
        """(alpha, beta per byte) of a collective over p consecutive ranks, all crossing at once."""
        if p <= self.per_node:
            return self.alpha_node, self.beta_node
        return self.alpha, self.beta * self.per_node

    def allreduce(self, p, n):
        return allreduce_time(p, n, *self.level(p), self.algo)

    def allgather(self, p, n):
        return allgather_time(p, n, *self.level(p))


def quantized_bytes(d, bits, w=4):
    """A QSGD message of d numbers at `bits` per level in olsgd's layout: the norm (w bytes),
    then per 32 numbers a word of signs and `bits` words of levels."""
    return 4 * (w // 4 + math.ceil(d / 32) * (1 + bits))


def exchange_round(kind, cluster, p, d, w, t_c, tau, fragments=1, groups_of=1, rounds=1, bits=0):
    """One round of an exchange on p ranks: dict(steps, blocking, overlapped, window) in
    seconds; the time per step is t_c + (blocking + max(0, overlapped - window)) / steps.

    kind: "sync" (every step, blocking: minibatch SGD; with bits, QSGD's allgather), "overlap"
    (every tau steps, hidden behind the next tau), "fragments" (the same in `fragments` ranges,
    which share the link one after the other), "two_level" (groups of `groups_of` ranks average
    every tau steps, blocking, inside the node; the anchor crosses the groups every rounds*tau
    steps, one range of d/groups_of per member)."""
    n = w * d
    q = quantized_bytes(d, bits, w) if bits else 0

    def across(p_, size, nq):
        # the average of `size` bytes (or of quantized messages of nq bytes) over p_ ranks
        return cluster.allgather(p_, nq) if bits else cluster.allreduce(p_, size)

    if kind == "sync":
        return dict(steps=1, blocking=across(p, n, q), overlapped=0.0, window=0.0)
    if kind == "overlap":
        return dict(steps=tau, blocking=0.0, overlapped=across(p, n, q), window=tau * t_c)
    if kind == "fragments":
        f = fragments
        return dict(steps=tau, blocking=0.0, overlapped=f * across(p, n / f, q / f), window=tau * t_c)
    if kind == "two_level":
        k = min(groups_of, p)
        a_node, b_node = cluster.level(k)
        inside = (rounds * allreduce_time(k, n, a_node, b_node, cluster.algo)
                  + 2 * reduce_scatter_time(k, n, a_node, b_node))
        groups = p // k
        # the members of equal index cross at once: k parallel collectives through each link
        a, b = (cluster.alpha, cluster.beta * k) if groups > 1 else (0.0, 0.0)
        cross = (allgather_time(groups, q / k, a, b) if bits
                 else allreduce_time(groups, n / k, a, b, cluster.algo))
        return dict(steps=rounds * tau, blocking=inside, overlapped=cross, window=rounds * tau * t_c)
    raise ValueError(f"unknown exchange '{kind}'")


def time_per_step(r, t_c):
    exposed = r["blocking"] + max(0.0, r["overlapped"] - r["window"])
    return t_c + exposed / r["steps"]


def hidden_fraction(r):
    total = r["blocking"] + r["overlapped"]
    exposed = r["blocking"] + max(0.0, r["overlapped"] - r["window"])
    return 1.0 - exposed / total if total > 0 else 1.0
