#!/usr/bin/env bash
# Every benchmark, one report (./myriad bench all [--quick] [--out DIR] [--compare PREV_DIR]).
# Runs each bench command into its own folder under DIR, its output in DIR/logs/NAME.log, with a
# progress line per step; then tools/bench/report.py writes DIR/README.md: the machine, the
# commands, the date and commit, every table and figure with the baseline measured in the same
# run, and, with --compare, what changed against a previous DIR. A failed step is reported as such
# (and makes the exit status 1); the others still run. --quick runs every bench at its CI size
# (the `bench` CTest label runs `--quick`, so a broken bench command fails CI).
#
# Binaries come from MYRIAD_BUILD (default build/: kernel, myriadctl, user programs) and
# MYRIAD_RELEASE_BUILD (default build-release/: the hosted benches, built with optimisation);
# ./myriad bench all builds both first.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
RELEASE="${MYRIAD_RELEASE_BUILD:-$ROOT/build-release}"
quick=0 out="" compare=""
usage() { echo "usage: ./myriad bench all [--quick] [--out DIR] [--compare PREV_DIR]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=1; shift ;;
        --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
        --compare) [ $# -ge 2 ] || usage; compare="$2"; shift 2 ;;
        *) usage ;;
    esac
done
[ -n "$compare" ] && [ ! -f "$compare/steps.csv" ] && { echo "--compare $compare: not a bench-all folder (no steps.csv)" >&2; exit 2; }
[ -z "$out" ] && out="$ROOT/bench-report/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out/logs" || exit 1
out="$(cd "$out" && pwd)"
case "$ROOT$RELEASE$out" in *" "*) echo "bench all: paths with spaces are not supported ($ROOT, $out)" >&2; exit 2 ;; esac
command -v python3 >/dev/null || { echo "bench all needs python3 (for the report)" >&2; exit 2; }

q() { [ "$quick" = 1 ] && echo "$*"; }  # arguments only in quick mode
steps=(
    "channels|$RELEASE/bench/myriad-bench-channels --out $out/channels $(q --round-trips 2000 --stream 200000 --no-policy)"
    "kernel|$ROOT/tools/bench/kernel.sh --out $out/kernel"
    "boot|$ROOT/tools/bench/boot_times.sh --out $out/boot $(q --quick)"
    "monitors|$ROOT/tools/bench/monitors.sh --out $out/monitors $(q --quick)"
    "replication|$RELEASE/bench/replication/myriad-bench-replication --out $out/replication $(q --quick)"
    "replication_guest|$ROOT/tools/bench/replication_guest.sh --out $out/replication_guest $(q --quick)"
    "servers|$ROOT/tools/bench/servers.sh --out $out/servers $(q --quick)"
    "unmap|$ROOT/tools/bench/unmap.sh --out $out/unmap $(q --quick)"
    "bind|$RELEASE/bench/myriad-bench-bind --out $out/bind $(q --quick)"
)
echo "step,status,seconds,command" > "$out/steps.csv"
{
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "command=./myriad bench all $([ "$quick" = 1 ] && echo '--quick ')--out $out$([ -n "$compare" ] && echo " --compare $compare")"
    echo "quick=$quick"
} > "$out/run.txt"
status=0 i=0 start=$(date +%s)
for s in "${steps[@]}"; do
    i=$((i + 1))
    name="${s%%|*}" cmd="${s#*|}"
    t0=$(date +%s)
    printf '[%d/%d] %-18s ... ' "$i" "${#steps[@]}" "$name"
    # Word splitting of $cmd is intended (the paths are refused above if they hold spaces).
    # shellcheck disable=SC2086
    if $cmd > "$out/logs/$name.log" 2>&1; then st=ok; else st=failed; status=1; fi
    t1=$(date +%s)
    echo "$st ($((t1 - t0)) s, $((t1 - start)) s so far)$([ "$st" = failed ] && echo ": see $out/logs/$name.log")"
    echo "$name,$st,$((t1 - t0)),\"${cmd//$ROOT\//}\"" >> "$out/steps.csv"
done
python3 "$ROOT/tools/bench/report.py" "$out" ${compare:+--compare "$compare"} || status=1
echo "report: $out/README.md"
exit $status
