# shellcheck shell=bash
# Generic helpers of the integration scripts that need no broker (sourced after `cd` to the
# repository): a work dir, background processes killed at exit, fail/ok, wait_for.
#
#   . tests/lib/util.sh
#   util_init NAME          # WORK=$(mktemp -d /tmp/NAME.XXXXXX), trap cleanup EXIT
#   some_daemon & track $!
#   wait_for 10 test -s "$WORK/out" || fail "no output"
#   ok "it works"

PIDS=()
PASSED=0
UTIL_NAME=test

# util_init NAME: the work dir and the exit trap.
util_init() {
    UTIL_NAME=$1
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    trap cleanup EXIT
}

# cleanup: kills what PIDS holds; keeps WORK when the script failed (or KEEP_WORK=1).
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}" $(cat "$WORK/.pids" 2>/dev/null); do
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "$rc" -eq 0 ] && [ "${KEEP_WORK:-0}" != 1 ]; then
        rm -rf "$WORK"
    else
        echo "$UTIL_NAME: work files kept in $WORK" >&2
    fi
    return $rc
}

# fail MESSAGE: prints it and the tail of every log in WORK (not with UTIL_QUIET=1), then
# exits 1.
fail() {
    echo "$UTIL_NAME: FAIL: $*" >&2
    [ "${UTIL_QUIET:-0}" = 1 ] && exit 1
    for f in "$WORK"/*.log; do
        [ -f "$f" ] && { echo "--- $f (last lines)" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
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

# wait_for SECONDS CMD...: polls until CMD succeeds; 1 after SECONDS.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}
