#!/usr/bin/env bash
# The chaos suite (issue #12): generated files flow spool producer → two aggregators →
# reporter → sink over a three-broker KRaft cluster while faults strike at random moments;
# at the end the sink's rollups must equal the reference recomputed from the input files.
#
#   bash tests/chaos/run.sh                    # short form (make test): CHAOS_SECONDS=100
#   CHAOS_SECONDS=900 bash tests/chaos/run.sh  # long form (make chaos CHAOS_SECONDS=900)
#   CHAOS_SEED=1234 bash tests/chaos/run.sh    # replay a run's fault sequence and data
#
# Environment: CHAOS_SECONDS (100), CHAOS_SEED (random, printed), CHAOS_PORT (29092: first
# broker; the cluster uses P..P+2 and P+1000..P+1002), CHAOS_FAULT_MIN_MS / _MAX_MS (2500 /
# 5000: pause between faults), CHAOS_FILES (one per 10 s of faults, at least 10),
# CHAOS_EVENTS (2500 per file), CHAOS_MIN_FAULTS (20), CHAOS_DRAIN_SECONDS (180),
# KEEP_WORK=1 (keep logs on success).
# Faults: kill -9 of each daemon (producer, aggregator-a, aggregator-b, reporter, sink),
# broker restart (SIGTERM, start), kill -9 of the leader of events partition 0 (then start),
# SIGSTOP of an aggregator or the reporter past its session timeout (then SIGCONT), endpoint
# 503s and connection resets; dealt from a shuffled deck so that each kind comes up.
# A supervisor restarts any daemon that exits, 1 s later (systemd's Restart=always).
# Last line: `chaos: faults N mismatches M`; exit 0 only if M = 0, N >= CHAOS_MIN_FAULTS and no
# daemon died by a signal it was not sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
. tests/lib/util.sh

SECS=${CHAOS_SECONDS:-100}
SEED=${CHAOS_SEED:-$((($(od -An -N4 -tu4 /dev/urandom) % 1000000) + 1))}
PORT=${CHAOS_PORT:-29092}
FAULT_MIN_MS=${CHAOS_FAULT_MIN_MS:-2500}
FAULT_MAX_MS=${CHAOS_FAULT_MAX_MS:-5000}
NFILES=${CHAOS_FILES:-$((SECS < 100 ? 10 : SECS / 10))} # one file per 10 s of faults
NEVENTS=${CHAOS_EVENTS:-2500}
MIN_FAULTS=${CHAOS_MIN_FAULTS:-20}
DRAIN_SECS=${CHAOS_DRAIN_SECONDS:-180}
SESSION_MS=6000
CAMPAIGN="2025 两节送温暖:2024-12-20:2025-02-12"
RANDOM=$SEED

# Our own cluster, in its own state dir (the integration tests' broker lives in .state/kafka).
STATE=${OUTREACH_STATE:-$REPO/.state}
export OUTREACH_STATE=$STATE/chaos
unset KAFKA_BOOTSTRAP
KSH=(bash "$REPO/deploy/kafka/kafka.sh")
. tests/lib/kafka.sh
PY=$STATE/venv/bin/python
for b in outreach-producer outreach-gen outreach-aggregator outreach-reporter outreach-sink outreach-codec; do
    [ -x "bin/$b" ] || { echo "chaos: bin/$b is not built (make all)" >&2; exit 2; }
done
[ -x "$PY" ] && "$PY" -c 'import fastavro' 2>/dev/null ||
    OUTREACH_STATE=$STATE bash tests/interop/run.sh >/dev/null # the venv with fastavro

util_init chaos
RUN=chaos.$(date +%s)-$$
T0=$EPOCHREALTIME
mkdir -p "$WORK/pids" "$WORK/in" "$WORK/spool"

ts() { # seconds since the start, one decimal
    local now=$EPOCHREALTIME
    awk -v a="$T0" -v b="$now" 'BEGIN { printf "%.1f", b - a }'
}
say() { echo "chaos: t=$(ts)s $*"; }

