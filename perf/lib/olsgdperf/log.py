"""Progress messages on stderr, tagged with the tool's name, and fatal errors."""

import sys


def logger(tag):
    """A log(msg) function printing "[tag] msg" on stderr (unbuffered: runs take minutes)."""

    def log(msg):
        print(f"[{tag}] {msg}", file=sys.stderr, flush=True)

    return log


def die(prog, msg, code=2):
    """"prog: error: msg" on stderr and exit; code 2 = bad usage or input, 1 = a failed run."""
    print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(code)
