#!/usr/bin/env bash
# Kafka over SASL_SSL (SCRAM-SHA-512, TLS with a test CA, client certificates required), end to
# end through every program that talks to Kafka: producer -> aggregator (its restorer
# consumer included) -> reporter (file:// endpoint), outreach-dlq and outreach-codec dump,
# all with the same -X keys, the password read from a file. The rollups must equal
# rollup_check.py's independent recomputation. A wrong password and an untrusted broker CA
# must fail clearly, with a non-zero exit, in bounded time.
#
# It starts its own broker (deploy/kafka/kafka.sh up --sasl-ssl, own state dir and ports),
# never the shared one on 9092, and stops it at exit. The broker runs Kafka 3.9.x: librdkafka
# before 2.6.1 (Debian 12 has 2.0.2) sends a SCRAM client-final nonce that Kafka 4.x rejects
# as "invalid credentials" (librdkafka#4895; docs/operations.md, "Kafka over SASL_SSL").
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
. tests/lib/util.sh

SASL_KAFKA_VERSION=${SASL_KAFKA_VERSION:-3.9.1}
for tool in java keytool; do
    if ! command -v "$tool" >/dev/null; then
        echo "test_sasl_ssl: SKIP: $tool not found (deploy/deps.sh installs the JDK)"
        exit 0
    fi
done
for tool in openssl kcat; do
    command -v "$tool" >/dev/null || { echo "test_sasl_ssl: FAIL: $tool not found" >&2; exit 1; }
done
for b in outreach-producer outreach-aggregator outreach-reporter outreach-dlq outreach-codec outreach-gen; do
    [ -x "bin/$b" ] || make "bin/$b" >/dev/null || { echo "test_sasl_ssl: cannot build bin/$b" >&2; exit 1; }
done
STATE=${OUTREACH_STATE:-$REPO/.state}
PY=$STATE/venv/bin/python
[ -x "$PY" ] || bash tests/interop/run.sh >/dev/null # creates the venv with fastavro

util_init test_sasl_ssl
KSTATE=$WORK/kafka-state
BROKER_UP=0
sasl_down() {
    [ "$BROKER_UP" = 1 ] || return 0
    OUTREACH_STATE=$KSTATE deploy/kafka/kafka.sh down --kill >/dev/null 2>&1 || true
    BROKER_UP=0
}
on_exit() {
    local rc=$?
    sasl_down
    set +e
    (exit $rc) # cleanup reads the status from $?
    cleanup
}
trap on_exit EXIT