on_exit() {
    local rc=$?
    set +e
    touch "$WORK/stop"
    [ -n "${SUPERVISOR:-}" ] && { kill "$SUPERVISOR" 2>/dev/null; wait "$SUPERVISOR" 2>/dev/null; } || true
    for f in "$WORK"/pids/*.pid; do
        [ -f "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null || true
    done
    (exit $rc)
    cleanup
    rc=$?
    if [ "${CHAOS_KEEP_KAFKA:-0}" != 1 ]; then "${KSH[@]}" down --kill >/dev/null 2>&1 || true; fi
    return $rc
}
trap on_exit EXIT

# ---- the cluster ---------------------------------------------------------------------------
# Its jars are the ones 'kafka.sh fetch' caches for every suite.
OUTREACH_STATE=$STATE "${KSH[@]}" fetch >/dev/null 2>&1 || OUTREACH_STATE=$STATE "${KSH[@]}" fetch
mkdir -p "$OUTREACH_STATE/kafka"
[ -e "$OUTREACH_STATE/kafka/libs" ] || ln -sfn "$STATE/kafka/libs" "$OUTREACH_STATE/kafka/libs"
"${KSH[@]}" down --kill >/dev/null 2>&1 || true # a cluster left by an interrupted run
kafka_ensure --brokers 3 --port "$PORT" 2>>"$WORK/kafka.log" || fail "no 3-broker cluster"
B=$KAFKA_BOOTSTRAP
"${KSH[@]}" status >/dev/null 2>&1 ||
    fail "the brokers on 127.0.0.1:$PORT.. are not a cluster of ours (another one answers there?): set CHAOS_PORT"
echo "chaos: seed $SEED (CHAOS_SEED=$SEED replays it), $SECS s of faults, cluster $B, work $WORK"

# ---- data: generated files, dropped into the spool during the run ---------------------------
for i in $(seq 1 "$NFILES"); do
    fmt=jsonl
    ((i % 3 == 0)) && fmt=csv
    # With corrections and retractions (更正/撤回) mixed in, as offices send them.
    bin/outreach-gen --seed $((SEED * 100 + i)) --events "$NEVENTS" --format $fmt \
        --correct-rate 0.04 --retract-rate 0.01 >"$WORK/in/part$i.$fmt"
done
# One file is delivered twice (a district office re-sending its export): counted once.
cp "$WORK/in/part1.jsonl" "$WORK/in/part$((NFILES + 1)).jsonl"
mapfile -t INPUTS < <(ls "$WORK"/in/part* | sort -V)

# ---- the daemons and their supervisor ------------------------------------------------------
T=$RUN
SINK_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DAEMONS=(sink aggregator-a aggregator-b reporter producer)

start_daemon() { # NAME: starts it in the background, pid in $WORK/pids/NAME.pid
    local name=$1 pid
    case $name in
        sink)
            bin/outreach-sink --listen "127.0.0.1:$SINK_PORT" --state "$WORK/sink.state" \
                --enable-control -q >>"$WORK/sink.out" 2>>"$WORK/sink.log" &
            ;;
        aggregator-a | aggregator-b)
            bin/outreach-aggregator -X bootstrap.servers="$B" -X events.topic="$T.events" \
                -X rollups.topic="$T.rollups" -X seen.topic="$T.seen" -X dlq.topic="$T.dlq" \
                -X group.name="$T.agg" -X instance.id="$name" -X topic.partitions=4 \
                -X commit.interval.ms=200 -X session.timeout.ms=$SESSION_MS \
                -X authz.default=allow -X state.dir="$WORK/state" -X "campaigns=$CAMPAIGN" \
                >>"$WORK/$name.log" 2>&1 &
            ;;
        reporter)
            bin/outreach-reporter -X bootstrap.servers="$B" -X rollups.topic="$T.rollups" \
                -X group.prefix="$T.rep" -X dlq.topic.prefix="$T.rdlq" -X instance.id=reporter \
                -X session.timeout.ms=$SESSION_MS -X retry.backoff.ms=100 \
                -X retry.backoff.max.ms=1000 -X status.interval.ms=10000 \
                -X "endpoint.sink.url=http://127.0.0.1:$SINK_PORT/rollups" \
                -X endpoint.sink.timeout.ms=5000 >>"$WORK/$name.log" 2>&1 &
            ;;
        producer)
            bin/outreach-producer --spool "$WORK/spool" -X bootstrap.servers="$B" \
                -X events.topic="$T.events" -X topic.partitions=4 -X authz.default=allow \
                -X spool.rescan.ms=1000 -X spool.settle.ms=500 -X spool.retry.max.ms=2000 \
                -X producer.threads=1 \
                -X message.timeout.ms=20000 >>"$WORK/$name.log" 2>&1 &
            ;;
    esac
    pid=$!
    track "$pid"
    echo "$pid" >"$WORK/pids/$name.pid"
}

dead() { # PID: not running (gone, or a zombie not yet reaped)
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$st" = Z ] || [ -z "$st" ]
}

# supervisor: restarts any daemon that exits (1 s later, like RestartSec=1), until $WORK/stop.
# Exits by a signal other than SIGKILL (ours) are crashes: listed in $WORK/crashes.
supervisor() {
    local name pid rc
    start_daemon sink
    wait_for 10 grep -q "^listening on" "$WORK/sink.out" || { say "the sink did not start" >&2; return 1; }
    start_daemon aggregator-a
    wait_for 90 grep -q "restored" "$WORK/aggregator-a.log" || { say "aggregator-a never became ready" >&2; return 1; }
    for name in aggregator-b reporter producer; do start_daemon "$name"; done
    touch "$WORK/started"
    while [ ! -e "$WORK/stop" ]; do
        for name in "${DAEMONS[@]}"; do
            pid=$(cat "$WORK/pids/$name.pid")
            dead "$pid" || continue
            rc=0
            wait "$pid" 2>/dev/null || rc=$?
            if ((rc > 128 && rc != 137)); then
                echo "$name $rc" >>"$WORK/crashes"
                say "supervisor: $name died with status $rc (signal $((rc - 128))): a crash"
            fi
            echo "$name $rc" >>"$WORK/restarts"
            sleep 1
            [ -e "$WORK/stop" ] && break
            start_daemon "$name"
            say "supervisor: $name exited (status $rc), restarted (pid $(cat "$WORK/pids/$name.pid"))"
        done
        sleep 0.3
    done
}

supervisor 2>>"$WORK/supervisor.log" &
SUPERVISOR=$!
wait_for 120 test -e "$WORK/started" || fail "the daemons did not start"
wait_for 60 grep -q "restored" "$WORK/aggregator-b.log" || fail "aggregator-b never became ready"
wait_for 30 test -d "$WORK/spool/incoming" || fail "the spool directories were not created"

# The topics the daemons created: replication 3, min.insync.replicas=2.
kafka_topics --describe --topic "$T.events" >"$WORK/topics.txt" 2>>"$WORK/kafka.log" || true
kafka_topics --describe --topic "$T.rollups" >>"$WORK/topics.txt" 2>>"$WORK/kafka.log" || true
[ "$(grep -c 'ReplicationFactor: 3.*min.insync.replicas=2' "$WORK/topics.txt")" = 2 ] ||
    { cat "$WORK/topics.txt" >&2; fail "topics not created with replication 3, min.insync.replicas=2"; }
echo "chaos: topics $T.{events,rollups,seen,dlq}: 4 partitions, replication 3, min.insync.replicas=2"

# ---- faults --------------------------------------------------------------------------------
NFAULTS=0
declare -A COUNT=()
# rand_ms MIN MAX: sets R. Never call it in $(...): a subshell reseeds RANDOM (bash 5), and
# CHAOS_SEED would no longer replay the run.
rand_ms() { R=$(($1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1))); }
secs_of() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
fault() { # KIND TEXT
    NFAULTS=$((NFAULTS + 1))
    COUNT[$1]=$((${COUNT[$1]:-0} + 1))
    say "$2"
}
broker_busy() { [ -e "$WORK/broker.busy" ]; }
paused() { [ -e "$WORK/paused.$1" ]; }

# under_replicated: partitions of any topic (internal ones too) with fewer than 3 in-sync
# replicas, from a metadata request.
under_replicated() {
    timeout 10 kcat -L -b "$B" 2>/dev/null | grep -c 'isrs: [0-9]*,\?[0-9]*$' || true
}

# broker_cycle K HOW DELAY_MS: in the background: stop node K (HOW kill or graceful), start it
# again after DELAY_MS, then wait until every partition has its 3 replicas in sync again
# (a rolling restart never takes a second broker while one is catching up).
broker_cycle() {
    local k=$1 how=$2 delay=$3
    touch "$WORK/broker.busy"
    (
        local t0=$SECONDS
        if [ "$how" = graceful ]; then
            "${KSH[@]}" stop-node "$k" --graceful >>"$WORK/kafka.log" 2>&1 || true
        else
            "${KSH[@]}" stop-node "$k" >>"$WORK/kafka.log" 2>&1 || true
        fi
        sleep "$(secs_of "$delay")"
        "${KSH[@]}" start-node "$k" >>"$WORK/kafka.log" 2>&1 || "${KSH[@]}" start-node "$k" >>"$WORK/kafka.log" 2>&1 || true
        for _ in $(seq 60); do
            [ "$(under_replicated)" = 0 ] && break
            sleep 1
        done
        say "broker $k back after $((SECONDS - t0)) s, $([ "$(under_replicated)" = 0 ] && echo "every partition in sync" || echo "STILL under-replicated")"
        rm -f "$WORK/broker.busy"
    ) &
    BROKER_JOB=$!
}

leader_of_p0() {
    timeout 10 kcat -L -b "$B" -t "$T.events" 2>/dev/null |
        sed -n 's/^ *partition 0, leader \([0-9]*\),.*/\1/p' | head -1
}

