#!/usr/bin/env python3
"""The fault campaign (./myriad faults, docs/faults.md).

Boots CONFIG again and again, each time with a run plan written from the seed: the client load
(kvload on every other core, --ops each), then fault events at random moments, --min-gap to
--max-gap ms apart (crash: steps: the primary, a backup, a backup twice while it rejoins, two
replicas at once when there are three or more, or a client killed mid-run; EVENTS), until
--crashes crashes of kvstore replicas (and, with --nameserv P, of nameserv replicas instead for a share P
of the events: the sequencer half the time) were injected. With --core-deaths P, a share P of the boots
ends its faults by stopping a whole core (kill-core:, the config needs core_heartbeat): a backup's
core half the time, else a client's; with --core0 Q, a share Q of those stops core 0 instead (the
coordinator, the plan's runner and the name table's sequencer: the monitors elect another, which
finishes the plan). Every boot is
checked: each client's counter against its acknowledged and uncertain increments, every
acknowledged put readable with its value, no swap done twice, each client's two-key transactions
all or nothing (every read sees both keys' sum unchanged, the units moved between the acknowledged
and the acknowledged plus uncertain ones), the history of the key all clients share linearizable
(myriadctl check-history), no kernel panic, every crash answered by a restart. Prints one line per boot and a summary; writes faults.csv to --out.
Exit status 1 when any check failed."""
import argparse
import collections
import concurrent.futures
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tomllib


# The faults a boot's plan injects, one drawn per event (weights in percent): a crash of the
# primary or of a backup, a backup crashed again while it rejoins (20-150 ms after its first
# crash: it may still be restarting or taking the table), a client killed mid-request, and (with
# three or more replicas, which survive two failures at a time) two distinct replicas crashed
# 0-150 ms apart, the primary among them half the time.
EVENTS = (("primary", 35), ("backup", 25), ("rejoin", 20), ("client", 20))
EVENTS_K3 = (("primary", 25), ("backup", 20), ("rejoin", 15), ("client", 15), ("pair", 25))


# A config's plan is at most 900 characters (tools/config: the monitor reads it whole); the tail
# and a core death need about 60 of them.
MAX_PLAN = 900 - 64


def plan_for(rng, events, ops, targets, gap, clients, core_death=None, ns=None):
    """The plan, the core stopped at its end (None: none) with whether its client was still
    alive then (it dies with the core), and how many of the events fit (a plan that would grow
    past MAX_PLAN ends there: the next boot takes the rest)."""
    steps = [f"spawn:kvload={ops}"]
    alive = list(clients)
    table = EVENTS if len(targets) < 3 else EVENTS_K3
    planned = 0
    for _ in range(events):
        if len(",".join(steps)) > MAX_PLAN - 60:  # room for one more event, the longest kind
            break
        planned += 1
        steps.append(f"sleep:{rng.randint(gap[0], gap[1])}")
        # With --nameserv P: a share P of the events crashes a nameserv replica instead, the
        # sequencer (replica 0) half the time (drawn only then, so seeds give the boots they did).
        if ns and ns[0] > 0 and rng.random() < ns[0]:
            cores = ns[1]
            steps.append(f"crash:nameserv@{cores[0] if len(cores) == 1 or rng.random() < 0.5 else rng.choice(cores[1:])}")
            continue
        kind = rng.choices([e for e, _ in table], weights=[w for _, w in table])[0]
        backup = rng.choice(targets[1:])
        if kind == "client" and len(alive) > 1:
            steps.append(f"crash:kvload@{alive.pop(rng.randrange(len(alive)))}")
        elif kind == "rejoin":
            steps += [f"crash:kvstore@{backup}", f"sleep:{rng.randint(20, 150)}", f"crash:kvstore@{backup}"]
        elif kind == "pair":
            first, second = rng.sample(targets, 2)
            steps += [f"crash:kvstore@{first}", f"sleep:{rng.randint(0, 150)}", f"crash:kvstore@{second}"]
        else:
            steps.append(f"crash:kvstore@{targets[0] if kind == 'primary' else backup}")
    died = None
    if core_death is not None:
        steps += [f"sleep:{rng.randint(gap[0], gap[1])}", f"kill-core:{core_death}"]
        died = (core_death, core_death in alive)
    steps += ["sleep:1500", "wait", "shutdown"]  # the last crash's restart comes before the end
    return ",".join(steps), died, planned


def with_plan(config_text, plan):
    out, done = [], False
    for line in config_text.splitlines():
        if re.match(r"^\s*plan\s*=", line) and not done:
            line, done = f'plan = "{plan}"', True
        out.append(line)
    if not done:
        sys.exit("faults: the config has no [system] plan line to replace")
    return "\n".join(out) + "\n"


