#!/usr/bin/env bash
# Integration test of outreach-producer's receipts (issue #11) against the real broker
# ($KAFKA_BOOTSTRAP): --receipt lists every published record as FILE:LINE<TAB>event_id, with
# the id the topic really holds (derived ids recomputed by producer_check.py, the topic read
# back), rejected rows absent, every input of the run in one file; a run that publishes
# nothing replaces it; failed deliveries are left out; the spool files NAME.receipt beside the
# file in done/; corrections (retracted written 是/否 in CSV, true in JSON) keep their fields.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/producer.sh" # P, PY, CHECK, dump, spool_*
producer_test_init test_receipt
RUN=$(date +%s)-$$
T=prod-receipt.$RUN

cd "$W"
[ -x "$P" ] || fail "$P is not built"
cat >p.conf <<EOF
agency.530000-ZGH.regions=53
agency.370212-ZGH.regions=370212
bootstrap.servers=$B
topic.partitions=3
topic.replication=1
message.timeout.ms=20000
EOF

# Rows 2, 4, 5 and 8 have no id; row 6 is rejected (unknown region); row 7 corrects t-1 (a
# correction repeats the id); row 9 retracts t-9 (是); row 10 is blank.
cat >r.csv <<'EOF'
type,event_id,occurred_at,reported_at,agency_id,region,activity,target_groups,workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,correction,retracted,correction_reason
visit,,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,FORUM,OTHER,20,0,6,,,,,,,,
visit,t-1,2025-01-07T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,HOME_VISIT,HARDSHIP_WORKERS,2,2,4,,,,,,,,
funding,,2025-01-06T11:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530100,,,,,,400000000,UNION_FUNDS,CASH_GRANT,30,HARDSHIP_WORKERS,,,
visit,,2025-01-09T10:00:00+08:00,2025-01-10T17:30:00+08:00,530000-ZGH,530622,MEALS,SANITATION,32,0,5,,,,,,,,
visit,t-bad,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,999999,FORUM,OTHER,20,0,6,,,,,,,,
funding,t-2,2025-01-06T11:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530100,,,,,,40000000,UNION_FUNDS,CASH_GRANT,30,HARDSHIP_WORKERS,1,否,金额录入错误
visit,,2025-01-11T10:00:00+08:00,2025-01-12T17:30:00+08:00,530000-ZGH,530102,FORUM,MIGRANT_WORKERS,9,0,2,,,,,,,,
visit,t-9,2025-01-07T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,HOME_VISIT,HARDSHIP_WORKERS,2,2,4,,,,,,2,是,重复上报