# pause NAME MS: SIGSTOP, SIGCONT after MS, in the background.
pause() {
    local name=$1 ms=$2 pid
    pid=$(cat "$WORK/pids/$name.pid")
    touch "$WORK/paused.$name"
    kill -STOP "$pid" 2>/dev/null || true
    (
        sleep "$(secs_of "$ms")"
        kill -CONT "$pid" 2>/dev/null || true
        rm -f "$WORK/paused.$name"
        say "SIGCONT $name (pid $pid)"
    ) &
}

control() {
    curl -sf -m 5 -X POST --data-binary "$1" "http://127.0.0.1:$SINK_PORT/control" >/dev/null
}

# The faults come from a shuffled deck holding each kind once, dealt in order and shuffled
# again when empty: every kind is tried about equally often, even in a short run. A card that
# cannot be played now (a broker is still catching up, the daemon is paused) waits for a
# later turn; the first playable card is played instead.
CARDS=(kill-producer kill-aggregator-a kill-aggregator-b kill-reporter kill-sink broker-restart
    leader-kill pause-aggregator-a pause-aggregator-b pause-reporter endpoint-503 endpoint-reset)
DECK=()
shuffle() {
    local i j t
    DECK=("${CARDS[@]}")
    for ((i = ${#DECK[@]} - 1; i > 0; i--)); do
        j=$((RANDOM % (i + 1)))
        t=${DECK[i]} DECK[i]=${DECK[j]} DECK[j]=$t
    done
}
playable() { # CARD
    case $1 in
        broker-restart | leader-kill) ! broker_busy ;;
        kill-* | pause-*) ! paused "${1#*-}" ;;
        *) true ;;
    esac
}
one_fault() {
    local i card=
    ((${#DECK[@]})) || shuffle
    for i in "${!DECK[@]}"; do
        if playable "${DECK[i]}"; then
            card=${DECK[i]}
            unset 'DECK[i]'
            DECK=("${DECK[@]}")
            break
        fi
    done
    [ -n "$card" ] || card=endpoint-503
    play "$card"
}
play() { # CARD
    local card=$1 name pid k ms
    case $card in
        kill-*)
            name=${card#kill-}
            pid=$(cat "$WORK/pids/$name.pid")
            kill -9 "$pid" 2>/dev/null || true
            fault "$card" "kill -9 $name (pid $pid)"
            ;;
        broker-restart)
            rand_ms 1000 4000
            ms=$R
            k=$((RANDOM % 3 + 1))
            broker_cycle "$k" graceful "$ms"
            fault "$card" "restart broker $k (SIGTERM, start after $(secs_of "$ms") s)"
            ;;
        leader-kill)
            rand_ms 1000 4000
            ms=$R
            k=$(leader_of_p0)
            [ -n "$k" ] || { say "no leader for $T.events partition 0 in the metadata"; play endpoint-503; return; }
            broker_cycle "$k" kill "$ms"
            fault "$card" "kill -9 broker $k (leader of $T.events partition 0), start it after $(secs_of "$ms") s"
            ;;
        pause-*)
            name=${card#pause-}
            rand_ms $((SESSION_MS + 1000)) $((SESSION_MS + 4000))
            ms=$R
            pause "$name" "$ms"
            fault "$card" "SIGSTOP $name (pid $(cat "$WORK/pids/$name.pid")) for $(secs_of "$ms") s (session.timeout.ms $SESSION_MS)"
            ;;
        endpoint-*) one_fault_endpoint "$card" ;;
    esac
}
one_fault_endpoint() {
    local kind=$1 n
    if [ "$kind" = endpoint-503 ]; then
        n=$((RANDOM % 8 + 3))
        wait_for 5 control "{\"mode\":\"503\",\"count\":$n}" || { say "endpoint flap skipped (sink not answering)"; return; }
        fault endpoint-503 "endpoint flaps: next $n requests answered 503"
    else
        n=$((RANDOM % 4 + 2))
        wait_for 5 control "{\"mode\":\"drop\",\"count\":$n}" || { say "endpoint flap skipped (sink not answering)"; return; }
        fault endpoint-reset "endpoint flaps: next $n connections reset without an answer"
    fi
}

