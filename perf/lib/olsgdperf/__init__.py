"""Shared helpers of the perf/ tools (scaling sweep and plot, peers compare, repro run_all).

Standard library only at import time: numpy is imported by the stats module and, with
matplotlib, by the functions that draw, so that perf/scaling/sweep runs under any python3. A
tool finds the package by putting perf/lib on sys.path, relative to its own file (no install
step):

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    from olsgdperf import fmt, log, results, runner
"""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
OLSGD = os.path.join(ROOT, "build", "src", "olsgd")  # the Release build of scripts/build