EOF
# JSON Lines: line 1 without an id, line 2 a retraction, line 3 a correction without an id
# (refused: its derived id could not name the event).
cat >r.jsonl <<'EOF'
{"type":"survey","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-18T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{"s4":22},"needs":[]}
{"type":"survey","event_id":"s-7","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-19T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{},"needs":[],"correction":3,"retracted":true,"correction_reason":"重复上报"}
{"type":"survey","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-19T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{},"needs":[],"correction":1,"correction_reason":"区县填错"}
EOF

step "one-shot: --receipt over a CSV and a JSON Lines file"
echo stale >r.receipt
set +e
"$P" -F p.conf -X "events.topic=$T" --no-progress --receipt r.receipt r.csv r.jsonl 2>a.err
rc=$?
set -e
cat a.err
[ $rc -eq 1 ] || fail "exit $rc, expected 1 (two rejects)"
grep -qxF 'r.csv:6: region: unknown region code "999999"' a.err || fail "row 6 not rejected"
grep -qxF 'r.jsonl:3: event_id: required when correction > 0: the id of the event corrected (for a derived id, see the --receipt of its publication)' a.err ||
    fail "the correction without an id was not refused"
grep -qxF 'outreach-producer: receipt r.receipt: 9 published records' a.err || fail "no receipt line"
ls -a | grep -q 'r.receipt.*tmp' && fail "a temporary receipt was left"

# What the receipt must say, computed independently: producer_check.py derives the ids from
# its own reading of the files; the rejected rows are left out.
"${CHECK[@]}" --derive r.csv r.jsonl 2>/dev/null | grep -v -e '^r.csv:6	' -e '^r.jsonl:3	' >want.receipt || true
[ "$(wc -l <want.receipt)" -eq 9 ] || { cat want.receipt; fail "the reference has not 9 lines"; }
expect_same want.receipt r.receipt "the receipt"
grep -q '	d-' r.receipt || fail "no derived id in the receipt"

# The topic holds exactly these ids, each once, with the fields of the input (producer_check.py
# decodes the messages itself), corrections included.
kcat -C -b "$B" -t "$T" -o beginning -e -q -f 'M %p %o %k %S %h\n%s\n' >a.dump
"${CHECK[@]}" --dump a.dump --skip r.csv:6 --skip r.jsonl:3 r.csv r.jsonl || fail "topic content"
"$ROOT/bin/outreach-codec" dump -X "bootstrap.servers=$B" "$T" >a.codec
"$PY" - a.codec r.receipt <<'PY' || fail "the topic's ids are not the receipt's"
import json, sys
ids = sorted(json.loads(l)["value"]["event_id"] for l in open(sys.argv[1]) if l.strip())
rec = sorted(l.rstrip("\n").split("\t")[1] for l in open(sys.argv[2]))
if ids != rec:
    print("topic:  ", ids)
    print("receipt:", rec)
    sys.exit(1)
vals = {json.loads(l)["value"]["event_id"]: json.loads(l)["value"] for l in open(sys.argv[1]) if l.strip()}
assert vals["t-9"]["retracted"] is True and vals["t-9"]["correction"] == 2, vals["t-9"]
assert vals["t-9"]["correction_reason"] == "重复上报"
assert vals["t-2"]["retracted"] is False and vals["t-2"]["correction"] == 1
assert vals["s-7"]["retracted"] is True and vals["s-7"]["correction"] == 3
print("receipt: %d ids, the topic's" % len(ids))
PY

step "a run that publishes nothing replaces the receipt with an empty one"
set +e
"$P" -F p.conf -X "events.topic=$T" --no-progress --receipt r.receipt --rejects b.rej - \
    <<<'{"type":"visit"}' 2>b.err
rc=$?
set -e
[ $rc -eq 1 ] || { cat b.err; fail "exit $rc, expected 1"; }
[ -f r.receipt ] && [ ! -s r.receipt ] || fail "the receipt of an all-rejected run is not empty"
step "failed deliveries are not in the receipt (an unreachable broker)"
set +e
"$P" -F p.conf -X bootstrap.servers=127.0.0.1:1 -X message.timeout.ms=3000 -X "events.topic=$T" \
    --no-progress --receipt u.receipt r.jsonl 2>u.err
rc=$?
set -e
[ $rc -eq 2 ] || { cat u.err; fail "unreachable broker: exit $rc, expected 2"; }
grep -qF 'published 0, rejected 1, failed 2' u.err || { cat u.err; fail "unreachable broker: counts"; }
[ -f u.receipt ] && [ ! -s u.receipt ] || fail "the receipt lists records whose delivery failed"
set +e
"$P" -F p.conf --check --receipt r.receipt r.csv 2>c.err
rc=$?
set -e
[ $rc -eq 2 ] || fail "--check --receipt: exit $rc, expected 2"
grep -qF -- '--receipt lists published records' c.err || fail "--check --receipt: no reason"

step "spool: done/NAME.receipt beside the file"
S=$W/spool
spool_start d.log "$S" -F p.conf -X "events.topic=$T.spool" -X spool.rescan.ms=200 \
    -X spool.settle.ms=0
spool_drop r.csv "$S" r.csv
wait_for 60 test -e "$S/done/r.csv" || { cat d.log >&2; fail "r.csv not done"; }
spool_stop "spool: done/NAME.receipt"
"${CHECK[@]}" --derive r.csv 2>/dev/null | grep -v '^r.csv:6	' >want.spool.receipt || true
expect_same want.spool.receipt "$S/done/r.csv.receipt" "done/r.csv.receipt"
[ -e "$S/done/r.csv.errors" ] || fail "no errors report"
ls -a "$S/processing" | grep -q receipt && fail "a temporary receipt was left in processing/"
echo "test_receipt: OK"
