#!/usr/bin/env bash
# Integration test of the health side of outreach-sink, outreach-reporter and the spool
# producer against the real broker ($KAFKA_BOOTSTRAP): /readyz, /metrics parsed by
# prometheus_client and matched to what happened, sd_notify READY=1/WATCHDOG=1/STOPPING=1,
# SIGTERM → 0.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
. tests/lib/kafka.sh
. tests/lib/util.sh
UTIL_ON_EXIT=kafka_cleanup
util_init test_health
kafka_need
B=$KAFKA_BOOTSTRAP
PY=${OUTREACH_STATE:-$ROOT/.state}/venv/bin/python
[ -x "$PY" ] || bash tests/interop/run.sh >/dev/null # creates the venv with prometheus_client
W=$WORK
RUN=health.$(date +%s).$$
UTIL_TOPICS=$RUN

for b in bin/outreach-sink bin/outreach-reporter bin/outreach-producer bin/outreach-gen; do
    [ -x "$b" ] || fail "$b is not built"
done

# metrics_check PORT 'python expression over m'...: GET /metrics, asserted by metrics_check.py.
metrics_check() {
    local port=$1
    shift
    curl -sf "127.0.0.1:$port/metrics" >"$W/metrics.txt" || fail "GET /metrics on port $port"
    "$PY" tests/integration/metrics_check.py "$W/metrics.txt" "$@" ||
        fail "metrics on port $port do not match"
}

# ---- the sink, run under a NOTIFY_SOCKET listener --------------------------------------------
"$PY" - "$W/notify.sock" "$W/notify.log" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        out.flush()
EOF
LISTENER=$!
PIDS+=($LISTENER)
wait_for 10 test -S "$W/notify.sock" || fail "notify listener did not start"

# WatchdogSec=1 (WATCHDOG_USEC as systemd sets it): pings every half second.
NOTIFY_SOCKET=$W/notify.sock WATCHDOG_USEC=1000000 bin/outreach-sink --listen 127.0.0.1:0 \
    >"$W/sink.out" 2>"$W/sink.log" &
