"""Small statistics over seeds and runs (numpy)."""

import numpy as np


def finite(x):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def mean_sd(xs):
    """Mean and sample standard deviation of the finite values (sd 0 for one value)."""
    x = finite(xs)
    if len(x) == 0:
        return float("nan"), float("nan")
    return float(np.mean(x)), float(np.std(x, ddof=1)) if len(x) > 1 else 0.0


def gmean(xs):
    """Geometric mean of positive values (inf if any is inf/nan: a diverged run)."""
    x = np.asarray(xs, dtype=float)
    if len(x) == 0 or not np.all(np.isfinite(x)):
        return float("inf")
    x = np.maximum(x, 1e-300)
    return float(np.exp(np.mean(np.log(x))))


def loglog_slope(x, y):
    """Least-squares slope of log y against log x over the positive, finite points."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(y)
    if ok.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def smooth(y, w):
    """Running mean over w values, NaN-padded at the front to keep len(y)."""
    y = np.asarray(y, float)
    if len(y) < w:
        return y
    return np.concatenate([np.full(w - 1, np.nan), np.convolve(y, np.ones(w) / w, mode="valid")])
