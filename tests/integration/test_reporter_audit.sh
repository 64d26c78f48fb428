#!/usr/bin/env bash
# The reporter's audit stream (issue #11): with endpoint.NAME.audit.topic set, outreach-reporter
# also consumes the audit topic (read_committed) and POSTs its entries to the endpoint's /audit,
# with the endpoint's token, batching, retries and commit-after-2xx; the sink keeps each
# (event_id, correction_to) once. Checked against sink_audit_check.py from the produced entries:
# all arrive, duplicates in the topic and re-sent batches after kill -9 change nothing, an
# undecodable message goes to the stream's DLQ, a 503 phase is retried.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${KAFKA_BOOTSTRAP:?run through tests/integration/run.sh or set KAFKA_BOOTSTRAP}
. tests/lib/kafka.sh
. tests/lib/util.sh
util_init test_reporter_audit
PY=/usr/bin/python3
CHECK=("$PY" tests/integration/sink_audit_check.py)
RUN=rauditt.$(date +%s)-$$
for b in outreach-reporter outreach-sink outreach-codec outreach-dlq; do
    [ -x bin/$b ] || fail "bin/$b is not built"
done

kafka_topics --create --topic "$RUN.rollups" --partitions 1 >/dev/null
kafka_topics --create --topic "$RUN.audit" --partitions 3 >/dev/null

# Entries: distinct applied_at (so newest-first is one order), several corrections of the
# same events, and the first three produced twice (a duplicate in the topic).
"${CHECK[@]}" gen --out "$WORK" --n 60
$PY - "$WORK" <<'PYEOF'
import json, sys
w = sys.argv[1]
entries, seen = [], set()
# (event_id, correction_to) names one entry: the aggregator writes one per applied correction
for e in json.load(open(w + "/audit0.json"))["entries"] + json.load(open(w + "/audit1.json"))["entries"]:
    if (e["event_id"], e["correction_to"]) not in seen:
        seen.add((e["event_id"], e["correction_to"]))
        entries.append(e)
for i, e in enumerate(entries):
    e["applied_at"] = 1737000000000 + i * 1000
