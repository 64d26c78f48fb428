#!/usr/bin/env bash
# make bench: measures the pipeline on the local broker in one run, each figure beside a
# baseline taken in the same run on the same broker (kcat producing the same bytes, kcat
# reading the same topic), plus a year of aggregator state, end-to-end latency and the codec.
# Writes build/bench/results.json (flat, one key per figure), build/bench/results.md and the
# table on stdout; progress on stderr. No thresholds: numbers are for people to compare.
# docs/benchmarks.md says what every key means and how it is measured.
#
#   BENCH_EVENTS=1000000            events per year of data (everything scales with it)
#   BENCH_LATENCY_RATE=2000         events/s of the latency run
#   BENCH_LATENCY_SECONDS=25        its length
#   BENCH_LATENCY_WARMUP_SECONDS=3  rollups whose newest event is older are not sampled
#   BENCH_KEEP=1                    keep this run's topics and data (default: only logs)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/kafka.sh
. tests/lib/util.sh # fail, PIDS, stop_pids

N=${BENCH_EVENTS:-1000000}
LAT_RATE=${BENCH_LATENCY_RATE:-2000}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-25}
LAT_WARMUP=${BENCH_LATENCY_WARMUP_SECONDS:-3}
OUT=build/bench
RUN=bench.$(date +%s).$$
WORK=$OUT/$RUN # this run's data and logs
KV=$WORK/results.kv
PY=/usr/bin/python3
HELPER=tests/bench/bench.py
CODEC_BENCH=build/default/bench/codec_bench
OK=0
UTIL_NAME=bench UTIL_TAIL=8 # fail: "bench: FAIL: ..." and the last lines of every log of the run

