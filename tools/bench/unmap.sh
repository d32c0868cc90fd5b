#!/usr/bin/env bash
# The unmap experiment of the multikernel paper (./myriad bench unmap [--out DIR] [--quick]
# [--rounds R]; docs/unmap.md): latency of an unmap in an address space spanning N cores, per TLB
# shootdown protocol.
#
# Guest (QEMU, TCG): one boot of 8 sockets x 8 cores per N = 2, 4, 8, 16, 32, 64, plan step
# unmap:N:R (monitor/span.cpp): R unmaps per protocol (broadcast, unicast, multicast, NUMA-aware
# multicast, ipi) in the same boot; per protocol the TSC ticks from the call to the last acknowledgement (median and
# max), the lines the unmap took (counted by the members, checked against the plan), critical-path
# hops, the lines the initiator itself handles, and the lines that cross nodes. Under TCG the
# ticks are an emulation figure (one host thread runs every vCPU in turn); the counts carry over.
# Host (myriad-bench-unmap): the same protocol code on threads pinned to this machine's cores,
# beside Linux's munmap with a thread on each of the N cores, measured in the same run.
# Writes DIR/unmap_guest.csv, unmap_hosted.csv, unmap_model.csv and unmap.png (gnuplot).
# --quick (CI size): N = 2 and 4 on 1 socket x 4 cores, 2 rounds; the host at 2 cores, 500 rounds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
RELEASE="${MYRIAD_RELEASE_BUILD:-$ROOT/build-release}"
out="$ROOT/docs/results/unmap" quick=0 rounds=10
usage() { echo "usage: ./myriad bench unmap [--out DIR] [--quick] [--rounds R (1-10)]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || usage; out="$2"; shift 2 ;;
        --quick) quick=1; shift ;;
        --rounds) [ $# -ge 2 ] || usage; rounds="$2"; shift 2 ;;
        *) usage ;;
    esac
done
case "$rounds" in ''|*[!0-9]*) usage ;; esac
[ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] || usage
sizes="2 4 8 16 32 64" sockets=8 cores=8 memory=2G hosted_args=()
if [ "$quick" = 1 ]; then
    sizes="2 4" sockets=1 cores=4 memory=512M rounds=2 hosted_args=(--quick)
fi
mkdir -p "$out"
ctl="$BUILD/tools/myriadctl" kernel="$BUILD/cpudriver/myriad-kernel"
for f in "$ctl" "$kernel" "$BUILD/user/monitor" "$BUILD/user/spanner" "$RELEASE/bench/myriad-bench-unmap"; do
    [ -x "$f" ] || { echo "bench unmap: $f is missing (./myriad bench unmap builds it)" >&2; exit 2; }
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT

echo "members,protocol,rounds,ticks_p50,ticks_max,lines,critical_path_hops,initiator_lines,cross_node_lines" \
    > "$out/unmap_guest.csv"
