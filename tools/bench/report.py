#!/usr/bin/env python3
"""Writes DIR/README.md for a `./myriad bench all` run (tools/bench/all.sh): the machine, the
commands, the date and commit, every CSV of every step as a table with what its baseline is, the
plots the benches drew, a core-to-core heat map and a boot-time plot (gnuplot, when installed),
the kernel and channel figures beside published references, and with --compare PREV what changed
against an earlier run. Standard library only."""
import csv
import os
import platform
import shutil
import subprocess
import sys

# What each step measures and what its baseline is (measured in the same run, never copied).
STEPS = {
    "channels": ("Channels on host cores",
                 "Round trips between every pair of host cores over a Myriad URPC channel and, in the "
                 "same process and run, a raw cache-line ping-pong (`cacheline`, the baseline), a "
                 "Boost SPSC queue, a pipe and an eventfd. `multicast.csv`: one-to-all over the "
                 "topology-aware tree against sequential unicast."),
    "kernel": ("Kernel fast paths (QEMU, TCG)",
               "Instructions per path under `-icount shift=0` (exact: the guest TSC advances one tick "
               "per instruction) and TCG ticks; the baseline is the empty loop and the null system "
               "call of the same boot."),
    "boot": ("Boot time against CPUs (QEMU, TCG)",
             "Guest milliseconds to `boot-complete`, host wall and CPU time; the ratio columns are "
             "against the 64-CPU point of the same run."),
    "monitors": ("Monitor protocols (QEMU, TCG)",
                 "Messages, critical-path hops, origin sends and cross-node lines for membership, "
                 "all-pairs ping, remote spawn and a one-to-all broadcast: the NUMA-aware tree against "
                 "sequential unicast in the same boot. `monitors_rtt.csv`: round trips as a ratio to a "
                 "raw cache-line ping-pong between the same two vCPUs in the same boot."),
    "replication": ("Replicated objects on host cores",
                    "Throughput and latency per protocol, core count and update ratio; `shared` (one "
                    "copy behind a lock, the monolithic-kernel design) is the baseline, run in the same "
                    "process."),
    "replication_guest": ("Replicated objects in the guest (QEMU, TCG)",
                          "Messages per operation and critical-path hops per protocol, tree against "
                          "unicast fan-out, counted by every replica."),
    "servers": ("Servers (QEMU, TCG)",
                "RPC round trips as ratios to a null system call and to a raw cache-line ping-pong over "
                "the same connection's memory in the same boot; kvstore lines per operation per "
                "replica count; a bind-call-close loop to a server on the boot core against one on "
                "another core; memserv's node-local share."),
    "bind": ("Binding on host cores",
             "The monitors' binding protocol (the guest monitors' code) on pinned threads: two clients per "
             "node bind by name to another node's server, take both rings, make one round trip and close; "
             "set-up timed from the bind call to the first echo. Baseline in the same run on the same "
             "cores: a Linux Unix-domain socket connect, one round trip and close to a server thread per "
             "node. The hosted monitors make no system calls (a ring capability is an address there); the "
             "guest's figure is `servers/servers_bind.csv`."),
    "unmap": ("Unmap in an address space spanning cores (QEMU, TCG, and host cores)",
              "The multikernel paper's experiment: ticks per unmap, lines, critical-path hops, lines the "
              "initiator handles and cross-node lines per TLB shootdown protocol (unicast, multicast, "
              "NUMA-aware multicast), one boot of 8 sockets x 8 cores per span size. On host cores: the same "
              "protocol code on pinned threads beside Linux's munmap with a thread on each core (the "
              "baseline, same run); `unmap_model.csv`: the plans' counts on 8 x 8 cores."),
}

# Published figures to read the measured ones against (cycles on real hardware).
REFERENCES = [
    ("seL4 IPC fast path, one way (x86-64)", "386 cycles"),
    ("Barrelfish URPC message, one way (cross-core, same package)", "450 cycles"),
    ("LRPC null call (Bershad et al.)", "757-1549 cycles"),
]

