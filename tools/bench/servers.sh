#!/usr/bin/env bash
# Servers (./myriad bench servers [--quick] [--out DIR]): RPC round trips through the servers'
# runtime (servers/rpc) as ratios to a null system call and to a raw cache-line ping-pong between
# the same two domains over the same connection's memory, in the same boot: server and client on
# one core, on two cores of one node, on two nodes. Cross-core boots use multi-threaded TCG (each
# vCPU its own host thread, 2 vCPUs), as spinning against each other needs; the ratios are TCG's,
# cycles mean something only on real cores. Then kvstore's URPC lines per operation for 1, 2 and 3
# replicas (primary-backup: every write is forwarded to each backup before it is answered). Then a
# bind-call-close loop to a server on the boot core against one on another core, and memserv's
# node-local share.
# --quick: one boot per figure as well, but only replicas 1 and 2 (CI runs it: label bench).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
build="${MYRIAD_BUILD:-$ROOT/build}"
out="$ROOT/docs/results"; quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --quick) quick=1; shift ;;
        *) echo "usage: $0 [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
ctl="$build/tools/myriadctl"; kernel="$build/cpudriver/myriad-kernel"; user="$build/user"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
boot() {  # boot NAME SOCKETS CORES TCG-THREADS PLAN
    printf 'name = "%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 300\n' \
        "$1" "$2" "$3" "$(( $2 * 256 ))" > "$tmp/$1.toml"
    if ! "$ctl" run "$tmp/$1.toml" --kernel "$kernel" --accel tcg --tcg-threads "$4" --quiet --log "$tmp/$1.log" \
        --module "$user/monitor" --module "$user/rpcecho" --module "$user/rpcbench" --module "$user/kvstore" \
        --module "$user/kvbench" --append monitor=monitor --append "plan=$5" >/dev/null; then
        echo "boot $1 failed; log:" >&2; tail -20 "$tmp/$1.log" >&2; exit 1
    fi
    tr -d '\r' < "$tmp/$1.log" | grep -E 'bench-servers|bench-kvstore' | sed 's/^.*\(bench-[a-z]*\)/\1/'
}
date_now=$(date -u +%Y-%m-%dT%H:%MZ)
echo "placement,null_ticks,rpc_ticks,rpc512_ticks,line_ticks,rpc_per_null,rpc_per_line" > "$out/servers_rpc.csv"
printf '%-11s %10s %10s %12s %10s %12s %12s\n' placement null rpc rpc-512B line rpc/null rpc/line
for shape in "same-core 1 1 single 0 0" "same-node 1 2 multi 1 1" "cross-node 2 1 multi 1 2"; do
    read -r label s c threads cli arg <<< "$shape"
    boot "$label" "$s" "$c" "$threads" "spawn:rpcecho@0=1,spawn:rpcbench@$cli=$arg,wait,shutdown" |
        grep bench-servers | sed 's/bench-servers //; s/[a-z_0-9]*=//g' |
    while read -r place _ _ null rpc rpc512 line rn rl _ _; do
        [ "$place" = same-core ] && { line=-; rl=-; }
        printf '%-11s %10s %10s %12s %10s %12s %12s\n' "$place" "$null" "$rpc" "$rpc512" "$line" "$rn" "$rl"
        echo "$place,$null,$rpc,$rpc512,$line,$rn,$rl" >> "$out/servers_rpc.csv"
    done
done
echo "replicas,op,ops,lines,lines_per_op" > "$out/servers_kvstore.csv"
printf '%8s %-5s %5s %7s %12s\n' replicas op ops lines lines/op
reps="1 2 3"; [ $quick = 1 ] && reps="1 2"
for r in $reps; do
    # Replica i on core i; the bench client on core 3; backups exit after 2 closes (primary, client).
    plan="spawn:kvstore@0=$(( (1 << 16) | (r << 8) ))"
    for ((i = 1; i < r; i++)); do plan+=",spawn:kvstore@$i=$(( (2 << 16) | (r << 8) | i ))"; done
    plan+=",spawn:kvbench@3=$r,wait,shutdown"
    boot "kv$r" 4 1 single "$plan" | grep bench-kvstore | sed 's/bench-kvstore //; s/[a-z_]*=//g' |
    while read -r reps_ op ops lines per; do
        printf '%8s %-5s %5s %7s %12s\n' "$reps_" "$op" "$ops" "$lines" "$per"
        echo "$reps_,$op,$ops,$lines,$per" >> "$out/servers_kvstore.csv"
    done
