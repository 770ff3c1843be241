"""Claim verdicts: the vocabulary, how parts combine, the JSON record, and goal marks."""

import json
import os
import time

HOLDS = "holds"
PARTLY = "partly"
NO = "does not hold at this scale"
PENDING = "pending"
FAILED = "not evaluated"


def combine(parts):
    """holds when every part holds, partly when some do, otherwise does not hold."""
    parts = list(parts)
    return HOLDS if all(parts) else (PARTLY if any(parts) else NO)


def record(claim, title, status, numbers, details, why, thresholds, seeds, figure=None,
           reliability="", quick=False):
    return {"claim": claim, "title": title, "verdict": status, "numbers": numbers,
            "details": details, "why": why, "thresholds": thresholds, "seeds": seeds,
            "figure": figure, "reliability": reliability, "quick": quick,
            "written": time.strftime("%Y-%m-%d %H:%M:%S")}


def write(directory, rec):
    """<directory>/<claim>.json; returns rec."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{rec['claim']}.json"), "w") as f:
        json.dump(rec, f, indent=1)
    return rec


def load_all(directory):
    """claim -> record for every <claim>.json in directory ({} when there is none)."""
    recs = {}
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.endswith(".json"):
                with open(os.path.join(directory, name)) as f:
                    r = json.load(f)
                recs[r["claim"]] = r
    return recs


def mark(ok):
    """A goal's cell: '-' when there is no goal, else met / NOT met."""
    return "-" if ok is None else ("met" if ok else "NOT met")