def with_hang(config_text, hang):
    """The config with kvstore's test hook set (hang: (replica, write) or None): that replica's
    first instance stops answering and beating at that write, and its monitor must end it as hung
    (the config's `heartbeat`) and restart it."""
    if hang is None:
        return config_text
    out, done = [], False
    for line in config_text.splitlines():
        out.append(line)
        if re.match(r'^\s*program\s*=\s*"kvstore"', line) and not done:
            out.append(f'args = "hang_replica={hang[0]} hang_after={hang[1]}"')
            done = True
    if not done:
        sys.exit("faults: the config has no [[server]] table with program = \"kvstore\"")
    return "\n".join(out) + "\n"


def overlaps(log, targets):
    """How often every replica was down at once (outside what K replicas survive, docs/faults.md),
    and the most that were down at once. A replica is down from its crash until it holds the
    table again: a backup until the primary says `backup I back`, the primary until it says
    `primary recovered`, that it recovered from its log, or that it reached no backup. With K replicas, K down at once can lose
    acknowledged writes; K - 1 must not."""
    down, beyond, most = set(), 0, 0
    for line in log.splitlines():
        m = re.match(r"server-crashed name=kvstore core=(\d+) ", line) or re.match(r"core-kill core=(\d+) ", line)
        h = re.search(r"kvstore: hang_after=\d+: replica (\d+) hangs", line)
        if (m and int(m.group(1)) in targets) or h:
            down.add(targets.index(int(m.group(1))) if m else int(h.group(1)))
            most = max(most, len(down))
            beyond += len(down) == len(targets)
            continue
        m = re.search(r"kvstore: backup (\d+) back:", line)
        if m:
            down.discard(int(m.group(1)))
        elif ("kvstore: primary recovered" in line or "restarted primary reached no backup" in line
              or re.search(r"kvstore: replica 0 recovered .* from its log", line)):
            down.discard(0)
    return beyond, most


def recoveries(log, targets):
    """From each kvstore crash (its monitor's `server-crash ... at_tick=T`) to the replica serving
    again on that core, in that core's timer ticks: a backup when it has the table again
    (`replica I rejoined ... at_tick=S`), the primary when it serves its name after recovering
    (`serving as kvstore ... at_tick=S`); with the calls the table transfer took (the primary's
    `backup I back ... calls=N` or `primary recovered ... calls=N`; 0 from its own log). A crash followed by another
    crash of the same replica before it served again is not measured.

    A replica moved off a stopped core (`server-moved ... core=C`) has no crash line on its new
    core, and cores' tick counts are not one clock: it is timed from its start there
    (`started_tick=`) to serving again, on core C's clock, as role `moved primary` or `moved
    backup`; the stop's detection is the `core-lost ... detect_ms=` line, on monitor 0's clock.
    Rows: (role, ticks, calls)."""
    rows, pending, done = [], {}, {}  # pending: core -> [tick of the crash or start, calls, role]; done: core -> its last row
    where = list(targets)  # replica -> its core now
    moved = {}  # new core -> the replica moved there, until its instance says it serves
    for line in log.splitlines():
        m = re.match(r"server-crash name=kvstore core=(\d+) .*at_tick=(\d+)$", line)
        if m:
            pending[int(m.group(1))] = [int(m.group(2)), None, None]
            continue
        m = re.match(r"server-moved name=kvstore replica=(\d+) core=(\d+) ", line)
        if m:
            replica, core = int(m.group(1)), int(m.group(2))
            if replica < len(where):
                where[replica] = core
                moved[core] = replica
                pending[core] = [None, None, "moved primary" if replica == 0 else "moved backup"]
            continue
        m = re.search(r"kvstore: (?:backup \d+ back:|primary recovered) .*calls=(\d+)", line)
        if m:
            r = 0 if "primary recovered" in line else int(re.search(r"backup (\d+)", line).group(1))
            core = where[r] if r < len(where) else None
            if core in pending:
                pending[core][1] = int(m.group(1))
            elif core in done and rows[done[core]][2] is None:  # a backup says `rejoined` before the primary's `back`
                rows[done[core]] = rows[done[core]][:2] + (int(m.group(1)),)
            continue
        if re.search(r"kvstore: replica 0 recovered .* from its log", line) and where[0] in pending:
            pending[where[0]][1] = 0  # from its own log: no call to another replica
            continue
        m = re.search(r"kvstore: replica (\d+) of \d+ serving as kvstore\S* on core (\d+) at_tick=(\d+) started_tick=(\d+)", line)
        if m and int(m.group(2)) in moved and moved[int(m.group(2))] == int(m.group(1)):
            core = int(m.group(2))
            del moved[core]
            if core in pending and pending[core][0] is None:
                pending[core][0] = int(m.group(4))  # timed from its start on this core
        m = re.search(r"kvstore: replica (\d+) (?:rejoined|of \d+ serving as kvstore on core \d+).* at_tick=(\d+)", line)
        if m:
            replica = int(m.group(1))
            if replica >= len(where):
                continue
            core = where[replica]
            if replica == 0 and "serving as" not in line:
                continue
            if replica != 0 and "rejoined" not in line:
                continue  # a backup serves at once but has no table until it rejoined
            if core in pending and pending[core][0] is not None:
                since, calls, role = pending.pop(core)
                done[core] = len(rows)
                rows.append((role or ("primary" if replica == 0 else "backup"), int(m.group(2)) - since, calls))
    return rows