done
# Binding: bind, one call, close, in a loop (tests/programs/ring_cycle.cpp) from core 5 (socket 1)
# to the counter server, on the boot core 0 and on core 4, under the plan's `wait` step as the
# tests run it; single-threaded TCG, 2 x 4 vCPUs. The time per cycle comes from the loop's timer
# ticks (100 Hz, so a run of many cycles); the baseline is the same loop to core 4 in the same
# bench. A ratio far from 1 means core 0's monitor answers late (docs/monitors.md, "How long a
# binding takes": it was about 20 before 2026-12-02).
cycles=2000; [ $quick = 1 ] && cycles=300
echo "server_core,client_core,cycles,ticks,ms_per_cycle,ratio_to_core4" > "$out/servers_bind.csv"
printf '%6s %6s %7s %6s %12s %10s
' server client cycles ticks ms/cycle "/core 4"
declare -A bind_ticks
for server in 4 0; do
    cfg="$tmp/bind$server.toml"
    printf 'name = "bind"
[machine]
sockets = 2
cores = 4
threads = 1
memory = "512M"
[run]
timeout = 600
[system]
monitor = "monitor"
programs = ["ring_cycle"]
plan = "spawn:ring_cycle@5=%s,wait,shutdown"
[[server]]
program = "counter"
cores = "%s"
'         "$cycles" "$server" > "$cfg"
    if ! "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --tcg-threads single --quiet --log "$tmp/bind.log" --programs "$user" >/dev/null; then
        echo "binding boot (server on core $server) failed; log:" >&2; tail -20 "$tmp/bind.log" >&2; exit 1
    fi
    t=$(tr -d '\r' < "$tmp/bind.log" | grep -o "ring_cycle: core 5 cycles=$cycles .* ticks=[0-9]*" | sed 's/.*ticks=//')
    [ -n "$t" ] || { echo "binding boot (server on core $server): no ticks line" >&2; exit 1; }
    bind_ticks[$server]=$t
    ms=$(awk -v t="$t" -v n="$cycles" 'BEGIN { printf "%.2f", t * 10 / n }')
    ratio=$(awk -v t="$t" -v b="${bind_ticks[4]}" 'BEGIN { printf "%.2f", b ? t / b : 0 }')
    printf '%6s %6s %7s %6s %12s %10s
' "$server" 5 "$cycles" "$t" "$ms" "$ratio"
    echo "$server,5,$cycles,$t,$ms,$ratio" >> "$out/servers_bind.csv"
done
# memserv's node-local share: an instance per node (pool P pages of 4 KiB), every core but 0 takes
# 4 grants of 16 KiB (its own node first, then the nearest by the SLIT); a pool of 16 grants holds
# its node's demand (4 cores x 4), one of 8 does not: the rest is served remote or refused.
echo "machine,pool_grants_per_node,grants,local,share" > "$out/servers_memserv.csv"
printf '%-6s %12s %7s %6s %6s\n' machine pool-grants grants local share
shapes="4 4"; [ $quick = 0 ] && shapes="4 4,8 8"
IFS=',' read -ra shape_list <<< "$shapes"
for shape in "${shape_list[@]}"; do
    read -r s c <<< "$shape"
    for pool in 64 32; do
        cfg="$tmp/mem${s}s${c}c$pool.toml"
        printf 'name = "mem"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[kernel]\noptions = ["memserv.pool=2"]\n[run]\ntimeout = 300\n[system]\nmonitor = "monitor"\nprograms = ["memload", "memstat"]\nplan = "spawn:memload=4,wait,spawn:memstat@0=0,wait,spawn:memstat@0=4,wait,shutdown"\n[[server]]\nprogram = "memserv"\ncores = "per-node"\nreplicas = %s\nargs = "pool_pages=%s"\n' \
            "$s" "$c" "$(( s * 256 ))" "$s" "$pool" > "$cfg"
        if ! "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --quiet --log "$tmp/mem.log" --programs "$user" >/dev/null; then
            echo "memserv boot ${s}s${c}c failed; log:" >&2; tail -20 "$tmp/mem.log" >&2; exit 1
        fi
        # Counted by the clients: a grant is local when its client's own node's instance made it.
        read -r grants local share <<< "$(tr -d '\r' < "$tmp/mem.log" | grep -o 'memload core [0-9]* grants=[0-9]* remote=[0-9]*' |
            sed 's/.*grants=\([0-9]*\) remote=\([0-9]*\)/\1 \2/' |
            awk '{g += $1; r += $2} END {printf "%d %d %.2f", g, g - r, g ? (g - r) / g : 0}')"
        printf '%-6s %12s %7s %6s %6s\n' "${s}s${c}c" "$(( pool / 4 ))" "$grants" "$local" "$share"
        echo "${s}s${c}c,$(( pool / 4 )),$grants,$local,$share" >> "$out/servers_memserv.csv"
    done
done
echo "# measured $date_now on $(nproc) host CPUs, QEMU TCG; command: ./myriad bench servers" >> "$out/servers_rpc.csv"
echo "wrote $out/servers_rpc.csv, $out/servers_kvstore.csv, $out/servers_bind.csv and $out/servers_memserv.csv"
