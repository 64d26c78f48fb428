# shellcheck shell=bash
# Generic helpers of the integration and bench scripts (sourced after `cd` to the repository):
# a work dir, background processes killed at exit, fail/ok, wait_for.
#
#   . tests/lib/util.sh
#   util_init NAME          # WORK=$(mktemp -d /tmp/NAME.XXXXXX), trap cleanup EXIT
#   some_daemon 2>"$WORK/daemon.log" & track $!
#   wait_for 10 test -s "$WORK/out" || fail "no output"
#   ok "it works"
#
# Settings a script may change after sourcing (all optional):
#   UTIL_LOGS=("*.log" "*.err")  files in WORK whose last UTIL_TAIL (15) lines fail() prints;
#                                UTIL_QUIET=1 prints none (the script shows its logs itself)
#   UTIL_ON_FAIL=FUNCTION        run by fail() before the logs, for diagnostics of its own
#   UTIL_ON_EXIT=FUNCTION        run by cleanup() with the exit status, before WORK is removed;
#                                kafka_cleanup where the script may have started a broker
#   UTIL_TOPICS=PREFIX           at a clean exit, cleanup() deletes the topics PREFIX.* (needs
#                                tests/lib/kafka.sh): unique names, but a shared broker should
#                                not keep them

PIDS=()
PASSED=0
FAILURES=0
UTIL_NAME=test
UTIL_LOGS=("*.log")
UTIL_TAIL=15
UTIL_ON_FAIL=
UTIL_ON_EXIT=
UTIL_TOPICS=

# util_init NAME: the work dir and the exit trap.
util_init() {
    UTIL_NAME=$1
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    trap cleanup EXIT
}

# cleanup: kills what PIDS holds; keeps WORK when the script failed (or KEEP_WORK=1).
cleanup() {
    local rc=$? p
    for p in "${PIDS[@]}" $(cat "$WORK/.pids" 2>/dev/null); do
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$rc" -eq 0 ] && [ -n "$UTIL_TOPICS" ]; then
        kafka_topics --delete --topic "${UTIL_TOPICS//./\\.}\\..*" >/dev/null 2>&1 || true
    fi
    [ -z "$UTIL_ON_EXIT" ] || "$UTIL_ON_EXIT" "$rc" || true
    if [ "$rc" -eq 0 ] && [ "${KEEP_WORK:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        echo "$UTIL_NAME: work files kept in $WORK" >&2
    fi
    return $rc
}

# fail MESSAGE: prints it, UTIL_ON_FAIL's diagnostics and the tail of every UTIL_LOGS file
# (none with UTIL_QUIET=1), then exits 1.
fail() {
    echo "$UTIL_NAME: FAIL: $*" >&2
    [ "${UTIL_QUIET:-0}" = 1 ] && exit 1
    [ -z "$UTIL_ON_FAIL" ] || "$UTIL_ON_FAIL" >&2 || true
    local g f
    for g in "${UTIL_LOGS[@]}"; do
        for f in "$WORK"/$g; do
            [ -s "$f" ] && { echo "--- $f (last lines)" >&2; tail -n "$UTIL_TAIL" "$f" >&2; }
        done
    done
    exit 1
}

# fail_later MESSAGE: reports a failure and goes on, so that one run shows all of them;
# fail_if_any exits 1 if there was one.
fail_later() {
    echo "$UTIL_NAME: FAIL: $*" >&2
    FAILURES=$((FAILURES + 1))
}
fail_if_any() {
    [ "$FAILURES" -eq 0 ] || { echo "$UTIL_NAME: $FAILURES failure(s)" >&2; exit 1; }
}

# stop_pids: SIGTERM to what PIDS holds, newest first, each given 5 s to exit before SIGKILL
# (for scripts whose processes should shut down the way they do in production).
stop_pids() {
    local i
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[i]}" 2>/dev/null || true; done
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        for _ in $(seq 50); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
        kill -9 "${PIDS[i]}" 2>/dev/null || true
    done
}

# track PID: killed at exit, also when started in a subshell of the script.
track() {
    PIDS+=("$1")
    echo "$1" >>"$WORK/.pids"
}

ok() {
    PASSED=$((PASSED + 1))
    echo "ok $PASSED - $*"
}

step() { echo "-- $*"; }

# wait_for SECONDS CMD...: polls until CMD succeeds; 1 after SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}

# wait_until SECONDS WHAT CMD...: polls CMD every 0.5 s with its output hidden (CMD may be slow:
# a checker); on time out runs it once more with its output shown and fails naming WHAT.
wait_until() {
    local secs=$1 what=$2
    shift 2
    local end=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -lt "$end" ] || {
            "$@" || true
            fail "timed out after ${secs}s waiting for: $what"
        }
        sleep 0.5
    done
}

# expect_same WANT_FILE GOT_FILE WHAT: fails with the diff unless the files are equal.
expect_same() {
    if ! cmp -s "$1" "$2"; then
        diff -u "$1" "$2" >&2 || true
        fail "$3 differs from the expectation"
    fi
}

# logged_port LOG: the port a daemon logged for health.listen=127.0.0.1:0 (fails after 10 s).
logged_port() {
    local p
    for _ in $(seq 1 100); do
        p=$(sed -n 's/.*health and metrics on .* (port \([0-9]*\)).*/\1/p' "$1" 2>/dev/null | tail -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.1
    done
    fail "$1: no health port"
}

# ready PORT: GET /readyz answers 200.
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$1/readyz")" = 200 ]; }

# capture NAME CMD...: runs CMD with stdout to WORK/NAME.out and stderr to WORK/NAME.err; sets
# RC to its exit status (the script goes on either way). expect_rc N WHAT fails unless RC is N.
capture() {
    local name=$1
    shift
    RC=0
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
}
expect_rc() { [ "$RC" -eq "$1" ] || fail "$2: exit status $RC, expected $1"; }
