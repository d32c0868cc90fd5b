#!/usr/bin/env bash
# Replication in the guest (./myriad bench replication --guest [--out DIR] [--ops N,N,N]): every
# monitor holds a KvMap replica and a client issuing seeded random get/add operations (the same
# commuting workload under every protocol, so the numbers compare); 4, 16 and 64 cores under TCG
# (1, 4 and 8 sockets, one NUMA node per socket), multicast tree and sequential unicast fanout.
# Reports, per run: messages per operation and per update (counted by every replica), the
# critical-path hops per update to completion and until every replica has it (from the trees the
# group built), and 2pc retries. Writes DIR/replication_guest.csv.
# --replicas core,node runs every point with one replica per core and with one per NUMA node (the
# node's lowest core; the other cores forward their operations to it); --cores, --fanout and
# --protocols narrow the runs.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
out="$ROOT/docs/results"
ops="100,40,8"  # per core, for 4, 16 and 64 cores
replicas="core"; cores_list="4,16,64"; fanouts="tree,unicast"; protocols="broadcast,sequencer,2pc"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --ops) ops="$2"; shift 2 ;;
        --replicas) replicas="$2"; shift 2 ;;
        --cores) cores_list="$2"; shift 2 ;;
        --fanout) fanouts="$2"; shift 2 ;;
        --protocols) protocols="$2"; shift 2 ;;
        *) echo "usage: $0 [--out DIR] [--ops N4,N16,N64] [--replicas core,node] [--cores 4,16,64] [--fanout tree,unicast] [--protocols broadcast,sequencer,2pc]" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
IFS=, read -r ops4 ops16 ops64 <<< "$ops"
ctl="$ROOT/build/tools/myriadctl"; kernel="$ROOT/build/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
csv="$out/replication_guest.csv"
echo "cores,replicas,fanout,protocol,ops,updates,messages,msgs_per_op,msgs_per_update,hops,reach,retries,agree,rejected,injected" > "$csv"
printf '%5s %-4s %-8s %-9s %6s %8s %8s %9s %9s %6s %6s %7s %5s\n' cores reps fanout protocol ops messages msg/op msg/upd hops reach retries agree
status=0
for shape in "4 1 4 $ops4" "16 4 4 $ops16" "64 8 8 $ops64"; do
    read -r n s c k <<< "$shape"
    [[ ",$cores_list," == *",$n,"* ]] || continue
    for fanout in ${fanouts//,/ }; do
    for rep in ${replicas//,/ }; do
        name="r$n-$fanout-$rep"
        printf 'name = "%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[replication]\nfanout = "%s"\n[run]\ntimeout = 300\n' \
            "$name" "$s" "$c" "$(( s * 256 ))" "$fanout" > "$tmp/$name.toml"
        plan=""
        for p in ${protocols//,/ }; do plan="${plan}replicate:kv:$p:$k:add:$rep,"; done
        plan="${plan}shutdown"
        "$ctl" run "$tmp/$name.toml" --kernel "$kernel" --accel tcg --quiet --log "$tmp/$name.log" \
            --module "$ROOT/build/user/monitor" --append monitor=monitor --append "plan=$plan" >/dev/null || status=1
        tr -d '\r' < "$tmp/$name.log" | grep '^replicate object=' | sed 's/^replicate //' |
        while read -r line; do
            declare -A f=()
            for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
            printf '%5s %-4s %-8s %-9s %6s %8s %9s %9s %6s %6s %7s %5s\n' "${f[cores]}" "${f[replicas]}" "${f[fanout]}" "${f[protocol]}" "${f[ops]}" \
                "${f[messages]}" "${f[msgs-per-op]}" "${f[msgs-per-update]}" "${f[hops]}" "${f[reach]}" "${f[retries]}" "${f[agree]}"
            echo "${f[cores]},${f[replicas]},${f[fanout]},${f[protocol]},${f[ops]},${f[updates]},${f[messages]},${f[msgs-per-op]},${f[msgs-per-update]},${f[hops]},${f[reach]},${f[retries]},${f[agree]},${f[rejected]},${f[injected]}" >> "$csv"
        done
    done
    done
done
echo "wrote $csv"
exit $status
