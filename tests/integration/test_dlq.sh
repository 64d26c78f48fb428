#!/usr/bin/env bash
# Integration test of bin/outreach-dlq against a real broker ($KAFKA_BOOTSTRAP): list, show
# and replay on hand-made dead letters (kcat), then the whole loop with the real aggregator:
# an unauthorised event is dead-lettered, the authorisation is fixed, replay gets it counted.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${KAFKA_BOOTSTRAP:?run through tests/integration/run.sh or set KAFKA_BOOTSTRAP}
. tests/lib/kafka.sh
. tests/lib/util.sh
util_init test_dlq
UTIL_LOGS=("*.out" "*.err" "*.log") UTIL_TAIL=20 # outreach-dlq's, per call; the aggregator's
PY=/usr/bin/python3
RUN=$(date +%s)-$$
T=dlqtest.$RUN

[ -x bin/outreach-dlq ] || fail "bin/outreach-dlq is not built"

# dlq NAME ARGS...: runs outreach-dlq, stdout to NAME.out, stderr to NAME.err; sets RC.
dlq() { capture "$1" bin/outreach-dlq -X bootstrap.servers="$B" "${@:2}"; }
has() { grep -qF -- "$2" "$WORK/$1" || fail "$1 lacks: $2"; }
lines() { wc -l <"$WORK/$1" | tr -d ' '; }

# avro FILE JSON: the single-object encoding of a visit.v1 record into FILE (binary).
avro() {
    echo "$2" | bin/outreach-codec encode visit.v1 | perl -ne 'chomp; print pack("H*", $_)' >"$1"
}
hex() { perl -0777 -ne 'print unpack("H*", $_)' "$1"; }

visit() { # ID REGION AGENCY
    printf '{"event_id":"%s","occurred_at":1736908200000,"reported_at":1736994600000,"agency_id":"%s","region":"%s","campaign":"2025 两节送温暖","activity":"HOME_VISIT","target_groups":["SANITATION"],"workers_reached":12,"households":3,"staff":2}' "$1" "$3" "$2"
}

echo "== 1. hand-made dead letters: list, show"
kafka_topics --create --topic "$T.dlq" --partitions 3 >/dev/null
kafka_topics --create --topic "$T.events" --partitions 3 >/dev/null
kafka_topics --create --topic "$T.other" --partitions 1 >/dev/null

avro "$WORK/m1" "$(visit "$T-1" 999999 ACFTU-530000)"
printf '\xc3\x01\x01\x02\x03\x04\x05\x06\x07\x08not avro at all' >"$WORK/m2"
avro "$WORK/m3" "$(visit "$T-3" 888888 ACFTU-110000)"
avro "$WORK/m4" "$(visit "$T-4" 440106 ACFTU-110000)"
printf 'plain text, no framing' >"$WORK/m5"
# put P KEY FILE HEADERS...: one message into DLQ partition P.
put() {
    local p=$1 key=$2 file=$3
    shift 3
    local h=()
    for kv in "$@"; do h+=(-H "$kv"); done
    kcat -P -b "$B" -t "$T.dlq" -p "$p" -k "$key" "${h[@]}" "$file"
}
put 0 530000 "$WORK/m1" dlq.reason=invalid "dlq.error=region: 999999 is not a known region code" \
    "dlq.source.topic=$T.events" dlq.source.partition=1 dlq.source.offset=41 \
    dlq.time=1736994600123 type=visit
put 0 650000 "$WORK/m2" dlq.reason=unknown-schema "dlq.error=unknown schema fingerprint 0807060504030201" \
    "dlq.source.topic=$T.events" dlq.source.partition=2 dlq.source.offset=7 dlq.time=1736994601000
put 1 110000 "$WORK/m3" dlq.reason=invalid "dlq.error=region: 888888 is not a known region code" \
    "dlq.source.topic=$T.events" dlq.source.partition=0 dlq.source.offset=3 \
    dlq.time=1736994602000 type=visit
