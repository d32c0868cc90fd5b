#!/usr/bin/env bash
# Boot time to `boot-complete` under TCG, single- and multi-threaded, for 1..240 CPUs.
# Usage: ./myriad bench boot [--runs N] [--cpus LIST] [--tcg MODES] [--prealloc] [--quick] [--out DIR]
#   --cpus LIST   CPU counts, e.g. "16,32,64,128,240" (default 1,4,8,16,32,64,128,240)
#   --tcg MODES   comma-separated: "single", "multi" (TCG threads), "icount" (single-threaded under
#                 -icount shift=0,sleep=off: the guest clock counts instructions, one per ns, so
#                 the figure is the guest's own work, the same on any host; slow) (default single,multi)
#   --prealloc    QEMU faults in all guest RAM before the guest starts (-mem-prealloc): the host's
#                 first touch of guest memory (a page fault, 2 MiB zeroed with transparent huge
#                 pages) then no longer runs on the guest's clock
#   --quick       a small version for CI: --cpus 1,8,32 --tcg single --runs 1, output to a new folder under /tmp
# Reports the median of N runs of: the guest's own `boot-complete ms=` (TSC from kernel entry on
# the boot core), its phases from the `boot-phases` line (copies placed, SIPIs sent, last other
# core seen up), the host wall time of the whole QEMU run (firmware included) and the host CPU
# time it used (user + system, with /usr/bin/time: on a shared host the one figure that does not
# grow with other processes' load). With 64 in the list, the last two columns are the guest and
# the CPU figure over the 64-CPU ones (docs/scaling.md).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
runs=5 out="$ROOT/docs/results" cpus="1,4,8,16,32,64,128,240" modes="single,multi" quick=0 out_set=0 prealloc=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs="$2"; shift 2 ;;
        --out) out="$2"; out_set=1; shift 2 ;;
        --cpus) cpus="$2"; shift 2 ;;
        --tcg) modes="$2"; shift 2 ;;
        --prealloc) prealloc=1; shift ;;
        --quick) quick=1; shift ;;
        *) echo "usage: $0 [--runs N] [--cpus LIST] [--tcg single,multi,icount] [--prealloc] [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
done
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
if [ "$quick" = 1 ]; then
    cpus="1,8,32" modes="single" runs=1
    # A folder of its own that outlives the run (the scratch folder above is removed at exit).
    [ "$out_set" = 1 ] || out="$(mktemp -d /tmp/myriad-bench-boot-XXXXXX)"
fi
ctl="$BUILD/tools/myriadctl"; kernel="$BUILD/cpudriver/myriad-kernel"
mkdir -p "$out"

# machine for N CPUs: sockets cores (one NUMA node per socket). Other counts: one socket per 16.
shape() {
    case "$1" in
        1) echo "1 1";; 4) echo "1 4";; 8) echo "2 4";; 16) echo "4 4";; 32) echo "4 8";; 64) echo "8 8";;
        128) echo "8 16";; 240) echo "16 15";;
        *) local s=$(( ($1 + 15) / 16 )); [ $(( $1 % s )) -eq 0 ] || { echo "no shape for $1 CPUs" >&2; exit 2; }
           echo "$s $(( $1 / s ))";;
    esac
}

median() { sort -n | awk '{a[NR]=$1} END {if (!NR) print "-"; else if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
field() { { grep -o "^boot-phases .*" "$2" || true; } | { grep -o " $1=[0-9]*" || true; } | sed 's/.*=//'; }

csv="$out/boot_times.csv"
echo "cpus,tcg,guest_ms_median,wall_ms_median,runs,placed_ms,sipi_ms,last_up_ms,failed_runs,cpu_ms_median" > "$csv"
printf '%5s %11s %10s %9s %9s %10s %8s %9s %7s %7s\n' cpus tcg "guest ms" "wall ms" "cpu ms" "placed ms" "sipi ms" "last-up" "x64" "cpu x64"
declare -A at64 cpu64
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%U %S' -o "$tmp/time")
ratio() { if [ -n "$2" ] && [ "$1" != "-" ] && [ "$2" != "-" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "-"; fi; }
status=0
for n in ${cpus//,/ }; do
    read -r s c < <(shape "$n")
    cfg="$tmp/b$n.toml"
    # 16 MiB per CPU, at least 128 MiB per socket (the 1-64 CPU shapes keep their old memory):
    # every core keeps a user-domain pool even at 240 CPUs.
    mem=$(( s * 128 > n * 16 ? s * 128 : n * 16 ))
    printf 'name = "boot%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 300\n' \
        "$n" "$s" "$c" "$mem" > "$cfg"
    for mode in ${modes//,/ }; do
        : > "$tmp/g"; : > "$tmp/w"; : > "$tmp/p"; : > "$tmp/s"; : > "$tmp/l"; : > "$tmp/c"
        failed=0 threads="$mode" extra=() label="$mode"
        case "$mode" in
            single|multi) ;;
            icount) threads=single; extra=(--qemu-arg=-icount --qemu-arg=shift=0,sleep=off) ;;
            *) echo "unknown --tcg mode '$mode' (single, multi, icount)" >&2; exit 2 ;;
        esac
        [ "$prealloc" = 1 ] && extra+=(--qemu-arg=-mem-prealloc) && label="$mode+pre"
        for _ in $(seq "$runs"); do
            t0=$(date +%s%N)
            if ! ${timer[@]+"${timer[@]}"} "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --tcg-threads "$threads" --quiet --log "$tmp/log" \
                    ${extra[@]+"${extra[@]}"} >/dev/null 2>"$tmp/err"; then
                failed=$((failed + 1)); status=1
                echo "  $n CPUs, $mode: run failed: $(tail -1 "$tmp/err") $(grep -E 'did not come up|self-check' "$tmp/log" | head -3)" >&2
                continue
            fi
            t1=$(date +%s%N)
            grep -o '^boot-complete .* ms=[0-9]*' "$tmp/log" | sed 's/.*ms=//' >> "$tmp/g"
            echo $(( (t1 - t0) / 1000000 )) >> "$tmp/w"
            [ ${#timer[@]} -gt 0 ] && awk '{ printf "%d\n", ($1 + $2) * 1000 }' "$tmp/time" >> "$tmp/c"
            field placed "$tmp/log" >> "$tmp/p"; field sipi "$tmp/log" >> "$tmp/s"; field last-up "$tmp/log" >> "$tmp/l"
        done
        g=$(median < "$tmp/g"); w=$(median < "$tmp/w"); cpu=$(median < "$tmp/c")
        p=$(median < "$tmp/p"); si=$(median < "$tmp/s"); l=$(median < "$tmp/l")
        [ "$n" = 64 ] && at64[$mode]="$g" && cpu64[$mode]="$cpu"
        printf '%5s %11s %10s %9s %9s %10s %8s %9s %7s %7s\n' "$n" "$label" "$g" "$w" "$cpu" "$p" "$si" "$l" \
            "$(ratio "$g" "${at64[$mode]:-}")" "$(ratio "$cpu" "${cpu64[$mode]:-}")"
        echo "$n,$label,$g,$w,$runs,$p,$si,$l,$failed,$cpu" >> "$csv"
    done
done
echo "wrote $csv"
exit $status
