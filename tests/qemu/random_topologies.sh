#!/usr/bin/env bash
# Boots N random machine shapes (seeded, so reproducible): 1-4 sockets, 1-4 cores, 1-2 threads,
# 1-4 NUMA nodes of random CPU counts, some memory-less, random symmetric distances. Each must
# be accepted by the config validator, boot, and pass the log check. Usage:
#   random_topologies.sh MYRIADCTL KERNEL LOGDIR [COUNT] [SEED]
set -euo pipefail
ctl="$1" kernel="$2" logdir="$3" count="${4:-8}" seed="${5:-2026}"
RANDOM=$seed
mkdir -p "$logdir"
fail=0
for i in $(seq "$count"); do
    s=$((RANDOM % 4 + 1)) c=$((RANDOM % 4 + 1)) t=$((RANDOM % 2 + 1))
    n=$((s * c * t))
    k=$((RANDOM % 4 + 1)); [ $k -gt $n ] && k=$n
    cfg="$logdir/random-$i.toml"
    {
        echo "name = \"random-$i\""
        echo "description = \"random shape $i (seed $seed)\""
        echo "[machine]"
        echo "sockets = $s"; echo "cores = $c"; echo "threads = $t"
        total=0 nodes="" first=0
        for node in $(seq 0 $((k - 1))); do
            left=$((k - 1 - node))                   # nodes still to place after this one
            max=$((n - first - left))
            size=$(( node == k - 1 ? max : RANDOM % max + 1 ))
            mem=$(( (RANDOM % 4 + 1) * 64 ))
            [ "$node" -gt 0 ] && [ $((RANDOM % 4)) -eq 0 ] && mem=0
            total=$((total + mem))
            nodes+=$'\n[[node]]\n'"cpus = \"$first-$((first + size - 1))\""$'\n'"memory = \"${mem}M\""
            first=$((first + size))
        done
        echo "memory = \"${total}M\""
        echo "$nodes"
        echo "[distances]"
        declare -A d
        for a in $(seq 0 $((k - 1))); do for b in $(seq $a $((k - 1))); do
            if [ "$a" = "$b" ]; then d[$a,$b]=10; else v=$((RANDOM % 30 + 11)); d[$a,$b]=$v; d[$b,$a]=$v; fi
        done; done
        rows=""
        for a in $(seq 0 $((k - 1))); do
            row=""; for b in $(seq 0 $((k - 1))); do row+="${row:+, }${d[$a,$b]}"; done
            rows+="${rows:+, }[$row]"
        done
        echo "matrix = [$rows]"
        echo "[run]"; echo "timeout = 90"
    } > "$cfg"
    if "$ctl" run "$cfg" --kernel "$kernel" --accel tcg --check --quiet --log "$logdir/random-$i.log" > "$logdir/random-$i.out" 2>&1; then
        echo "ok   random-$i: ${s}s x ${c}c x ${t}t, $k nodes"
    else
        echo "FAIL random-$i: ${s}s x ${c}c x ${t}t, $k nodes (config $cfg)"; cat "$logdir/random-$i.out"; fail=1
    fi
done
exit $fail
