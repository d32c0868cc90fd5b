#!/usr/bin/env bash
# Where a boot's instructions go (./myriad bench boot --profile [--sockets S] [--cores C]
# [--monitors]): boots SxC under QEMU's -singlestep -icount with an execution log of the kernel
# (and, with --monitors, of user programs: a monitor on every core and the default plan), and
# prints, for the boot core and for the average other core, the instructions per function
# (tools/bench/boot_profile.py). Exact and repeatable: the counts do not depend on the host's load.
# What they leave out is QEMU's own work (translating each core's copy of the code, its TLB
# upkeep, first touches of guest memory), which the guest milliseconds of ./myriad bench boot
# include (docs/scaling.md, "Boot cost per core").
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
sockets=2 cores=2 monitors=0 top=20
while [ $# -gt 0 ]; do
    case "$1" in
        --sockets) sockets="$2"; shift 2 ;;
        --cores) cores="$2"; shift 2 ;;
        --monitors) monitors=1; shift ;;
        --top) top="$2"; shift 2 ;;
        *) echo "usage: $0 [--sockets S] [--cores C] [--monitors] [--top N]" >&2; exit 2 ;;
    esac
done
ctl="$BUILD/tools/myriadctl"; kernel="${MYRIAD_KERNEL:-$BUILD/cpudriver/myriad-kernel}"  # MYRIAD_KERNEL: another build's, to compare
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# The kernel's top 2 GiB less the timer calibration and the start-up delays (busy waits of
# millions of instructions under -icount); user programs too with --monitors.
filter="" lo=0xffffffff80000000
while read -r addr size; do
    filter="$filter${filter:+,}$lo..0x$(printf '%x' $((0x$addr - 1)))"
    lo=0x$(printf '%x' $((0x$addr + 0x$size)))
done < <(nm -S "$kernel" | awk '$4 ~ /calibrate_timers|delay_us/ {print $1, $2}' | sort)
filter="$filter,$lo..0xffffffffffffffff"
extra=(--no-system)
if [ "$monitors" = 1 ]; then filter="0x400000..0x7fffffffffff,$filter"; extra=(--default-system --programs "$BUILD/user"); fi
printf 'name = "profile"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 600\n' \
    "$sockets" "$cores" "$(( sockets * 256 ))" > "$tmp/profile.toml"
# The log goes through a pipe and is counted as it is written (a 16-CPU boot logs gigabytes).
mkfifo "$tmp/exec.fifo"
python3 "$ROOT/tools/bench/boot_profile.py" "$tmp/exec.fifo" "$kernel" "$BUILD/user/monitor" "$top" > "$tmp/report" &
counter=$!
status=0
"$ctl" run "$tmp/profile.toml" --kernel "$kernel" "${extra[@]}" --accel tcg --tcg-threads single --quiet \
    --log "$tmp/serial.log" --qemu-arg=-singlestep --qemu-arg=-icount --qemu-arg=shift=0 \
    --qemu-arg=-d --qemu-arg=exec,nochain --qemu-arg=-D --qemu-arg="$tmp/exec.fifo" \
    --qemu-arg=-dfilter --qemu-arg="$filter" >/dev/null || status=$?
wait "$counter" || { echo "boot_profile: counting the trace failed" >&2; exit 1; }
if [ "$status" != 0 ] || ! grep -q '^boot-complete' "$tmp/serial.log"; then
    echo "boot_profile: the boot did not complete (myriadctl exit $status); its log:" >&2
    tail -20 "$tmp/serial.log" >&2
    exit 1
fi
echo "boot of ${sockets}x${cores}$([ "$monitors" = 1 ] && echo ' with monitors and the default plan'):" \
    "$(grep -o '^boot-phases.*' "$tmp/serial.log" | tr -d '\r')"
cat "$tmp/report"
