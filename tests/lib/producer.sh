# shellcheck shell=bash
# Helpers of the producer's integration tests (test_producer, test_receipt, test_xlsx), sourced
# with ROOT set to the repository: the producer (P), producer_check.py (CHECK, an independent
# reading of the topics), a topic dump and the spool daemon's start, file drop and stop.
#
#   . "$ROOT/tests/lib/producer.sh"
#   producer_test_init test_NAME    # WORK (also W), the broker B; fail() shows no logs: each
#                                   # step shows the one it needs
. "$ROOT/tests/lib/kafka.sh"
. "$ROOT/tests/lib/util.sh"
P=$ROOT/bin/outreach-producer
PY=/usr/bin/python3 # Debian's, with python3-openpyxl and python3-xlsxwriter
CHECK=("$PY" "$ROOT/tests/integration/producer_check.py" --repo "$ROOT")
DAEMON=

# producer_test_init NAME: util_init NAME, W=$WORK, a broker (kafka_need) in B. A script with
# more to clean up at exit sets UTIL_ON_EXIT to a function that calls kafka_cleanup too.
producer_test_init() {
    UTIL_ON_EXIT=kafka_cleanup UTIL_QUIET=1
    util_init "$1"
    W=$WORK
    kafka_need
    B=$KAFKA_BOOTSTRAP
}

# dump TOPIC FILE: every message of TOPIC, binary-safe (the size precedes the payload).
dump() {
    kcat -C -b "$B" -t "$1" -o beginning -e -q -f 'M %p %o %k %S %h\n%s\n' >"$2"
}

# spool_start LOG SPOOL ARGS...: starts the spool daemon ($P --spool SPOOL ARGS..., stderr to
# LOG) and waits for its directories; sets DAEMON (killed at exit if still running).
spool_start() {
    local log=$1 spool=$2
    shift 2
    "$P" --spool "$spool" "$@" 2>"$log" &
    DAEMON=$!
    track "$DAEMON"
    wait_for 30 test -d "$spool/incoming" ||
        { cat "$log" >&2; fail "spool $spool: directories not created"; }
}

# spool_drop FILE SPOOL NAME: FILE into SPOOL/incoming/NAME the way an upload ends: written
# under a hidden name, then renamed (IN_MOVED_TO).
spool_drop() {
    cp "$1" "$2/incoming/.$3.tmp"
    mv "$2/incoming/.$3.tmp" "$2/incoming/$3"
}

# spool_stop WHAT: SIGTERM to DAEMON; its exit status must be 0.
spool_stop() {
    local rc=0
    kill -TERM "$DAEMON"
    wait "$DAEMON" || rc=$?
    DAEMON=
    [ "$rc" -eq 0 ] || fail "$1: spool exit status $rc after SIGTERM"
}
