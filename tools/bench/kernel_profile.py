#!/usr/bin/env python3
"""Instructions per kernel function for each path kprofile runs (see kernel_profile.sh).

argv: EXEC_LOG KERNEL_NM REPS SECTIONS (kprofile's section names, comma-separated, in order;
each section has two marks). The log has one "Trace N: HOST [CS_BASE/PC/FLAGS/CFLAGS]" line per executed
instruction; the kernel's entry to sys_debug_print cuts it. A mark's own instructions fall into
the section it closes, so the "empty" section is subtracted from every other, function by
function."""
import bisect
import collections
import re
import sys


def main():
    log, nm_path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    names = sys.argv[4].split(",")
    syms = []
    for line in open(nm_path):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3 and parts[1] in "TtWw":
            syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    addrs = [a for a, _ in syms]
    cut = next(a for a, n in syms if "sys_debug_print" in n)

    def name(pc):
        if pc < 0xFFFF_8000_0000_0000:
            return "(user)"
        i = bisect.bisect_right(addrs, pc) - 1
        n = syms[i][1] if i >= 0 else "?"
        n = n.replace("(anonymous namespace)::", "")
        return re.sub(r"\(.*", "", n).replace("myr::kernel::", "").replace("myr::arch::", "arch::")

    sections = []  # one Counter per stretch between two cuts
    cur = None
    pat = re.compile(r"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    with open(log, errors="replace") as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            pc = int(m.group(1), 16)
            if pc == cut:
                cur = collections.Counter()
                sections.append(cur)
            if cur is not None:
                cur[name(pc)] += 1
    # The cuts are kprofile's marks (nothing else prints meanwhile): two per section, and the
    # stretch from a section's first mark to its second is the section.
    if len(sections) < 2 * len(names):
        sys.exit(f"kernel_profile: {len(sections)} cuts in the log for {len(names)} sections")
    named = {n: sections[2 * i] for i, n in enumerate(names)}
    empty = named.pop("empty")
    for op, c in named.items():
        per = {k: (v - empty.get(k, 0)) / reps for k, v in c.items()}
        per = {k: v for k, v in per.items() if abs(v) >= 0.5}
        total = sum(per.values())
        print(f"\n{op}: {total:.0f} instructions per call")
        for k, v in sorted(per.items(), key=lambda kv: -kv[1]):
            print(f"  {v:7.1f}  {k}")


main()
