#!/usr/bin/env python3
"""The fault campaign (./myriad faults, docs/faults.md).

Boots CONFIG again and again, each time with a run plan written from the seed: the client load
(kvload on every other core, --ops each), then fault events at random moments, --min-gap to
--max-gap ms apart (crash: steps: the primary, the backup, the backup twice while it rejoins, or a
client killed mid-run; EVENTS), until --crashes crashes of kvstore replicas were injected. Every boot is
checked: each client's counter against its acknowledged and uncertain increments, every
acknowledged put readable with its value, no swap done twice, no kernel panic, every crash
answered by a restart. Prints one line per boot and a summary; writes faults.csv to --out.
Exit status 1 when any check failed."""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time


# The faults a boot's plan injects, one drawn per event (weights in percent): a crash of the
# primary or of the backup, a backup crashed again while it rejoins (20-150 ms after its first
# crash: it may still be restarting or taking the table), and a client killed mid-request.
EVENTS = (("primary", 35), ("backup", 25), ("rejoin", 20), ("client", 20))


def plan_for(rng, events, ops, targets, gap, clients):
    steps = [f"spawn:kvload={ops}"]
    alive = list(clients)
    for _ in range(events):
        steps.append(f"sleep:{rng.randint(gap[0], gap[1])}")
        kind = rng.choices([e for e, _ in EVENTS], weights=[w for _, w in EVENTS])[0]
        if kind == "client" and len(alive) > 1:
            steps.append(f"crash:kvload@{alive.pop(rng.randrange(len(alive)))}")
        elif kind == "rejoin":
            steps += [f"crash:kvstore@{targets[1]}", f"sleep:{rng.randint(20, 150)}", f"crash:kvstore@{targets[1]}"]
        else:
            steps.append(f"crash:kvstore@{targets[0] if kind == 'primary' else targets[1]}")
    steps += ["sleep:1500", "wait", "shutdown"]  # the last crash's restart comes before the end
    return ",".join(steps)


def with_plan(config_text, plan):
    out, done = [], False
    for line in config_text.splitlines():
        if re.match(r"^\s*plan\s*=", line) and not done:
            line, done = f'plan = "{plan}"', True
        out.append(line)
    if not done:
        sys.exit("faults: the config has no [system] plan line to replace")
    return "\n".join(out) + "\n"


def double_failures(log):
    """Crashes of one replica while the other was not back yet (outside what two replicas survive,
    docs/faults.md): the primary crashed after the backup crashed and before the primary gave it
    the table again (`backup 1 back`), or the backup crashed after the primary crashed and before
    the restarted primary recovered from it (`primary recovered`)."""
    n, backup_down, primary_down = 0, False, False
    for line in log.splitlines():
        if line.startswith("server-crashed name=kvstore core=4 "):
            n += primary_down
            backup_down = True
        elif line.startswith("server-crashed name=kvstore core=0 "):
            n += backup_down
            primary_down = True
        elif "kvstore: backup 1 back:" in line:
            backup_down = False
        elif "kvstore: primary recovered" in line or "restarted primary reached no backup" in line:
            primary_down = False
    return n


def check(log):
    """The boot's figures and what broke."""
    f = {
        "injected": len(re.findall(r"^server-crashed name=kvstore ", log, re.M)),
        "killed": len(re.findall(r"^server-crashed name=kvload ", log, re.M)),
        "restarts": len(re.findall(r"^server-restart name=kvstore ", log, re.M)),
        "down": len(re.findall(r"^server-down name=kvstore ", log, re.M)),
        "panics": len(re.findall(r"panic", log)),
        "clients": 0, "acked": 0, "uncertain": 0, "puts": 0, "lost": 0, "wrong": 0, "conflicts": 0, "retried": 0,
    }
    for m in re.finditer(r"kvload core=\d+ ops=\d+ acked=(\d+) uncertain=(\d+) counter=\d+ puts=(\d+) lost=(\d+) "
                         r"wrong=(\d+) conflicts=(\d+) retried=(\d+)", log):
        f["clients"] += 1
        for k, v in zip(("acked", "uncertain", "puts", "lost", "wrong", "conflicts", "retried"), m.groups()):
            f[k] += int(v)
    # Crashes while clients were still running: before the last client's report.
    last_client = max((m.start() for m in re.finditer(r"kvload core=", log)), default=-1)
    f["under_load"] = len([m for m in re.finditer(r"^server-crashed name=kvstore ", log, re.M) if m.start() < last_client])
    f["double"] = double_failures(log)
    fails = re.findall(r"test-fail: (.*)", log)
    problems = list(fails)
    if f["panics"]:
        problems.append(f"{f['panics']} panic lines")
    if f["down"]:
        problems.append(f"{f['down']} replicas left down")
    return f, problems


