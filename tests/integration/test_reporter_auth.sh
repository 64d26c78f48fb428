#!/usr/bin/env bash
# outreach-reporter against endpoints that authenticate it, on a real Kafka broker:
#  1. OAuth2 client credentials: one token for many batches (cached), a revoked token → 401 →
#     one fresh token and the batch sent again, a wrong secret → a clear error naming the
#     endpoint and the token endpoint (the secret never in the log), retried with backoff;
#     and outreach_reporter_consumer_lag / queued_messages on /metrics going to 0.
#  2. Mutual TLS (test CA, server certificate for IP 127.0.0.1, client certificate with an
#     encrypted key): delivered with tls.ca/tls.cert/tls.key/tls.key.password.file; without the
#     client certificate the handshake is refused; with another CA verification fails.
# Python (stdlib) plays the endpoints: tests/integration/auth_servers.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. tests/lib/kafka.sh
. tests/lib/util.sh
util_init reporter-auth
RUN=reporter-auth-$$-$RANDOM
trap 'rc=$?; [ $rc -eq 0 ] && kafka_topics --delete --topic "${RUN//./\\.}\\..*" >/dev/null 2>&1; cleanup; kafka_cleanup' EXIT
kafka_ensure
B=$KAFKA_BOOTSTRAP

for b in bin/outreach-reporter bin/outreach-codec; do
    [ -x "$b" ] || make "$b" >/dev/null || fail "cannot build $b"
done
PY=$ROOT/.state/venv/bin/python
if ! "$PY" -c 'import fastavro' 2>/dev/null; then
    [ -x "$PY" ] || /usr/bin/python3 -m venv "$ROOT/.state/venv" || fail "cannot create the venv"
    "$PY" -m pip install --quiet --disable-pip-version-check 'fastavro>=1.9,<2' 'jsonschema>=4.18' \
        rfc3339-validator || fail "pip install fastavro failed"
fi
CHECK=("$PY" "$ROOT/tests/integration/reporter_check.py")
SERVERS=(/usr/bin/python3 "$ROOT/tests/integration/auth_servers.py")