put 2 440000 "$WORK/m4" dlq.reason=unauthorized "dlq.error=agency_id: line one
line two	tabbed" "dlq.source.topic=$T.events" dlq.source.partition=0 dlq.source.offset=4 \
    dlq.time=1736994603000
put 2 440000 "$WORK/m5" dlq.reason=malformed "dlq.error=no source header here"

dlq list --topic "$T.dlq" list
expect_rc 0 list
[ "$(lines list.out)" -eq 5 ] || fail "list: $(lines list.out) lines, expected 5"
cut -f1 "$WORK/list.out" | tr '\n' ' ' | grep -qx '0:0 0:1 1:0 2:0 2:1 ' ||
    fail "list: positions not in partition/offset order: $(cut -f1 "$WORK/list.out" | tr '\n' ' ')"
has list.out "$(printf '0:0\t2025-01-16T02:30:00.123Z\tinvalid\t%s.events:1:41\tregion: 999999 is not a known region code' "$T")"
has list.out "$(printf '1:0\t2025-01-16T02:30:02.000Z\tinvalid\t%s.events:0:3\t' "$T")"
has list.out 'agency_id: line one\nline two\ttabbed'
has list.out "$(printf '2:1\t')"
grep -P '^2:1\t\S+\tmalformed\t-\tno source header here$' "$WORK/list.out" >/dev/null ||
    fail "list: message without source headers not shown with '-'"

dlq list-invalid --topic "$T.dlq" list --reason invalid
[ "$RC" -eq 0 ] && [ "$(lines list-invalid.out)" -eq 2 ] || fail "list --reason invalid"
dlq list-two --topic "$T.dlq" list --reason invalid --reason unauthorized
[ "$(lines list-two.out)" -eq 3 ] || fail "list with two --reason: $(lines list-two.out) lines"
dlq list-from --topic "$T.dlq" list --from 2:1
[ "$RC" -eq 0 ] && [ "$(lines list-from.out)" -eq 1 ] && grep -q '^2:1' "$WORK/list-from.out" ||
    fail "list --from 2:1"
dlq list-from0 --topic "$T.dlq" list --from 0:1 --from 1:0
cut -f1 "$WORK/list-from0.out" | tr '\n' ' ' | grep -qx '0:1 1:0 ' || fail "list --from 0:1 --from 1:0"
# dlq.topic as a key instead of --topic
dlq list-key -X dlq.topic="$T.dlq" list
cmp -s "$WORK/list.out" "$WORK/list-key.out" || fail "-X dlq.topic differs from --topic"

dlq show1 --topic "$T.dlq" show 0:0
expect_rc 0 "show 0:0"
has show1.out "message    $T.dlq 0:0"
has show1.out "key        530000"
has show1.out "header     dlq.reason: invalid"
has show1.out "header     dlq.source.topic: $T.events"
has show1.out "header     type: visit"
has show1.out "(2025-01-16T02:30:00.123Z)"
has show1.out "schema visit.v1 (fingerprint"
has show1.out "\"event_id\": \"$T-1\""
has show1.out '"region": "999999"'
dlq show2 --topic "$T.dlq" show 0:1
expect_rc 0 "show 0:1"
has show2.out "not decodable: unknown-schema:"
has show2.out "00000000  c3 01 01 02 03 04 05 06  07 08 6e 6f 74 20 61 76  |..........not av|"
dlq show5 --topic "$T.dlq" show 2:1
has show5.out "not decodable: framing:"
dlq show-missing --topic "$T.dlq" show 0:9
expect_rc 1 "show 0:9 (beyond the end)"
has show-missing.err "no message at 9"
dlq show-badpart --topic "$T.dlq" show 7:0
expect_rc 1 "show 7:0 (no such partition)"

