#!/usr/bin/env bash
# Where the instructions of each kernel path go (./myriad bench kernel --profile): boots 1s1c
# with kprofile and ipc_pong under QEMU's -singlestep with an execution log, so every executed
# instruction's address is logged once (a rep-prefixed instruction once per iteration, as
# -icount counts it). -icount also puts the timer's interrupts at fixed instruction counts (one
# per 10 million at 100 Hz), so they rarely fall into a section. tools/bench/kernel_profile.py cuts the log at kprofile's marks and prints,
# per path, the instructions per call by kernel function (user code counted as one line).
# Timing means nothing here: the counts are exact and repeat from run to run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
ctl="$BUILD/tools/myriadctl"; kernel="$BUILD/cpudriver/myriad-kernel"
tmp="${KPROFILE_TMP:-$(mktemp -d)}"; [ -n "${KPROFILE_TMP:-}" ] || trap 'rm -rf "$tmp"' EXIT; mkdir -p "$tmp"
# Log only what can matter: user programs (linked at 0x400000, lib/user/user.ld) and the kernel
# (its top 2 GiB), less the boot's busy waits (timer calibration, the start-up delays: millions
# of instructions each under -icount); not the firmware.
nm -C "$kernel" > "$tmp/kernel.nm"
filter="0x400000..0x7fffffffffff"
lo=0xffffffff80000000
while read -r addr size; do
    filter="$filter,$lo..0x$(printf '%x' $((0x$addr - 1)))"
    lo=0x$(printf '%x' $((0x$addr + 0x$size)))
done < <(nm -S "$kernel" | awk '$4 ~ /calibrate_timers|delay_us/ {print $1, $2}' | sort)
filter="$filter,$lo..0xffffffffffffffff"
"$ctl" run "$ROOT/configs/1s1c.toml" --kernel "$kernel" --accel tcg --quiet --log "$tmp/serial.log" \
    --tcg-threads single --module "$BUILD/user/ipc_pong" --module "$BUILD/user/kprofile" \
    --append spawn=ipc_pong@0 --append spawn=kprofile@0 --append serve=ipc_pong \
    --qemu-arg=-singlestep --qemu-arg=-icount --qemu-arg=shift=0 --qemu-arg=-d --qemu-arg=exec,nochain --qemu-arg=-D --qemu-arg="$tmp/exec.log" \
    --qemu-arg=-dfilter --qemu-arg="$filter" >/dev/null
if ! grep -q 'kprofile reps=' "$tmp/serial.log"; then
    echo "kernel_profile: kprofile did not finish; its log:" >&2
    tail -20 "$tmp/serial.log" >&2
    exit 1
fi
reps=$(grep -o 'kprofile reps=[0-9]*' "$tmp/serial.log" | cut -d= -f2)
sections=$(grep -o 'sections=[a-z_,]*' "$tmp/serial.log" | cut -d= -f2)
python3 "$ROOT/tools/bench/kernel_profile.py" "$tmp/exec.log" "$tmp/kernel.nm" "$reps" "$sections"