# start_servers NAME MODE ARGS...: sets NAME_P1, NAME_P2 from the ports file.
start_servers() {
    local name=$1
    shift
    "${SERVERS[@]}" "$@" --ports-file "$WORK/$name.ports" 2>>"$WORK/$name.log" &
    track $!
    wait_for 20 test -s "$WORK/$name.ports" || fail "servers $name did not start"
    read -r p1 p2 <"$WORK/$name.ports"
    printf -v "${name}_P1" '%s' "$p1"
    printf -v "${name}_P2" '%s' "$p2"
}
# start_reporter NAME ARGS...: sets NAME_PID.
start_reporter() {
    local name=$1
    shift
    bin/outreach-reporter -X "bootstrap.servers=$B" -X "rollups.topic=$TOPIC" \
        -X "group.prefix=$RUN.$name" -X "dlq.topic.prefix=$RUN.dlq.$name" -X "instance.id=$RUN" \
        -X retry.backoff.ms=200 -X retry.backoff.max.ms=1000 -X status.interval.ms=3000 \
        "$@" 2>>"$WORK/$name.log" &
    track $!
    printf -v "${name}_PID" '%s' "$!"
}
stop_pid() {
    kill -TERM "$1"
    local rc=0
    wait "$1" || rc=$?
    [ "$rc" -eq 0 ] || fail "pid $1 exited with $rc after SIGTERM"
}
# js URL EXPR: a Python expression over the JSON at URL (as d).
js() {
    curl -sf "$1" | "$PY" -c 'import json,sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}
# keys_complete URL: the endpoint holds every rollup key of the topic.
keys_complete() {
    [ "$(js "$1" "len(set(d['keys']) & set(json.load(open('$WORK/expect.json'))))")" = "$NKEYS" ]
}
metric() { # metric PORT REGEX: the matching lines of /metrics
    curl -sf "http://127.0.0.1:$1/metrics" | grep -E "$2"
}
health_port() { # from the reporter's log line "health and metrics on ... (port N)"
    sed -n 's/.*health and metrics on .* (port \([0-9]*\)).*/\1/p' "$WORK/$1.log" | head -n 1
}

# ---- data ----------------------------------------------------------------------------------
TOPIC=$RUN.rollups
kafka_topics --create --topic "$TOPIC" --partitions 3 --replication-factor 1 \
    --config cleanup.policy=compact >/dev/null 2>&1 || fail "cannot create $TOPIC"
"${CHECK[@]}" gen --seed 11 --out "$WORK/gen1.jsonl" >/dev/null
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen1.jsonl" >/dev/null
bin/outreach-codec dump -X "bootstrap.servers=$B" "$TOPIC" >"$WORK/dump1.jsonl"
"${CHECK[@]}" expect --dump "$WORK/dump1.jsonl" >"$WORK/expect.json"
NKEYS=$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$WORK/expect.json")
ok "topic $TOPIC: $(wc -l <"$WORK/dump1.jsonl") messages, $NKEYS rollup keys"

# ---- 1. OAuth2 client credentials ----------------------------------------------------------
SECRET="cs-$RANDOM$RANDOM-s3cr:t&x"
printf '%s\n' "$SECRET" >"$WORK/client-secret"
printf 'wrong-%s\n' "$RANDOM" >"$WORK/bad-secret"
start_servers oa oauth --client-id "reporter-1" --secret-file "$WORK/client-secret" --expires-in 3600
TOKEN_URL="http://127.0.0.1:$oa_P1/token"
RES="http://127.0.0.1:$oa_P2"
start_reporter rep1 -X health.listen=127.0.0.1:0 \
    -X "endpoint.o.url=$RES/rollups" -X endpoint.o.batch.size=5 -X endpoint.o.max.delay.ms=100 \
    -X "endpoint.o.oauth2.token_url=$TOKEN_URL" -X endpoint.o.oauth2.client_id=reporter-1 \
    -X "endpoint.o.oauth2.client_secret.file=$WORK/client-secret" \
    -X "endpoint.o.oauth2.scope=rollups:write stats"
wait_for 30 eval '[ -n "$(health_port rep1)" ]' || fail "no health port in the log"
HP=$(health_port rep1)
wait_for 30 metric "$HP" '^outreach_reporter_consumer_lag\{endpoint="o",partition="2"\}' >/dev/null ||
    fail "no consumer lag metric: $(metric "$HP" lag)"
wait_for 90 keys_complete "$RES/stats" || fail "not every rollup arrived: $(js "$RES/stats" 'd["rollups"]')"
BATCHES=$(js "$RES/stats" 'd["batches"]')
[ "$BATCHES" -ge 5 ] || fail "only $BATCHES batches"
[ "$(js "$RES/stats" 'd["token_hits"]')" = 1 ] ||
    fail "token endpoint asked $(js "$RES/stats" 'd["token_hits"]') times for $BATCHES batches"
[ "$(js "$RES/stats" 'd["client_auth"]')" = "['client_secret_basic']" ] || fail "not HTTP Basic"
lag_zero() {
    local l
    l=$(metric "$HP" '^outreach_reporter_consumer_lag\{endpoint="o"') || return 1
    [ "$(wc -l <<<"$l")" = 3 ] && ! grep -qv ' 0$' <<<"$l"
}
wait_for 30 lag_zero || fail "consumer lag not 0 after delivery: $(metric "$HP" 'lag\{')"
metric "$HP" '^outreach_reporter_queued_messages\{endpoint="o"\} 0$' >/dev/null ||
    fail "queued messages not 0: $(metric "$HP" queued_messages)"
metric "$HP" '^outreach_reporter_oauth2_token_requests_total\{endpoint="o"\} 1$' >/dev/null ||
    fail "token requests metric: $(metric "$HP" token_requests)"
ok "OAuth2: all $NKEYS rollups in $BATCHES batches with one token (cached); consumer lag per partition 0 after delivery, queue empty"

# The resource server forgets its tokens: the next batch gets 401, one new token, sent again.
curl -sf -X POST "$RES/revoke" >/dev/null
"${CHECK[@]}" gen --seed 12 --first-revision 10 --out "$WORK/gen2.jsonl" >/dev/null
"${CHECK[@]}" produce --bootstrap "$B" --topic "$TOPIC" "$WORK/gen2.jsonl" >/dev/null
# Lag shows the new messages before they are delivered? Only if we look in time: not asserted.
wait_for 60 eval '[ "$(js "$RES/stats" "d[\"batches\"]")" -gt "$BATCHES" ]' ||
    fail "no batch after the revocation: $(tail -n 3 "$WORK/rep1.log")"
wait_for 30 lag_zero || fail "consumer lag not 0 after the second delivery"
[ "$(js "$RES/stats" 'd["token_hits"]')" = 2 ] || fail "token hits $(js "$RES/stats" 'd["token_hits"]'), expected 2"
[ "$(js "$RES/stats" 'd["unauthorized"]')" = 1 ] || fail "401s: $(js "$RES/stats" 'd["unauthorized"]'), expected 1"
grep -q "HTTP 401" "$WORK/rep1.log" && fail "the 401 reached the retry loop instead of a refresh"
stop_pid "$rep1_PID"
grep -qF "$SECRET" "$WORK/rep1.log" && fail "the client secret is in the log"
ok "OAuth2: a revoked token (401) is refreshed once and the batch sent again at once"

# A wrong secret: a clear error naming the endpoint and the token endpoint, retried.
start_reporter rep2 -X "endpoint.bad.url=$RES/rollups" \
    -X "endpoint.bad.oauth2.token_url=$TOKEN_URL" -X endpoint.bad.oauth2.client_id=reporter-1 \
    -X "endpoint.bad.oauth2.client_secret.file=$WORK/bad-secret" \
    -X endpoint.bad.oauth2.client_auth=client_secret_post
wait_for 30 eval '[ "$(grep -c "endpoint bad: batch .*OAuth2 token endpoint $TOKEN_URL: HTTP 401 .*invalid_client" "$WORK/rep2.log")" -ge 2 ]' ||
    fail "no clear token error (retried): $(tail -n 3 "$WORK/rep2.log")"
stop_pid "$rep2_PID"
grep -qF "$(cat "$WORK/bad-secret")" "$WORK/rep2.log" && fail "the wrong secret is in the log"
grep -q "endpoint bad stopping: 0 batches delivered" "$WORK/rep2.log" || fail "delivered with a wrong secret"
LINE=$(grep -m1 "endpoint bad: batch" "$WORK/rep2.log")
ok "OAuth2 with a wrong secret (client_secret_post): retried with backoff, logged as: ${LINE#*: }"

# ---- 2. mutual TLS -------------------------------------------------------------------------
ssl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=outreach test CA" \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem"
ssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
    -keyout "$WORK/other.key" -out "$WORK/other.pem"
ssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$WORK/srv.key" -out "$WORK/srv.csr"
printf 'subjectAltName=IP:127.0.0.1\n' >"$WORK/san.ext"
ssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/san.ext" -out "$WORK/srv.pem"
KEYPASS="kp-$RANDOM$RANDOM"
printf '%s\n' "$KEYPASS" >"$WORK/key.pass"
ssl req -newkey rsa:2048 -subj "/CN=outreach-reporter" -passout "file:$WORK/key.pass" \
    -keyout "$WORK/client.key" -out "$WORK/client.csr"
printf 'extendedKeyUsage=clientAuth\n' >"$WORK/client.ext"
ssl x509 -req -in "$WORK/client.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/client.ext" -out "$WORK/client.pem"
grep -q ENCRYPTED "$WORK/client.key" || fail "the client key is not encrypted"
start_servers tls mtls --cert "$WORK/srv.pem" --key "$WORK/srv.key" --ca "$WORK/ca.pem"
URL="https://127.0.0.1:$tls_P1/rollups"
STATS="http://127.0.0.1:$tls_P2/stats"
start_reporter rep3 -X "endpoint.mtls.url=$URL" -X "endpoint.mtls.tls.ca=$WORK/ca.pem" \
    -X "endpoint.mtls.tls.cert=$WORK/client.pem" -X "endpoint.mtls.tls.key=$WORK/client.key" \
    -X "endpoint.mtls.tls.key.password.file=$WORK/key.pass" -X endpoint.mtls.batch.size=20 \
    -X "endpoint.nocert.url=$URL" -X "endpoint.nocert.tls.ca=$WORK/ca.pem" \
    -X "endpoint.wrongca.url=$URL" -X "endpoint.wrongca.tls.ca=$WORK/other.pem" \
    -X "endpoint.wrongca.tls.cert=$WORK/client.pem" -X "endpoint.wrongca.tls.key=$WORK/client.key" \
    -X "endpoint.wrongca.tls.key.password.file=$WORK/key.pass"
"${CHECK[@]}" expect --dump <(bin/outreach-codec dump -X "bootstrap.servers=$B" "$TOPIC") >"$WORK/expect.json"
wait_for 90 keys_complete "$STATS" || fail "not every rollup over mutual TLS"
wait_for 30 grep -q "endpoint nocert: batch .*TLS: .*certificate required.*wants a client certificate" "$WORK/rep3.log" ||
    fail "no clear TLS error without a client certificate: $(grep 'endpoint nocert' "$WORK/rep3.log" | tail -n 2)"
wait_for 30 grep -q "endpoint wrongca: batch .*TLS: .*SSL certificate problem" "$WORK/rep3.log" ||
    fail "no verification error with another CA: $(grep 'endpoint wrongca' "$WORK/rep3.log" | tail -n 2)"
stop_pid "$rep3_PID"
grep -qF "$KEYPASS" "$WORK/rep3.log" && fail "the key password is in the log"
for e in nocert wrongca; do
    grep -q "endpoint $e stopping: 0 batches delivered" "$WORK/rep3.log" || fail "$e delivered something"
done
NOCERT=$(grep -m1 "endpoint nocert: batch .*wants a client" "$WORK/rep3.log")
ok "mutual TLS: every rollup delivered with the client certificate (encrypted key); without it: ${NOCERT#*: batch * }; another CA: refused"
echo "test_reporter_auth: $PASSED passed"
