"""matplotlib helpers: headless pyplot, a fallback to Debian's interpreter when matplotlib is
missing, saving and closing figures."""

import os
import sys

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-matplotlib and python3-numpy live here


def require_matplotlib(prog):
    """Re-runs the calling script with /usr/bin/python3 when the python3 first on PATH (e.g. a
    pyenv one) lacks matplotlib; exits with an install hint when that has none either."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and \
                os.path.exists(SYSTEM_PYTHON) and not os.environ.get("OLSGD_PLOT_REEXEC"):
            os.environ["OLSGD_PLOT_REEXEC"] = "1"
            os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
        print(f"{prog}: error: matplotlib is missing (Debian: apt-get install -y python3-matplotlib)",
              file=sys.stderr)
        sys.exit(1)


def pyplot(rc=None):
    """matplotlib.pyplot on the Agg backend (no display), with rcParams `rc` applied."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if rc:
        plt.rcParams.update(rc)
    return plt


def save(fig, path, **kw):
    """Writes fig to path and closes it (a sweep draws many: open figures hold memory)."""
    import matplotlib.pyplot as plt

    fig.savefig(path, **kw)
    plt.close(fig)
    return path


def no_data(ax, text="no data for this panel"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="gray")
