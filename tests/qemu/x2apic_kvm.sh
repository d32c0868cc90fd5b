#!/usr/bin/env bash
# A CPU with an APIC id above 255, which only x2APIC can address: QEMU numbers CPUs by topology,
# so with 144 cores per socket (8 bits of core id) socket 1 starts at APIC id 256. Two CPUs are
# present (ids 0 and 256; the other 286 possible ones are absent, disabled in the MADT), so the
# run stays small. QEMU 7.2 starts ids above 254 only under KVM with its in-kernel x2APIC: under
# TCG it stops with "current -smp configuration requires kernel irqchip and X2APIC API support".
# Without a usable /dev/kvm the test is skipped (exit 77), visibly, never passed.
#   x2apic_kvm.sh QEMU KERNEL LOG
set -uo pipefail
qemu="$1" kernel="$2" log="$3"
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo "no usable /dev/kvm: skipped"; exit 77; fi
rm -f "$log"
timeout 560 "$qemu" -machine q35 -accel kvm -cpu max,-arch-capabilities \
    -smp 1,sockets=2,cores=144,threads=1,maxcpus=288 -device max-x86_64-cpu,socket-id=1,core-id=0,thread-id=0 \
    -m 256M -kernel "$kernel" -append "timer_hz=100 config=x2apic" -serial "file:$log" \
    -display none -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
rc=$?
fail=0
# isa-debug-exit: QEMU exits with (code << 1) | 1; the kernel's success code is 0x10.
if [ $rc -ne 33 ]; then echo "QEMU exited with status $rc, not 33 (the kernel's success)"; fail=1; fi
expect() {
    local got
    got=$(tr -d '\r' < "$log" | grep -cE "$1")
    if [ "$got" -ne "$2" ]; then echo "expected $2 line(s) matching /$1/, found $got"; fail=1; fi
}
expect "local APIC: x2APIC mode" 1
expect "^core-up core=0 apic=0 " 1
expect "^core-up core=1 apic=256 socket=1 " 1
expect "^audit-summary cores=2 overlaps=0 nonlocal=0" 1
expect "^boot-complete cores=2 " 1
expect "^(panic|exception) " 0
[ $fail -eq 0 ] || { echo "--- log tail ($log) ---"; tail -30 "$log"; }
exit $fail