echo "== 2. replay: --dry-run produces nothing, --reason invalid exactly those messages"
dlq dry --topic "$T.dlq" replay --reason invalid --dry-run
expect_rc 0 "replay --dry-run"
[ "$(lines dry.out)" -eq 2 ] || fail "dry run: $(lines dry.out) lines, expected 2"
has dry.out "would replay 0:0 (invalid) -> $T.events, key 530000, $(stat -c %s "$WORK/m1") bytes"
has dry.out "would replay 1:0 (invalid) -> $T.events, key 110000"
bin/outreach-codec dump -X bootstrap.servers="$B" "$T.events" >"$WORK/events0.out"
[ ! -s "$WORK/events0.out" ] || fail "--dry-run produced to $T.events"

dlq replay --topic "$T.dlq" replay --reason invalid
expect_rc 0 "replay --reason invalid"
[ "$(lines replay.out)" -eq 2 ] || fail "replay: $(lines replay.out) lines, expected 2"
grep -qE "^replayed 0:0 \(invalid\) -> $T\.events:[0-2]:[0-9]+$" "$WORK/replay.out" || fail "replay line of 0:0"
grep -qE "^replayed 1:0 \(invalid\) -> $T\.events:[0-2]:[0-9]+$" "$WORK/replay.out" || fail "replay line of 1:0"
has replay.err "2 selected, 2 replayed, 0 failed, 0 skipped"
bin/outreach-codec dump -X bootstrap.servers="$B" "$T.events" >"$WORK/events1.out"
"$PY" - "$WORK/events1.out" "$(hex "$WORK/m1")" "$(hex "$WORK/m3")" "$T" <<'EOF' || fail "replayed messages differ"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1])]
want = {"0:0": ("530000", sys.argv[2], f"{sys.argv[4]}-1"), "1:0": ("110000", sys.argv[3], f"{sys.argv[4]}-3")}
assert len(msgs) == 2, f"{len(msgs)} messages in the source topic, expected 2"
for m in msgs:
    h = m["headers"]
    key, hexval, eid = want.pop(h.get("dlq.replayed"))
    assert m["key"] == key, (m["key"], key)
    assert m["hex"] == hexval, "value bytes changed"
    assert m["value"]["event_id"] == eid
    assert h == {"type": "visit", "dlq.replayed": h["dlq.replayed"]}, f"headers {h}"
assert not want, f"not replayed: {want}"
print("replayed values, keys and headers match")
EOF

echo "== 3. replay without a source topic, --to, refusals, usage errors"
dlq nosrc --topic "$T.dlq" replay --from 2:1
expect_rc 1 "replay of a message without dlq.source.topic"
has nosrc.err "no dlq.source.topic header: skipped"
dlq to --topic "$T.dlq" replay --from 2:1 --to "$T.other"
expect_rc 0 "replay --to"
grep -qE "^replayed 2:1 \(malformed\) -> $T\.other:0:0$" "$WORK/to.out" || fail "replay --to line"
# A rejected batch of outreach-reporter: listed with its range and HTTP status, never replayed.
printf '{"rollups":[]}' >"$WORK/batch"
kcat -P -b "$B" -t "$T.other" -p 0 -k batch-key -H dlq.reason=rejected -H dlq.status=422 \
    -H "dlq.body=bad field" -H dlq.endpoint=province -H dlq.source.topic=outreach.rollups \
    -H dlq.source.partition=2 -H dlq.source.first_offset=10 -H dlq.source.last_offset=19 \
    "$WORK/batch"
dlq rep-list --topic "$T.other" list --from 0:1
grep -qP '^0:1\t\S+\trejected\toutreach\.rollups:2:10-19\tHTTP 422: bad field$' "$WORK/rep-list.out" ||
    fail "reporter dead letter listed wrongly"
