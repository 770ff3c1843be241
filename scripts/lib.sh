# Shared settings for the scripts in this folder; sourced, never run.
# Where the dependencies built from source live: outside the clone, keyed by version and options.
OLSGD_DEPS="${OLSGD_DEPS:-$HOME/.cache/olsgd}"
OLSGD_KOKKOS_VERSION=3.4.1
OLSGD_KOKKOS_KEY="kokkos-${OLSGD_KOKKOS_VERSION}-serial-openmp-blas-v1"
OLSGD_KOKKOS_PREFIX="$OLSGD_DEPS/$OLSGD_KOKKOS_KEY"
OLSGD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Open MPI refuses to run as root unless told twice.
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# CMake configures compile through ccache where it is installed (scripts/setup installs it): CI
# builds the same sources several times, from a fresh clone each run. Paths under the clone are
# hashed relative to it, so another clone of the same sources hits the cache. OLSGD_CCACHE=0: off.
# scripts/build asks again after scripts/setup: on a bare machine ccache arrives only then.
olsgd_use_ccache() {
  if [ "${OLSGD_CCACHE:-1}" = 1 ] && command -v ccache >/dev/null; then
    export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache
    export CCACHE_BASEDIR="$OLSGD_ROOT" CCACHE_NOHASHDIR=1
  fi
}
olsgd_use_ccache

# The runs of scripts/algorithm-cases, one per line: a tag (case1, case2, ...), the deck, then
# key=value words (each a --set).
olsgd_algorithm_cases() {
  local file="$OLSGD_ROOT/scripts/algorithm-cases" base i=0 name rest
  base="$(sed -n 's/^@base //p' "$file")"
  grep -v '^#\|^@' "$file" | while read -r name rest; do
    i=$((i + 1))
    echo "case$i ${base%% *} algorithm.name=$name ${base#* } $rest"
  done
}

olsgd_log() { printf '[olsgd] %s\n' "$*" >&2; }
olsgd_die() { printf '[olsgd] error: %s\n' "$*" >&2; exit 1; }

# The smoke tests' checks (perf/*/test): `olsgd_check DESCRIPTION COMMAND...` runs the command,
# prints PASS, or FAIL with the end of its output, and counts; `olsgd_checks_done` prints
# "N passed, N failed (T s)" and fails when any check did.
olsgd_passed=0 olsgd_failed=0
olsgd_check() {
  local what="$1" log
  shift
  log="$(mktemp)"
  if "$@" >"$log" 2>&1; then
    olsgd_passed=$((olsgd_passed + 1))
    echo "PASS $what"
  else
    olsgd_failed=$((olsgd_failed + 1))
    echo "FAIL $what"
    sed 's/^/     | /' "$log" | tail -20
  fi
  rm -f "$log"
}
olsgd_checks_done() {
  echo "$olsgd_passed passed, $olsgd_failed failed ($SECONDS s)"
  [ "$olsgd_failed" = 0 ]
}