def main():
    ap = argparse.ArgumentParser(prog="myriad faults")
    ap.add_argument("config", nargs="?", default="configs/faults.toml")
    ap.add_argument("--crashes", type=int, default=20, help="crashes to inject in all (default 20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-boot", type=int, default=5, help="fault events per boot (default 5)")
    ap.add_argument("--ops", type=int, default=300, help="operations per client (at most 1000)")
    # Two replicas survive one crash at a time: a second crash before the first replica is back
    # (restarted and given the table) can lose acknowledged writes (docs/faults.md). The gaps keep
    # crashes apart by more than a recovery takes here; shorter gaps test beyond the tolerance.
    ap.add_argument("--min-gap", type=int, default=700, help="least ms between crashes (default 700)")
    ap.add_argument("--max-gap", type=int, default=1400, help="most ms between crashes (default 1400)")
    ap.add_argument("--strict", action="store_true", help="count losses after a double failure as failures too")
    ap.add_argument("--out", default=None, help="where faults.csv goes (default: none)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.environ.get("MYRIAD_BUILD", os.path.join(root, "build"))
    ctl = os.path.join(build, "tools", "myriadctl")
    kernel = os.path.join(build, "cpudriver", "myriad-kernel")
    base = open(args.config).read()
    # The replicas' cores: the primary on the first core, backups on the first core of each other
    # node (cores = "per-node" on this config's 2 sockets x 4 cores: 0 and 4).
    targets = [0, 4]
    clients = [1, 2, 3, 4, 5, 6, 7]  # spawn:kvload starts one on every core but the boot core
    rng = random.Random(args.seed)
    total = {"boots": 0, "double": 0, "beyond_boots": 0, "injected": 0, "killed": 0, "under_load": 0, "restarts": 0, "acked": 0, "uncertain": 0, "puts": 0, "lost": 0, "wrong": 0,
             "conflicts": 0, "retried": 0, "panics": 0, "failed_boots": 0}
    rows = []
    t0 = time.time()
    while total["injected"] < args.crashes:
        boot = total["boots"] + 1
        n = min(args.per_boot, args.crashes - total["injected"])
        plan = plan_for(rng, n, args.ops, targets, (args.min_gap, args.max_gap), clients)
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "faults.toml")
            open(cfg, "w").write(with_plan(base, plan))
            logf = os.path.join(tmp, "run.log")
            r = subprocess.run([ctl, "run", cfg, "--kernel", kernel, "--accel", "tcg", "--quiet", "--log", logf,
                                "--programs", os.path.join(build, "user")], capture_output=True, text=True)
            log = open(logf, errors="replace").read() if os.path.exists(logf) else ""
        f, problems = check(log)
        if f["clients"] == 0:
            problems.append(f"no client reported (myriadctl exit {r.returncode}: {r.stderr.strip()[-200:]})")
        elif f["clients"] + f["killed"] != len(clients):
            problems.append(f"{f['clients']} clients reported and {f['killed']} were killed, of {len(clients)}")
        if f["restarts"] < f["injected"]:
            problems.append(f"{f['injected']} crashes but {f['restarts']} restarts")
        # A boot with a double failure may lose writes: that is the tolerance, not a bug; it is
        # reported apart, and fails the campaign only with --strict.
        beyond = f["double"] > 0 and problems and not args.strict
        total["boots"] += 1
        total["double"] += f["double"]
        total["beyond_boots"] += 1 if beyond else 0
        for k in ("injected", "killed", "under_load", "restarts", "acked", "uncertain", "puts", "lost", "wrong", "conflicts", "retried", "panics"):
            total[k] += f[k]
        if problems and not beyond:
            total["failed_boots"] += 1
        status = "ok" if not problems else ("beyond tolerance (double failure): " if beyond else "FAILED: ") + "; ".join(problems[:3])
        print(f"boot {boot}: crashes={f['injected']} under-load={f['under_load']} double={f['double']} restarts={f['restarts']} "
              f"clients={f['clients']} killed={f['killed']} "
              f"increments={f['acked']}+{f['uncertain']}? puts={f['puts']} lost={f['lost']} wrong={f['wrong']} "
              f"twice={f['conflicts']} resent={f['retried']} {status}", flush=True)
        if problems:
            print(f"  plan: {plan}", flush=True)
        rows.append((boot, f["injected"], f["under_load"], f["restarts"], f["clients"], f["killed"], f["acked"], f["uncertain"], f["puts"], f["lost"],
                     f["wrong"], f["conflicts"], f["retried"], f["panics"], f["double"],
                     "ok" if not problems else ("beyond" if beyond else "failed")))
        if f["injected"] == 0 and boot > 3 * (args.crashes // max(args.per_boot, 1) + 1):
            break  # crashes never land: do not loop for ever
    print(f"faults: {total['boots']} boots, {total['injected']} crashes injected ({total['under_load']} while clients ran), "
          f"{total['killed']} clients killed mid-run, "
          f"{total['restarts']} restarts, "
          f"{total['acked']} acknowledged increments and {total['puts']} acknowledged puts checked, "
          f"{total['lost'] + total['wrong']} acknowledged writes lost or wrong, {total['conflicts']} done twice, "
          f"{total['uncertain']} uncertain, {total['retried']} requests resent, {total['panics']} panics, "
          f"{total['double']} double failures ({total['beyond_boots']} boots lost writes to one, reported apart), "
          f"{total['failed_boots']} boots failed ({time.time() - t0:.0f} s, seed {args.seed})")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "faults.csv"), "w") as out:
            out.write("boot,crashes,under_load,restarts,clients,clients_killed,increments_acked,increments_uncertain,puts_acked,lost,wrong,"
                      "done_twice,resent,panics,double_failures,result\n")
            for row in rows:
                out.write(",".join(str(x) for x in row) + "\n")
    return 1 if total["failed_boots"] or total["injected"] < args.crashes else 0


sys.exit(main())
