#!/usr/bin/env bash
# SIGHUP keeps the log level given on the command line (common/service.c): outreach-reporter
# started with -v still logs its debug lines after a reload (the new endpoint's "wrote"
# lines), and one started with -q stays at warnings (no NOTICE for the reload itself). Before
# op_service, a reload applied log.level from the files and dropped -v/-q.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/util.sh
. tests/lib/kafka.sh
util_init test_reload
on_exit() {
    local rc=$?
    set +e
    kafka_cleanup
    (exit $rc)
    cleanup # keeps WORK when rc != 0
}
trap on_exit EXIT
kafka_ensure
B=$KAFKA_BOOTSTRAP
RUN=reload-it-$$-$RANDOM
TOPIC=$RUN.rollups
PY=$ROOT/.state/venv/bin/python
[ -x "$PY" ] || fail "no venv at $PY (see tests/integration/test_reporter.sh)"
CHECK=("$PY" "$ROOT/tests/integration/reporter_check.py")
[ -x bin/outreach-reporter ] || fail "bin/outreach-reporter is not built"

kafka_topics --create --topic "$TOPIC" --partitions 3 --replication-factor 1 \
    --config cleanup.policy=compact >/dev/null || fail "cannot create $TOPIC"
"${CHECK[@]}" gen --seed 7 --out "$WORK/gen.jsonl" >/dev/null
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen.jsonl" >/dev/null ||
    fail "cannot produce the rollups"

# start NAME FLAG: a reporter with one file endpoint (a) from NAME.conf; sets PID.
start() {
    printf 'endpoint.a.url=file://%s/%s-a\nendpoint.a.max.delay.ms=200\n' "$WORK" "$1" >"$WORK/$1.conf"
    bin/outreach-reporter "$2" -F "$WORK/$1.conf" -X "bootstrap.servers=$B" \
        -X "rollups.topic=$TOPIC" -X "group.prefix=$RUN.$1" -X "dlq.topic.prefix=$RUN.$1.dlq" \
        2>"$WORK/$1.log" &
    PID=$!
    track "$PID"
}
# add_endpoint NAME: endpoint b in NAME.conf, then SIGHUP.
add_endpoint() {
    printf 'endpoint.b.url=file://%s/%s-b\nendpoint.b.max.delay.ms=200\n' "$WORK" "$1" >>"$WORK/$1.conf"
    kill -HUP "$PID"
}
has_files() { compgen -G "$1/*.jsonl" >/dev/null; }
stop() {
    kill -TERM "$PID"
    local rc=0
    wait "$PID" || rc=$?
    [ "$rc" -eq 0 ] || fail "the reporter exited with $rc after SIGTERM"
}

# ---- -v ------------------------------------------------------------------------------------
start v -v
wait_for 60 grep -q " DEBUG: endpoint a: wrote " "$WORK/v.log" || fail "-v: no debug line before SIGHUP"
add_endpoint v
wait_for 30 grep -q "SIGHUP: reloaded" "$WORK/v.log" || fail "-v: no reload after SIGHUP"
wait_for 60 has_files "$WORK/v-b" || fail "-v: the endpoint added by SIGHUP wrote nothing"
# The line is written right after the file: give it the same generous wait.
wait_for 30 grep -q " DEBUG: endpoint b: wrote " "$WORK/v.log" ||
    fail "-v was lost on SIGHUP: no debug line from the endpoint added by the reload"
stop
ok "-v is kept across SIGHUP (debug lines after the reload)"

# ---- -q ------------------------------------------------------------------------------------
start q -q
wait_for 60 has_files "$WORK/q-a" || fail "-q: endpoint a wrote nothing"
add_endpoint q
wait_for 60 has_files "$WORK/q-b" || fail "-q: the endpoint added by SIGHUP wrote nothing"
stop
if grep -E " (NOTICE|INFO|DEBUG): " "$WORK/q.log"; then
    fail "-q was lost on SIGHUP: lines below WARNING were logged"
fi
ok "-q is kept across SIGHUP (no line below WARNING, the reload's own NOTICE included)"

kafka_topics --delete --topic "${RUN//./\\.}\\..*" >/dev/null 2>&1 || true
echo "test_reload: $PASSED passed"
