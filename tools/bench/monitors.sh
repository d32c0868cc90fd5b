#!/usr/bin/env bash
# Monitor protocols (./myriad bench monitors [--out DIR]): messages sent (counted by every monitor)
# and critical-path hops for membership, all-pairs ping and remote spawn on 4, 16 and 64 cores
# under TCG; and, on a 2-core machine under multi-threaded TCG (each vCPU its own host thread),
# the user-to-user round trip between two monitors over the URPC mesh as a ratio to a raw
# cache-line ping-pong between the same two cores in the same boot.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
out="$ROOT/docs/results"
[ "${1:-}" = "--out" ] && out="$2"
mkdir -p "$out"
ctl="$ROOT/build/tools/myriadctl"; kernel="$ROOT/build/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
boot() {  # boot NAME SOCKETS CORES [myriadctl args]
    printf 'name = "%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 180\n' \
        "$1" "$2" "$3" "$(( $2 * 256 ))" > "$tmp/$1.toml"
    "$ctl" run "$tmp/$1.toml" --kernel "$kernel" --accel tcg --quiet --log "$tmp/$1.log" \
        --module "$ROOT/build/user/monitor" --module "$ROOT/build/user/hello" --append monitor=monitor "${@:4}" >/dev/null
    tr -d '\r' < "$tmp/$1.log" | grep '^bench-monitors' || true
}
echo "cores,phase,messages,critical_path_hops" > "$out/monitors.csv"
printf '%6s %-14s %10s %6s\n' cores phase messages hops
for shape in "4 1 4" "16 4 4" "64 8 8"; do
    read -r n s c <<< "$shape"
    boot "m$n" "$s" "$c" | grep phase= | sed 's/bench-monitors //; s/cores=//; s/phase=//; s/messages=//; s/hops=//' |
    while read -r cores phase msgs hops; do
        printf '%6s %-14s %10s %6s\n' "$cores" "$phase" "$msgs" "$hops"
        echo "$cores,$phase,$msgs,$hops" >> "$out/monitors.csv"
    done
done
rtt=$(boot rtt 2 1 --append monitor.flags=1 --tcg-threads multi | grep rtt || true)
echo "$rtt"
echo "$rtt" | sed 's/bench-monitors rtt //; s/ /,/g' > "$out/monitors_rtt.csv"
echo "wrote $out/monitors.csv and $out/monitors_rtt.csv"