first, second = entries[:len(entries) // 2], entries[len(entries) // 2:]
with open(w + "/first.jsonl", "w") as f:
    for e in first + first[:3]:
        f.write(json.dumps(e, ensure_ascii=False) + "\n")
with open(w + "/second.jsonl", "w") as f:
    for e in second:
        f.write(json.dumps(e, ensure_ascii=False) + "\n")
json.dump({"entries": first}, open(w + "/want1.json", "w"), ensure_ascii=False)
json.dump({"entries": entries}, open(w + "/want2.json", "w"), ensure_ascii=False)
PYEOF

# produce FILE: each entry encoded as audit.v1, keyed by event_id, spread over the partitions.
produce() {
    local i=0 hex id
    bin/outreach-codec encode audit.v1 <"$1" >"$WORK/hex.txt" || fail "encode $1"
    while read -r hex; do
        i=$((i + 1))
        id=$(sed -n "${i}p" "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin)["event_id"])')
        printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' >"$WORK/m.bin"
        kcat -P -b "$B" -t "$RUN.audit" -p $((i % 3)) -k "$id" "$WORK/m.bin"
    done <"$WORK/hex.txt"
}
produce "$WORK/first.jsonl"
printf 'not an audit entry' | kcat -P -b "$B" -t "$RUN.audit" -p 1 -k poison
echo '{"event_id":"v1","occurred_at":1736908200000,"reported_at":1736994600000,"agency_id":"A","region":"530102","campaign":"c","activity":"HOME_VISIT","target_groups":["SANITATION"],"workers_reached":1,"households":1,"staff":1}' |
    bin/outreach-codec encode visit.v1 | perl -ne 'chomp; print pack("H*", $_)' >"$WORK/visit.bin"
kcat -P -b "$B" -t "$RUN.audit" -p 2 -k visit "$WORK/visit.bin"

echo "s3cret" >"$WORK/token"
bin/outreach-sink --listen 127.0.0.1:0 --token-file "$WORK/token" --enable-control \
    >"$WORK/sink.out" 2>"$WORK/sink.log" &
track $!
wait_for 10 test -s "$WORK/sink.out" || fail "the sink did not start"
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/sink.out" | head -1)
BASE="http://127.0.0.1:$PORT"
AUTH=(-H "Authorization: Bearer s3cret")

RARGS=(-X "bootstrap.servers=$B" -X "rollups.topic=$RUN.rollups" -X "group.prefix=$RUN.g"
    -X "dlq.topic.prefix=$RUN.dlq" -X "instance.id=$RUN" -X retry.backoff.ms=100
    -X retry.backoff.max.ms=500 -X "endpoint.s.url=$BASE/rollups"
    -X "endpoint.s.token.file=$WORK/token" -X "endpoint.s.audit.topic=$RUN.audit"
    -X endpoint.s.batch.size=4 -X endpoint.s.max.delay.ms=100)

# A file endpoint cannot carry the audit stream: a configuration error before anything runs.
RC=0
bin/outreach-reporter -X "bootstrap.servers=$B" -X "endpoint.f.url=file://$WORK/files" \
    -X "endpoint.f.audit.topic=$RUN.audit" 2>"$WORK/conf.log" || RC=$?
[ "$RC" = 2 ] && grep -qF "endpoint.f.audit.topic: only http(s) endpoints" "$WORK/conf.log" ||
    fail "audit.topic on a file endpoint: exit $RC, $(cat "$WORK/conf.log")"
ok "audit.topic on a file:// endpoint is refused (exit 2)"

audit_count() { curl -sf "${AUTH[@]}" "$BASE/stats" | jq .audit.entries; }
have_count() { [ "$(audit_count)" = "$1" ]; }
# expect WANT: GET /audit (all, and per region) equals the expectation from WANT's entries.
expect() {
    for region in "" 530000 530100 440000; do
        curl -sf "${AUTH[@]}" "$BASE/audit${region:+?region=$region}" >"$WORK/got.json" || return 1
        "${CHECK[@]}" expect --max 1000000 --region "$region" --got "$WORK/got.json" "$1" || return 1
    done
}
distinct() { $PY -c '
import json, sys
print(len({(e["event_id"], e["correction_to"]) for e in json.load(open(sys.argv[1]))["entries"]}))' "$1"; }

# Endpoint 503s first: the audit batches are retried, nothing is committed meanwhile.
curl -sf "${AUTH[@]}" -XPOST --data '{"mode":"503","count":3}' "$BASE/control" >/dev/null
bin/outreach-reporter "${RARGS[@]}" 2>"$WORK/rep1.log" &
REP=$!
track $REP
N1=$(distinct "$WORK/want1.json")
wait_for 60 have_count "$N1" || fail "the audit entries did not all arrive ($(audit_count) of $N1)"
expect "$WORK/want1.json" || fail "the sink's entries differ from the topic's"
grep -q "endpoint s.audit: delivering $RUN.audit to $BASE/audit" "$WORK/rep1.log" ||
    fail "the reporter did not say it delivers the audit stream"
DUPS=$(curl -sf "${AUTH[@]}" "$BASE/stats" | jq .audit.duplicates)
INJ=$(curl -sf "${AUTH[@]}" "$BASE/stats" | jq .injected)
[ "$INJ" = 3 ] || fail "the sink injected $INJ failures, expected 3 (503s on /audit)"
grep -q "endpoint s.audit: batch .*503" "$WORK/rep1.log" || fail "the reporter logged no 503 of the audit stream"
[ "$DUPS" -ge 3 ] || fail "the 3 entries produced twice were not seen as duplicates ($DUPS)"
ok "$N1 entries delivered to /audit after 503s, the topic's duplicates kept once ($DUPS duplicates)"

# The messages that are no audit entries: to the stream's DLQ with their reasons.
dlq_has() { bin/outreach-dlq -X "bootstrap.servers=$B" --topic "$RUN.dlq.s.audit" list 2>/dev/null |
    grep -q "	$1	$RUN.audit:$2	"; }
wait_for 30 dlq_has framing "1:[0-9]*" || fail "the undecodable message is not in $RUN.dlq.s.audit"
wait_for 30 dlq_has not-an-audit-entry "2:[0-9]*" || fail "the visit record is not in $RUN.dlq.s.audit"
ok "an undecodable message and a visit record went to $RUN.dlq.s.audit (framing, not-an-audit-entry)"

# kill -9 while the second part arrives, then restart: nothing lost, re-sent batches dedup'd.
curl -sf "${AUTH[@]}" -XPOST --data '{"mode":"slow","delay_ms":400}' "$BASE/control" >/dev/null
produce "$WORK/second.jsonl"
sleep 1
kill -9 $REP
curl -sf "${AUTH[@]}" -XPOST --data '{"mode":"ok"}' "$BASE/control" >/dev/null
bin/outreach-reporter "${RARGS[@]}" 2>"$WORK/rep2.log" &
track $!
N2=$(distinct "$WORK/want2.json")
wait_for 60 have_count "$N2" || fail "after kill -9: $(audit_count) of $N2 entries"
expect "$WORK/want2.json" || fail "after kill -9 the sink's entries differ from the topic's"
ok "after kill -9 and a restart all $N2 entries are there once, per region newest first"
echo "test_reporter_audit: all checks passed"
