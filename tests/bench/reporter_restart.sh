#!/usr/bin/env bash
# Bench: how soon outreach-reporter delivers again after kill -9 and a restart. Rollups flow
# into a fresh topic, the reporter delivers them to outreach-sink; three times the reporter is
# killed with SIGKILL and started again, and the seconds from the new process's start to the
# first batch the sink receives from it are measured (static membership: no session wait).
#
# stdout: exactly one JSON line
#   {"reporter_restart_to_first_delivery_s": [t1,t2,t3], "reporter_restart_to_first_delivery_max_s": max}
# stderr: everything else. Broker: $KAFKA_BOOTSTRAP, else 127.0.0.1:9092 (see tests/lib/kafka.sh).
# BENCH_RESTART_TIMEOUT (default 90): seconds to wait for a delivery before giving up (exit 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/kafka.sh
. tests/lib/util.sh
UTIL_ON_EXIT=kafka_cleanup UTIL_TAIL=20 # fail shows the reporter's, the sink's, the feeder's log
util_init reporter_restart
RUN=reporter-restart.$(date +%s).$$
UTIL_TOPICS=$RUN
TIMEOUT=${BENCH_RESTART_TIMEOUT:-90}
REP=""

exec 3>&1 1>&2 # stdout is for the result line only
kafka_ensure
B=$KAFKA_BOOTSTRAP
for b in bin/outreach-reporter bin/outreach-sink bin/outreach-codec; do
    [ -x "$b" ] || make "$b" >/dev/null
done
PY=/usr/bin/python3
TOPIC=$RUN.rollups
kafka_topics --create --topic "$TOPIC" --partitions 3 --replication-factor 1 \
    --config cleanup.policy=compact >/dev/null

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- the stream: every 0.2 s a new revision of 8 rollup keys (one transaction-less kcat) ------
"$PY" - "$WORK/records.jsonl" "$WORK/keys.txt" <<'EOF'
import json, sys
WINDOWS = [("DAY", "2025-01-15"), ("MONTH", "2025-01"), ("CAMPAIGN", "2025 两节送温暖"), ("ALL", "all")]
TICKS = 3000  # 10 minutes at 5 ticks/s: longer than the bench runs
with open(sys.argv[1], "w", encoding="utf-8") as recs, open(sys.argv[2], "w", encoding="utf-8") as keys:
    for tick in range(1, TICKS + 1):
        for kind, window in WINDOWS:
            for region in ("650000", "530000"):
                r = {"window_kind": kind, "window": window, "region": region, "level": "PROVINCE",
                     "revision": tick, "event_count": tick, "first_event_at": 0,
                     "last_event_at": tick * 1000, "visits": tick, "visits_by_activity": {},
                     "workers_reached": 0, "workers_by_group": {}, "households": 0, "staff": 0,
                     "funding_fen": tick * 100, "funding_by_source_fen": {},
                     "funding_by_purpose_fen": {}, "recipients": 0, "surveys": 0,
                     "enterprises": 0, "respondents": 0,
                     "satisfaction": {"s1": 0, "s2": 0, "s3": 0, "s4": 0, "s5": 0}, "needs": {}}
                recs.write(json.dumps(r, ensure_ascii=False) + "\n")
                keys.write("%s|%s|%s\n" % (kind, window, region))
EOF
bin/outreach-codec encode rollup.v1 <"$WORK/records.jsonl" >"$WORK/records.hex"
"$PY" - "$WORK/keys.txt" "$WORK/records.hex" "$WORK/ticks" <<'EOF'
import os, sys
keys = open(sys.argv[1], encoding="utf-8").read().split("\n")[:-1]
hexes = open(sys.argv[2]).read().split()
assert len(keys) == len(hexes), (len(keys), len(hexes))
os.makedirs(sys.argv[3])
per = 8
for t in range(len(keys) // per):
    with open(os.path.join(sys.argv[3], "%d.bin" % t), "wb") as f:
        for k, h in zip(keys[t * per:(t + 1) * per], hexes[t * per:(t + 1) * per]):
            v = bytes.fromhex(h)
            assert b"\x1e\x1fK" not in v and b"\x1e\x1fE" not in v
            f.write(k.encode() + b"\x1e\x1fK" + v + b"\x1e\x1fE")
EOF
feeder() {
    local t=0
    while [ -f "$WORK/ticks/$t.bin" ]; do
        kcat -P -b "$B" -t "$TOPIC" -K $'\x1e\x1fK' -D $'\x1e\x1fE' -H type=rollup \
            <"$WORK/ticks/$t.bin" 2>>"$WORK/feeder.log" || true
        t=$((t + 1))
        sleep 0.2
    done
}
feeder &
track $!

# ---- the sink and the reporter ---------------------------------------------------------------
bin/outreach-sink --listen 127.0.0.1:0 -q >"$WORK/sink.out" 2>"$WORK/sink.log" &
track $!
wait_for 10 test -s "$WORK/sink.out" || true
line=$(head -n 1 "$WORK/sink.out")
[[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "sink said '$line'"
SP=${BASH_REMATCH[1]}

# Batches the sink received: stored ones plus re-sent ones it recognised by Idempotency-Key.
received() {
    curl -sf "http://127.0.0.1:$SP/stats" |
        "$PY" -c 'import json,sys; s = json.load(sys.stdin); print(s["batches"] + s["duplicates"])'
}
start_reporter() {
    bin/outreach-reporter -X "bootstrap.servers=$B" -X "rollups.topic=$TOPIC" \
        -X "group.prefix=$RUN" -X "dlq.topic.prefix=$RUN.dlq" -X status.interval.ms=0 \
        -X "endpoint.bench.url=http://127.0.0.1:$SP/rollups" -X endpoint.bench.max.delay.ms=50 \
        ${BENCH_REPORTER_OPTS:-} 2>>"$WORK/reporter.log" &
    REP=$!
    track "$REP"
}
# wait_received N: until the sink has received more than N batches (or the timeout).
wait_received() {
    local end=$((SECONDS + TIMEOUT))
    until [ "$(received)" -gt "$1" ]; do
        [ "$SECONDS" -lt "$end" ] || fail "no delivery within ${TIMEOUT}s"
        sleep 0.05
    done
}

echo "reporter_restart: broker $B, topic $TOPIC, sink port $SP"
start_reporter
wait_received 2
times=()
for i in 1 2 3; do
    sleep 1 # deliveries flowing from the current incarnation
    kill -9 "$REP"
    wait "$REP" 2>/dev/null || true
    sleep 0.3 # a request the dead process had sent is fully counted before the baseline
    base=$(received)
    echo "=== restart $i (kill -9, $base batches received so far)" >>"$WORK/reporter.log"
    t0=$(now)
    start_reporter
    wait_received "$base"
    t1=$(now)
    times+=("$(secs "$t0" "$t1")")
    echo "reporter_restart: restart $i: first delivery after ${times[-1]} s" >&2
done
kill -TERM "$REP"
wait "$REP" || true
REP=""

max=$(printf '%s\n' "${times[@]}" | sort -g | tail -n 1)
list=$(
    IFS=,
    echo "${times[*]}"
)
echo "{\"reporter_restart_to_first_delivery_s\": [$list], \"reporter_restart_to_first_delivery_max_s\": $max}" >&3