printf '%8s %-15s %12s %12s %6s %5s %9s %10s\n' members protocol ticks-p50 ticks-max lines hops initiator cross-node
n_sizes=$(wc -w <<< "$sizes") i=0
for n in $sizes; do
    i=$((i + 1))
    echo "[$i/$n_sizes] booting ${sockets}x${cores}, a span of $n cores, $rounds unmaps per protocol" >&2
    printf 'name = "unmap-%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%s"\n[run]\ntimeout = 300\n[system]\nmonitor = "monitor"\nprograms = ["spanner"]\nplan = "unmap:%s:%s,shutdown"\n' \
        "$n" "$sockets" "$cores" "$memory" "$n" "$rounds" > "$tmp/u$n.toml"
    if ! "$ctl" run "$tmp/u$n.toml" --kernel "$kernel" --accel tcg --tcg-threads single --quiet \
            --programs "$BUILD/user" --log "$tmp/u$n.log" >/dev/null; then
        echo "bench unmap: the boot for $n members failed (log: $tmp/u$n.log)" >&2
        tail -20 "$tmp/u$n.log" >&2 || true
        exit 1
    fi
    lines=$(tr -d '\r' < "$tmp/u$n.log" | grep '^bench-unmap ' || true)
    [ "$(grep -c . <<< "$lines")" = 5 ] || { echo "bench unmap: $n members: expected 5 protocol lines" >&2; exit 1; }
    [ "$(grep -c 'lines-miscounted=0$' <<< "$lines")" = 5 ] || { echo "bench unmap: lines miscounted" >&2; exit 1; }
    tr -d '\r' < "$tmp/u$n.log" | grep -q '^unmap-span .* reachable=0 missing=0 no-dispatcher=0' ||
        { echo "bench unmap: $n members: a page stayed reachable" >&2; exit 1; }
    while read -r _ _ members proto r p50 max ln hops init cross _; do
        row="${members#*=},${proto#*=},${r#*=},${p50#*=},${max#*=},${ln#*=},${hops#*=},${init#*=},${cross#*=}"
        echo "$row" >> "$out/unmap_guest.csv"
        IFS=, read -r a b _ c d e f g h <<< "$row"
        printf '%8s %-15s %12s %12s %6s %5s %9s %10s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g" "$h"
    done <<< "$lines"
done

echo "host: the same protocols on pinned threads, beside Linux munmap" >&2
"$RELEASE/bench/myriad-bench-unmap" --out "$out" ${hosted_args[@]+"${hosted_args[@]}"}

if command -v gnuplot >/dev/null; then
    # One data file per protocol, so each draws as one line.
    guest_protos="broadcast unicast multicast numa-multicast ipi" host_protos="broadcast unicast multicast numa-multicast ipi linux-munmap"
    for p in $guest_protos; do awk -F, -v p="$p" 'NR > 1 && $2 == p { print $1, $4, $8 }' "$out/unmap_guest.csv" > "$tmp/g-$p.dat"; done
    for p in $host_protos; do awk -F, -v p="$p" 'NR > 1 && $1 == p { print $2, $3 }' "$out/unmap_hosted.csv" > "$tmp/h-$p.dat"; done
    plots() {  # plots PREFIX COLUMN PROTOCOLS...
        local prefix="$1" col="$2" sep=""; shift 2
        for p in "$@"; do printf "%s'%s/%s-%s.dat' using 1:%s with linespoints title '%s'" "$sep" "$tmp" "$prefix" "$p" "$col" "$p"; sep=", "; done
    }
    # shellcheck disable=SC2046
    {
        echo "set terminal pngcairo size 1500,480 noenhanced"
        echo "set output '$out/unmap.png'"
        echo "set key top left"
        echo "set multiplot layout 1,3"
        echo "set logscale x 2"
        echo "set xlabel 'cores in the address space'"
        echo "set logscale y 10"
        echo "set title 'Guest (TCG): TSC ticks per unmap, median'"
        echo "set ylabel 'ticks (emulated: compare within this plot only)'"
        echo "plot $(plots g 2 $guest_protos)"
        echo "unset logscale y"
        echo "set title 'Guest: lines the initiator writes or reads per unmap'"
        echo "set ylabel 'lines'"
        echo "plot $(plots g 3 $guest_protos)"
        echo "set logscale y 10"
        echo "set title 'This host: ns per unmap, median'"
        echo "set ylabel 'ns'"
        echo "plot $(plots h 2 $host_protos)"
        echo "unset multiplot"
    } > "$tmp/unmap.gp"
    if gnuplot "$tmp/unmap.gp" 2>"$tmp/gnuplot.err"; then echo "plot: $out/unmap.png"
    else echo "gnuplot failed (plot skipped):"; cat "$tmp/gnuplot.err"; fi
else
    echo "gnuplot not installed: plot skipped"
fi
echo "wrote $out/unmap_guest.csv, $out/unmap_hosted.csv, $out/unmap_model.csv"
