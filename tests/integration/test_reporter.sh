#!/usr/bin/env bash
# Integration tests of outreach-reporter and outreach-sink against a real Kafka broker: an
# endpoint down (refused, 503, timeouts, dropped connections) then back, kill -9 mid-batch,
# kill -9 and SIGTERM of one of two reporters (static membership: back without a rebalance),
# 400 → DLQ, two endpoints with one down (plus HTTPS, a token and a file endpoint), the JSON
# Schema on the received gzip bodies, and the sink page in headless Chromium. The expected
# state is computed independently (tests/integration/reporter_check.py, fastavro).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/kafka.sh
. tests/lib/util.sh
UTIL_ON_EXIT=kafka_cleanup
util_init test_reporter
RUN=reporter-it-$$-$RANDOM
UTIL_TOPICS=$RUN # its rollups and DLQs
kafka_ensure
B=$KAFKA_BOOTSTRAP

# ---- tools ---------------------------------------------------------------------------------
for b in bin/outreach-reporter bin/outreach-sink bin/outreach-codec; do
    [ -x "$b" ] || make "$b" >/dev/null || fail "cannot build $b"
done
PY=$ROOT/.state/venv/bin/python
if [ ! -x "$PY" ]; then
    mkdir -p "$ROOT/.state"
    /usr/bin/python3 -m venv "$ROOT/.state/venv" || fail "cannot create the venv (python3-venv)"
fi
if ! "$PY" -c 'import fastavro, jsonschema, rfc3339_validator' 2>/dev/null; then
    "$PY" -m pip install --quiet --disable-pip-version-check 'fastavro>=1.9,<2' 'jsonschema>=4.18' \
        rfc3339-validator || fail "pip install fastavro jsonschema rfc3339-validator failed"
fi
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || true
    fi
    command -v chromium >/dev/null || fail "chromium is missing (apt-get install chromium)"
fi
CHECK=("$PY" "$ROOT/tests/integration/reporter_check.py")

# ---- helpers -------------------------------------------------------------------------------
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_sink NAME ARGS...: runs outreach-sink on 127.0.0.1:${PORT:-0}; sets NAME_PORT, NAME_PID.
start_sink() {
    local name=$1
    shift
    : >"$WORK/$name.out"
    bin/outreach-sink --listen "127.0.0.1:${PORT:-0}" --enable-control "$@" >"$WORK/$name.out" \
        2>>"$WORK/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do
        [ -s "$WORK/$name.out" ] && break
        kill -0 "$pid" 2>/dev/null || fail "sink $name did not start"
        sleep 0.1
    done
    local line
    line=$(head -n 1 "$WORK/$name.out")
    [[ $line =~ ^listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]] || fail "sink $name said '$line'"
    printf -v "${name}_PORT" '%s' "${BASH_REMATCH[1]}"
    printf -v "${name}_PID" '%s' "$pid"
}

# start_reporter NAME ARGS...: runs outreach-reporter on the test topic; sets NAME_PID.
start_reporter() {
    local name=$1
    shift
    bin/outreach-reporter -X "bootstrap.servers=$B" -X "rollups.topic=$TOPIC" \
        -X retry.backoff.ms=100 -X retry.backoff.max.ms=1000 -X status.interval.ms=5000 \
        "$@" 2>>"$WORK/$name.log" &
    PIDS+=("$!")
    printf -v "${name}_PID" '%s' "$!"
}

