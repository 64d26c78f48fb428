#!/usr/bin/env bash
# Confluent Schema Registry framing against a real registry (Apicurio, started and stopped
# here) and the reference client (confluent_kafka's AvroSerializer / AvroDeserializer):
# (a) our producer's wire.format=confluent messages decode with AvroDeserializer; (b) visits
# written by AvroSerializer with visit.v1, visit.v3, then a newer Visit (v3 + a field with a
# default, learnt from the registry) are counted by the aggregator;
# (c) a compatibility-breaking schema is refused at registration with the registry's reason;
# (d) rollups written with wire.format=confluent are read by the reporter; (e) unknown ids and
# an unreachable registry dead-letter with their own reasons. Skipped without Java 17+.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! JAVA=$(deploy/registry/registry.sh java 2>/dev/null); then
    echo "test_registry: SKIPPED: no Java 17 or newer (Apicurio Registry needs it; set JAVA=)"
    exit 0
fi
. tests/lib/aggtest.sh
INTEROP_SETUP_ONLY=1 bash tests/interop/run.sh >/dev/null || fail "cannot set up the venv"

PORT=${REGISTRY_TEST_PORT:-$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
registry() { JAVA=$JAVA bash deploy/registry/registry.sh "$1" --port "$PORT"; }
trap 'registry down 2>/dev/null || true; cleanup' EXIT
URL=$(registry up 2>"$WORK/registry-up.log") || { cat "$WORK/registry-up.log" >&2; fail "registry up"; }
echo "registry: $URL ($(grep -o 'ready in [0-9]* s' "$WORK/registry-up.log"))"
REG=(-X wire.format=confluent -X "schema.registry.url=$URL")
ok() { echo "ok: $*"; }

# dump_check PREFIX SECONDS FILE...: the confluent rollups of PREFIX equal the reference.
dump_check() {
    local prefix=$1 secs=$2
    shift 2
    local deadline=$(($(date +%s) + secs))
    while :; do
        bin/outreach-codec dump -X bootstrap.servers="$B" -X "schema.registry.url=$URL" \
            "$prefix.rollups" >"$WORK/dump.jsonl" 2>>"$WORK/dump.log" || true
        if "$PY" tests/integration/rollup_check.py --registry "$URL" --dump "$WORK/dump.jsonl" \
            --schemas schemas --regions schemas/regions.csv --campaign "$CAMPAIGN" \
            "$@" >"$WORK/check.out" 2>&1; then
            cat "$WORK/check.out"
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { cat "$WORK/check.out" >&2; fail "rollups of $prefix differ from the reference"; }
        sleep 2
    done
}

echo "== (a) our producer, wire.format=confluent -> confluent_kafka's AvroDeserializer"
P=reg-a.$RUN
bin/outreach-gen --seed 1401 --events 400 >"$WORK/a.jsonl"
bin/outreach-producer -X bootstrap.servers="$B" -X events.topic="$P.events" -X authz.default=allow \
    -X topic.partitions=2 "${REG[@]}" "$WORK/a.jsonl" >"$WORK/pa.out" 2>"$WORK/pa.log" ||
    { cat "$WORK/pa.log" >&2; fail "producer exited non-zero"; }
n=$(sed -n 's/.*published \([0-9]*\),.*/\1/p' "$WORK/pa.log")
[ "${n:-0}" -gt 300 ] || fail "producer published only '${n:-}' records"
curl -sf "$URL/subjects" >"$WORK/subjects.json"
for t in Visit Funding Survey; do
    grep -q "\"$P.events-org.outreach.event.$t\"" "$WORK/subjects.json" ||
        fail "subject $P.events-org.outreach.event.$t not registered: $(cat "$WORK/subjects.json")"
done
"$PY" tests/integration/registry_check.py consume --bootstrap "$B" --topic "$P.events" \
    --registry "$URL" --input "$WORK/a.jsonl" --expect "$n" || fail "AvroDeserializer check"
ok "$n producer messages are Confluent-framed and decode with AvroDeserializer (subjects TOPIC-RECORD)"

echo "== (b)+(d) AvroSerializer visit.v1 then visit.v3 -> aggregator (confluent rollups) -> reporter"
P=reg-b.$RUN
agg b "$P" -X instance.id="b-$RUN" "${REG[@]}"
wait_ready b # it created the topics
"$PY" tests/integration/registry_check.py produce --bootstrap "$B" --topic "$P.events" \
    --registry "$URL" --out "$WORK/b.jsonl" --v1 150 --v3 150 --newer 50 --seed 1402 || fail "AvroSerializer produce"
versions=$(curl -sf "$URL/subjects/$P.events-value/versions")
[ "$versions" = "[1,2,3]" ] || fail "subject $P.events-value has versions $versions, expected [1,2,3]"
dump_check "$P" 90 "$WORK/b.jsonl"
curl -sf "$URL/subjects" | grep -q "\"$P.rollups-value\"" || fail "no subject $P.rollups-value"
head -c 2 <<<"$(sed -n 's/.*"hex":"\([0-9a-f]*\)".*/\1/p' "$WORK/dump.jsonl" | head -1)" | grep -qx 00 ||
    fail "rollups are not Confluent-framed"
ok "350 AvroSerializer visits (visit.v1, visit.v3 and a newer Visit, versions of one subject) counted; rollups Confluent-framed (subject TOPIC-value)"
mkdir -p "$WORK/files"
bin/outreach-reporter -X bootstrap.servers="$B" -X rollups.topic="$P.rollups" \
    -X group.prefix="$P.rep" -X dlq.topic.prefix="$P.rdlq" -X "schema.registry.url=$URL" \
    -X "endpoint.files.url=file://$WORK/files" >>"$WORK/reporter.log" 2>&1 &
REP_PID=$!
PIDS+=("$REP_PID")
for i in $(seq 1 120); do
    "$PY" tests/integration/reporter_check.py compare --registry "$URL" --dump "$WORK/dump.jsonl" \
        --files "$WORK/files" >"$WORK/rep.out" 2>&1 && break
    [ "$i" -lt 120 ] || { cat "$WORK/rep.out" >&2; fail "the reporter's files do not hold every rollup"; }
    sleep 0.5
done
cat "$WORK/rep.out"
grep -q "poison\|dead-letter" "$WORK/reporter.log" && fail "the reporter dead-lettered rollups"
kill -TERM "$REP_PID"
wait "$REP_PID" || fail "the reporter exited non-zero after SIGTERM"
ok "the reporter reads the Confluent-framed rollups (file endpoint equals the topic)"

echo "== (c) a compatibility-breaking schema is refused at registration"
P=reg-c.$RUN
S="$P.events-org.outreach.event.Visit"
"$PY" tests/integration/registry_check.py break --registry "$URL" --subject "$S" || fail "break"
rc=0
bin/outreach-producer -X bootstrap.servers="$B" -X events.topic="$P.events" -X authz.default=allow \
    "${REG[@]}" "$WORK/a.jsonl" >"$WORK/pc.out" 2>"$WORK/pc.log" || rc=$?
[ "$rc" -eq 2 ] || { cat "$WORK/pc.log" >&2; fail "producer exit status $rc, expected 2"; }
grep -q "cannot register visit.v3: .*subject $S: registration refused (HTTP 409): .*ncompatible" \
    "$WORK/pc.log" || { cat "$WORK/pc.log" >&2; fail "no clear refusal naming the subject and reason"; }
echo "  $(grep -m1 "cannot register" "$WORK/pc.log" | cut -c1-400)"
rc=0
bin/outreach-producer -X bootstrap.servers="$B" -X events.topic="$P.none" -X authz.default=allow \
    "${REG[@]}" -X auto.register.schemas=false "$WORK/a.jsonl" >"$WORK/pn.out" 2>"$WORK/pn.log" || rc=$?
[ "$rc" -eq 2 ] || fail "auto.register.schemas=false on a new subject: exit $rc, expected 2"
grep -q "cannot find .*subject $P.none-org.outreach.event.*look-up refused (HTTP 404)" "$WORK/pn.log" ||
    { cat "$WORK/pn.log" >&2; fail "auto.register.schemas=false: no clear look-up error"; }
ok "exit 2 with the subject and the registry's reason (409 incompatible; 404 without auto-register)"

echo "== (e) an unknown id, then an unreachable registry: dead letters with their reasons"
P=reg-b.$RUN
printf '\x00\x00\x0f\x42\x3f\x02' >"$WORK/unknown-id"
kcat -P -b "$B" -t "$P.events" -k 110000 "$WORK/unknown-id" 2>>"$WORK/kcat.log" || fail "kcat"
dlq_reason() {
    bin/outreach-dlq -X bootstrap.servers="$B" -X dlq.topic="$P.dlq" list >"$WORK/dlq.out" \
        2>>"$WORK/dlq.log" && grep -q "$1" "$WORK/dlq.out"
}
for i in $(seq 1 60); do dlq_reason unknown-schema && break; sleep 0.5; done
dlq_reason unknown-schema || fail "no unknown-schema dead letter: $(cat "$WORK/dlq.out")"
registry down 2>/dev/null
printf '\x00\x00\x0f\x42\x40\x02' >"$WORK/unreachable"
kcat -P -b "$B" -t "$P.events" -k 110000 "$WORK/unreachable" 2>>"$WORK/kcat.log" || fail "kcat"
for i in $(seq 1 60); do dlq_reason registry-unavailable && break; sleep 0.5; done
dlq_reason registry-unavailable || fail "no registry-unavailable dead letter: $(cat "$WORK/dlq.out")"
alive "$AGG_PID"
kill -TERM "$AGG_PID"
wait "$AGG_PID" || fail "aggregator exited non-zero after SIGTERM"
ok "id 999999 -> unknown-schema; registry down -> registry-unavailable; the aggregator kept running"
echo "test_registry: all passed"
