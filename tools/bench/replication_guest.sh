#!/usr/bin/env bash
# Replication in the guest (./myriad bench replication --guest [options]): every monitor holds a
# replica of one catalogued object (--object NAME, default kv; myr/repl/objects/catalog.hpp) and
# a client issuing the object's own seeded operations (its `sample`, commuting-only: the step's
# `:add`, so the same workload runs under every protocol); 4, 16 and 64 cores under TCG (1, 4 and
# 8 sockets, one NUMA node per socket), multicast tree and sequential unicast fanout.
# One boot per point (cores x fanout x replicas x protocol x repeat), each with its own time
# limit (--point-timeout S, default 600): a point that does not finish is written as timed_out
# and the bench goes on. Reports, per run: messages per operation and per update (counted by
# every replica), the critical-path hops per update to completion and until every replica has
# it (from the trees the group built), 2pc retries and the TSC ticks the operations took.
# Writes OUT/replication_guest.csv (one row per run), OUT/replication_guest_summary.csv (median,
# min and max over --repeat runs) and OUT/replication_guest_msgs.png (messages per update against
# cores). OUT: --out DIR, a new temporary folder by default, docs/results with --update-docs.
# --replicas core,node runs every point with one replica per core and with one per NUMA node (the
# node's lowest core; the other cores forward their operations to it); --cores, --fanout and
# --protocols narrow the runs; --quick is a few-seconds check (4 cores, tree, 20 ops).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
out=""; update_docs=0
ops="100,40,8"  # per core, for 4, 16 and 64 cores
object="kv"; replicas="core"; cores_list="4,16,64"; fanouts="tree,unicast"; protocols="broadcast,sequencer,2pc"
repeat=1; point_timeout=600; plot=1
usage() {
    echo "usage: $0 [--object NAME] [--out DIR | --update-docs] [--ops N4,N16,N64] [--replicas core,node]" >&2
    echo "          [--cores 4,16,64] [--fanout tree,unicast] [--protocols broadcast,sequencer,2pc]" >&2
    echo "          [--repeat N] [--point-timeout S] [--quick] [--no-plot]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --update-docs) update_docs=1; shift ;;
        --object) object="$2"; shift 2 ;;
        --ops) ops="$2"; shift 2 ;;
        --replicas) replicas="$2"; shift 2 ;;
        --cores) cores_list="$2"; shift 2 ;;
        --fanout) fanouts="$2"; shift 2 ;;
        --protocols) protocols="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --point-timeout) point_timeout="$2"; shift 2 ;;
        --quick) cores_list="4"; fanouts="tree"; ops="20,20,8"; shift ;;
        --no-plot) plot=0; shift ;;
        *) usage ;;
    esac
done
if [ "$update_docs" = 1 ]; then
    [ -z "$out" ] || { echo "--update-docs writes docs/results; it does not go with --out" >&2; exit 2; }
    out="$ROOT/docs/results"
