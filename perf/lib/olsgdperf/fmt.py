"""Number and command-line formatting shared by the tools' tables, file names and reports."""

import math
import re
import shlex


def g(v, p=3):
    """Compact number for tables: p significant digits, inf/-inf/nan spelled out, None -> '-'."""
    if v is None:
        return "-"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return format(v, f".{p}g")


def num_id(v):
    """Compact, filename-safe number: 0.001 -> 0.001, 1e-05 -> 1e-05, 2.0 -> 2, None -> 0."""
    if v is None:
        return "0"
    v = float(v)
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return format(v, "g")


def opt(v, spec=".3g", none="-"):
    """format(v, spec), or `none` when v is missing or not a number (a text cell of a CSV)."""
    return none if v is None or isinstance(v, str) else format(v, spec)


def set_value(v):
    """A deck value as olsgd's --set KEY=VALUE reads it: booleans in YAML spelling, floats in
    full precision (repr), so the run gets exactly the number the tool computed."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def cmdline(cmd):
    """A command as one shell-quoted line (logs, command.sh, REPORT.md)."""
    return " ".join(shlex.quote(str(c)) for c in cmd)


def seeds_text(seeds):
    return ",".join(str(s) for s in seeds)


def slug(x):
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", str(x))
