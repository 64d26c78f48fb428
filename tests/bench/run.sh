#!/usr/bin/env bash
# make bench: measures the pipeline on the local broker, each figure beside a baseline taken
# in the same run: outreach-producer vs kcat producing the very same encoded bytes, and the
# aggregator's transactional throughput and restart-to-ready time. Figures go to
# build/bench/results.md (and stdout). No thresholds: numbers are for people to compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/kafka.sh
trap 'kafka_cleanup; [ -n "${AGG:-}" ] && kill -9 "$AGG" 2>/dev/null; true' EXIT
kafka_ensure
B=$KAFKA_BOOTSTRAP
N=${BENCH_EVENTS:-200000}
OUT=build/bench
mkdir -p "$OUT"
RUN=bench.$(date +%s).$$
PY=/usr/bin/python3

now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

echo "bench: $N events, broker $B"
bin/outreach-gen --seed 4242 --events "$N" --dup-rate 0 --no-id-rate 0 >"$OUT/events.jsonl"

# 1. outreach-producer: parse, validate, encode, idempotent acks=all delivery.
t0=$(now)
bin/outreach-producer -q -X bootstrap.servers="$B" -X events.topic="$RUN.events" \
    -X authz.default=allow "$OUT/events.jsonl" 2>"$OUT/producer.log"
t1=$(now)
prod_rate=$(rate "$N" "$t0" "$t1")

# 2. kcat on the same broker with the same settings, producing the bytes the producer wrote.
bin/outreach-codec dump -X bootstrap.servers="$B" "$RUN.events" >"$OUT/events.dump"
"$PY" - "$OUT/events.dump" "$OUT/events.raw" <<'EOF'
import json, sys
DELIM = b"\x17\x18OUTREACH-BENCH-DELIM\x18\x17"
with open(sys.argv[2], "wb") as out:
    n = 0
    for line in open(sys.argv[1]):
        m = json.loads(line)
        v = bytes.fromhex(m["hex"])
        assert DELIM not in v and b"\t" not in m["key"].encode()
        out.write(m["key"].encode() + b"\t" + v + DELIM)
        n += 1
print("kcat input: %d messages" % n, file=sys.stderr)
EOF
bash deploy/kafka/kafka.sh topics --create --topic "$RUN.kcat" --partitions 6 >/dev/null 2>&1 || true
t0=$(now)
kcat -P -b "$B" -t "$RUN.kcat" -K $'\t' -D $'\x17\x18OUTREACH-BENCH-DELIM\x18\x17' \
    -X enable.idempotence=true -X acks=all -X compression.codec=lz4 -X linger.ms=5 \
    <"$OUT/events.raw"
t1=$(now)
kcat_rate=$(rate "$N" "$t0" "$t1")
bytes=$(stat -c %s "$OUT/events.raw")

# 3. The aggregator: transactions every 500 ms, all 4 windows x 3 levels per event.
agg() {
    bin/outreach-aggregator -X bootstrap.servers="$B" -X events.topic="$RUN.events" \
        -X rollups.topic="$RUN.rollups" -X seen.topic="$RUN.seen" -X dlq.topic="$RUN.dlq" \
        -X group.name="$RUN.group" -X instance.id="$RUN" -X authz.default=allow \
        -X health.listen=127.0.0.1:0 "$@" >>"$OUT/aggregator.log" 2>&1 &
    AGG=$!
}
metric() { curl -s "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
port() {
    local p=""
    for _ in $(seq 1 100); do
        p=$(sed -n 's/.*health and metrics on .* (port \([0-9]*\)).*/\1/p' "$OUT/aggregator.log" | tail -1)
        [ -n "$p" ] && { echo "$p"; return; }
        sleep 0.1
    done
    echo "bench: aggregator health port not found" >&2
    exit 1
}
: >"$OUT/aggregator.log"
t0=$(now)
agg
P=$(port)
first=""
while :; do
    read_n=$(metric "$P" outreach_aggregator_events_read_total)
    read_n=${read_n:-0}
    if [ -z "$first" ] && [ "$read_n" -gt 0 ]; then first=$(now); first_n=$read_n; fi
    [ "$read_n" -ge "$N" ] && break
    sleep 0.2
done
t1=$(now)
agg_rate=$(rate $((N - first_n)) "$first" "$t1")
txns=$(metric "$P" outreach_aggregator_transactions_committed_total)
rollups=$(metric "$P" outreach_aggregator_rollups_written_total)
kill -TERM "$AGG"
wait "$AGG" || true

# 4. Restart to ready: process start, transactions init, group join, restore of the state.
ready_times=()
for i in 1 2 3; do
    : >"$OUT/aggregator.log"
    t0=$(now)
    agg
    P=$(port)
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$P/readyz")" = 200 ]; do sleep 0.05; done
    t1=$(now)
    ready_times+=("$(secs "$t0" "$t1")")
    restore_s=$(metric "$P" outreach_aggregator_restore_seconds)
    state=$(metric "$P" outreach_aggregator_state_rollups)
    kill -TERM "$AGG"
    wait "$AGG" || true
done
AGG=

{
    echo "# outreach-pipeline benchmark"
    echo
    echo "$(date -u +%FT%TZ), $(nproc) cores, broker $B ($(kcat -L -b "$B" 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p') broker(s)), $N events of outreach-gen --seed 4242"
    echo
    echo "| measurement | value | baseline in the same run |"
    echo "|---|---|---|"
    echo "| outreach-producer: JSON Lines → validated Avro → idempotent acks=all delivery | $prod_rate events/s | kcat producing the same $bytes bytes (same keys, idempotent, acks=all, lz4): $kcat_rate msgs/s |"
    echo "| outreach-aggregator: consume → 12+ rollup updates/event → transactional output | $agg_rate events/s ($txns transactions, $rollups rollup records) | producer above: $prod_rate events/s |"
    echo "| aggregator restart to /readyz 200 (state: $state rollups) | ${ready_times[*]} s | restore alone: ${restore_s} s |"
} | tee "$OUT/results.md"
