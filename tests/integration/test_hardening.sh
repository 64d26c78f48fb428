#!/usr/bin/env bash
# Hostile clients against outreach-sink (issue #12, the security review): a big token-less
# POST must get its 401 before the body is sent; gzip bombs stay bounded in size and number;
# idle connections do not lock out /healthz; a non-loopback listen needs a token; /control
# needs --enable-control; regions, windows and the number of rollup keys are checked.
# Needs no broker. Each check runs on its own sink; all checks run, then the verdict.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/util.sh
util_init test_hardening
PY=/usr/bin/python3
H=tests/integration/hostile.py
[ -x bin/outreach-sink ] || make bin/outreach-sink >/dev/null || fail "cannot build bin/outreach-sink"
MB=$((1 << 20))

# start_sink NAME ARGS...: a sink on 127.0.0.1:0 (unless ARGS say --listen); sets PORT, PID.
start_sink() {
    local name=$1
    shift
    : >"$WORK/$name.out"
    bin/outreach-sink --listen 127.0.0.1:0 "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
    PID=$!
    track "$PID"
    wait_for 10 test -s "$WORK/$name.out" || fail "$name did not announce its port"
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/$name.out" | head -1)
}

# peak_mb PID: the peak resident set (VmHWM) in MiB.
peak_mb() { echo $(($(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status") / 1024)); }

post() { # post PORT FILE [curl args]: prints the status code; the body goes to $WORK/answer
    local port=$1 file=$2
    shift 2
    curl -s -o "$WORK/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Idempotency-Key: \"k$RANDOM$RANDOM\"" --data-binary "@$file" "$@" \
        "http://127.0.0.1:$port/rollups"
}

# 1. The token is checked once the headers are in: the 401 comes before the body is read.
check_token_first() {
    echo "secret-token" >"$WORK/token"
    start_sink tok --token-file "$WORK/token"
    truncate -s $((60 * MB)) "$WORK/big"
    local r
    r=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X POST -T "$WORK/big" \
        -H 'Expect: 100-continue' --expect100-timeout 20 -H 'Idempotency-Key: "x"' \
        "http://127.0.0.1:$PORT/rollups")
    echo "  Expect: 100-continue, 60 MB, no token: status and bytes uploaded: $r"
    [ "${r%% *}" = 401 ] && [ "${r#* }" -lt $((60 * MB)) ] ||
        fail "token-less POST with Expect: 100-continue: got '$r', want 401 before the body"
    "$PY" $H bigpost "$PORT" $((60 * MB)) --parallel 16 >"$WORK/bigpost.txt"
    sed 's/^/  /' "$WORK/bigpost.txt" | sort | uniq -c
    local peak
    peak=$(peak_mb "$PID")
    echo "  sink peak RSS after 16 token-less 60 MB POSTs: $peak MiB"
    ! grep -v 'status=401' "$WORK/bigpost.txt" || fail "a token-less POST got another answer than 401"
    awk -v max=$((30 * MB)) '{split($2, a, "="); if (a[2] >= max) exit 1}' "$WORK/bigpost.txt" ||
        fail "a token-less POST was answered only after half of its body or more had been sent"
    [ "$peak" -lt 200 ] || fail "sink peak RSS $peak MiB after token-less POSTs (want < 200)"
    ok "token-less POSTs get 401 before their body; sink peak RSS $peak MiB"
}

# 2. Gzip bombs: inflate stops at the limit + 1 byte, and only a few run at once.
check_gzip_bombs() {
    start_sink bomb
    "$PY" $H bombs "$PORT" 16 1 >"$WORK/bombs.txt"
    sed 's/^/  /' "$WORK/bombs.txt" | sort | uniq -c
    local peak
    peak=$(peak_mb "$PID")
    echo "  sink peak RSS after 16 concurrent 1 MiB gzip bombs: $peak MiB"
    ! grep -v -e '^status=413 ' -e '^status=503 retry_after=[0-9]' "$WORK/bombs.txt" ||
        fail "a gzip bomb got another answer than 413, or 503 with Retry-After"
    grep -q '^status=413' "$WORK/bombs.txt" || fail "no gzip bomb got 413"
    [ "$peak" -lt 600 ] || fail "sink peak RSS $peak MiB after gzip bombs (want < 600)"
    ok "gzip bombs: 413 or 503 + Retry-After; sink peak RSS $peak MiB"
}

# 3. Idle connections from one address do not lock out /healthz from another.
check_half_open() {
    start_sink half
    local r
    r=$("$PY" $H halfopen "$PORT" 64 /healthz 127.0.0.2 5) ||
        fail "64 idle connections: /healthz from another address did not answer 200 ($r)"
    echo "  64 idle connections from 127.0.0.1, /healthz from 127.0.0.2: $r"
    # And the idle ones are closed by the server (the header timeout) at all.
    "$PY" - "$PORT" <<'PYEOF' || fail "an idle connection was not closed by the sink within 60 s"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
sys.exit(0 if s.recv(1) == b"" else 1)
PYEOF
    ok "64 idle connections: /healthz answers ($r); an idle connection is closed"
}

# 4. Exposure: no token → loopback only, unless --insecure-listen; /control only on request.
check_exposure() {
    local rc=0
    timeout 10 bin/outreach-sink --listen 0.0.0.0:0 >"$WORK/any.out" 2>"$WORK/any.log" || rc=$?
    echo "  --listen 0.0.0.0:0 without --token-file: exit $rc: $(tail -1 "$WORK/any.log")"
    [ "$rc" = 2 ] && grep -q -- '--token-file' "$WORK/any.log" ||
        fail "a non-loopback listen without a token was not refused (exit $rc)"
    start_sink insecure --listen 0.0.0.0:0 --insecure-listen
    grep -q 'WARNING.*--insecure-listen' "$WORK/insecure.log" ||
        fail "--insecure-listen gave no warning"
    kill "$PID"
    start_sink ctl
    local a b
    a=$(curl -s -o /dev/null -w '%{http_code}' -d '{"mode":"503"}' "http://127.0.0.1:$PORT/control")
    b=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/control")
    echo "  without --enable-control: POST /control $a, GET /control $b"
    [ "$a" = 404 ] && [ "$b" = 404 ] || fail "/control answers $a/$b without --enable-control"
    start_sink ctl2 --enable-control
    a=$(curl -s -o /dev/null -w '%{http_code}' -d '{"mode":"ok"}' "http://127.0.0.1:$PORT/control")
    [ "$a" = 200 ] || fail "POST /control with --enable-control: $a"
    ok "non-loopback listen refused without a token; --insecure-listen warns; /control 404 unless enabled"
}

# 5. The store: regions of the table, windows of their kind, a cap on rollup keys.
check_store_bounds() {
    start_sink store --max-rollups 3
    local spec code
    for spec in 'DAY|2025-01-15|999999|COUNTY' 'DAY|2025-13-45|650102|COUNTY' \
        'DAY|2025-1-5|650102|COUNTY' 'MONTH|2025-1|650102|COUNTY' 'MONTH|2025-01-01|650102|COUNTY' \
        'ALL|everything|650102|COUNTY' 'CAMPAIGN|a	b|650102|COUNTY' 'DAY|2025-01-15|650102|PROVINCE'; do
        "$PY" $H batch "$spec" >"$WORK/b.json"
        code=$(post "$PORT" "$WORK/b.json")
        echo "  $spec: $code $(cat "$WORK/answer")"
        [ "$code" = 400 ] || fail "rollup $spec: $code, want 400"
    done
    # 20,000 keys of an unknown region in one request (the review's 180 KB request).
    local keys=()
    for i in $(seq 1 20000); do keys+=("DAY|2025-01-15-$i|999999|COUNTY"); done
    "$PY" $H batch "${keys[@]}" >"$WORK/b.json"
    code=$(post "$PORT" "$WORK/b.json")
    [ "$code" = 400 ] || fail "20,000 keys of region 999999: $code, want 400"
    "$PY" $H batch 'DAY|2025-01-15|650102|COUNTY' 'MONTH|2025-01|650100|PREFECTURE' \
        'ALL|all|650000|PROVINCE' 'CAMPAIGN|2025 两节送温暖|650000|PROVINCE' >"$WORK/b.json"
    code=$(post "$PORT" "$WORK/b.json")
    echo "  4 new keys, --max-rollups 3: $code $(cat "$WORK/answer")"
    [ "$code" = 507 ] || fail "4 new keys over --max-rollups 3: $code, want 507"
    curl -s "http://127.0.0.1:$PORT/stats" | grep -q '"rollups":0,' ||
        fail "a refused batch was partly applied: $(curl -s "http://127.0.0.1:$PORT/stats")"
    "$PY" $H batch 'DAY|2025-01-15|650102|COUNTY' 'MONTH|2025-01|650100|PREFECTURE' \
        'CAMPAIGN|2025 两节送温暖|650000|PROVINCE' >"$WORK/b.json"
    code=$(post "$PORT" "$WORK/b.json")
    [ "$code" = 200 ] || fail "3 valid keys within --max-rollups 3: $code $(cat "$WORK/answer")"
    ok "unknown regions, bad windows, wrong levels → 400; over --max-rollups → 507, nothing applied"
}

failed=()
for c in ${CHECKS:-check_token_first check_gzip_bombs check_half_open check_exposure check_store_bounds}; do
    echo "== $c"
    (UTIL_QUIET=1 && set -e && "$c") || failed+=("$c")
done
[ ${#failed[@]} -eq 0 ] || fail "failed: ${failed[*]}"
echo "test_hardening: all checks passed"