fi
[ -n "$out" ] || out="$(mktemp -d /tmp/myriad-bench-replication-guest-XXXXXX)"
mkdir -p "$out"
IFS=, read -r ops4 ops16 ops64 <<< "$ops"
build="${MYRIAD_BUILD:-$ROOT/build}"  # the build tree (CTest points it at its own)
ctl="$build/tools/myriadctl"; kernel="$build/cpudriver/myriad-kernel"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
csv="$out/replication_guest.csv"; summary="$out/replication_guest_summary.csv"
echo "object,cores,replicas,fanout,protocol,run,ops,updates,messages,msgs_per_op,msgs_per_update,hops,reach,retries,ticks,agree,rejected,injected,status" > "$csv"
printf '%-8s %5s %-4s %-8s %-9s %3s %6s %8s %8s %9s %6s %6s %7s %12s %5s %s\n' object cores reps fanout protocol run ops messages msg/op msg/upd hops reach retries ticks agree status
status=0
for shape in "4 1 4 $ops4" "16 4 4 $ops16" "64 8 8 $ops64"; do
    read -r n s c k <<< "$shape"
    [[ ",$cores_list," == *",$n,"* ]] || continue
    for fanout in ${fanouts//,/ }; do
    for rep in ${replicas//,/ }; do
        name="r$n-$fanout-$rep"
        printf 'name = "%s"\n[machine]\nsockets = %s\ncores = %s\nthreads = 1\nmemory = "%sM"\n[replication]\nfanout = "%s"\n[run]\ntimeout = %s\n' \
            "$name" "$s" "$c" "$(( s * 256 ))" "$fanout" "$point_timeout" > "$tmp/$name.toml"
        for p in ${protocols//,/ }; do
        for run in $(seq 1 "$repeat"); do
            log="$tmp/$name-$p-$run.log"
            rc=0
            "$ctl" run "$tmp/$name.toml" --kernel "$kernel" --accel tcg --quiet --log "$log" \
                --module "$build/user/monitor" --append monitor=monitor \
                --append "plan=replicate:$object:$p:$k:add:$rep,shutdown" >/dev/null 2>&1 || rc=$?
            line="$(tr -d '\r' < "$log" | grep '^replicate object=' | sed 's/^replicate //' | head -1 || true)"
            if [ -z "$line" ]; then
                why="failed"
                grep -q 'do not commute' "$log" && why="refused"
                grep -qi 'timeout\|timed out' "$log" && why="timed_out"
                [ "$rc" = 124 ] && why="timed_out"
                [ "$why" = refused ] || status=1
                printf '%-8s %5s %-4s %-8s %-9s %3s %s (exit %s, log kept as %s)\n' "$object" "$n" "$rep" "$fanout" "$p" "$run" "$why" "$rc" "$out/$name-$p-$run.log"
                cp "$log" "$out/$name-$p-$run.log"
                echo "$object,$n,$rep,$fanout,$p,$run,,,,,,,,,,,,,$why" >> "$csv"
                continue
            fi
            [ "$rc" = 0 ] || status=1
            ticks="$(tr -d '\r' < "$log" | grep -o '[0-9]* ticks for the operations' | head -1 | cut -d' ' -f1 || true)"
            declare -A f=()
            for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
            printf '%-8s %5s %-4s %-8s %-9s %3s %6s %8s %8s %9s %6s %6s %7s %12s %5s %s\n' "${f[object]}" "${f[cores]}" "${f[replicas]}" "${f[fanout]}" "${f[protocol]}" "$run" "${f[ops]}" \
                "${f[messages]}" "${f[msgs-per-op]}" "${f[msgs-per-update]}" "${f[hops]}" "${f[reach]}" "${f[retries]}" "$ticks" "${f[agree]}" ok
            echo "${f[object]},${f[cores]},${f[replicas]},${f[fanout]},${f[protocol]},$run,${f[ops]},${f[updates]},${f[messages]},${f[msgs-per-op]},${f[msgs-per-update]},${f[hops]},${f[reach]},${f[retries]},$ticks,${f[agree]},${f[rejected]},${f[injected]},ok" >> "$csv"
        done
        done
    done
    done
done
# Median, min and max over the runs of each point (ok runs only; timed_out / refused counted).
awk -F, 'NR == 1 { next }
    { key = $1 "," $2 "," $3 "," $4 "," $5; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      if ($19 != "ok") { bad[key] = bad[key] (bad[key] ? " " : "") $19; next }
      m[key] = m[key] " " $11; r[key] = r[key] " " $14; t[key] = t[key] " " $15; ok[key]++ }
    function stats(list,   a, k, i, j, x, med) {
        k = split(list, a, " ")
        for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j + 1] = a[j]; a[j + 1] = x }
        med = k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        return med "," a[1] "," a[k]
    }
    BEGIN { print "object,cores,replicas,fanout,protocol,runs_ok,msgs_per_update,msgs_per_update_min,msgs_per_update_max,retries,retries_min,retries_max,ticks,ticks_min,ticks_max,not_ok" }
    END { for (i = 1; i <= n; i++) { key = order[i]
            if (ok[key]) print key "," ok[key] "," stats(m[key]) "," stats(r[key]) "," stats(t[key]) "," bad[key]
            else print key ",0,,,,,,,,," bad[key] } }' "$csv" > "$summary"
echo "wrote $csv and $summary"
if [ "$plot" = 1 ] && command -v gnuplot >/dev/null; then
    gp="$out/replication_guest.gp"
    series="$(for r in ${replicas//,/ }; do for f in ${fanouts//,/ }; do printf '%s/%s ' "$r" "$f"; done; done)"
    # Quoted heredoc: gnuplot and awk see $5 etc. literally; @NAME@ are filled in below.
    cat > "$gp" <<'GP'
set datafile separator ','
set terminal pngcairo size 900,500 noenhanced
set output '@OUT@/replication_guest_msgs.png'
set title '@OBJECT@ in the guest: replication lines per update (median; bars: min..max)'
set xlabel 'cores'; set ylabel 'lines per update'; set yrange [0:*]; set grid
set logscale x 2; set xtics (4, 16, 64); set xrange [3:80]
set key outside right top
plot for [s in "@PROTOCOLS@"] for [rf in "@SERIES@"] \
  "< awk -F, -v p=".s." -v rf=".rf." '$5==p && $3\"/\"$4==rf && $6>0' @SUMMARY@" using 2:7:8:9 with yerrorlines title s." ".rf
GP
    sed -i -e "s|@OUT@|$out|g" -e "s|@OBJECT@|$object|g" -e "s|@PROTOCOLS@|${protocols//,/ }|g" \
        -e "s|@SERIES@|$series|g" -e "s|@SUMMARY@|$summary|g" "$gp"
    if gnuplot "$gp"; then echo "plot: $out/replication_guest_msgs.png"; else echo "gnuplot failed (plot skipped)"; fi
fi
exit $status
