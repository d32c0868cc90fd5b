#!/usr/bin/env python3
"""Instructions per function of a boot (see boot_profile.sh).

argv: EXEC_LOG KERNEL USER_PROGRAM TOP. The log has one "Trace N: HOST [CS_BASE/PC/FLAGS/CFLAGS]"
line per executed instruction, N the vCPU (0 is the boot core). Kernel addresses are named from
the kernel's symbols, user addresses from USER_PROGRAM's (the monitor: every core runs one; other
programs linked at the same addresses would be misnamed, so user lines say "user:")."""
import bisect
import collections
import subprocess
import sys


def symbols(path):
    out = []
    try:
        text = subprocess.run(["nm", "-C", path], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return [], []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "TtWw":
            out.append((int(parts[0], 16), parts[2]))
    out.sort()
    return [a for a, _ in out], [n for _, n in out]


def main():
    log, kernel, user, top = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    per_pc = collections.Counter()  # (boot core?, pc) -> instructions
    cpus = set()
    with open(log, errors="replace") as f:
        for line in f:
            if not line.startswith("Trace "):
                continue
            parts = line.split()
            cpu = parts[1].rstrip(":")
            cpus.add(cpu)
            pc = int(parts[3].split("/")[1], 16)
            per_pc[(cpu == "0", pc)] += 1
    kaddr, kname = symbols(kernel)
    uaddr, uname = symbols(user)

    def name(pc):
        if pc >= 0xFFFF_8000_0000_0000:
            i = bisect.bisect_right(kaddr, pc) - 1
            return kname[i] if i >= 0 else "(kernel)"
        i = bisect.bisect_right(uaddr, pc) - 1
        return "user: " + (uname[i] if i >= 0 else "?")

    others = max(1, len(cpus) - 1)
    for boot, title, div in ((True, "boot core", 1), (False, f"each other core (average of {others})", others)):
        by_fn = collections.Counter()
        for (b, pc), n in per_pc.items():
            if b == boot:
                by_fn[name(pc)] += n
        total = sum(by_fn.values())
        print(f"\n{title}: {total // div} instructions")
        for fn, n in by_fn.most_common(top):
            print(f"  {n // div:10d}  {fn[:100]}")


if __name__ == "__main__":
    main()
