#!/usr/bin/env bash
# make demo: the whole pipeline once. A generated, seed-article-shaped data set goes through
# outreach-producer → Kafka → outreach-aggregator → outreach-reporter → outreach-sink, then
# the campaign's province → prefecture table is printed. Runs on an embedded librdkafka mock
# cluster unless a broker is given (make demo KAFKA=127.0.0.1:9092).
set -euo pipefail
cd "$(dirname "$0")/.."

KAFKA=""
EVENTS=${DEMO_EVENTS:-20000}
while (($#)); do
    case $1 in
        --kafka) KAFKA=$2; shift 2 ;;
        --events) EVENTS=$2; shift 2 ;;
        -h|--help)
            echo "Usage: deploy/demo.sh [--kafka HOST:PORT] [--events N]"
            echo "  DEMO_HOLD=1 keeps the sink's page up until Ctrl-C; DEMO_KEEP=1 keeps the work dir."
            exit 0 ;;
        *) echo "demo: unknown argument $1" >&2; exit 2 ;;
    esac
done

WORK=$(mktemp -d /tmp/outreach-demo.XXXXXX)
PIDS=()
say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
stop_all() {
    local rc=0
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
        kill -TERM "${PIDS[i]}" 2>/dev/null || continue
        wait "${PIDS[i]}" 2>/dev/null || rc=1
    done
    PIDS=()
    return $rc
}
cleanup() {
    stop_all || true
    if [ "${DEMO_KEEP:-0}" = 1 ]; then say "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
die() {
    echo "demo: $*" >&2
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
    exit 1
}
wait_for() { # SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2
    shift 2
    for _ in $(seq 1 $((secs * 10))); do "$@" && return 0; sleep 0.1; done
    die "timed out waiting for $what"
}

# Topic names: fixed on the private mock, unique per run on a shared broker.
if [ -n "$KAFKA" ]; then P="demo.$(date +%s)"; else P="outreach"; fi
EV="$P.events" RO="$P.rollups" SEEN="$P.events.seen" DLQ="$P.events.dlq"

if [ -z "$KAFKA" ]; then
    say "starting the embedded broker (librdkafka mock cluster; demo only, no transaction markers)"
    bin/outreach-mock-broker --bootstrap-file "$WORK/bootstrap" --topic "$EV:6" --topic "$RO:6" \
        --topic "$SEEN:6" --topic "$DLQ:6" --topic "outreach.rollups.dlq.demo:1" \
        2>"$WORK/broker.log" &
    PIDS+=($!)
    wait_for 20 "the mock broker" test -s "$WORK/bootstrap"
    B=$(cat "$WORK/bootstrap")
else
    B=$KAFKA
fi
say "broker $B, topics $P.*"

say "starting outreach-sink (the reference HTTP endpoint)"
bin/outreach-sink --listen 127.0.0.1:0 --state "$WORK/sink.state" >"$WORK/sink.out" \
    2>"$WORK/sink.log" &
PIDS+=($!)
wait_for 20 "the sink" grep -q "listening on" "$WORK/sink.out"
SINK=$(sed -n 's/^listening on //p' "$WORK/sink.out" | head -1)

bin/outreach-gen --seed 2025 --events "$EVENTS" >"$WORK/events.jsonl"
{ echo "authz.default=deny"; bin/outreach-gen --seed 2025 --events "$EVENTS" --list-agencies | grep -v '^#'; } \
    >"$WORK/agencies.conf"
COMMON=(-X bootstrap.servers="$B" -F "$WORK/agencies.conf")

say "starting outreach-aggregator"
bin/outreach-aggregator "${COMMON[@]}" -X events.topic="$EV" -X rollups.topic="$RO" \
    -X seen.topic="$SEEN" -X dlq.topic="$DLQ" -X group.name="$P-aggregator" \
    -X instance.id=demo -X state.dir="$WORK/state" -X health.listen=127.0.0.1:0 \
    2>"$WORK/aggregator.log" &
PIDS+=($!)
wait_for 30 "the aggregator's health port" grep -q "health and metrics on" "$WORK/aggregator.log"
AGG_PORT=$(sed -n 's/.*health and metrics on .* (port \([0-9]*\)).*/\1/p' "$WORK/aggregator.log" | head -1)
metric() { curl -s "127.0.0.1:$AGG_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

say "starting outreach-reporter → http://$SINK/rollups"
bin/outreach-reporter -X bootstrap.servers="$B" -X rollups.topic="$RO" \
    -X endpoint.demo.url="http://$SINK/rollups" -X endpoint.demo.max.delay.ms=500 \
    -X group.prefix="$P-reporter" 2>"$WORK/reporter.log" &
PIDS+=($!)

say "publishing $EVENTS generated events (seed-article shapes, every region level)"
rc=0
bin/outreach-producer "${COMMON[@]}" -X events.topic="$EV" --no-progress "$WORK/events.jsonl" \
    2>"$WORK/producer.log" || rc=$?
tail -1 "$WORK/producer.log"
[ "$rc" -le 1 ] || die "the producer failed (exit $rc)"
published=$(sed -n 's/.*published \([0-9]*\),.*/\1/p' "$WORK/producer.log" | tail -1)

say "waiting for the aggregator to count them and the reporter to push every rollup"
all_read() { [ "$(metric outreach_aggregator_events_read_total)" -ge "$published" ] 2>/dev/null; }
wait_for 120 "the aggregator" all_read
sink_rollups() { curl -s "http://$SINK/stats" | sed -n 's/.*"rollups":\([0-9]*\).*/\1/p'; }
all_pushed() {
    local held pushed
    held=$(metric outreach_aggregator_state_rollups)
    pushed=$(sink_rollups)
    [ -n "$held" ] && [ "$held" -gt 0 ] && [ "$held" = "$pushed" ]
}
# The aggregator refreshes its state gauge every 2 s: equal twice, 2.5 s apart, is settled.
wait_for 120 "the reporter" all_pushed
sleep 2.5
wait_for 120 "the reporter" all_pushed
counted=$(metric outreach_aggregator_events_counted_total)
dups=$(metric outreach_aggregator_duplicates_total)
dead=$(metric outreach_aggregator_dead_lettered_total)
say "aggregated: $counted events counted, $dups repeated ids ignored, $dead dead-lettered; $(sink_rollups) rollups at the sink"

echo
curl -s -G "http://$SINK/table.txt" --data-urlencode "window=CAMPAIGN|2025 两节送温暖"
echo
say "the sink's page: http://$SINK/?window=CAMPAIGN%7C2025%20%E4%B8%A4%E8%8A%82%E9%80%81%E6%B8%A9%E6%9A%96"
if [ "${DEMO_HOLD:-0}" = 1 ]; then
    say "DEMO_HOLD=1: everything keeps running until Ctrl-C"
    trap 'stop_all; exit 0' INT
    while :; do sleep 1; done
fi
say "stopping everything cleanly"
stop_all || die "a component did not stop cleanly"
say "done"
