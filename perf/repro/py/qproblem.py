"""The synthetic quadratic of docs/algorithms.md §6, regenerated on the host in double precision.

olsgd draws the centres c_i of `data.kind: synthetic_quadratic` from Philox4x32-10
(include/olsgd/core/rng.hpp, src/data/quadratic_problem.cpp). This module repeats those
draws bit for bit (Python's math.log / math.cos are the C library's), so the closed forms
of §6 (deterministic iterations at sigma = 0, the local-GD fixed point x_LS, B = ||x0 - x*||)
can be evaluated for exactly the problem olsgd trained on. `check_against_summary` compares
F* and zeta_* with what olsgd reported in summary.json before anything is trusted.
"""

import math

import numpy as np

M32 = 0xFFFFFFFF
STREAM_OPTIMUM = 3


def philox4x32(counter, key):
    x0, x1, x2, x3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * x0
        p1 = 0xCD9E8D57 * x2
        hi0, lo0 = p0 >> 32, p0 & M32
        hi1, lo1 = p1 >> 32, p1 & M32
        x0, x1, x2, x3 = (hi1 ^ x1 ^ k0) & M32, lo1, (hi0 ^ x3 ^ k1) & M32, lo0
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return x0, x1, x2, x3


def _open_unit(x64):
    return ((x64 >> 11) + 0.5) * (1.0 / 9007199254740992.0)


def normal(seed, stream, substream, counter):
    key = (seed & M32, (seed >> 32) & M32)
    c = (counter & M32, (counter >> 32) & M32, substream & M32, stream & M32)
    r = philox4x32(c, key)
    u1 = _open_unit((r[1] << 32) | r[0])
    u2 = _open_unit((r[3] << 32) | r[2])
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586476925286766559 * u2)


def eigenvalue(d, mu, H, j):
    if d == 1:
        return H
    t = j / (d - 1)
    return mu * math.pow(H / mu, t)


class Quadratic:
    """Per-rank diagonals a[i], centres c[i]; x*, F*, zeta_* as olsgd computes them."""

    def __init__(self, d, m, seed, mu, H, hessians, zeta):
        self.d, self.m = d, m
        a = np.zeros((m, d))
        delta = np.zeros((m, d))
        for i in range(m):
            for j in range(d):
                a[i, j] = (H if j % m == i else mu) if hessians == "split" else eigenvalue(d, mu, H, j)
                delta[i, j] = normal(seed, STREAM_OPTIMUM, 1 + i, j)
        abar = np.zeros(d)
        for i in range(m):
            abar += a[i] / m
        c0 = np.array([normal(seed, STREAM_OPTIMUM, 0, j) for j in range(d)])
        self.a, self.abar = a, abar
        self.c = c0[None, :] + delta
        self._solve()
        zeta1 = self.heterogeneity()
        self.scale = zeta / zeta1 if zeta1 > 0 else 0.0
        self.c = c0[None, :] + self.scale * delta
        self._solve()
        self.zeta_star = self.heterogeneity()

    def _solve(self):
        num = (self.a * self.c).sum(axis=0)
        self.xstar = num / (self.m * self.abar)
        e = self.xstar[None, :] - self.c
        self.fstar = float((0.5 * self.a * e * e / self.m).sum())

    def heterogeneity(self):
        g = self.a * (self.xstar[None, :] - self.c)
        return math.sqrt(float((g * g).sum()) / self.m)

    # F(x) - F* and ||x - x*||^2 of the global objective (diagonal Hessian abar).
    def subopt(self, x):
        e = x - self.xstar
        return 0.5 * float((self.abar * e * e).sum())

    def dist2(self, x):
        e = x - self.xstar
        return float((e * e).sum())

    # --- deterministic (sigma = 0) iterations from x0 = 0, in double precision ---------
    def grad_i(self, i, x):
        return self.a[i] * (x - self.c[i])

    def local_sgd(self, eta, K, R):
        """Every rank K gradient steps from the common point, then the average; R rounds.
        Returns the averaged iterate after each round (list of R arrays)."""
        x = np.zeros(self.d)
        out = []
        for _ in range(R):
            xs = []
            for i in range(self.m):
                xi = x.copy()
                for _ in range(K):
                    xi = xi - eta * self.grad_i(i, xi)
                xs.append(xi)
            x = sum(xs) / self.m
            out.append(x)
        return out

    def minibatch_sgd(self, eta, R):
        x = np.zeros(self.d)
        out = []
        for _ in range(R):
            g = sum(self.grad_i(i, x) for i in range(self.m)) / self.m
            x = x - eta * g
            out.append(x)
        return out

    def ac_sa(self, gamma, R):
        """AC-SA (docs/algorithms.md §1b) with exact gradients; returns x_ag after each round."""
        x = np.zeros(self.d)
        xag = np.zeros(self.d)
        out = []
        for t in range(1, R + 1):
            at = 2.0 / (t + 1)
            xmd = at * x + (1 - at) * xag
            g = sum(self.grad_i(i, xmd) for i in range(self.m)) / self.m
            x = x - gamma * (t + 1) / 2.0 * g
            xag = at * x + (1 - at) * xag
            out.append(xag)
        return out

    def closed_form_gd(self, eta, n):
        """Homogeneous (shared Hessian) closed form of §6: F - F* after n gradient steps."""
        a = self.abar
        e0 = -self.xstar  # x0 - x* with x0 = 0
        return 0.5 * float((a * (1 - eta * a) ** (2 * n) * e0 * e0).sum())

    def x_ls(self, eta, K):
        """Local-GD fixed point (sigma = 0): x_LS = sum_i e_i c_i / sum_i e_i per coordinate."""
        e = 1.0 - (1.0 - eta * self.a) ** K
        return (e * self.c).sum(axis=0) / e.sum(axis=0)


def check_against_summary(q, summary, rel=1e-12):
    """The regenerated problem must give olsgd's own F* and zeta_* (summary.json)."""
    p = summary["problem"]
    errs = []
    for key, mine in (("fstar", q.fstar), ("zeta_star", q.zeta_star)):
        theirs = p.get(key)
        if theirs is None:
            errs.append(f"{key} missing")
            continue
        scale = max(abs(theirs), abs(mine), 1e-300)
        if abs(theirs - mine) > rel * scale and abs(theirs - mine) > 1e-14:
            errs.append(f"{key}: olsgd {theirs!r} vs host {mine!r}")
    return errs