dlq rep-replay --topic "$T.other" replay --from 0:1 --to "$T.events"
expect_rc 1 "replay of a reporter dead letter"
has rep-replay.err "not replayable"
dlq self --topic "$T.dlq" replay --to "$T.dlq"
expect_rc 2 "replay --to the DLQ itself"
dlq missing-dest --topic "$T.dlq" replay --from 2:1 --to "$T.nonexistent"
expect_rc 2 "replay --to a missing topic"
dlq missing --topic "$T.nonexistent" list
expect_rc 2 "list of a missing topic"
dlq u1 show
expect_rc 2 "show without position"
dlq u2 list --to x
expect_rc 2 "list --to"
dlq u3 frobnicate
expect_rc 2 "unknown command"
dlq u4 list --from x:1
expect_rc 2 "bad --from"
dlq help --help
expect_rc 0 "--help"
has help.out "Exit status:"

echo "== 4. with the aggregator: unauthorised -> DLQ -> authorisation fixed -> replay -> counted"
P=$T.agg
agg() {
    bin/outreach-aggregator -X bootstrap.servers="$B" -X events.topic="$P.events" \
        -X rollups.topic="$P.rollups" -X seen.topic="$P.seen" -X dlq.topic="$P.dlq" \
        -X group.name="$P.group" -X instance.id="dlq-$RUN" -X topic.partitions=2 \
        -X commit.interval.ms=200 -X session.timeout.ms=6000 -X state.dir="$WORK/state" "$@" \
        >>"$WORK/agg.log" 2>&1 &
    AGG=$!
    track "$AGG"
}
wait_log() { # PATTERN COUNT
    for _ in $(seq 1 120); do
        [ "$(grep -c "$1" "$WORK/agg.log" 2>/dev/null || true)" -ge "$2" ] && return 0
        sleep 0.5
    done
    fail "aggregator log never showed '$1' $2 time(s)"
}
agg -X authz.default=deny
wait_log "restored" 1
avro "$WORK/good" "$(visit "$T-good" 530102 ACFTU-530000)"
kcat -P -b "$B" -t "$P.events" -k 530000 -H type=visit "$WORK/good"
for _ in $(seq 1 60); do
    dlq agg-list --topic "$P.dlq" list
    [ "$RC" -eq 0 ] && [ "$(lines agg-list.out)" -ge 1 ] && break
    sleep 0.5
done
[ "$(lines agg-list.out)" -eq 1 ] || fail "the aggregator's dead letter did not appear (once)"
grep -qP "^\d+:\d+\t\S+\tunauthorized\t$P\.events:\d+:0\t" "$WORK/agg-list.out" ||
    fail "aggregator dead letter: unexpected list line"
pos=$(cut -f1 "$WORK/agg-list.out")
dlq agg-show --topic "$P.dlq" show "$pos"
has agg-show.out "\"event_id\": \"$T-good\""
has agg-show.out "header     dlq.source.topic: $P.events"
kill -TERM "$AGG"
wait "$AGG" || fail "aggregator did not stop cleanly"
bin/outreach-codec dump -X bootstrap.servers="$B" "$P.rollups" >"$WORK/rollups0.out"
! grep -q '530102' "$WORK/rollups0.out" || fail "an unauthorised event was counted"

agg -X authz.default=deny -X agency.ACFTU-530000.regions=53
wait_log "restored" 2
dlq agg-replay --topic "$P.dlq" replay --reason unauthorized
expect_rc 0 "replay of the aggregator's dead letter"
has agg-replay.out "replayed $pos (unauthorized) -> $P.events:"
for _ in $(seq 1 60); do
    bin/outreach-codec dump -X bootstrap.servers="$B" "$P.rollups" >"$WORK/rollups1.out" 2>/dev/null || true
    grep -q '"key":"ALL|[^"]*|530102"' "$WORK/rollups1.out" && break
    sleep 0.5
done
grep -q '"key":"ALL|[^"]*|530102"' "$WORK/rollups1.out" || fail "replayed event was not counted"
dlq agg-list2 --topic "$P.dlq" list
[ "$(lines agg-list2.out)" -eq 1 ] || fail "replayed event was dead-lettered again"
kill -TERM "$AGG"
wait "$AGG" || fail "aggregator did not stop cleanly"
echo "test_dlq: all passed"