say "faults begin"
END_MS=$((SECS * 1000))
rand_ms "$FAULT_MIN_MS" "$FAULT_MAX_MS"
next_fault=$R
next_file=0
file_i=0
drop_every=$((END_MS * 8 / 10 / ${#INPUTS[@]}))
now_ms() { local n=$EPOCHREALTIME; awk -v a="$T0" -v b="$n" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
START_MS=$(now_ms)
while :; do
    t=$(($(now_ms) - START_MS))
    ((t < END_MS)) || break
    if ((file_i < ${#INPUTS[@]} && t >= next_file)); then
        f=${INPUTS[file_i]}
        cp "$f" "$WORK/spool/.$(basename "$f").tmp"
        mv "$WORK/spool/.$(basename "$f").tmp" "$WORK/spool/incoming/$(basename "$f")"
        say "file $(basename "$f") ($(wc -l <"$f") lines) dropped into the spool"
        file_i=$((file_i + 1))
        next_file=$((next_file + drop_every))
    fi
    if ((t >= next_fault)); then
        one_fault
        rand_ms "$FAULT_MIN_MS" "$FAULT_MAX_MS"
        next_fault=$((t + R))
    fi
    sleep 0.2
done
while ((file_i < ${#INPUTS[@]})); do # CHAOS_FILES larger than the time allows
    f=${INPUTS[file_i]}
    cp "$f" "$WORK/spool/.tmp" && mv "$WORK/spool/.tmp" "$WORK/spool/incoming/$(basename "$f")"
    file_i=$((file_i + 1))
done

# ---- drain: heal everything, wait until nothing moves --------------------------------------
say "faults end: healing (SIGCONT, brokers back, endpoint ok), then draining"
wait "${BROKER_JOB:-0}" 2>/dev/null || true
for f in "$WORK"/pids/*.pid; do kill -CONT "$(cat "$f")" 2>/dev/null || true; done
wait_for 20 eval '! compgen -G "$WORK/paused.*" >/dev/null' || true
for k in 1 2 3; do "${KSH[@]}" start-node "$k" >>"$WORK/kafka.log" 2>&1 || true; done
control '{"mode":"ok"}' || true
DRAIN0=$SECONDS

spool_empty() {
    ! compgen -G "$WORK/spool/incoming/*" >/dev/null && ! compgen -G "$WORK/spool/processing/*" >/dev/null
}
# last_visible P: the offset of the last committed message of partition P of the rollups topic
# (read_committed), or -1 when it holds none. Looks at the tail first: commit markers and
# aborted transactions (a killed or fenced aggregator's) follow the last visible message.
last_visible() {
    local o n
    for n in 64 4096 beginning; do
        o=$(timeout 30 kcat -C -b "$B" -t "$T.rollups" -p "$1" -o "$([ $n = beginning ] && echo beginning || echo -$n)" \
            -e -q -f '%o\n' -X isolation.level=read_committed 2>/dev/null | tail -n 1)
        [ -n "$o" ] && { echo "$o"; return; }
    done
    echo -1
}
# caught_up: the aggregators' group is at the end of every events partition (LAG 0: events are
# not transactional) and the reporter's group past the last visible rollup of every partition
# (its offsets stop after that message: the markers and aborted records behind it are never
# delivered, so LAG stays 1 or more there). Partitions that never held data show "-" and 0.
caught_up() {
    local p want cur
    kafka_groups --describe --group "$T.agg" --group "$T.rep.sink" >"$WORK/lag.txt" 2>>"$WORK/kafka.log" || return 1
    awk -v ev="$T.events" '$2 == ev { n++; if ($4 == "-" ? $5 != "0" : $4 + 0 < $5 + 0) bad++ }
        END { exit !(n == 4 && bad == 0) }' "$WORK/lag.txt" || return 1
    for p in 0 1 2 3; do
        cur=$(awk -v ro="$T.rollups" -v p="$p" '$2 == ro && $3 == p { print $4 }' "$WORK/lag.txt")
        [ -n "$cur" ] || return 1
        want=$(($(last_visible "$p") + 1))
        if [ "$cur" = - ]; then [ "$want" = 0 ] || return 1; else [ "$cur" -ge "$want" ] || return 1; fi
    done
}
sink_sum() { curl -sf -m 10 "http://127.0.0.1:$SINK_PORT/rollups" | sha256sum | cut -c1-16; }
prev=
drained=0
while ((SECONDS - DRAIN0 < DRAIN_SECS)); do
    if spool_empty && caught_up; then
        cur=$(sink_sum || echo none)
        if [ "$cur" = "$prev" ] && [ "$cur" != none ]; then
            drained=1
            break
        fi
        prev=$cur
    else
        prev=
    fi
    sleep 2
done
if ((drained)); then
    say "drained in $((SECONDS - DRAIN0)) s: spool empty, both groups at the end offsets, the sink unchanged"
else
    say "NOT drained after $DRAIN_SECS s (spool: $(find "$WORK/spool/incoming" "$WORK/spool/processing" -type f | wc -l) files left); lag:"
    cat "$WORK/lag.txt" 2>/dev/null || true
fi
touch "$WORK/stop"
wait "$SUPERVISOR" 2>/dev/null || true
SUPERVISOR=

# ---- compare -------------------------------------------------------------------------------
bin/outreach-codec dump -X bootstrap.servers="$B" "$T.rollups" >"$WORK/rollups.dump" 2>>"$WORK/dump.log" ||
    fail "cannot dump $T.rollups"
"$PY" tests/chaos/chaos_check.py --sink "http://127.0.0.1:$SINK_PORT" --dump "$WORK/rollups.dump" \
    --campaign "$CAMPAIGN" "${INPUTS[@]}" >"$WORK/check.out" 2>&1 || true
cat "$WORK/check.out"
M=$(sed -n 's/.* mismatches \([0-9]*\) .*/\1/p' "$WORK/check.out" | tail -1)
[ -n "$M" ] || M=unknown
rejects=$(find "$WORK/spool/done" -name '*.errors' | wc -l)
failed=$(find "$WORK/spool/failed" -type f | wc -l)
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
restarts=$(lines "$WORK/restarts")
crashes=$(lines "$WORK/crashes")
# What the faults cost, from the daemons' own logs and the sink's counters.
restores=$(sed -n 's/.*NOTICE: restored [0-9]* partition(s) in \([0-9]*\) ms.*/\1/p' "$WORK"/aggregator-*.log | sort -n)
lost=$(cat "$WORK"/aggregator-*.log | grep -c "NOTICE: lost [0-9]* partition" || true)
sinkstats=$(curl -sf -m 10 "http://127.0.0.1:$SINK_PORT/stats" | "$PY" -c 'import json, sys
s = json.load(sys.stdin); print("%s batches stored, %s re-sent batches recognised by key, %s key conflicts" % (s.get("batches"), s.get("duplicates"), s.get("conflicts")))' 2>/dev/null || echo "no /stats")
retries=$(cat "$WORK/reporter.log" | grep -Ec "endpoint sink: batch .*(HTTP 5|Server returned nothing|Empty reply|Couldn.t connect|Timeout)" || true)
if [ -n "$restores" ]; then
    echo "chaos: aggregator restores $(wc -l <<<"$restores") (median $(sed -n "$((($(wc -l <<<"$restores") + 1) / 2))p" <<<"$restores") ms, max $(tail -1 <<<"$restores") ms), assignments lost $lost; reporter retried $retries requests; sink: $sinkstats"
fi
selfexits=$(awk '$2 != 137' "$WORK/restarts" 2>/dev/null | sort | uniq -c | awk '{printf "%s%s status %s x%s", (n++ ? ", " : ""), $2, $3, $1}')
stalls=$(cat "$WORK"/aggregator-*.log | grep -c "watermarks of .*(retrying)" || true)
echo "chaos: exits not caused by a fault: ${selfexits:-none}; restore watermark retries (stale partition leader): $stalls"
summary=""
for k in $(printf '%s\n' "${!COUNT[@]}" | sort); do summary+=" $k=${COUNT[$k]}"; done
echo "chaos: fault counts:$summary"
echo "chaos: seed $SEED, $((SECONDS)) s wall, ${#INPUTS[@]} files ($(cat "${INPUTS[@]}" | wc -l) lines), $restarts daemon restarts, $crashes crashes, spool: $failed failed, $rejects with rejects"
rc=0
[ "$M" = 0 ] || rc=1
((NFAULTS >= MIN_FAULTS)) || { echo "chaos: only $NFAULTS faults, $MIN_FAULTS wanted" >&2; rc=1; }
((crashes == 0)) || { echo "chaos: crashes: $(cat "$WORK/crashes" | tr '\n' ' ')" >&2; rc=1; }
((drained)) || rc=1
if ((rc)); then
    for f in "$WORK"/*.log; do echo "--- $f (last lines)" >&2; tail -n 8 "$f" >&2; done
fi
echo "chaos: faults $NFAULTS mismatches $M"
exit $rc