# Columns that identify a row (for --compare); otherwise every non-numeric column does.
KEYS = {
    "channels.csv": ["mechanism", "src", "dst"],
    "multicast.csv": ["machine", "mode", "cores"],
    "policy.csv": ["gap_ns", "spin_ns"],
    "kernel.csv": ["op"],
    "boot_times.csv": ["cpus", "tcg"],
    "monitors.csv": ["cores", "phase"],
    "monitors_graph.csv": ["cores", "graph"],
    "monitors_rtt.csv": ["kind"],
    "replication.csv": ["protocol", "object", "cores", "updates_pct"],
    "servers_rpc.csv": ["placement"],
    "servers_kvstore.csv": ["replicas", "op"],
    "servers_memserv.csv": ["machine", "pool_grants_per_node"],
    "servers_bind.csv": ["server_core", "client_core"],
    "bind_hosted.csv": ["mechanism", "nodes"],
    "unmap_guest.csv": ["members", "protocol"],
    "unmap_hosted.csv": ["protocol", "members"],
    "unmap_model.csv": ["machine", "protocol", "members"],
}


def number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return (rows[0], rows[1:]) if rows else ([], [])


def md_table(header, rows, limit=60):
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for r in rows[:limit]:
        out.append("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    if len(rows) > limit:
        out.append(f"\n({len(rows) - limit} more rows in the CSV)")
    return "\n".join(out)


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    model, cpus = "", os.cpu_count()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    nodes = [d for d in os.listdir("/sys/devices/system/node") if d.startswith("node")] \
        if os.path.isdir("/sys/devices/system/node") else []
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // (1024 * 1024)} GiB"
    except OSError:
        pass
    virt = run(["systemd-detect-virt"]) or "unknown"
    qemu = run(["qemu-system-x86_64", "--version"]).splitlines()
    return [("CPU", model or platform.processor()), ("host CPUs", str(cpus)), ("NUMA nodes", str(len(nodes) or 1)),
            ("memory", mem), ("virtualised", virt), ("kernel", platform.release()),
            ("QEMU", qemu[0] if qemu else "not found")]


def gnuplot(script, cwd):
    if not shutil.which("gnuplot"):
        return False
    try:
        return subprocess.run(["gnuplot"], input=script, text=True, cwd=cwd, capture_output=True,
                              timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def heat_map(out):
    """Core-to-core round trips (Myriad channel, p50) and their ratio to the raw cache line."""
    path = os.path.join(out, "channels", "channels.csv")
    if not os.path.exists(path):
        return []
    header, rows = read_csv(path)
    col = {h: i for i, h in enumerate(header)}
    rtt = {}
    for r in rows:
        v = number(r[col["rtt_ns_p50"]])
        if v is not None:
            rtt[(r[col["mechanism"]], int(r[col["src"]]), int(r[col["dst"]]))] = v
    cores = sorted({k[1] for k in rtt} | {k[2] for k in rtt})
    if not cores:
        return []
    lines = ["### Core-to-core round trips", "",
             "Myriad channel round trip, median ns, sender row to receiver column, and in brackets "
             "the ratio to the raw cache-line ping-pong between the same two cores in the same run:", "",
             "| from \\ to | " + " | ".join(str(c) for c in cores) + " |", "|" + " --- |" * (len(cores) + 1)]
    for a in cores:
        cells = []
        for b in cores:
            m, c = rtt.get(("myriad", a, b)), rtt.get(("cacheline", a, b))
            cells.append("-" if m is None else f"{m:.0f}" + (f" ({m / c:.2f}x)" if c else ""))
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    if os.path.exists(os.path.join(out, "channels", "channels_heatmap.png")):
        pass  # the bench drew one (listed with its other plots below)
    elif draw_matrix(os.path.join(out, "channels"), "heatmap", cores, lambda a, b: rtt.get(("myriad", a, b)),
                     "Myriad channel round trip, median ns (row: sender, column: receiver)",
                     "receiver core", "sender core", "ns"):
        lines += ["", "![core-to-core heat map](channels/heatmap.png)"]
    return lines + [""]


def draw_matrix(d, name, cores, value, title, xlabel, ylabel, cblabel):
    """A cores x cores heat map of value(row, column) (None: no data) as d/name.png; True when drawn."""
    with open(os.path.join(d, name + ".dat"), "w") as f:
        for a in cores:
            f.write(" ".join("NaN" if value(a, b) is None else f"{value(a, b):.2f}" for b in cores) + "\n")
    ticks = ", ".join(f'"{c}" {i}' for i, c in enumerate(cores))
    script = (f"set terminal pngcairo size 640,560 noenhanced\nset output '{name}.png'\n"
              f"set title '{title}'\nset xlabel '{xlabel}'\nset ylabel '{ylabel}'\nset cblabel '{cblabel}'\n"
              f"set xrange [-0.5:{len(cores) - 0.5}]\nset yrange [{len(cores) - 0.5}:-0.5]\n"
              f"set xtics ({ticks})\nset ytics ({ticks})\n"
              f"plot '{name}.dat' matrix with image notitle\n")
    return gnuplot(script, d)


def guest_matrix(out):
    """The in-guest core-to-core matrix (monitors_matrix.csv): ratio of the monitors' mesh round trip
    to the raw cache line between the same two vCPUs, as a table and a heat map."""
    path = os.path.join(out, "monitors", "monitors_matrix.csv")
    if not os.path.exists(path):
        return []
    header, rows = read_csv(path)
    col = {h: i for i, h in enumerate(header)}
    ratio = {}
    for r in rows:
        v = number(r[col["ratio"]])
        if v is not None:
            ratio[(int(r[col["from"]]), int(r[col["to"]]))] = v
    cores = sorted({a for a, _ in ratio} | {b for _, b in ratio})
    if not cores:
        return []
    lines = ["### In-guest core-to-core round trips", "",
             "The monitors' URPC mesh round trip between every ordered pair of vCPUs (2 sockets x 2 cores, "
             "multi-threaded TCG), as a ratio to the raw cache-line ping-pong between the same two vCPUs in "
             "the same boot (row: measuring core, column: echoing core):", "",
             "| from \\ to | " + " | ".join(str(c) for c in cores) + " |", "|" + " --- |" * (len(cores) + 1)]
    for a in cores:
        lines.append(f"| {a} | " + " | ".join("-" if (a, b) not in ratio else f"{ratio[(a, b)]:.2f}x" for b in cores) + " |")
    if draw_matrix(os.path.join(out, "monitors"), "guest_heatmap", cores, lambda a, b: ratio.get((a, b)),
                   "In-guest mesh round trip / raw cache line (row: measuring core)", "echoing core",
                   "measuring core", "ratio"):
        lines += ["", "![in-guest core-to-core heat map](monitors/guest_heatmap.png)"]
    return lines + [""]


def boot_plot(out):
    path = os.path.join(out, "boot", "boot_times.csv")
    if not os.path.exists(path):
        return []
    script = ("set terminal pngcairo size 720,420 noenhanced\nset output 'boot_times.png'\n"
              "set datafile separator ','\nset key top left\nset logscale xy 2\n"
              "set xlabel 'CPUs'\nset ylabel 'ms'\nset title 'Boot to boot-complete under TCG (medians)'\n"
              "plot 'boot_times.csv' every ::1 using 1:3 with linespoints title 'guest ms', "
              "'' every ::1 using 1:4 with linespoints title 'host wall ms'\n")
    return ["![boot time against CPUs](boot/boot_times.png)", ""] if gnuplot(script, os.path.join(out, "boot")) else []


def reference_table(out):
    lines = ["## Fast paths beside the references", "",
             "Measured in this run (instructions under QEMU `-icount`, nanoseconds on the host cores) "
             "next to published cycle counts on real hardware. Instructions and cycles are different "
             "units: read the references as the scale to aim for, not as a ratio.", "",
             "| path | measured | unit |", "| --- | --- | --- |"]
    kpath = os.path.join(out, "kernel", "kernel.csv")
    if os.path.exists(kpath):
        header, rows = read_csv(kpath)
        col = {h: i for i, h in enumerate(header)}
        for r in rows:
            if "instructions" in col:
                lines.append(f"| kernel: {r[col['op']]} | {r[col['instructions']]} | instructions (QEMU -icount) |")
    cpath = os.path.join(out, "channels", "channels.csv")
    if os.path.exists(cpath):
        header, rows = read_csv(cpath)
        col = {h: i for i, h in enumerate(header)}
        best = {}
        for r in rows:
            v = number(r[col["rtt_ns_p50"]])
            if v is not None and r[col["src"]] != r[col["dst"]]:
                best.setdefault(r[col["mechanism"]], []).append(v)
        for mech, vals in sorted(best.items()):
            vals.sort()
            lines.append(f"| host round trip, {mech} (median over core pairs) | {vals[len(vals) // 2]:.0f} | ns |")
    lines += ["", "| reference | figure |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in REFERENCES] + [""]
    return lines


def compare(out, prev):
    lines = [f"## Compared with {prev}", "",
             "Each numeric column as this run / previous run, for rows present in both (keyed by "
             "their identifying columns); only changes beyond 10% are listed.", ""]
    found = False
    for step in sorted(STEPS):
        d_new, d_old = os.path.join(out, step), os.path.join(prev, step)
        if not (os.path.isdir(d_new) and os.path.isdir(d_old)):
            continue
        for name in sorted(os.listdir(d_new)):
            if not name.endswith(".csv") or not os.path.exists(os.path.join(d_old, name)):
                continue
            h1, r1 = read_csv(os.path.join(d_new, name))
            h0, r0 = read_csv(os.path.join(d_old, name))
            if h1 != h0:
                lines.append(f"- `{step}/{name}`: columns changed, not compared")
                continue
            keys = [h1.index(k) for k in KEYS.get(name, []) if k in h1] or \
                [i for i in range(len(h1)) if any(number(r[i]) is None for r in r1 if i < len(r))] or [0]
            old = {tuple(r[i] for i in keys): r for r in r0 if len(r) == len(h0)}
            for r in r1:
                k = tuple(r[i] for i in keys)
                if len(r) != len(h1) or k not in old:
                    continue
                for i, h in enumerate(h1):
                    a, b = number(r[i]), number(old[k][i])
                    if i in keys or a is None or not b:
                        continue
                    ratio = a / b
                    if abs(ratio - 1) > 0.10:
                        found = True
                        lines.append(f"- `{step}/{name}` {'/'.join(k)}: {h} {b:g} -> {a:g} ({ratio:.2f}x)")
    if not found:
        lines.append("No figure changed by more than 10%.")
    return lines + [""]


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit("usage: report.py DIR [--compare PREV_DIR]")
    out, prev = args[0], None
    if len(args) >= 3 and args[1] == "--compare":
        prev = args[2]
    info = {}
    if os.path.exists(os.path.join(out, "run.txt")):
        for line in open(os.path.join(out, "run.txt")):
            k, _, v = line.rstrip("\n").partition("=")
            info[k] = v
    header, steps = read_csv(os.path.join(out, "steps.csv"))
    status = {r[0]: r for r in steps}
    md = ["# Myriad benchmark report", "",
          f"- date: {info.get('date', '?')}", f"- commit: {info.get('commit', '?')}",
          f"- command: `{info.get('command', '?')}`",
          "- size: " + ("quick (CI size: small runs, figures indicative only)" if info.get("quick") == "1" else "full"),
          "", "## Machine", "", "| | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in machine()]
    md += ["", "Under QEMU TCG, ticks and milliseconds are emulation figures: compare them only within one "
           "table; counts of messages, hops and instructions carry over to real hardware.", "",
           "## Steps", "", md_table(header, steps), ""]
    for step, (title, about) in STEPS.items():
        md += [f"## {title}", "", about, ""]
        st = status.get(step)
        if st is None or st[1] != "ok":
            md += [f"**This step failed**: see `logs/{step}.log`." if st else "Not run.", ""]
        d = os.path.join(out, step)
        if step == "channels":
            md += heat_map(out)
        if step == "boot":
            md += boot_plot(out)
        if step == "monitors":
            md += guest_matrix(out)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".csv"):
                h, rows = read_csv(os.path.join(d, name))
                md += [f"`{step}/{name}`:", "", md_table(h, rows), ""]
        for name in sorted(os.listdir(d)):
            if name.endswith(".png") and name not in ("heatmap.png", "boot_times.png", "guest_heatmap.png"):
                md += [f"![{name}]({step}/{name})", ""]
    md += reference_table(out)
    md += ["## Not measured yet", "",
           "- the monitors' name table (agreement and forwarding past 64 cores) on host cores: membership, "
           "supervision, binding, the capability and shootdown protocols and the replicated objects run on "
           "host threads, but `names.cpp` is still written against the guest only;",
           "- the in-guest core-to-core matrix beyond 2 x 2 vCPUs: with more vCPUs than host cores a "
           "ping-pong between two of them measures the host's scheduler, not the channel.", ""]
    if prev:
        md += compare(out, prev)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(md))
    bad = [r[0] for r in steps if len(r) > 1 and r[1] != "ok"]
    if bad:
        print("failed steps: " + ", ".join(bad), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
