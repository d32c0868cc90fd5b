#!/usr/bin/env bash
# Boots a config with user programs and checks the serial log.
#   run_expect.sh LOG [--rc N] -- MYRIADCTL run ARGS... -- REGEX=COUNT...
# The run must exit 0, or N where given (myriadctl --check included in ARGS checks the boot
# itself; a failed run plan exits 1); then each
# extended regex must match exactly COUNT lines of the log ("REGEX>=COUNT" for at least).
set -uo pipefail
log="$1"; shift
want_rc=0
[ "$1" = "--rc" ] && { want_rc="$2"; shift 2; }
[ "$1" = "--" ] && shift
cmd=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do cmd+=("$1"); shift; done
[ $# -gt 0 ] && shift
"${cmd[@]}" --log "$log" --quiet
rc=$?
fail=0
if [ $rc -ne "$want_rc" ]; then echo "run exited with status $rc, not $want_rc (log: $log)"; fail=1; fi
for e in "$@"; do
    if [[ "$e" == *">="* ]]; then re="${e%>=*}"; want="${e##*>=}"; op=ge; else re="${e%=*}"; want="${e##*=}"; op=eq; fi
    got=$(tr -d '\r' < "$log" | grep -cE "$re")
    if { [ $op = eq ] && [ "$got" -ne "$want" ]; } || { [ $op = ge ] && [ "$got" -lt "$want" ]; }; then
        echo "expected $([ $op = ge ] && echo 'at least ')$want line(s) matching /$re/, found $got"; fail=1
    fi
done
[ $fail -eq 0 ] || { echo "--- log tail ($log) ---"; tail -30 "$log"; }
exit $fail
