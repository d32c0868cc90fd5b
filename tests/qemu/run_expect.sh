#!/usr/bin/env bash
# Boots a config with user programs and checks the serial log.
#   run_expect.sh LOG -- MYRIADCTL run ARGS... -- REGEX=COUNT...
# The run must exit 0 (myriadctl --check included in ARGS checks the boot itself); then each
# extended regex must match exactly COUNT lines of the log ("REGEX>=COUNT" for at least).
set -uo pipefail
log="$1"; shift
[ "$1" = "--" ] && shift
cmd=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmd+=("$1"); shift; done
[ $# -gt 0 ] && shift
"${cmd[@]}" --log "$log" --quiet
rc=$?
fail=0
if [ $rc -ne 0 ]; then echo "run exited with status $rc (log: $log)"; fail=1; fi
for e in "$@"; do
    if [[ "$e" == *">="* ]]; then re="${e%>=*}"; want="${e##*>=}"; op=ge; else re="${e%=*}"; want="${e##*=}"; op=eq; fi
    got=$(tr -d '\r' < "$log" | grep -cE "$re")
    if { [ $op = eq ] && [ "$got" -ne "$want" ]; } || { [ $op = ge ] && [ "$got" -lt "$want" ]; }; then
        echo "expected $([ $op = ge ] && echo 'at least ')$want line(s) matching /$re/, found $got"; fail=1
    fi
done
[ $fail -eq 0 ] || { echo "--- log tail ($log) ---"; tail -30 "$log"; }
exit $fail