# stat PORT FIELD: a field of the sink's GET /stats.
stat() {
    curl -sf "http://127.0.0.1:$1/stats" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
stat_ge() { [ "$(stat "$1" "$2")" -ge "$3" ]; }
stat_eq() { [ "$(stat "$1" "$2")" = "$3" ]; }

control() {
    curl -sf -X POST --data-binary "$2" "http://127.0.0.1:$1/control" >/dev/null
}

dump() { bin/outreach-codec dump -X "bootstrap.servers=$B" "$1" >"$2"; }

# compare DUMP ARGS...: the independent check of what an endpoint holds.
compare() {
    local d=$1
    shift
    "${CHECK[@]}" compare --dump "$d" "$@"
}

stop_pid() { # SIGTERM, then the exit status must be 0
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || fail "pid $1 exited with $rc after SIGTERM"
}

# produce_aborted KEY PARTITION REVISION: one rollup in a transaction that is aborted.
produce_aborted() {
    local key=$1 part=$2 rev=$3 region=${1##*|}
    "$PY" - "$key" "$rev" >"$WORK/aborted.json" <<'EOF'
import json, sys
kind, window, region = sys.argv[1].split("|")
r = {"window_kind": kind, "window": window, "region": region, "level": "PROVINCE",
     "revision": int(sys.argv[2]), "event_count": 1, "first_event_at": 0, "last_event_at": 0,
     "visits": 0, "visits_by_activity": {}, "workers_reached": 0, "workers_by_group": {},
     "households": 0, "staff": 0, "funding_fen": 666, "funding_by_source_fen": {},
     "funding_by_purpose_fen": {}, "recipients": 0, "surveys": 0, "enterprises": 0,
     "respondents": 0, "satisfaction": {"s1": 0, "s2": 0, "s3": 0, "s4": 0, "s5": 0}, "needs": {}}
print(json.dumps(r, ensure_ascii=False))
EOF
    bin/outreach-codec encode rollup.v1 <"$WORK/aborted.json" | "$PY" -c '
import sys; v = bytes.fromhex(sys.stdin.read().strip()); assert b"@@END@@" not in v
assert b"@@K@@" not in v
sys.stdout.buffer.write(sys.argv[1].encode() + b"@@K@@" + v + b"@@END@@")' "$key" >"$WORK/aborted.bin"
    rm -f "$WORK/fifo"
    mkfifo "$WORK/fifo"
    kcat -P -b "$B" -t "$TOPIC" -p "$part" -K '@@K@@' -D '@@END@@' -X "transactional.id=$RUN-abort" \
        -X transaction.timeout.ms=5000 <"$WORK/fifo" 2>"$WORK/kcat-abort.log" &
    local kpid=$!
    exec 3>"$WORK/fifo"
    cat "$WORK/aborted.bin" >&3
    # kcat reads its input in blocks: more bytes (an unfinished second message) push ours out.
    head -c 200000 /dev/zero | tr '\0' x >&3
    wait_until 30 "the message of the open transaction" eval "kcat -C -b '$B' -t '$TOPIC' -p $part -e -q \
        -f '%k\n' -X isolation.level=read_uncommitted | grep -qxF '$key'"
    kill -INT "$kpid" # interrupted: kcat never commits; the broker aborts it on timeout
    exec 3>&-
    wait "$kpid" || true
    # Once aborted, read_committed readers move past it: a later tombstone becomes visible.
    printf 'after-abort@@K@@\n' | kcat -P -b "$B" -t "$TOPIC" -p "$part" -K '@@K@@' -Z
    wait_until 60 "the transaction to be aborted" eval "kcat -C -b '$B' -t '$TOPIC' -p $part -e -q -Z \
        -f '%k\n' -X isolation.level=read_committed | grep -qx after-abort"
    kcat -C -b "$B" -t "$TOPIC" -p "$part" -e -q -f '%k\n' -X isolation.level=read_committed |
        grep -qxF "$key" && fail "the aborted message is visible to read_committed readers"
    return 0
}

# ---- data ----------------------------------------------------------------------------------
TOPIC=$RUN.rollups
kafka_topics --create --topic "$TOPIC" --partitions 3 --replication-factor 1 \
    --config cleanup.policy=compact >/dev/null 2>&1 || fail "cannot create $TOPIC"
"${CHECK[@]}" gen --seed 1 --junk --out "$WORK/gen1.jsonl"
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen1.jsonl"
produce_aborted "ALL|all|650000" 0 999
dump "$TOPIC" "$WORK/dump1.jsonl"
NKEYS=$("${CHECK[@]}" expect --dump "$WORK/dump1.jsonl" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
ok "topic $TOPIC: $(wc -l <"$WORK/dump1.jsonl") committed messages, $NKEYS rollup keys, an aborted transaction, a poison message, a tombstone"

EP=(-X endpoint.prov.batch.size=20 -X endpoint.prov.max.delay.ms=200)

# ---- 1. endpoint down, then back -----------------------------------------------------------
P1=$(free_port)
start_reporter rep1 -X "group.prefix=$RUN.g1" -X "dlq.topic.prefix=$RUN.dlq1" \
    -X "endpoint.prov.url=http://127.0.0.1:$P1/rollups" -X endpoint.prov.timeout.ms=1500 "${EP[@]}" \
    -X health.listen=127.0.0.1:0
wait_until 30 "connection refused" grep -q "Couldn.t connect to server" "$WORK/rep1.log"
HP1=$(logged_port "$WORK/rep1.log")
# lag_sum OP N: the sum of endpoint prov's outreach_reporter_consumer_lag over its 3 partitions.
lag_sum() {
    local l
    l=$(curl -sf "http://127.0.0.1:$HP1/metrics" | grep '^outreach_reporter_consumer_lag{endpoint="prov",') || return 1
    [ "$(wc -l <<<"$l")" = 3 ] && [ "$(awk '{ s += $2 } END { print s }' <<<"$l")" "$1" "$2" ]
}
wait_until 30 "a consumer lag while the endpoint is down" lag_sum -gt 0
sleep 2
grep -q "delivered after" "$WORK/rep1.log" && fail "delivered while the endpoint was down"
PORT=$P1 start_sink sinkA --state "$WORK/a.state" --dump-dir "$WORK/a.dump" --fail 503
wait_until 30 "503 answers" stat_ge "$sinkA_PORT" injected 4
control "$sinkA_PORT" '{"mode":"slow","count":3,"delay_ms":4000}'
wait_until 60 "slow answers (client timeouts) to pass" stat_eq "$sinkA_PORT" fail_mode ok
control "$sinkA_PORT" '{"mode":"drop","count":2}'
wait_until 60 "dropped connections to pass" stat_eq "$sinkA_PORT" fail_mode ok
wait_until 90 "every rollup at sink A" compare "$WORK/dump1.jsonl" --sink "http://127.0.0.1:$sinkA_PORT"
compare "$WORK/dump1.jsonl" --sink "http://127.0.0.1:$sinkA_PORT"
wait_until 30 "the consumer lag back to 0 after delivery" lag_sum -eq 0
grep -q "HTTP 503" "$WORK/rep1.log" || fail "no 503 seen by the reporter"
grep -Eq "HTTP 503 .*next in [0-9]{4,} ms" "$WORK/rep1.log" || fail "Retry-After: 1 not honoured"
grep -q "Timeout was reached" "$WORK/rep1.log" || fail "no timeout seen by the reporter"
grep -Eq "Server returned nothing|Empty reply" "$WORK/rep1.log" || fail "no dropped connection seen"
curl -sf "http://127.0.0.1:$sinkA_PORT/rollups" | grep -q '"revision":999,' &&
    fail "the aborted transaction's rollup was delivered"
DUPS=$(stat "$sinkA_PORT" duplicates)
[ "$DUPS" -ge 1 ] || fail "timed-out requests were not re-sent under their key (duplicates $DUPS)"
[ "$(stat "$sinkA_PORT" conflicts)" = 0 ] || fail "an Idempotency-Key was reused for another body"
ok "endpoint refused, then 503 (Retry-After honoured), then timeouts, then dropped connections, then back: all $NKEYS rollups arrived, equal to the topic's latest revisions ($DUPS re-sent batches recognised by key); consumer lag > 0 while down, 0 after delivery"

# While it runs: newer revisions of the same keys reach the endpoint too, now as rollup.v2
# with corrections counts (compare checks each payload's corrections against fastavro's
# reading: the v2 value, or 0 for a key whose latest revision is still a v1 message).
"${CHECK[@]}" gen --seed 2 --first-revision 10 --corrections --out "$WORK/gen2.jsonl"
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen2.jsonl"
dump "$TOPIC" "$WORK/dump2.jsonl"
wait_until 60 "new revisions at sink A" compare "$WORK/dump2.jsonl" --sink "http://127.0.0.1:$sinkA_PORT"
NCORR=$("$PY" -c '
import json, sys, urllib.request
b = json.load(urllib.request.urlopen(sys.argv[1] + "/rollups"))
print(sum(1 for r in b["rollups"] if r["corrections"] > 0))' "http://127.0.0.1:$sinkA_PORT")
[ "$NCORR" -gt 0 ] || fail "no rollup with corrections > 0 reached sink A"
stop_pid "$rep1_PID"
# The reporter's own counters: requests made and connections it had to open (after refusals,
# timeouts and dropped connections a new one is needed; otherwise the connection is reused).
STOPLINE=$(grep "endpoint prov stopping" "$WORK/rep1.log")
ok "live updates delivered ($NCORR rollups with corrections > 0); clean stop on SIGTERM; ${STOPLINE#*stopping: }"

# ---- 2. kill -9 mid-batch ------------------------------------------------------------------
start_sink sinkB --state "$WORK/b.state" --dump-dir "$WORK/b.dump" --fail slow --fail-count 1 \
    --fail-delay-ms 8000
start_reporter rep2 -X "group.prefix=$RUN.g2" -X "dlq.topic.prefix=$RUN.dlq2" \
    -X "endpoint.prov.url=http://127.0.0.1:$sinkB_PORT/rollups" -X endpoint.prov.timeout.ms=30000 \
    "${EP[@]}"
wait_until 30 "the first batch stored at sink B" stat_ge "$sinkB_PORT" batches 1
{ kill -9 "$rep2_PID" && wait "$rep2_PID"; } 2>/dev/null || true
KEY1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["idempotency_key"])' "$WORK/b.dump/000001.meta.json")
# The sink dies too, after storing and before answering: its state file must keep the key.
{ kill -9 "$sinkB_PID" && wait "$sinkB_PID"; } 2>/dev/null || true
PORT=$sinkB_PORT start_sink sinkB --state "$WORK/b.state" --dump-dir "$WORK/b2.dump"
start_reporter rep2b -X "group.prefix=$RUN.g2" -X "dlq.topic.prefix=$RUN.dlq2" \
    -X "endpoint.prov.url=http://127.0.0.1:$sinkB_PORT/rollups" -X endpoint.prov.timeout.ms=30000 \
    "${EP[@]}"
wait_until 60 "every rollup at sink B" compare "$WORK/dump2.jsonl" --sink "http://127.0.0.1:$sinkB_PORT"
[ "$(stat "$sinkB_PORT" duplicates)" = 1 ] || fail "sink B saw $(stat "$sinkB_PORT" duplicates) duplicates, expected 1"
grep -q "key=\"$KEY1\" accepted=0 applied=0 duplicate=true" "$WORK/sinkB.log" ||
    fail "the batch $KEY1 was not re-sent under the same key"
[ "$(grep -c "duplicate=true" "$WORK/sinkB.log")" = 1 ] || fail "more than one duplicate"
[ "$(stat "$sinkB_PORT" conflicts)" = 0 ] || fail "a key was reused for another body"
stop_pid "$rep2b_PID"
ok "kill -9 of the reporter (and the sink) mid-batch: batch $KEY1 re-sent with the same Idempotency-Key, counted once"

# ---- 3. 400 → DLQ --------------------------------------------------------------------------
start_sink sinkC --fail 400 --fail-count 1
start_reporter rep3 -X "group.prefix=$RUN.g3" -X "dlq.topic.prefix=$RUN.dlq3" \
    -X "endpoint.prov.url=http://127.0.0.1:$sinkC_PORT/rollups" "${EP[@]}"
wait_until 60 "the poison message in the DLQ" grep -q "is not a rollup (framing" "$WORK/rep3.log"
wait_until 60 "the rejected batch in the DLQ" grep -q "dead-lettered to $RUN.dlq3.prov: rejected, status 400" "$WORK/rep3.log"
dump "$RUN.dlq3.prov" "$WORK/dlq3.jsonl"
"${CHECK[@]}" dlq --dump "$WORK/dlq3.jsonl" --endpoint prov --status 400 \
    --body-contains "injected 400" --want rejected=1 framing=1
wait_until 60 "later batches at sink C" compare "$WORK/dump2.jsonl" --sink "http://127.0.0.1:$sinkC_PORT" --allow-dlq "$WORK/dlq3.jsonl"
stop_pid "$rep3_PID"
ok "a 400 puts the batch in $RUN.dlq3.prov (status, body, endpoint, time headers; the poison message too) and later batches go through"

# ---- 4. two endpoints, one down (plus HTTPS with a token, an untrusted one, and files) ------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=outreach test CA" \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$WORK/srv.key" \
    -out "$WORK/srv.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/san.ext"
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/san.ext" -out "$WORK/srv.pem" >/dev/null 2>&1
TOKEN="tok-$RANDOM$RANDOM-secret"
printf '%s\n' "$TOKEN" >"$WORK/token"
start_sink sinkD --tls-cert "$WORK/srv.pem" --tls-key "$WORK/srv.key" --token-file "$WORK/token"
DEAD=$(free_port)
start_reporter rep4 -X "group.prefix=$RUN.g4" -X "dlq.topic.prefix=$RUN.dlq4" \
    -X "endpoint.good.url=https://127.0.0.1:$sinkD_PORT/rollups" -X "endpoint.good.ca=$WORK/ca.pem" \
    -X "endpoint.good.token.file=$WORK/token" -X endpoint.good.batch.size=20 \
    -X "endpoint.dead.url=http://127.0.0.1:$DEAD/rollups" \
    -X "endpoint.untrusted.url=https://127.0.0.1:$sinkD_PORT/rollups" \
    -X "endpoint.untrusted.token.file=$WORK/token" \
    -X "endpoint.files.url=file://$WORK/files"
PYTOKEN=(--token "$TOKEN")
wait_until 60 "every rollup at the good endpoint (HTTPS)" env SSL_CERT_FILE="$WORK/ca.pem" \
    "${CHECK[@]}" compare --dump "$WORK/dump2.jsonl" --sink "https://127.0.0.1:$sinkD_PORT" "${PYTOKEN[@]}"
wait_until 60 "every rollup in the file endpoint" compare "$WORK/dump2.jsonl" --files "$WORK/files"
"${CHECK[@]}" gen --seed 3 --first-revision 20 --out "$WORK/gen3.jsonl"
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen3.jsonl"
dump "$TOPIC" "$WORK/dump3.jsonl"
wait_until 60 "the good endpoint stays current" env SSL_CERT_FILE="$WORK/ca.pem" \
    "${CHECK[@]}" compare --dump "$WORK/dump3.jsonl" --sink "https://127.0.0.1:$sinkD_PORT" "${PYTOKEN[@]}"
wait_until 60 "the file endpoint stays current" compare "$WORK/dump3.jsonl" --files "$WORK/files"
grep -q "endpoint dead: batch .*Couldn't connect" "$WORK/rep4.log" || fail "the dead endpoint was not retried"
grep -q "endpoint untrusted: batch .*SSL certificate problem" "$WORK/rep4.log" ||
    fail "an endpoint with an unknown CA was not refused"
grep -q "endpoint untrusted: batch .*delivered" "$WORK/rep4.log" && fail "delivered without verification"
grep -qF "$TOKEN" "$WORK/rep4.log" && fail "the token appears in the reporter's log"
[ "$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$sinkD_PORT/stats")" = 401 ] ||
    fail "the sink answered without the token"
ok "two endpoints, one down (and one with an untrusted certificate): the other (HTTPS, bearer token) and the file endpoint stay current"
# The dead endpoint comes back: it catches up from its own group's offsets.
PORT=$DEAD start_sink sinkE
wait_until 90 "the dead endpoint catching up" compare "$WORK/dump3.jsonl" --sink "http://127.0.0.1:$sinkE_PORT"
stop_pid "$rep4_PID"
GOOD=$(grep "endpoint good stopping" "$WORK/rep4.log")
[[ $GOOD =~ ([0-9]+)\ attempts,.*\ ([0-9]+)\ connections\ opened ]] || fail "no status line: $GOOD"
[ "${BASH_REMATCH[2]}" -le 2 ] && [ "${BASH_REMATCH[1]}" -ge 5 ] ||
    fail "HTTPS connection not reused: ${BASH_REMATCH[1]} requests, ${BASH_REMATCH[2]} connections"
ok "the dead endpoint, once back, catches up from its own group's offsets; the good one made ${BASH_REMATCH[1]} HTTPS requests over ${BASH_REMATCH[2]} connection(s)"

# ---- 4b. static membership: kill -9, then SIGTERM, and restart without a rebalance ---------
# Reporters b (started first: the group's leader) and a share endpoint prov's group. Each
# restart of a must give the new incarnation exactly a's partitions back, and b must see no
# rebalance at all. Without static membership the new a would be a new member: b would be
# revoked and the group would wait out the dead member's session before assigning again.
start_sink sinkF --state "$WORK/f.state"
G5=(-X "group.prefix=$RUN.g5" -X "dlq.topic.prefix=$RUN.dlq5"
    -X "endpoint.prov.url=http://127.0.0.1:$sinkF_PORT/rollups" "${EP[@]}")
# assignments LOG: the partition sets of the log's assignments, one sorted line each.
assignments() {
    sed -n 's/.*endpoint prov: assigned [0-9]* partition(s) of [^ ]*: \[\([0-9,]*\)\].*/\1/p' "$1" |
        while IFS= read -r l; do tr ',' '\n' <<<"$l" | sort -n | paste -sd, -; done
}
rebalances() { grep -Ec "endpoint prov: (assigned|revoked|lost)" "$1" || true; }
delivered() { # batches NAME delivered, from its status line at exit
    sed -n 's/.*endpoint prov stopping: \([0-9]*\) batches delivered.*/\1/p' "$WORK/$1.log"
}
start_reporter rep5b -X "instance.id=$RUN-b" "${G5[@]}"
wait_until 30 "b's first assignment" grep -q "endpoint prov: assigned 3 partition" "$WORK/rep5b.log"
start_reporter rep5a -X "instance.id=$RUN-a" "${G5[@]}"
wait_until 30 "a's assignment" grep -q "endpoint prov: assigned" "$WORK/rep5a.log"
wait_until 30 "b's share after a joined" eval '[ "$(assignments "$WORK/rep5b.log" | wc -l)" -ge 2 ]'
A_PARTS=$(assignments "$WORK/rep5a.log")
B_PARTS=$(assignments "$WORK/rep5b.log" | tail -n 1)
[ -n "$A_PARTS" ] && [ -n "$B_PARTS" ] || fail "a got [$A_PARTS], b [$B_PARTS]"
grep -q "(member outreach-reporter-$RUN-a-prov)" "$WORK/rep5a.log" || fail "a is not a static member"
B_REBALANCES=$(rebalances "$WORK/rep5b.log")
wait_until 60 "the topic's rollups at sink F" compare "$WORK/dump3.jsonl" --sink "http://127.0.0.1:$sinkF_PORT"

# kill -9 while new revisions are being produced; the restarted a delivers what follows too.
"${CHECK[@]}" gen --seed 4 --first-revision 30 --out "$WORK/gen4.jsonl" >/dev/null
"${CHECK[@]}" gen --seed 5 --first-revision 40 --out "$WORK/gen5.jsonl" >/dev/null
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen4.jsonl" >"$WORK/produce4.log" &
PRODUCER=$!
sleep 0.5
{ kill -9 "$rep5a_PID" && wait "$rep5a_PID"; } 2>/dev/null || true
start_reporter rep5a2 -X "instance.id=$RUN-a" "${G5[@]}"
wait "$PRODUCER" || fail "producing gen4 failed: $(cat "$WORK/produce4.log")"
wait_until 30 "the restarted a's assignment" grep -q "endpoint prov: assigned" "$WORK/rep5a2.log"
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen5.jsonl" >/dev/null
dump "$TOPIC" "$WORK/dump5.jsonl"
wait_until 60 "every rollup at sink F after kill -9" compare "$WORK/dump5.jsonl" --sink "http://127.0.0.1:$sinkF_PORT"
[ "$(assignments "$WORK/rep5a2.log")" = "$A_PARTS" ] ||
    fail "the restarted a got [$(assignments "$WORK/rep5a2.log" | paste -sd' ' -)], not its [$A_PARTS]"
[ "$(rebalances "$WORK/rep5b.log")" = "$B_REBALANCES" ] ||
    fail "b saw a rebalance when a came back: $(grep -E 'endpoint prov: (assigned|revoked|lost)' "$WORK/rep5b.log" | tail -n 2)"
stop_pid "$rep5a2_PID"
[ "$(delivered rep5a2)" -ge 1 ] || fail "the restarted a delivered nothing"
ok "kill -9 of reporter a while rollups flow: restarted as the same static member, it got its partitions [$A_PARTS] back without a rebalance (b [$B_PARTS] untouched) and delivered $(delivered rep5a2) batch(es); every rollup arrived"

# A clean stop keeps the static member in the group (no LeaveGroup): the restart takes over.
start_reporter rep5a3 -X "instance.id=$RUN-a" "${G5[@]}"
"${CHECK[@]}" gen --seed 6 --first-revision 50 --out "$WORK/gen6.jsonl" >/dev/null
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen6.jsonl" >/dev/null
dump "$TOPIC" "$WORK/dump6.jsonl"
wait_until 60 "every rollup at sink F after SIGTERM" compare "$WORK/dump6.jsonl" --sink "http://127.0.0.1:$sinkF_PORT"
[ "$(assignments "$WORK/rep5a3.log")" = "$A_PARTS" ] ||
    fail "after SIGTERM a got [$(assignments "$WORK/rep5a3.log" | paste -sd' ' -)], not its [$A_PARTS]"
[ "$(rebalances "$WORK/rep5b.log")" = "$B_REBALANCES" ] || fail "b saw a rebalance after a's clean restart"
stop_pid "$rep5a3_PID"
stop_pid "$rep5b_PID"
[ "$(delivered rep5a3)" -ge 1 ] || fail "a delivered nothing after its clean restart"
[ "$(stat "$sinkF_PORT" conflicts)" = 0 ] || fail "an Idempotency-Key was reused for another body"
ok "SIGTERM and restart of a: same partitions, no rebalance, $(delivered rep5a3) batch(es) delivered; no Idempotency-Key reused ($(stat "$sinkF_PORT" duplicates) re-sent batch(es) recognised)"

# ---- 5. the received gzip bodies against the JSON Schema ------------------------------------
"${CHECK[@]}" schema --dump-dir "$WORK/a.dump" --min-bodies 5
"${CHECK[@]}" schema --dump-dir "$WORK/b2.dump" --min-bodies 1
ok "every gzip body sink A and B received decodes to JSON valid against schemas/rollup-batch.schema.json (jsonschema, draft 2020-12)"

# ---- 6. the sink page in headless Chromium -------------------------------------------------
curl -sf "http://127.0.0.1:$sinkA_PORT/rollups" >"$WORK/a.rollups.json"
for w in "CAMPAIGN|2025 两节送温暖" "ALL|all" "MONTH|2025-01" "DAY|2025-01-15"; do
    enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$w")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$WORK/chromium.XXXXXX")" \
        --dump-dom "http://127.0.0.1:$sinkA_PORT/?window=$enc" >"$WORK/page.html" 2>>"$WORK/chromium.log" ||
        fail "chromium failed on window $w"
    "${CHECK[@]}" dom --html "$WORK/page.html" --rollups "$WORK/a.rollups.json" --window "$w"
done
ok "the sink page in headless Chromium shows the same numbers as GET /rollups (4 windows)"

for p in sinkA sinkB sinkC sinkD sinkE sinkF; do
    pid_var=${p}_PID
    stop_pid "${!pid_var}"
done
echo "test_reporter: $PASSED passed"