now() { date +%s.%N; }
say() { echo "bench: $*" >&2; }
# Its own cleanup: the work dir is build/bench/RUN, whose logs stay after a good run too.
cleanup() {
    local rc=$?
    stop_pids
    if [ "$OK" = 1 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
        # Unique names, but a shared broker should not keep a run's gigabytes.
        kafka_topics --delete --topic "${RUN//./\\.}\\..*" >/dev/null 2>&1 || true
        rm -rf "$WORK"/*.jsonl "$WORK"/*.dump "$WORK"/*.raw "$WORK"/lat.bodies "$OUT/state-$RUN"*
    elif [ "$OK" != 1 ]; then
        echo "bench: data and logs of this run kept in $WORK (topics $RUN.*)" >&2
    fi
    kafka_cleanup
    return $rc
}
trap cleanup EXIT
trap 'echo "bench: interrupted" >&2; exit 130' INT TERM

# put KIND KEY VALUE: one results entry (num, str, json or merge; see bench.py load_kv).
put() { printf '%s %s %s\n' "$1" "$2" "${3:-}" >>"$KV"; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
metric() { curl -sf "127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }
alive() { kill -0 "$1" 2>/dev/null; }

for b in bin/outreach-gen bin/outreach-producer bin/outreach-codec bin/outreach-aggregator \
    bin/outreach-reporter bin/outreach-sink "$CODEC_BENCH"; do
    [ -x "$b" ] || { echo "bench: $b missing: run 'make bench'" >&2; exit 1; }
done
for t in kcat curl "$PY"; do
    command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done
kafka_ensure
B=$KAFKA_BOOTSTRAP
mkdir -p "$WORK"
: >"$KV"
BROKERS=$(kcat -L -b "$B" -m 10 2>/dev/null | sed -n 's/^ *\([0-9]*\) brokers:.*/\1/p' | head -1)
put str timestamp "$(date -u +%FT%TZ)"
put num cores "$(nproc)"
put num brokers "${BROKERS:-}"
put str bootstrap "$B"
put num events "$N"
put str git_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
put str bench_run "$RUN"

say "run $RUN: $N events per year, broker $B (${BROKERS:-?} broker(s))"

# ---- data: two years of every region, no duplicates, nothing outside the year ------------
GEN=(--events "$N" --outside-rate 0 --dup-rate 0)
bin/outreach-gen --seed 2025 --start 2025-01-01 --end 2025-12-31 "${GEN[@]}" >"$WORK/year1.jsonl" ||
    fail "outreach-gen (year 1) failed"
bin/outreach-gen --seed 2024 --start 2024-01-01 --end 2024-12-31 "${GEN[@]}" >"$WORK/year2.jsonl" ||
    fail "outreach-gen (year 2) failed"
put num year_events "$N"

# publish FILE TOPIC LOG: outreach-producer, all records must be published; sets PUB_S.
publish() {
    local t0 t1 rc=0 published
    t0=$(now)
    bin/outreach-producer --no-progress -X bootstrap.servers="$B" -X events.topic="$2" \
        -X authz.default=allow "$1" 2>"$3" || rc=$?
    t1=$(now)
    [ "$rc" = 0 ] || fail "outreach-producer exited with $rc on $1 (see $3)"
    published=$(sed -n 's/.*published \([0-9]*\),.*/\1/p' "$3" | tail -1)
    [ "${published:-0}" = "$N" ] || fail "outreach-producer published ${published:-?} of $N events"
    PUB_S=$(secs "$t0" "$t1")
}

# ---- 1. outreach-producer: parse, validate, encode, idempotent acks=all delivery ---------
say "1/9 outreach-producer publishes year 1 to $RUN.events"
publish "$WORK/year1.jsonl" "$RUN.events" "$WORK/producer.log"
put num producer_events_per_s "$(awk -v n="$N" -v s="$PUB_S" 'BEGIN { printf "%.0f", n / s }')"

# ---- 2. kcat produce baseline: the very bytes the producer wrote, same settings ----------
say "2/9 kcat produces the same bytes to $RUN.kcat"
bin/outreach-codec dump -X bootstrap.servers="$B" "$RUN.events" >"$WORK/events.dump" ||
    fail "outreach-codec dump failed"
n_raw=$("$PY" "$HELPER" kcat-input "$WORK/events.dump" "$WORK/events.raw") || fail "kcat input"
[ "$n_raw" = "$N" ] || fail "dumped $n_raw of $N events"
kafka_topics --create --topic "$RUN.kcat" --partitions 6 --replication-factor 1 >/dev/null 2>&1 ||
    fail "cannot create $RUN.kcat"
# producers/producer.c's defaults: idempotent, acks=all, lz4, linger.ms=20, 10000 per batch.
t0=$(now)
kcat -P -b "$B" -t "$RUN.kcat" -K $'\t' -D $'\x17\x18OUTREACH-BENCH-DELIM\x18\x17' \
    -X enable.idempotence=true -X acks=all -X compression.codec=lz4 -X linger.ms=20 \
    -X batch.num.messages=10000 -X message.timeout.ms=30000 <"$WORK/events.raw" \
    2>"$WORK/kcat-produce.log" || fail "kcat -P failed"
t1=$(now)
put num kcat_produce_msgs_per_s "$(rate "$N" "$t0" "$t1")"
put num kcat_produce_bytes "$(stat -c %s "$WORK/events.raw")"

# ---- 3. kcat consume baseline: the events topic from the beginning to the end ------------
say "3/9 kcat reads $RUN.events (read_committed)"
t0=$(now)
n_read=$(kcat -C -b "$B" -t "$RUN.events" -o beginning -e -q -X isolation.level=read_committed \
    -f '\n' 2>"$WORK/kcat-consume.log" | wc -l) || fail "kcat -C failed"
t1=$(now)
[ "$n_read" = "$N" ] || fail "kcat read $n_read of $N events"
put num kcat_consume_msgs_per_s "$(rate "$N" "$t0" "$t1")"

# ---- the aggregator ------------------------------------------------------------------------
AGG_N=0
# agg_start PREFIX STATE-DIR: starts an aggregator on PREFIX.* topics (log
# $WORK/aggregator-N.log); sets AGG_PID, AGG_PORT, AGG_T0 (just before the exec).
agg_start() {
    local p=$1 log
    AGG_N=$((AGG_N + 1))
    log=$WORK/aggregator-$AGG_N.log
    AGG_T0=$(now)
    bin/outreach-aggregator -X bootstrap.servers="$B" -X events.topic="$p.events" \
        -X rollups.topic="$p.rollups" -X seen.topic="$p.seen" -X dlq.topic="$p.dlq" \
        -X group.name="$p.group" -X instance.id="$p" -X authz.default=allow \
        -X health.listen=127.0.0.1:0 -X state.dir="$2" >"$log" 2>&1 &
    AGG_PID=$!
    PIDS+=("$AGG_PID")
    AGG_PORT=""
    for _ in $(seq 300); do
        AGG_PORT=$(sed -n 's/.*health and metrics on .* (port \([0-9]*\)).*/\1/p' "$log" | head -1)
        [ -n "$AGG_PORT" ] && return 0
        alive "$AGG_PID" || fail "the aggregator exited at start (see $log)"
        sleep 0.1
    done
    fail "the aggregator's health port did not appear in $log"
}
# agg_ready: waits for /readyz 200 (restore.timeout.ms is 300 s); sets READY_S from AGG_T0.
agg_ready() {
    local end=$((SECONDS + 330))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$AGG_PORT/readyz")" = 200 ]; do
        alive "$AGG_PID" || fail "the aggregator exited before it was ready"
        [ "$SECONDS" -lt "$end" ] || fail "the aggregator was not ready after 330 s"
        sleep 0.05
    done
    READY_S=$(secs "$AGG_T0" "$(now)")
}
# agg_stop: SIGTERM (commits the open transaction); a non-zero exit is a failure.
agg_stop() {
    local rc=0
    kill -TERM "$AGG_PID"
    wait "$AGG_PID" || rc=$?
    [ "$rc" = 0 ] || fail "the aggregator exited with $rc after SIGTERM"
}
# agg_consume TARGET: waits until this process has read TARGET events (progress within 120 s
# each time); sets AGG_RATE from the first to the last event read (0.2 s polls of /metrics).
agg_consume() {
    local target=$1 n=0 last=-1 first="" first_n=0 stuck=$SECONDS t1
    while :; do
        n=$(metric "$AGG_PORT" outreach_aggregator_events_read_total || true)
        n=${n:-0}
        if [ -z "$first" ] && [ "$n" -gt 0 ]; then first=$(now) first_n=$n; fi
        [ "$n" -ge "$target" ] && break
        [ "$n" != "$last" ] && { last=$n stuck=$SECONDS; }
        alive "$AGG_PID" || fail "the aggregator exited while consuming ($n of $target read)"
        [ $((SECONDS - stuck)) -lt 120 ] || fail "the aggregator read nothing for 120 s ($n of $target)"
        sleep 0.2
    done
    t1=$(now)
    AGG_RATE=$(rate $((n - first_n)) "$first" "$t1")
}
# agg_settled: the state gauges are refreshed every 2 s: equal twice 2.5 s apart is settled.
agg_settled() {
    local a b
    for _ in $(seq 60); do
        a=$(metric "$AGG_PORT" outreach_aggregator_state_rollups || true)
        sleep 2.5
        b=$(metric "$AGG_PORT" outreach_aggregator_state_rollups || true)
        [ -n "$a" ] && [ "$a" = "$b" ] && return 0
    done
    fail "the aggregator's state gauge did not settle"
}
# sampler PID FILE: RssAnon (kB) of PID every 0.2 s into FILE until PID is gone.
sampler() {
    while [ -r "/proc/$1/status" ]; do
        awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" >>"$2" 2>/dev/null || true
        sleep 0.2
    done
}
start_sampler() {
    : >"$2"
    sampler "$1" "$2" &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
}
stop_sampler() { kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true; }
peak_mb() { awk '$1 > m { m = $1 } END { if (NR) printf "%.1f", m / 1024 }' "$1"; }
status_mb() { awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ---- 4. the year of state: consume, memory, state size --------------------------------------
say "4/9 outreach-aggregator consumes the year (exactly-once, commit every 500 ms)"
STATE=$OUT/state-$RUN
agg_start "$RUN" "$STATE"
start_sampler "$AGG_PID" "$WORK/rss-year1.txt"
agg_consume "$N"
put num aggregator_events_per_s "$AGG_RATE"
agg_settled
stop_sampler
put num year_rollups "$(metric "$AGG_PORT" outreach_aggregator_state_rollups)"
put num year_seen_ids "$(metric "$AGG_PORT" outreach_aggregator_state_seen_ids)"
put num year_events_counted "$(metric "$AGG_PORT" outreach_aggregator_events_counted_total)"
put num year_dead_lettered "$(metric "$AGG_PORT" outreach_aggregator_dead_lettered_total)"
put num year_transactions "$(metric "$AGG_PORT" outreach_aggregator_transactions_committed_total)"
put num year_rollup_records "$(metric "$AGG_PORT" outreach_aggregator_rollups_written_total)"
put num year_peak_rss_anon_mb "$(peak_mb "$WORK/rss-year1.txt")"
put num year_vm_hwm_mb "$(status_mb "$AGG_PID" VmHWM)"
agg_stop
# Independent of the aggregator's own gauge: distinct keys committed to the rollups topic.
keys=$(kcat -C -b "$B" -t "$RUN.rollups" -o beginning -e -q -X isolation.level=read_committed \
    -f '%k\n' 2>"$WORK/kcat-rollups.log" | sort -u | wc -l) || fail "kcat on $RUN.rollups failed"
put num year_rollup_keys_in_topic "$keys"

# ---- 5. restart to ready: 3 × SIGTERM, then kill -9 ---------------------------------------
say "5/9 restart to /readyz 200: 3 after SIGTERM, 1 after kill -9"
ready=()
for _ in 1 2 3; do
    agg_start "$RUN" "$STATE"
    agg_ready
    ready+=("$READY_S")
    agg_stop
done
put json year_restart_to_ready_s "[$(IFS=,; echo "${ready[*]}")]"
put num year_restart_to_ready_max_s "$(printf '%s\n' "${ready[@]}" | sort -g | tail -1)"
agg_start "$RUN" "$STATE"
agg_ready
kill -9 "$AGG_PID"
wait "$AGG_PID" 2>/dev/null || true
agg_start "$RUN" "$STATE"
agg_ready
put num year_restart_after_kill9_to_ready_s "$READY_S"
put num year_restore_s "$(metric "$AGG_PORT" outreach_aggregator_restore_seconds)"
put num year_restored_rollups "$(metric "$AGG_PORT" outreach_aggregator_state_rollups)"

# ---- 6. the second year, on the same state ------------------------------------------------
say "6/9 a second year (2024) to the same topic, consumed by the same state"
agg_settled
put num second_year_start_rss_anon_mb "$(status_mb "$AGG_PID" RssAnon)"
start_sampler "$AGG_PID" "$WORK/rss-year2.txt"
publish "$WORK/year2.jsonl" "$RUN.events" "$WORK/producer-year2.log"
agg_consume "$N"
put num second_year_events_per_s "$AGG_RATE"
agg_settled
stop_sampler
put num second_year_peak_rss_anon_mb "$(peak_mb "$WORK/rss-year2.txt")"
put num second_year_vm_hwm_mb "$(status_mb "$AGG_PID" VmHWM)"
put num second_year_rollups "$(metric "$AGG_PORT" outreach_aggregator_state_rollups)"
put num second_year_seen_ids "$(metric "$AGG_PORT" outreach_aggregator_state_seen_ids)"
agg_stop

# ---- 7. end-to-end latency at a steady rate -----------------------------------------------
say "7/9 end-to-end latency: $LAT_RATE events/s for $LAT_SECONDS s through producer → aggregator → reporter → sink"
LAT=$RUN.lat
M=$(awk -v r="$LAT_RATE" -v s="$LAT_SECONDS" 'BEGIN { printf "%d", r * s }')
bin/outreach-gen --seed 7 --events "$((M < 100000 ? M : 100000))" --start 2025-01-01 \
    --end 2025-12-31 --outside-rate 0 --dup-rate 0 --no-id-rate 0 >"$WORK/lat-source.jsonl"
bin/outreach-sink --listen 127.0.0.1:0 --dump-dir "$WORK/lat.bodies" >"$WORK/sink.out" \
    2>"$WORK/sink.log" &
SINK_PID=$!
PIDS+=("$SINK_PID")
for _ in $(seq 100); do
    grep -q '^listening on' "$WORK/sink.out" && break
    alive "$SINK_PID" || fail "outreach-sink did not start"
    sleep 0.1
done
SINK=$(sed -n 's/^listening on //p' "$WORK/sink.out" | head -1)
[ -n "$SINK" ] || fail "outreach-sink did not say where it listens"
agg_start "$LAT" "$STATE.lat"
agg_ready
bin/outreach-reporter -X bootstrap.servers="$B" -X rollups.topic="$LAT.rollups" \
    -X group.prefix="$LAT.reporter" -X dlq.topic.prefix="$LAT.rdlq" \
    -X endpoint.bench.url="http://$SINK/rollups" 2>"$WORK/reporter.log" &
REP_PID=$!
PIDS+=("$REP_PID")
sleep 2
alive "$REP_PID" || fail "outreach-reporter exited at start"
set +e
"$PY" "$HELPER" pace --source "$WORK/lat-source.jsonl" --rate "$LAT_RATE" \
    --seconds "$LAT_SECONDS" --id-prefix "$LAT" --start-file "$WORK/lat.start" \
    2>"$WORK/pacer.log" |
    bin/outreach-producer --no-progress -X bootstrap.servers="$B" -X events.topic="$LAT.events" \
        -X authz.default=allow - 2>"$WORK/producer-lat.log"
st=("${PIPESTATUS[@]}")
set -e
[ "${st[0]}" = 0 ] || fail "the pacer failed (see $WORK/pacer.log)"
[ "${st[1]}" = 0 ] || fail "outreach-producer (stdin) exited with ${st[1]}"
agg_consume "$M"
# Everything read: now until the sink has taken no batch for 3 s (the reporter's
# max.delay.ms is 1 s, the aggregator commits every 500 ms).
last="" same=0
for _ in $(seq 600); do
    n=$(curl -sf "http://$SINK/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["batches"])' || true)
    if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0 last=$n; fi
    [ "$same" -ge 30 ] && break
    sleep 0.1
done
lat_json=$("$PY" "$HELPER" latency --dump-dir "$WORK/lat.bodies" --start-file "$WORK/lat.start" \
    --warmup "$LAT_WARMUP" --seconds "$LAT_SECONDS") || fail "latency analysis failed"
put merge - "$lat_json"
put num e2e_rate_events_per_s "$LAT_RATE"
put num e2e_duration_s "$LAT_SECONDS"
put num e2e_warmup_s "$LAT_WARMUP"
kill -TERM "$REP_PID" "$SINK_PID" 2>/dev/null || true
wait "$REP_PID" "$SINK_PID" 2>/dev/null || true
agg_stop

# ---- 8. the codec alone -------------------------------------------------------------------
say "8/9 codec: encode and decode of the year's events"
codec_json=$("$CODEC_BENCH" "$WORK/year1.jsonl" 2>"$WORK/codec.log") || fail "codec_bench failed"
put merge - "$codec_json"

# ---- 9. reporter restart to first delivery (tests/bench/reporter_restart.sh, if there) ----
if [ -f tests/bench/reporter_restart.sh ]; then
    say "9/9 tests/bench/reporter_restart.sh"
    rr=$(KAFKA_BOOTSTRAP=$B timeout 600 bash tests/bench/reporter_restart.sh \
        2>"$WORK/reporter-restart.log" |
        grep '^{' | tail -1) || true
    if [ -n "$rr" ] && "$PY" -c 'import json,sys; json.loads(sys.argv[1])' "$rr" 2>/dev/null; then
        put merge - "$rr"
    else
        say "WARNING: reporter_restart.sh gave no JSON line (see $WORK/reporter-restart.log): null recorded"
    fi
else
    say "9/9 tests/bench/reporter_restart.sh does not exist: reporter restart not measured"
fi

"$PY" "$HELPER" report --kv "$KV" --json "$OUT/results.json" --md "$OUT/results.md" ||
    fail "cannot write the results"
cp "$OUT/results.json" "$WORK/results.json"
cat "$OUT/results.md"
OK=1