SINK=$!
PIDS+=($SINK)
wait_for 10 test -s "$W/sink.out" || fail "sink did not announce its port"
line=$(head -1 "$W/sink.out")
[[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "sink said '$line'"
SP=${BASH_REMATCH[1]}
wait_for 10 grep -q '^READY=1' "$W/notify.log" || fail "sink sent no READY=1"
ready "$SP" || fail "sink /readyz is not 200"
metrics_check "$SP" 'm["outreach_sink_batches_total{result=accepted}"] == 0' \
    'm["outreach_sink_batches_total{result=invalid}"] == 0' 'm["outreach_sink_rollups"] == 0'
ok "sink: READY=1 on NOTIFY_SOCKET, /readyz 200, /metrics"
wait_for 10 grep -q '^WATCHDOG=1' "$W/notify.log" || fail "sink sent no WATCHDOG=1 (WATCHDOG_USEC=1000000)"
ok "sink: WATCHDOG=1 under WatchdogSec"

# ---- the reporter, one endpoint at the sink ---------------------------------------------------
# It is ready once its consumer joined the group, which needs the topic to exist.
kafka_topics --create --topic "$RUN.rollups" --partitions 3 --replication-factor 1 \
    --config cleanup.policy=compact >/dev/null 2>&1 || fail "cannot create $RUN.rollups"
echo "# endpoints added while the reporter runs (SIGHUP)" >"$W/rep.conf"
bin/outreach-reporter -X "bootstrap.servers=$B" -X "rollups.topic=$RUN.rollups" \
    -X "group.prefix=$RUN" -X "dlq.topic.prefix=$RUN.dlq" \
    -X "endpoint.sink.url=http://127.0.0.1:$SP/rollups" -X health.listen=127.0.0.1:0 \
    -F "$W/rep.conf" 2>"$W/rep.log" &
REP=$!
PIDS+=($REP)
RP=$(logged_port "$W/rep.log")
wait_for 60 ready "$RP" || fail "reporter /readyz not 200 within 60 s"
metrics_check "$RP" 'm["outreach_reporter_pushes_total{endpoint=sink,result=ok}"] == 0' \
    'm["outreach_reporter_pushes_total{endpoint=sink,result=failed}"] == 0' \
    'm["outreach_reporter_pushes_total{endpoint=sink,result=rejected}"] == 0' \
    'm["outreach_reporter_rollups_delivered_total{endpoint=sink}"] == 0' \
    'm["outreach_reporter_dead_lettered_total{endpoint=sink}"] == 0' \
    'm["outreach_reporter_last_success_timestamp_seconds{endpoint=sink}"] == 0' \
    'm["outreach_reporter_ready"] == 1'
ok "reporter: /readyz 200, /metrics"

# Rollups to deliver: the reporter's counters must agree with what the sink received.
"$PY" tests/integration/reporter_check.py gen --seed 3 --out "$W/rollups.jsonl" >/dev/null
"$PY" tests/integration/reporter_check.py produce --bootstrap "$B" --topic "$RUN.rollups" \
    "$W/rollups.jsonl" >/dev/null
"$PY" - "$RP" "$SP" <<'EOF' || fail "reporter metrics do not match what the sink received"
import json, sys, time, urllib.request
from prometheus_client.parser import text_string_to_metric_families
def metrics(port):
    text = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read().decode()
    return {s.name + str(sorted(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}
deadline, stable, last = time.time() + 90, 0, None
ep = "[('endpoint', 'sink')"
while time.time() < deadline:
    r, k = metrics(sys.argv[1]), metrics(sys.argv[2])
    st = json.load(urllib.request.urlopen("http://127.0.0.1:%s/stats" % sys.argv[2]))
    now = (r["outreach_reporter_pushes_total" + ep + ", ('result', 'ok')]"],
           r["outreach_reporter_rollups_delivered_total" + ep + "]"],
           k["outreach_sink_batches_total[('result', 'accepted')]"], st["rollups_received"],
           r["outreach_reporter_pushes_total" + ep + ", ('result', 'failed')]"],
           r["outreach_reporter_dead_lettered_total" + ep + "]"],
           r["outreach_reporter_last_success_timestamp_seconds" + ep + "]"])
    ok = (now[0] >= 1 and now[0] == now[2] and now[1] == now[3] and now[4] == 0 and
          now[5] == 0 and abs(now[6] - time.time()) < 120)
    stable = stable + 1 if ok and now == last else 0
    last = now
    if stable >= 4:
        print("  reporter: %d batches, %d rollups delivered = sink: %d accepted, %d received"
              % (now[0], now[1], now[2], now[3]))
        sys.exit(0)
    time.sleep(0.5)
print("  last: pushes ok, rollups, sink accepted, sink received, failed, dlq, last success:", last)
sys.exit(1)
EOF
ok "reporter: pushes and rollups counted as the sink received them"

# ---- SIGHUP adds an endpoint, which then receives every rollup -----------------------------
bin/outreach-sink --listen 127.0.0.1:0 >"$W/sink2.out" 2>"$W/sink2.log" &
SINK2=$!
PIDS+=($SINK2)
wait_for 10 test -s "$W/sink2.out" || fail "second sink did not announce its port"
SP2=$(sed -n 's/^listening on 127\.0\.0\.1://p' "$W/sink2.out" | head -1)
echo "endpoint.late.url=http://127.0.0.1:$SP2/rollups" >>"$W/rep.conf"
kill -HUP "$REP"
wait_for 20 grep -q "SIGHUP: endpoint late added" "$W/rep.log" || fail "no endpoint added on SIGHUP"
rollups_of() { curl -s "127.0.0.1:$1/stats" | sed -n 's/.*"rollups":\([0-9]*\).*/\1/p'; }
caught_up() { [ -n "$(rollups_of "$SP2")" ] && [ "$(rollups_of "$SP2")" -gt 0 ] &&
    [ "$(rollups_of "$SP2")" = "$(rollups_of "$SP")" ]; }
wait_for 90 caught_up || fail "the endpoint added by SIGHUP did not receive every rollup"
cmp -s <(curl -s "127.0.0.1:$SP/rollups") <(curl -s "127.0.0.1:$SP2/rollups") ||
    fail "the SIGHUP-added endpoint holds other rollups than the first one"
kill -0 "$REP" || fail "reporter died on SIGHUP"
ok "reporter: SIGHUP added endpoint late, which received all $(rollups_of "$SP2") rollups"
kill -TERM "$SINK2"
wait "$SINK2" || fail "second sink: non-zero exit after SIGTERM"

# ---- the spool producer --------------------------------------------------------------------
S=$W/spool
bin/outreach-producer --spool "$S" -X "bootstrap.servers=$B" -X "events.topic=$RUN.events" \
    -X authz.default=allow -X spool.rescan.ms=500 -X spool.settle.ms=500 \
    -X health.listen=127.0.0.1:0 2>"$W/spool.log" &
SPOOL=$!
PIDS+=($SPOOL)
PP=$(logged_port "$W/spool.log")
wait_for 30 ready "$PP" || fail "producer /readyz not 200"
wait_for 30 grep -q "spooling" "$W/spool.log" || fail "producer did not start spooling"
bin/outreach-gen --seed 7 --events 300 >"$W/f.jsonl"
mv "$W/f.jsonl" "$S/incoming/f.jsonl"
wait_for 90 test -e "$S/done/f.jsonl" || fail "f.jsonl did not reach done/"
metrics_check "$PP" 'm["outreach_producer_events_read_total"] == 300' \
    'm["outreach_producer_events_published_total"] == 300 - m["outreach_producer_events_rejected_total"]' \
    'm["outreach_producer_events_published_total"] > 0' \
    'm["outreach_producer_events_failed_total"] == 0' \
    'm["outreach_producer_files_total{result=done}"] == 1' \
    'm["outreach_producer_files_total{result=failed}"] == 0' \
    'm["outreach_producer_spool_files{dir=incoming}"] == 0' \
    'm["outreach_producer_spool_files{dir=processing}"] == 0' \
    'm["outreach_producer_queue_messages"] == 0' \
    'm["outreach_producer_last_success_timestamp_seconds"] > 1.7e9' \
    'm["outreach_producer_ready"] == 1'
ok "producer: /readyz 200, /metrics match the file (spool directories empty, queue 0)"

# ---- SIGTERM: each exits 0; the sink says STOPPING=1 ----------------------------------------
for pid in $SPOOL $REP $SINK; do
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "pid $pid exited $rc after SIGTERM"
done
wait_for 10 grep -q '^STOPPING=1' "$W/notify.log" || fail "sink sent no STOPPING=1"
[ "$(grep -n '^READY=1' "$W/notify.log" | cut -d: -f1 | head -1)" -lt \
    "$(grep -n '^STOPPING=1' "$W/notify.log" | cut -d: -f1 | head -1)" ] ||
    fail "STOPPING=1 came before READY=1"
kill "$LISTENER"
wait "$LISTENER" 2>/dev/null || true
ok "SIGTERM: producer, reporter and sink exit 0; sink sent READY=1 then STOPPING=1"
echo "test_health: 5 passed"
