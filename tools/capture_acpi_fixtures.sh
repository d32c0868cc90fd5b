#!/usr/bin/env bash
# Saves the ACPI tables QEMU builds for each shipped config as test fixtures:
# boots the config with `acpi.dump=1` (the kernel prints `acpi-table SIG OFFSET HEX` lines) and
# writes tests/fixtures/acpi/qemu/<config>/{APIC,SRAT,SLIT}. Rerun after changing a config.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ctl="$ROOT/build/tools/myriadctl"; kernel="$ROOT/build/cpudriver/myriad-kernel"
for cfg in "$ROOT"/configs/*.toml; do
    name=$(basename "$cfg" .toml)
    [ "$name" = default ] && continue   # same machine as 2s4c
    dir="$ROOT/tests/fixtures/acpi/qemu/$name"
    mkdir -p "$dir"
    log=$(mktemp)
    "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --quiet --append acpi.dump=1 --log "$log" >/dev/null || true
    for sig in APIC SRAT SLIT; do
        { grep "^acpi-table $sig " "$log" || true; } | sort -k3 -n | awk '{print $4}' | tr -d '\n' | xxd -r -p > "$dir/$sig"
        [ -s "$dir/$sig" ] || rm -f "$dir/$sig"
    done
    rm -f "$log"
    echo "$name: $(ls "$dir" | tr '\n' ' ')"
done
