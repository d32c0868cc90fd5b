#!/usr/bin/env bash
# Boot time to `boot-complete` under TCG, single- and multi-threaded, for 1..64 CPUs.
# Usage: ./myriad bench boot [--runs N] [--out DIR]
# Reports the median of N runs of two figures: the guest's own `boot-complete ms=` (TSC from
# kernel entry on the boot core) and the host wall time of the whole QEMU run (firmware included).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
runs=5 out="$ROOT/docs/results"
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "usage: $0 [--runs N] [--out DIR]" >&2; exit 2 ;;
    esac
done
ctl="$ROOT/build/tools/myriadctl"; kernel="$ROOT/build/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# machine for N CPUs: sockets cores (one NUMA node per socket).
shape() { case "$1" in 1) echo "1 1";; 4) echo "1 4";; 8) echo "2 4";; 16) echo "4 4";; 32) echo "4 8";; 64) echo "8 8";; esac; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

csv="$out/boot_times.csv"
echo "cpus,tcg,guest_ms_median,wall_ms_median,runs" > "$csv"
printf '%5s %7s %16s %15s\n' cpus tcg "guest ms (p50)" "wall ms (p50)"
for n in 1 4 8 16 32 64; do
    read -r s c < <(shape "$n")
    cfg="$tmp/b$n.toml"
    printf 'name = "boot%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 120\n' \
        "$n" "$s" "$c" "$((s * 128))" > "$cfg"
    for mode in single multi; do
        : > "$tmp/g"; : > "$tmp/w"
        for _ in $(seq "$runs"); do
            t0=$(date +%s%N)
            "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --tcg-threads "$mode" --quiet --log "$tmp/log" >/dev/null
            t1=$(date +%s%N)
            grep -o 'boot-complete .* ms=[0-9]*' "$tmp/log" | sed 's/.*ms=//' >> "$tmp/g"
            echo $(( (t1 - t0) / 1000000 )) >> "$tmp/w"
        done
        g=$(median < "$tmp/g"); w=$(median < "$tmp/w")
        printf '%5s %7s %16s %15s\n' "$n" "$mode" "$g" "$w"
        echo "$n,$mode,$g,$w,$runs" >> "$csv"
    done
done
echo "wrote $csv"