def detections(log):
    """Each stopped core's detection, from `core-kill` to the committed view without it, in ms of
    monitor 0's clock (`core-lost ... detect_ms=`)."""
    return [int(v) for v in re.findall(r"^core-lost core=\d+ epoch=\d+ detect_ms=(\d+) ", log, re.M)]


def coordinator_losses(log):
    """Each stop of the coordinator's own core (core 0): from the last line the new coordinator
    heard from it to the commit of the view without it, in ms of the new coordinator's clock
    (`coordinator-lost ... silent_ms=`)."""
    return [int(v) for v in re.findall(r"^coordinator-lost core=\d+ term=\d+ epoch=\d+ silent_ms=(\d+) ", log, re.M)]


def summary(rows, role, span="crash to serving again"):
    sel = sorted(r[1] for r in rows if r[0] == role)
    calls = sorted(r[2] for r in rows if r[0] == role and r[2] is not None)
    if not sel:
        return f"{role}: none measured"
    q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))]
    c = f", calls median {q(calls, 0.5)} max {calls[-1]}" if calls else ""
    return (f"{role}: {len(sel)} restarts measured, {span} median {q(sel, 0.5)} ticks, "
            f"p90 {q(sel, 0.9)}, max {sel[-1]}{c}")


def check(log, targets, died=None):
    """The boot's figures and what broke; `died`: the core the plan stopped (and whether its
    client was alive), or None."""
    f = {
        "injected": len(re.findall(r"^server-crashed name=kvstore ", log, re.M)),
        "hangs": len(re.findall(r"kvstore: hang_after=\d+: replica \d+ hangs", log)),
        "hung": len(re.findall(r"^server-hung name=kvstore ", log, re.M)),
        # Clients killed before they reported: a kill that lands after the client printed its report
        # (between that line and its exit) ends a client that is counted as reporting.
        "killed": len(set(re.findall(r"^server-crashed name=kvload core=(\d+) ", log, re.M)) -
                      set(re.findall(r"kvload core=(\d+) ops=", log))),
        "restarts": len(re.findall(r"^server-restart name=kvstore ", log, re.M)) +
                    len(re.findall(r"^server-moved name=kvstore ", log, re.M)),
        "core_deaths": len(re.findall(r"^(core-lost|coordinator-lost) core=", log, re.M)),
        "down": len(re.findall(r"^server-down name=kvstore ", log, re.M)),
        "panics": len(re.findall(r"panic", log)),
        "clients": 0, "acked": 0, "uncertain": 0, "puts": 0, "lost": 0, "wrong": 0, "conflicts": 0, "retried": 0,
        "malformed": 0, "refused": 0, "txns": 0, "txn_uncertain": 0, "torn": 0, "replica_cores": 0, "primary_cores": 0, "ns0_moves": 0,
    }
    for m in re.finditer(r"kvload core=\d+ ops=\d+ acked=(\d+) uncertain=(\d+) counter=\d+ puts=(\d+) lost=(\d+) "
                         r"wrong=(\d+) conflicts=(\d+) retried=(\d+) txns=(\d+) txn_uncertain=(\d+) moved=\d+ "
                         r"torn=(\d+) malformed=(\d+) refused=(\d+)", log):
        f["clients"] += 1
        for k, v in zip(("acked", "uncertain", "puts", "lost", "wrong", "conflicts", "retried", "txns", "txn_uncertain",
                         "torn", "malformed", "refused"), m.groups()):
            f[k] += int(v)
    # Crashes while clients were still running: before the last client's report.
    last_client = max((m.start() for m in re.finditer(r"kvload core=", log)), default=-1)
    f["under_load"] = len([m for m in re.finditer(r"^server-crashed name=kvstore ", log, re.M) if m.start() < last_client])
    f["double"], f["most_down"] = overlaps(log, targets)
    fails = re.findall(r"test-fail: (.*)", log)
    problems = list(fails)
    # nameserv replicas crashed (--nameserv): each restarted on its core; replica 0 (the
    # sequencer) with the table it kept, the others joined again with its snapshot.
    f["ns_crashes"] = 0
    for m in re.finditer(r"^server-crashed name=nameserv core=(\d+) domain=(\d+)", log, re.M):
        if died is not None and int(m.group(1)) == died[0]:
            continue  # its core stopped: the check below
        f["ns_crashes"] += 1
        # Its restart, found by the instance it replaced (the monitor's lines may come in either
        # order: the restart was seen printed before the crash's own line).
        r = re.search(rf"^server-restart name=nameserv core={m.group(1)} domain=\d+ old={m.group(2)} ", log, re.M)
        if not r:
            problems.append(f"nameserv on core {m.group(1)} crashed and was not restarted")
        elif m.group(1) == "0" and not re.search(r"nameserv: replica 0 recovered \d+ names at entry \d+ from its kept table",
                                                 log[r.end():]):
            problems.append("nameserv's replica 0 restarted without its kept table")
    if re.search(r"nameserv: replica 0 restarted without a kept table", log):
        problems.append("nameserv's replica 0 started empty after a restart")
    f["injected"] += f["ns_crashes"]
    f["restarts"] += len(re.findall(r"^server-restart name=nameserv ", log, re.M))
    if died is not None:
        # The membership must remove the core; a replica there counts as crashed and must come
        # back on another core (server-moved), with the table for a backup.
        if died[0] == 0:
            # The coordinator's own stop: the new coordinator says how long core 0 was silent and
            # runs the rest of the plan, to its shutdown.
            if not re.search(r"^coordinator-lost core=0 ", log, re.M):
                problems.append("core 0 was stopped but never removed from the membership")
            if not re.search(r"^plan-resumed core=\d+ former=0 ", log, re.M):
                problems.append("core 0 was stopped and no other core took the plan over")
            elif not re.search(r"^shutdown core=[1-9]\d* ", log, re.M):
                problems.append("the plan's new runner never reached its end")
        elif not re.search(rf"^core-lost core={died[0]} ", log, re.M):
            problems.append(f"core {died[0]} was stopped but never removed from the membership")
        if died[0] in targets:
            f["injected"] += 1
            r = targets.index(died[0])
            f["replica_cores"] += 1
            f["primary_cores"] += 1 if r == 0 else 0
            if not re.search(rf"^server-moved name=kvstore replica={r} ", log, re.M):
                problems.append(f"replica {r} died with core {died[0]} and was not started elsewhere")
            elif r > 0 and not re.search(rf"kvstore: backup {r} back:", log[log.find(f"server-moved name=kvstore replica={r} "):]):
                problems.append(f"replica {r} moved off core {died[0]} but never got the table")
            elif r == 0 and not re.search(r"kvstore: primary recovered \d+ keys and \d+ client answers at write \d+ from backup \d+ ",
                                          log[log.find("server-moved name=kvstore replica=0 "):]):
                problems.append(f"the primary moved off core {died[0]} but never took a backup's table")
            if r == 0 and re.search(r"kvstore: restarted primary: backup \d+ did not answer", log):
                problems.append("the moved primary gave up waiting for a backup")
        # A nameserv replica there (a node's first core) must start on another core of its node,
        # join with replica 0's snapshot and agree with it.
        ns = re.search(rf"^server-start name=nameserv core={died[0]} ", log, re.M)
        moved = re.search(r"^server-moved name=nameserv replica=(\d+) ", log, re.M)
        if ns and not moved:
            problems.append(f"nameserv's replica on core {died[0]} was not started elsewhere")
        elif ns and moved.group(1) == "0":
            # The sequencer: the moved instance takes the furthest table the others held, and
            # every other replica joins it and agrees.
            f["ns0_moves"] += 1
            after = log[moved.start():]
            if not re.search(r"nameserv: replica 0 took the table from replica \d+: ", after):
                problems.append("nameserv's replica 0 moved off core 0 but never took the others' table")
            if re.search(r"nameserv: replica 0 had no answer from replica \d+", after):
                problems.append("nameserv's moved replica 0 recovered without a replica's answer")
            k = re.search(r"nameserv: replica \d+ of (\d+) serving", log)
            for r in range(1, int(k.group(1)) if k else 1):
                if not re.search(rf"nameserv: replica {r} agrees with replica 0 at entry", after):
                    problems.append(f"nameserv replica {r} never joined the moved replica 0 and agreed")
        elif ns:
            after = log[moved.start():]
            if not re.search(rf"nameserv: replica {moved.group(1)} agrees with replica 0 at entry", after):
                problems.append(f"nameserv replica {moved.group(1)} moved off core {died[0]} but never joined and agreed")
    if re.search(r"nameserv: replica \d+ DIFFERS from replica 0", log):
        problems.append("a nameserv replica's table differs from replica 0's")
    if f["panics"]:
        problems.append(f"{f['panics']} panic lines")
    if f["down"]:
        problems.append(f"{f['down']} replicas left down")
    # Each hang must end: its monitor ends the replica as hung at the missed heartbeat, unless a
    # crash: step of the plan or its core's stop ended it first.
    for h in re.finditer(r"kvstore: hang_after=\d+: replica (\d+) hangs", log):
        core = targets[int(h.group(1))]
        if not re.search(rf"^(server-(hung|crashed) name=kvstore core={core}|(core|coordinator)-lost core={core}) ", log[h.end():], re.M):
            problems.append(f"replica {h.group(1)} hung and was never ended")
    return f, problems


