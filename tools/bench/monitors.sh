#!/usr/bin/env bash
# Monitor protocols (./myriad bench monitors [--out DIR] [--quick]): messages sent (counted by every monitor)
# and critical-path hops for membership, all-pairs ping, remote spawn and a one-to-all broadcast
# (topology-aware tree against sequential unicast, same boot) on 4, 16 and 64 cores under TCG;
# and, on a 2-core machine under multi-threaded TCG (each vCPU its own host thread), two round
# trips as ratios to a raw cache-line ping-pong between the same two cores in the same boot:
# monitor to monitor over the URPC mesh, and user domain to user domain over a channel bound
# through the monitors (bindbench -> bindsrv); and the same mesh round trip between every ordered
# pair of a 2 x 2 machine's vCPUs, as a matrix of ratios (monitors_matrix.csv).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${MYRIAD_BUILD:-$ROOT/build}"
out="$ROOT/docs/results" quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --quick) quick=1; shift ;;  # CI size (./myriad bench all --quick): 4 and 16 cores only
        *) echo "usage: $0 [--out DIR] [--quick]" >&2; exit 2 ;;
    esac
done
shapes="4 1 4,16 4 4,64 8 8" graph_shapes="16 4 4,64 8 8"
[ "$quick" = 1 ] && shapes="4 1 4,16 4 4" graph_shapes="16 4 4"
mkdir -p "$out"
ctl="$BUILD/tools/myriadctl"; kernel="$BUILD/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
boot() {  # boot NAME SOCKETS CORES [myriadctl args]
    printf 'name = "%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[run]\ntimeout = 180\n' \
        "$1" "$2" "$3" "$(( $2 * 256 ))" > "$tmp/$1.toml"
    "$ctl" run "$tmp/$1.toml" --kernel "$kernel" --accel tcg --quiet --log "$tmp/$1.log" \
        --module "$BUILD/user/monitor" --module "$BUILD/user/hello" --module "$BUILD/user/bindsrv" \
        --module "$BUILD/user/bindbench" --append monitor=monitor "${@:4}" >/dev/null
    tr -d '\r' < "$tmp/$1.log" | grep -E '^bench-monitors|bench-bind' | sed 's/^.*bindbench: //' || true
}
echo "cores,phase,messages,critical_path_hops,origin_sends,cross_node_lines" > "$out/monitors.csv"
printf '%6s %-18s %10s %6s %12s %10s\n' cores phase messages hops origin-sends cross-node
IFS=, read -ra list <<< "$shapes"
for shape in "${list[@]}"; do
    read -r n s c <<< "$shape"
    boot "m$n" "$s" "$c" --append plan=broadcast,ping-all,spawn:hello,shutdown | grep phase= | grep -v phase=run |
        sed 's/bench-monitors //; s/ ticks=[0-9]*//; s/[a-z-]*=//g' |
    while read -r cores phase msgs hops origin cross; do
        printf '%6s %-18s %10s %6s %12s %10s\n' "$cores" "$phase" "$msgs" "$hops" "${origin:--}" "${cross:--}"
        echo "$cores,$phase,$msgs,$hops,${origin:-},${cross:-}" >> "$out/monitors.csv"
    done
done
# The channel graph: full mesh against the node graph (relays through node leaders), same plan.
echo "cores,graph,lines,relayed_lines,channels" > "$out/monitors_graph.csv"
printf '%6s %-6s %10s %10s %9s\n' cores graph lines relayed channels
IFS=, read -ra list <<< "$graph_shapes"
for shape in "${list[@]}"; do
    read -r n s c <<< "$shape"
    for g in mesh nodes; do
        boot "g$n$g" "$s" "$c" --append plan=ping-all,spawn:hello,shutdown --append monitor.graph=$g |
            grep 'phase=run' | sed 's/bench-monitors //; s/[a-z-]*=//g' |
        while read -r cores _ graph lines fwd chans; do
            printf '%6s %-6s %10s %10s %9s\n' "$cores" "$graph" "$lines" "$fwd" "$chans"
            echo "$cores,$graph,$lines,$fwd,$chans" >> "$out/monitors_graph.csv"
        done
    done
done
# One boot, both round trips: the bound pair runs first (wait), then the monitors' own bench.
rtt=$(boot rtt 2 1 --append plan=spawn:bindsrv@0=1,spawn:bindbench@1,wait,bench,shutdown --tcg-threads multi |
      grep rtt || true)
echo "$rtt"
echo "kind,urpc_ticks,cacheline_ticks,ratio" > "$out/monitors_rtt.csv"
echo "$rtt" | sed 's/bench-monitors rtt /monitor-monitor,/; s/bench-bind rtt /domain-domain-bound,/; s/[a-z_]*=//g; s/ /,/g' \
    >> "$out/monitors_rtt.csv"
# The in-guest core-to-core matrix (plan step bench:matrix): every ordered pair of the 2 x 2 machine
# under multi-threaded TCG, the mesh round trip beside the raw cache line between the same two vCPUs,
# in the same boot.
echo "from,to,urpc_ticks,cacheline_ticks,ratio" > "$out/monitors_matrix.csv"
boot matrix 2 2 --append plan=bench:matrix,shutdown --tcg-threads multi >/dev/null
tr -d '\r' < "$tmp/matrix.log" | sed -n 's/^bench-matrix from=\([0-9]*\) to=\([0-9]*\) urpc_ticks=\([0-9]*\) cacheline_ticks=\([0-9]*\) ratio=\([0-9.]*\)$/\1,\2,\3,\4,\5/p' \
    >> "$out/monitors_matrix.csv"
echo "in-guest matrix: $(($(wc -l < "$out/monitors_matrix.csv") - 1)) pairs (ratio to the raw cache line):"
cat "$out/monitors_matrix.csv"
echo "wrote $out/monitors.csv, $out/monitors_graph.csv, $out/monitors_rtt.csv and $out/monitors_matrix.csv"
