"""Reading what an olsgd run writes: metrics.csv, syncs.csv, summary.json (and the tools'
own CSV/JSON). numpy is imported only by the column reader."""

import csv
import json
import math
import os

# metrics.csv's columns that time a run rather than compute it: two runs of one build differ
# in them, so comparisons of the results bit for bit leave them out.
CLOCK_COLUMNS = frozenset(
    {"wall_s", "t_compute", "t_comm", "t_wait", "t_peer", "delay_injected", "hidden_frac"})


def num(v):
    """A CSV cell as a float; None when empty, not a number or NaN."""
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def num_or_text(v):
    """A CSV cell as a float, the text itself when it is not a number, None when empty or NaN."""
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except ValueError:
        return v
    return None if math.isnan(x) else x


def read_csv(path):
    """Rows of a CSV file as dicts of text; [] when the file cannot be read."""
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def read_csv_cols(path):
    """Columns of a CSV file as numpy float arrays (NaN where a cell is not a number);
    {} when the file cannot be read."""
    import numpy as np

    cols = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                for k, v in row.items():
                    try:
                        x = float(v)
                    except (TypeError, ValueError):
                        x = float("nan")
                    cols.setdefault(k, []).append(x)
    except OSError:
        return {}
    return {k: np.array(v) for k, v in cols.items()}


def read_json(path, default=None):
    """A JSON file's value; `default` ({} when not given) when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {} if default is None else default


def read_summary(run_dir):
    """summary.json of a finished run (raises when it is missing: the caller checked)."""
    with open(os.path.join(run_dir, "summary.json")) as f:
        return json.load(f)


class RunOutput:
    """The files of one olsgd output folder: summary (dict), metrics and syncs (numpy columns),
    meta (the tool's run.json, if any). Empty when ok is false (a failed run)."""

    def __init__(self, run_dir, ok=True):
        self.ok = bool(ok)
        self.summary, self.metrics, self.syncs, self.meta = {}, {}, {}, {}
        if self.ok:
            self.summary = read_summary(run_dir)
            self.metrics = read_csv_cols(os.path.join(run_dir, "metrics.csv"))
            self.syncs = read_csv_cols(os.path.join(run_dir, "syncs.csv"))
            self.meta = read_json(os.path.join(run_dir, "run.json"))

    def m(self, col):
        import numpy as np

        return self.metrics.get(col, np.array([]))

    def final(self, key):
        v = self.summary.get("final", {}).get(key)
        return float("nan") if v is None else float(v)
