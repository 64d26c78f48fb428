#!/usr/bin/env bash
# Verifies the systemd units of deploy/systemd/ as `make install` would install them (@BINDIR@
# replaced, here by the repo's bin/): `systemd-analyze verify` must print nothing at all, with
# and without the example drop-ins, and every unit keeps the settings docs/operations.md promises.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
SA=${SYSTEMD_ANALYZE:-/usr/bin/systemd-analyze}
# systemd-analyze security scores 0 (locked down) .. 10 (exposed); ours are ~1.5 to 2.
MAX_EXPOSURE=${MAX_EXPOSURE:-2.5}
. tests/lib/util.sh
util_init test_systemd # every check runs; fail_later counts, fail_if_any at the end

[ -x "$SA" ] || fail_later "$SA not found (Debian package systemd)"
"$SA" --version | head -1

# ---- install the units into a scratch directory, as make install does --------------------
mkdir -p "$WORK/units" "$WORK/stub"
units=()
for in in deploy/systemd/*.service.in; do
    name=$(basename "$in" .in)
    prog=$(sed -n 's|^ExecStart=@BINDIR@/\([^ ]*\).*|\1|p' "$in")
    [ -n "$prog" ] || { fail_later "$in: no ExecStart=@BINDIR@/PROGRAM line"; continue; }
    bindir=$REPO/bin
    if [ ! -x "bin/$prog" ]; then
        # verify insists on an executable; a program still being written gets a stand-in so
        # that its unit is checked all the same.
        echo "note: bin/$prog is not built; $name is verified against a stand-in"
        printf '#!/bin/sh\nexit 0\n' >"$WORK/stub/$prog"
        chmod +x "$WORK/stub/$prog"
        bindir=$WORK/stub
    fi
    sed "s|@BINDIR@|$bindir|g" "$in" >"$WORK/units/$name"
    if grep -n '@[A-Z_]*@' "$WORK/units/$name"; then
        fail_later "$name: placeholder left after substitution"
    fi
    units+=("$WORK/units/$name")
done
cp deploy/systemd/outreach.target "$WORK/units/"
[ ${#units[@]} -ge 4 ] || fail_later "expected at least 4 units, found ${#units[@]}"

# verify NAME PATHS...: systemd-analyze verify must say nothing (its exit status is 0 even
# for unknown keys, so the output is what counts).
verify() {
    local what=$1 out
    shift
    out=$("$SA" verify "$@" 2>&1) || fail_later "$what: systemd-analyze verify exited $?"
    if [ -n "$out" ]; then
        fail_later "$what: systemd-analyze verify printed:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
    else
        echo "ok: systemd-analyze verify $what: no output"
    fi
}

verify "units" "${units[@]}" "$WORK/units/outreach.target"
# A template is verified as instance "i" above; a realistic instance name as well.
verify "instance outreach-aggregator@agg-1" "$WORK/units/outreach-aggregator@agg-1.service"

# ---- the example drop-ins (secrets as credentials) ---------------------------------------
cp -r deploy/systemd/examples/*.d "$WORK/units/"
verify "units with the example drop-ins" "${units[@]}"

# ---- the settings the runbook relies on --------------------------------------------------
required=(
    'Type=notify' 'NotifyAccess=main' 'WatchdogSec=30' 'Restart=on-failure' 'RestartSec=[0-9]+'
    'ExecReload=/bin/kill -HUP \$MAINPID' 'KillSignal=SIGTERM' 'TimeoutStopSec=[0-9]+'
    'ExecStart=@BINDIR@/outreach-[a-z]+ .*-F /etc/outreach/[a-z]+\.conf.*'
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes'
    'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' 'ProtectKernelLogs=yes'
    'ProtectControlGroups=yes' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'
    'RestrictNamespaces=yes' 'LockPersonality=yes' 'MemoryDenyWriteExecute=yes'
    'SystemCallArchitectures=native' 'CapabilityBoundingSet=' 'PartOf=outreach.target'
    'WantedBy=outreach.target'
)
for in in deploy/systemd/*.service.in; do
    for re in "${required[@]}"; do
        grep -qxE "$re" "$in" || fail_later "$in: no line matching '$re'"
    done
    grep -qxE 'DynamicUser=yes|User=[a-z]+' "$in" || fail_later "$in: neither DynamicUser=yes nor User="
done
[ "$FAILURES" -eq 0 ] && echo "ok: every unit has the notify, restart and hardening settings"

# ---- exposure as systemd rates it --------------------------------------------------------
for u in "${units[@]}"; do
    out=$("$SA" security --offline=yes "$u" 2>&1 || true)
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -z "$score" ]; then
        fail_later "$(basename "$u"): systemd-analyze security gave no score"
        printf '%s\n' "$out" | tail -5 | sed 's/^/    /' >&2
    elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
        fail_later "$(basename "$u"): exposure $score above $MAX_EXPOSURE"
    else
        echo "ok: $(basename "$u"): exposure $score (at most $MAX_EXPOSURE)"
    fi
done

# ---- the example configurations load in the programs the units run -----------------------
# Each unit's -F files, taken from deploy/etc/ instead of /etc/outreach/; -X list exits 0
# only after every file applied cleanly (an unknown key or bad value exits 2).
for in in deploy/systemd/*.service.in; do
    prog=$(sed -n 's|^ExecStart=@BINDIR@/\([^ ]*\).*|\1|p' "$in")
    [ -x "bin/$prog" ] || { echo "note: bin/$prog is not built; its configuration is not checked"; continue; }
    args=()
    for f in $(grep '^ExecStart=' "$in" | grep -o -- '-F /etc/outreach/[a-z]*\.conf' | cut -d' ' -f2); do
        args+=(-F "deploy/etc/$(basename "$f")")
    done
    out=$("bin/$prog" "${args[@]}" -X list 2>&1 >/dev/null) || {
        fail_later "$prog ${args[*]}: configuration refused: $out"
        continue
    }
    echo "ok: $prog ${args[*]} loads"
done
out=$(bin/outreach-dlq -F deploy/etc/kafka.conf -X list 2>&1 >/dev/null) ||
    fail_later "outreach-dlq -F deploy/etc/kafka.conf: $out"

fail_if_any
echo "test_systemd: all passed"