def main():
    ap = argparse.ArgumentParser(prog="myriad faults")
    ap.add_argument("config", nargs="?", default="configs/faults.toml")
    ap.add_argument("--crashes", type=int, default=20, help="crashes to inject in all (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-boot", type=int, default=5, help="fault events per boot (default 5)")
    ap.add_argument("--ops", type=int, default=300, help="operations per client (at most 1000)")
    # K replicas survive K - 1 failures at a time: with two, a second crash before the first
    # replica is back (restarted and given the table) can lose acknowledged writes
    # (docs/faults.md). The gaps keep events apart by more than a recovery takes here; shorter
    # gaps test beyond the tolerance.
    ap.add_argument("--min-gap", type=int, default=700, help="least ms between crashes (default 700)")
    ap.add_argument("--max-gap", type=int, default=1400, help="most ms between crashes (default 1400)")
    ap.add_argument("--hangs", type=float, default=0.5,
                    help="share of boots in which a replica hangs (default 0.5; needs `heartbeat` in kvstore's table)")
    ap.add_argument("--core-deaths", type=float, default=0.0,
                    help="share of boots that end their faults by stopping a whole core (needs core_heartbeat; default 0)")
    ap.add_argument("--core0", type=float, default=0.0,
                    help="share of those core deaths that stop core 0 (needs 3 cores; nameserv, if any, with a restart policy; default 0)")
    ap.add_argument("--nameserv", type=float, default=0.0,
                    help="share of fault events that crash a nameserv replica instead (its table needs a restart policy)")
    ap.add_argument("--strict", action="store_true", help="losses after every replica was down at once fail the campaign (the default)")
    ap.add_argument("--lenient", action="store_true",
                    help="report losses after every replica was down at once apart instead (replicas without logs: log=off)")
    ap.add_argument("--time-limit", type=float, default=0,
                    help="seconds after which no new boot starts (the boots under way finish; the summary says how many faults ran); 0: none")
    ap.add_argument("--out", default=None, help="where faults.csv goes (default: none)")
    ap.add_argument("--keep-logs", action="store_true", help="with --out: keep every boot's log, not only failed ones")
    ap.add_argument("--jobs", type=int, default=1,
                    help="boots run at once (default 1; each QEMU takes one host core); a seed draws the same boots")
    ap.add_argument("--bench", action="store_true",
                    help="also time each restart, crash to serving again (./myriad bench faults; recovery.csv with --out)")
    args = ap.parse_args()
    if args.jobs < 1:
        sys.exit("faults: --jobs must be at least 1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.environ.get("MYRIAD_BUILD", os.path.join(root, "build"))
    ctl = os.path.join(build, "tools", "myriadctl")
    kernel = os.path.join(build, "cpudriver", "myriad-kernel")
    base = open(args.config).read()
    # The replicas' cores: kvstore's `cores = "per-node"` puts the primary on core 0 and a backup
    # on the first core of each other node (one node per socket, as the campaign's configs have).
    parsed = tomllib.loads(base)
    machine = parsed.get("machine", {})
    # A hang is ended only by a heartbeat: without one in kvstore's table, inject none.
    if args.hangs > 0 and not any(t.get("program") == "kvstore" and "heartbeat" in t for t in parsed.get("server", [])):
        print("faults: kvstore's [[server]] table has no heartbeat: no hangs injected", flush=True)
        args.hangs = 0
    sockets, cores = int(machine.get("sockets", 1)), int(machine.get("cores", 1)) * int(machine.get("threads", 1))
    # kvstore's cores: "per-node" (the first core of each node: one node per socket, as the
    # campaign's configs have) or a list like "0,4,7".
    placed = next((t.get("cores") for t in parsed.get("server", []) if t.get("program") == "kvstore"), "per-node")
    if placed == "per-node":
        targets = [s * cores for s in range(sockets)]
    else:
        targets = []
        for part in placed.split(","):
            a, _, b = part.partition("-")
            targets += list(range(int(a), int(b or a) + 1))
    # Cores a plan may stop: any but core 0 (with --core0, core 0 too: docs/faults.md, "Core 0
    # dies"). The first core of a node relays the name table's agreement
    # and runs that node's nameserv replica (under restart = never: lost, its clients go to
    # nameserv.0).
    stoppable = list(range(1, sockets * cores))
    if args.core_deaths > 0 and not parsed.get("system", {}).get("core_heartbeat"):
        sys.exit("faults: --core-deaths needs [system] core_heartbeat in the config")
    # Core 0 may stop when the cores left can elect a coordinator (3 cores or more). nameserv's
    # replica 0 moves with its table only under a restart policy (docs/servers.md, "Replica 0 moves").
    ns_server = next((t for t in parsed.get("server", []) if t.get("program") == "nameserv"), None)
    if args.core0 > 0 and (sockets * cores < 3 or (ns_server and not ns_server.get("restart"))):
        sys.exit("faults: --core0 needs 3 cores or more, and a restart policy on nameserv's [[server]] if there is one")
    clients = list(range(1, sockets * cores))  # spawn:kvload starts one on every core but the boot core
    # nameserv's replicas: one per node, on its first core (cores = "per-node").
    ns_table = next((t for t in parsed.get("server", []) if t.get("program") == "nameserv"), None)
    if args.nameserv > 0 and not (ns_table and ns_table.get("restart") and ns_table.get("cores", "per-node") == "per-node"):
        sys.exit("faults: --nameserv needs a per-node nameserv [[server]] with a restart policy")
    ns = (args.nameserv, [s * cores for s in range(sockets)])
    rng = random.Random(args.seed)
    total = {"ns_crashes": 0, "boots": 0, "double": 0, "beyond_boots": 0, "injected": 0, "killed": 0, "under_load": 0, "restarts": 0, "acked": 0, "uncertain": 0, "puts": 0, "lost": 0, "wrong": 0,
             "conflicts": 0, "retried": 0, "panics": 0, "failed_boots": 0, "most_down": 0, "hung": 0, "malformed": 0, "refused": 0,
             "core_deaths": 0, "replica_cores": 0, "primary_cores": 0, "ns0_moves": 0, "txns": 0, "txn_uncertain": 0, "torn": 0, "hist_calls": 0, "hist_unknown": 0, "hist_keys": 0}
    rows, recov, detect, silent = [], [], [], []
    t0 = time.time()

    def draw(boot, remaining):
        """Boot `boot`'s faults, drawn from the seed's one generator in boot order (so a seed gives
        the same boots whatever --jobs is)."""
        n = min(args.per_boot, remaining)
        core_death = None
        if rng.random() < args.core_deaths and stoppable:
            # Half the time a kvstore replica's core: a backup's, or the primary's where it is
            # not on core 0 (its instance moves and recovers without its log).
            replicas = [c for c in targets[1:] + targets[:1] if c in stoppable]
            core_death = rng.choice(replicas) if replicas and rng.random() < 0.5 else rng.choice(stoppable)
            if args.core0 > 0 and rng.random() < args.core0:  # drawn only then: seeds keep their boots
                core_death = 0
        plan, died, n = plan_for(rng, n, args.ops, targets, (args.min_gap, args.max_gap), clients, core_death, ns)
        # A hang at a write drawn over the boot's writes (every kvload operation writes).
        hang = (rng.randrange(len(targets)), rng.randint(20, max(21, args.ops * len(clients) // 4))) if rng.random() < args.hangs else None
        return {"boot": boot, "events": n + (1 if hang else 0), "plan": plan, "died": died, "hang": hang}

    def boot_once(b):
        """One boot of the config with b's plan: its log and the key histories' check."""
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "faults.toml")
            open(cfg, "w").write(with_hang(with_plan(base, b["plan"]), b["hang"]))
            logf = os.path.join(tmp, "run.log")
            r = subprocess.run([ctl, "run", cfg, "--kernel", kernel, "--accel", "tcg", "--quiet", "--log", logf,
                                "--programs", os.path.join(build, "user")], capture_output=True, text=True)
            log = open(logf, errors="replace").read() if os.path.exists(logf) else ""
            # Every key's history, checked for linearizability (myriadctl check-history).
            hist = subprocess.run([ctl, "check-history", logf], capture_output=True, text=True) if log else None
        return r, log, hist

    # --jobs boots run at once (each QEMU is one host thread under single-threaded TCG); their
    # results are taken in boot order, and a boot is drawn only while faults are still owed
    # counting those of the boots under way, so --jobs 1 runs exactly the boots it always did.
    in_flight = collections.deque()
    drawn = 0
    stop = False
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        while True:
            owed = args.crashes - total["injected"] - total["hung"] - sum(b["events"] for b, _ in in_flight)
            if args.time_limit and time.time() - t0 > args.time_limit and not stop:
                stop = True
                print(f"faults: time limit of {args.time_limit:.0f} s reached: no new boots; "
                      f"{sum(b['events'] for b, _ in in_flight)} faults in the {len(in_flight)} boots under way", flush=True)
            if not stop and owed > 0 and len(in_flight) < args.jobs:
                drawn += 1
                b = draw(drawn, owed)
                in_flight.append((b, pool.submit(boot_once, b)))
                continue
            if not in_flight:
                break
            b, fut = in_flight.popleft()
            r, log, hist = fut.result()
            boot, plan, died, hang = b["boot"], b["plan"], b["died"], b["hang"]
            f, problems = check(log, targets, died)
            m = re.search(r"check-history: (\d+) calls \((\d+) unknown\)", hist.stdout) if hist else None
            f["hist_calls"], f["hist_unknown"] = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
            m = re.search(r"on (\d+) keys", hist.stdout) if hist else None
            f["hist_keys"] = int(m.group(1)) if m else 0
            if hist is not None and hist.returncode != 0:
                problems.append("key history: " + " ".join(hist.stdout.split("\n")[1:3]).strip()[:300])
            elif hist is not None and f["clients"] and f["hist_calls"] == 0:
                problems.append("key history: no kvhist lines")
            recov += [(boot,) + r for r in recoveries(log, targets)]
            detect += detections(log)
            silent += coordinator_losses(log)
            if f["clients"] == 0:
                problems.append(f"no client reported (myriadctl exit {r.returncode}: {r.stderr.strip()[-200:]})")
            else:
                # The client on the stopped core dies with it, unless it finished (and reported) first.
                with_core = 1 if died and died[1] and not re.search(rf"kvload core={died[0]} ", log) else 0
                if f["clients"] + f["killed"] + with_core != len(clients):
                    problems.append(f"{f['clients']} clients reported and {f['killed']} were killed"
                                    f"{' (and one died with its core)' if with_core else ''}, of {len(clients)}")
            if f["clients"] and f["refused"] == 0:
                problems.append(f"{f['malformed']} malformed requests sent, none answered bad_request")
            if f["restarts"] < f["injected"] + f["hung"]:
                problems.append(f"{f['injected']} crashes and {f['hung']} hangs but {f['restarts']} restarts")
            if (problems or args.keep_logs) and args.out:  # the whole log of a boot that did not pass, with its config
                os.makedirs(args.out, exist_ok=True)
                open(os.path.join(args.out, f"boot-{boot}.log"), "w").write(log)
                open(os.path.join(args.out, f"boot-{boot}.toml"), "w").write(with_hang(with_plan(base, plan), hang))
            # A boot where every replica was down at once may lose writes: that is the tolerance, not
            # a bug; it is reported apart, and fails the campaign only with --strict.
            beyond = f["double"] > 0 and problems and args.lenient and not args.strict
            total["boots"] += 1
            total["double"] += f["double"]
            total["beyond_boots"] += 1 if beyond else 0
            for k in ("ns_crashes", "injected", "hung", "killed", "under_load", "restarts", "acked", "uncertain", "puts", "lost", "wrong", "conflicts", "retried", "panics",
                      "malformed", "refused", "core_deaths", "replica_cores", "primary_cores", "ns0_moves", "txns", "txn_uncertain", "torn", "hist_calls", "hist_unknown", "hist_keys"):
                total[k] += f[k]
            if problems and not beyond:
                total["failed_boots"] += 1
            status = "ok" if not problems else ("beyond tolerance (every replica down at once): " if beyond else "FAILED: ") + "; ".join(problems[:3])
            total["most_down"] = max(total["most_down"], f["most_down"])
            print(f"boot {boot}: crashes={f['injected']} nameserv={f['ns_crashes']} hangs={f['hung']} cores-stopped={f['core_deaths']} under-load={f['under_load']} most-down={f['most_down']} all-down={f['double']} restarts={f['restarts']} "
                  f"clients={f['clients']} killed={f['killed']} "
                  f"increments={f['acked']}+{f['uncertain']}? puts={f['puts']} lost={f['lost']} wrong={f['wrong']} "
                  f"txns={f['txns']}+{f['txn_uncertain']}? torn={f['torn']} history={f['hist_calls']} "
                  f"twice={f['conflicts']} resent={f['retried']} malformed={f['malformed']}/{f['refused']} {status}", flush=True)
            if problems:
                print(f"  plan: {plan}" + (f" hang: replica {hang[0]} at write {hang[1]}" if hang else ""), flush=True)
            rows.append((boot, f["injected"], f["hung"], f["under_load"], f["restarts"], f["clients"], f["killed"], f["acked"], f["uncertain"], f["puts"], f["lost"],
                         f["wrong"], f["conflicts"], f["retried"], f["panics"], f["double"], f["malformed"], f["refused"], f["core_deaths"],
                         f["txns"], f["txn_uncertain"], f["torn"], f["hist_calls"], "ok" if not problems else ("beyond" if beyond else "failed")))
            if f["injected"] == 0 and boot > 3 * (args.crashes // max(args.per_boot, 1) + 1):
                stop = True  # crashes never land: do not loop for ever
    print(f"faults: {total['boots']} boots, {total['injected']} crashes injected ({total['under_load']} of kvstore while clients ran, "
          f"{total['ns_crashes']} of nameserv replicas), "
          f"{total['hung']} hangs ended by heartbeat, "
          f"{total['killed']} clients killed mid-run, "
          f"{total['core_deaths']} cores stopped and removed ({total['replica_cores']} of them a kvstore replica's, "
          f"{total['primary_cores']} the primary's{', ' + str(total['ns0_moves']) + ' nameserv replica 0' + chr(39) + 's' if total['ns0_moves'] else ''}), "
          f"{total['restarts']} restarts, "
          f"{total['acked']} acknowledged increments, {total['puts']} acknowledged puts and "
          f"{total['txns']} acknowledged two-key transactions checked ({total['torn']} seen half applied), "
          f"{total['hist_calls']} calls on {total['hist_keys']} key histories checked for linearizability ({total['hist_unknown']} of unknown outcome), "
          f"{total['lost'] + total['wrong']} acknowledged writes lost or wrong, {total['conflicts']} done twice, "
          f"{total['uncertain']} uncertain, {total['retried']} requests resent, "
          f"{total['malformed']} malformed requests sent under load ({total['refused']} answered bad_request, the rest lost to a crash), "
          f"{total['panics']} panics, "
          f"{len(targets)} replicas, at most {total['most_down']} down at once, "
          f"{total['double']} times all down ({total['beyond_boots']} boots lost writes to that, reported apart), "
          f"{total['failed_boots']} boots failed ({time.time() - t0:.0f} s, seed {args.seed})")
    if args.bench:
        plain = [r[1:] for r in recov]
        print(f"restarts (timer ticks of the replica's core, 100 per second at the default timer_hz; calls of the table transfer):")
        for role in ("primary", "backup"):
            print(f"  {summary(plain, role)}")
        if detect:
            # A replica on a stopped core: detection (monitor 0's clock), then its new instance's
            # start to serving (its new core's clock); the spawn between them is not timed.
            d = sorted(detect)
            print(f"  core stopped to removed from the membership: {len(d)} measured, median {d[len(d) // 2]} ms, "
                  f"p90 {d[min(len(d) - 1, int(0.9 * len(d)))]}, max {d[-1]} (monitor 0's clock)")
        if silent:
            d = sorted(silent)
            print(f"  core 0 (the coordinator) silent to a committed view without it: {len(d)} measured, median "
                  f"{d[len(d) // 2]} ms, p90 {d[min(len(d) - 1, int(0.9 * len(d)))]}, max {d[-1]} (the new coordinator's clock)")
        if detect or silent:
            for role in ("moved primary", "moved backup"):
                print(f"  {summary(plain, role, 'start on its new core to serving')}")
        print(f"client-visible: {total['uncertain']} calls failed after the runtime's retries (uncertain), "
              f"{total['retried']} requests resent; acknowledged writes lost: {total['lost'] + total['wrong']}")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        if args.bench:
            with open(os.path.join(args.out, "recovery.csv"), "w") as out:
                out.write("boot,role,ticks,calls\n")
                for r in recov:
                    out.write(",".join("" if x is None else str(x) for x in r) + "\n")
        with open(os.path.join(args.out, "faults.csv"), "w") as out:
            out.write("boot,crashes,hangs,under_load,restarts,clients,clients_killed,increments_acked,increments_uncertain,puts_acked,lost,wrong,"
                      "done_twice,resent,panics,all_down,malformed,refused,cores_stopped,txns_acked,txns_uncertain,torn,history_calls,result\n")
            for row in rows:
                out.write(",".join(str(x) for x in row) + "\n")
    return 1 if total["failed_boots"] or total["injected"] + total["hung"] < args.crashes else 0


sys.exit(main())