echo "== certificates (openssl): a CA, the broker (SAN 127.0.0.1, localhost), a client, a foreign CA"
TLS=$WORK/tls
mkdir -p "$TLS"
chmod 700 "$TLS"
(
    cd "$TLS"
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
    ca() { # NAME CN
        key "$1.key"
        openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 2 -subj "/CN=$2" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    }
    leaf() { # NAME CN EXTENSIONS...
        local name=$1 cn=$2
        shift 2
        key "$name.key"
        openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
        printf '%s\n' "basicConstraints=CA:FALSE" "$@" >"$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
            -out "$name.crt" -days 2 -extfile "$name.ext" 2>/dev/null
    }
    ca ca "outreach test CA"
    ca other-ca "some other CA"
    leaf broker localhost "subjectAltName=IP:127.0.0.1,DNS:localhost" "extendedKeyUsage=serverAuth"
    leaf client outreach-client "extendedKeyUsage=clientAuth"
    openssl verify -CAfile ca.crt broker.crt client.crt >/dev/null
) || fail "certificate generation failed"
PASSWORD="pw-$RANDOM$RANDOM-scram"
printf 'outreach:%s\n' "$PASSWORD" >"$TLS/scram-users"
printf '%s\n' "$PASSWORD" >"$TLS/outreach.password"
printf 'wrong-%s\n' "$PASSWORD" >"$TLS/wrong.password"
chmod 600 "$TLS"/*
ok "CA, broker and client certificates"

echo "== broker: Kafka $SASL_KAFKA_VERSION with a SASL_SSL listener (own state, own ports)"
# The jars are cached under the usual state dir; the broker's data lives under WORK.
KAFKA_VERSION=$SASL_KAFKA_VERSION deploy/kafka/kafka.sh fetch 2>&1 | tail -1
mkdir -p "$KSTATE/kafka"
ln -s "$STATE/kafka/libs-$SASL_KAFKA_VERSION" "$KSTATE/kafka/libs-$SASL_KAFKA_VERSION"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=""
for p in 19592 19692 19792 19892 19992; do
    if port_free "$p" && port_free $((p + 1000)) && port_free $((p + 2000)); then PORT=$p; break; fi
done
[ -n "$PORT" ] || fail "no free port set among 19592..19992 (+1000, +2000)"
BROKER_UP=1
OUTREACH_STATE=$KSTATE KAFKA_VERSION=$SASL_KAFKA_VERSION KAFKA_PORT=$PORT KAFKA_SSL_CLIENT_AUTH=required \
    KAFKA_HEAP="-Xms128m -Xmx384m" deploy/kafka/kafka.sh up --sasl-ssl "$TLS" >"$WORK/kafka-up.out" \
    2>"$WORK/kafka-up.log" || fail "kafka.sh up --sasl-ssl failed"
B=$(OUTREACH_STATE=$KSTATE deploy/kafka/kafka.sh bootstrap --sasl-ssl)
PLAIN=$(tail -1 "$WORK/kafka-up.out")
ok "broker up: PLAINTEXT $PLAIN (admin), SASL_SSL $B"

# The same keys for every program; the reporter and the dlq tool read them from a -F file.
SEC=(-X "bootstrap.servers=$B" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512
    -X sasl.username=outreach -X "sasl.password.file=$TLS/outreach.password"
    -X "ssl.ca.location=$TLS/ca.crt" -X "ssl.certificate.location=$TLS/client.crt"
    -X "ssl.key.location=$TLS/client.key")
cat >"$WORK/kafka-sasl.conf" <<EOF
bootstrap.servers=$B
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=outreach
sasl.password.file=$TLS/outreach.password
ssl.ca.location=$TLS/ca.crt
ssl.certificate.location=$TLS/client.crt
ssl.key.location=$TLS/client.key
EOF
KCAT_SEC=(-b "$B" -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512
    -X sasl.username=outreach -X "sasl.password=$PASSWORD" -X "ssl.ca.location=$TLS/ca.crt"
    -X "ssl.certificate.location=$TLS/client.crt" -X "ssl.key.location=$TLS/client.key")
timeout 30 kcat -L "${KCAT_SEC[@]}" -m 10 >"$WORK/kcat-L.out" 2>"$WORK/kcat-L.log" ||
    fail "kcat cannot read metadata over SASL_SSL"
timeout 30 kcat -L -b "$B" -m 5 >/dev/null 2>&1 && fail "the SASL_SSL listener answers plaintext"
ok "SCRAM-SHA-512 login over TLS (kcat), plaintext refused on that port"

echo "== producer -> aggregator -> reporter over SASL_SSL"
P=sasl.$(date +%s).$$
CAMPAIGN="2025 两节送温暖:2024-12-20:2025-02-12"
bin/outreach-gen --seed 301 --events 3000 >"$WORK/a.jsonl"
bin/outreach-gen --seed 302 --events 1000 --format csv >"$WORK/b.csv"
agg_start() {
    bin/outreach-aggregator "${SEC[@]}" -X events.topic="$P.events" -X rollups.topic="$P.rollups" \
        -X seen.topic="$P.seen" -X dlq.topic="$P.dlq" -X group.name="$P.group" \
        -X commit.interval.ms=200 -X session.timeout.ms=6000 -X topic.partitions=3 \
        -X authz.default=allow -X state.dir="$WORK/state" -X instance.id="sasl-$$" \
        >>"$WORK/agg.log" 2>&1 &
    AGG_PID=$!
    track "$AGG_PID"
    wait_for 120 grep -qs "restored" "$WORK/agg.log" || fail "the aggregator never became ready"
}
agg_start
bin/outreach-producer "${SEC[@]}" -X events.topic="$P.events" -X authz.default=allow \
    -X topic.partitions=3 -q "$WORK/a.jsonl" "$WORK/b.csv" >>"$WORK/producer.log" 2>&1 ||
    fail "the producer exited $? over SASL_SSL"
ok "producer published 4000 events over SASL_SSL"

# check SECONDS: until the rollups (dumped over SASL_SSL) equal the reference.
check() {
    local deadline=$((SECONDS + $1))
    while :; do
        bin/outreach-codec dump "${SEC[@]}" "$P.rollups" >"$WORK/dump.jsonl" 2>>"$WORK/dump.log" || true
        if "$PY" tests/integration/rollup_check.py --dump "$WORK/dump.jsonl" \
            --regions schemas/regions.csv --campaign "$CAMPAIGN" "$WORK/a.jsonl" "$WORK/b.csv" \
            >"$WORK/check.out" 2>&1; then
            return 0
        fi
        [ $SECONDS -lt $deadline ] || { cat "$WORK/check.out" >&2; fail "rollups differ from the reference"; }
        sleep 2
    done
}
check 120
ok "aggregator over SASL_SSL: $(head -1 "$WORK/check.out")"

kill -TERM "$AGG_PID"
wait "$AGG_PID" || fail "the aggregator exited non-zero after SIGTERM"
rm -rf "$WORK/state"
: >"$WORK/agg.log"
agg_start
grep -q "restored .* partition" "$WORK/agg.log" || fail "no full restore logged"
check 60
ok "aggregator restarted without its store: full restore over SASL_SSL, rollups unchanged"

mkdir -p "$WORK/files"
bin/outreach-reporter -F "$WORK/kafka-sasl.conf" -X rollups.topic="$P.rollups" \
    -X group.prefix="$P.rep" -X dlq.topic.prefix="$P.rdlq" -X status.interval.ms=5000 \
    -X "endpoint.files.url=file://$WORK/files" >>"$WORK/reporter.log" 2>&1 &
REP_PID=$!
track "$REP_PID"
wait_for 90 "$PY" tests/integration/reporter_check.py compare --dump "$WORK/dump.jsonl" \
    --files "$WORK/files" >/dev/null 2>&1 || {
    "$PY" tests/integration/reporter_check.py compare --dump "$WORK/dump.jsonl" --files "$WORK/files" || true
    fail "the file endpoint does not hold every rollup"
}
ok "reporter over SASL_SSL (-F file): the file endpoint holds every latest rollup"

echo "== outreach-dlq over SASL_SSL"
printf 'plain text, no framing' >"$WORK/poison"
kcat -P "${KCAT_SEC[@]}" -t "$P.events" -p 0 -k 530000 "$WORK/poison" 2>>"$WORK/kcat.log" ||
    fail "kcat could not produce over SASL_SSL"
dlq_has_one() {
    bin/outreach-dlq -F "$WORK/kafka-sasl.conf" -X dlq.topic="$P.dlq" list >"$WORK/dlq.out" \
        2>>"$WORK/dlq.log" && [ "$(wc -l <"$WORK/dlq.out")" -eq 1 ]
}
wait_for 60 dlq_has_one || fail "outreach-dlq list does not show the poison message"
grep -q framing "$WORK/dlq.out" || fail "the dead letter has no framing reason: $(cat "$WORK/dlq.out")"
ok "outreach-dlq list reads the dead letter over SASL_SSL"
kill -TERM "$REP_PID" "$AGG_PID"
wait "$REP_PID" || fail "the reporter exited non-zero after SIGTERM"
wait "$AGG_PID" || fail "the aggregator exited non-zero after SIGTERM"

echo "== a wrong password: a clear error, non-zero exit, bounded time"
# expect_fail NAME SECONDS PATTERN CMD...: CMD must exit non-zero within SECONDS and log PATTERN.
expect_fail() {
    local name=$1 secs=$2 pattern=$3 rc=0 t0=$SECONDS
    shift 3
    timeout "$((secs + 30))" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" || rc=$?
    [ "$rc" -ne 0 ] || fail "$name: exit status 0"
    [ "$rc" -ne 124 ] || fail "$name: still running after $((secs + 30)) s"
    [ $((SECONDS - t0)) -le "$secs" ] || fail "$name: took $((SECONDS - t0)) s (limit $secs)"
    grep -Eq "$pattern" "$WORK/$name.log" || fail "$name: no '$pattern' in its log"
    echo "  $name: exit $rc after $((SECONDS - t0)) s: $(grep -Em1 "$pattern" "$WORK/$name.log" | cut -c1-200)"
}
BAD=(-X "sasl.password.file=$TLS/wrong.password")
AUTH="SASL authentication error: Authentication failed.*invalid credentials"
# The daemons stop at the first refusal (common/kafka.c: op_kafka_note_error); the tools end
# within their metadata timeout with librdkafka's reason in the log.
expect_fail prod-badpw 30 "$AUTH" bin/outreach-producer "${SEC[@]}" "${BAD[@]}" \
    -X events.topic="$P.events" -X authz.default=allow -q "$WORK/b.csv"
expect_fail dump-badpw 40 "$AUTH" bin/outreach-codec dump "${SEC[@]}" "${BAD[@]}" "$P.rollups"
expect_fail dlq-badpw 40 "$AUTH" bin/outreach-dlq -F "$WORK/kafka-sasl.conf" "${BAD[@]}" \
    -X dlq.topic="$P.dlq" list
expect_fail agg-badpw 30 "$AUTH" bin/outreach-aggregator "${SEC[@]}" "${BAD[@]}" \
    -X events.topic="$P.events" -X rollups.topic="$P.rollups" -X seen.topic="$P.seen" \
    -X dlq.topic="$P.dlq" -X group.name="$P.group2" -X authz.default=allow \
    -X state.dir="$WORK/state2" -X instance.id="sasl-bad-$$"
expect_fail rep-badpw 30 "$AUTH" bin/outreach-reporter -F "$WORK/kafka-sasl.conf" "${BAD[@]}" \
    -X rollups.topic="$P.rollups" -X group.prefix="$P.rep2" -X "endpoint.files.url=file://$WORK/files2"
ok "a wrong password fails every program with the broker's reason"

echo "== an untrusted broker certificate: the TLS handshake fails clearly"
OTHER=(-X "ssl.ca.location=$TLS/other-ca.crt")
TLSERR="authentication failed, exiting.*certificate verify failed"
expect_fail prod-badca 30 "$TLSERR" bin/outreach-producer "${SEC[@]}" "${OTHER[@]}" \
    -X events.topic="$P.events" -X authz.default=allow -q "$WORK/b.csv"
expect_fail agg-badca 30 "$TLSERR" bin/outreach-aggregator "${SEC[@]}" "${OTHER[@]}" \
    -X events.topic="$P.events" -X rollups.topic="$P.rollups" -X seen.topic="$P.seen" \
    -X dlq.topic="$P.dlq" -X group.name="$P.group3" -X authz.default=allow \
    -X state.dir="$WORK/state3" -X instance.id="sasl-badca-$$"
expect_fail dump-badca 40 "certificate verify failed" bin/outreach-codec dump "${SEC[@]}" "${OTHER[@]}" \
    "$P.rollups"
ok "a broker certificate from another CA is refused"

echo "== no secret in any log"
if grep -lF "$PASSWORD" "$WORK"/*.log; then fail "the SCRAM password appears in a log"; fi
ok "neither password is in any log"

sasl_down
echo "test_sasl_ssl: $PASSED passed"
