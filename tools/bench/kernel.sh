#!/usr/bin/env bash
# Kernel fast paths (./myriad bench kernel [--out DIR]): boots 1s1c twice with the kbench program
# and the ipc_pong server on core 0: once under plain TCG (TSC ticks: only the ratios mean
# anything) and once under `-icount shift=0`, where the guest TSC advances exactly one tick per
# executed instruction (checked in the same run: 100 nops measure 102, the loop adds 2), so the
# second column is the number of instructions on each path, user stub and kernel together.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
out="$ROOT/docs/results"
[ "${1:-}" = "--out" ] && out="$2"
mkdir -p "$out"
ctl="$BUILD/tools/myriadctl"; kernel="$BUILD/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
run() {
    "$ctl" run "$ROOT/configs/1s1c.toml" --kernel "$kernel" --accel tcg --quiet --log "$tmp/$1.log" \
        --module "$BUILD/user/ipc_pong" --module "$BUILD/user/kbench" \
        --append spawn=ipc_pong@0 --append spawn=kbench@0 --append serve=ipc_pong "${@:2}" >/dev/null
    grep -o 'bench-kernel op=[a-z0-9_]* ticks=[0-9]*' "$tmp/$1.log" | sed 's/bench-kernel op=//; s/ ticks=/ /' > "$tmp/$1.txt"
}
run tcg
run icount --tcg-threads single --qemu-arg=-icount --qemu-arg=shift=0
echo "op,tcg_ticks,instructions" > "$out/kernel.csv"
printf '%-26s %12s %14s\n' operation "TCG ticks" instructions
join "$tmp/tcg.txt" "$tmp/icount.txt" | while read -r op t i; do
    printf '%-26s %12s %14s\n' "$op" "$t" "$i"
    echo "$op,$t,$i" >> "$out/kernel.csv"
done
null_t=$(awk '$1=="null_syscall"{print $2}' "$tmp/tcg.txt"); null_i=$(awk '$1=="null_syscall"{print $2}' "$tmp/icount.txt")
for op in ipc_call_reply ipc_call_reply_with_cap map_unmap; do
    t=$(awk -v o=$op '$1==o{print $2}' "$tmp/tcg.txt"); i=$(awk -v o=$op '$1==o{print $2}' "$tmp/icount.txt")
    printf 'ratio %s / null_syscall: %.2f (TCG ticks), %.2f (instructions)\n' "$op" "$(echo "$t/$null_t" | bc -l)" "$(echo "$i/$null_i" | bc -l)"
done
echo "wrote $out/kernel.csv"
