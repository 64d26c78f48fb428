#!/usr/bin/env bash
# Integration test of .xlsx input against the real broker ($KAFKA_BOOTSTRAP): an office-style
# workbook with Chinese headers and Excel dates (written by openpyxl, and by XlsxWriter with
# shared strings) publishes the same events as its UTF-8 JSON Lines twin, checked field by field
# from the topics by producer_check.py; the bad row is reported as FILE:SHEET!ROW, kept in a CSV
# rejects file (BOM, header) read back with Python's csv; the spool daemon does the same.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/producer.sh" # P, PY, CHECK, dump, spool_*
producer_test_init test_xlsx
RUN=$(date +%s)-$$

cd "$W"
[ -x "$P" ] || fail "$P is not built"
printf 'agency.530000-ZGH.regions=53\nbootstrap.servers=%s\n' "$B" >p.conf

step "fixtures: events.xlsx (openpyxl), events-xw.xlsx (XlsxWriter), twin.jsonl"
"$PY" "$ROOT/tests/integration/xlsx_twin.py" --repo "$ROOT" --out "$W" --events 300
E() { "$PY" -c 'import json,sys; v=json.load(open("expect.json"))[sys.argv[1]]; print(v if isinstance(v,(str,int)) else "\n".join(v))' "$1"; }
SHEET=$(E sheet)
BAD=$(E bad_row)

T=test.xlsx.$RUN
step "the JSON Lines twin"
"$P" -F p.conf -X "events.topic=$T.jsonl" --no-progress twin.jsonl 2>twin.err ||
    { cat twin.err >&2; fail "twin.jsonl: exit $?"; }
dump "$T.jsonl" twin.dump
"${CHECK[@]}" --dump twin.dump twin.jsonl || fail "twin.jsonl: topic differs"

for x in events.xlsx events-xw.xlsx; do
    step "$x: published, the bad row rejected"
    set +e
    "$P" -F p.conf -X "events.topic=$T.$x" --no-progress --receipt "$x.receipt" "$x" 2>"$x.err"
    rc=$?
    set -e
    [ $rc -eq 1 ] || { cat "$x.err" >&2; fail "$x: exit $rc, expected 1 (one reject)"; }
    # Exactly: the notes, the one error, the counts; nothing else.
    {
        E notes | sed "s|^|$x:|"
        echo "$x:$SHEET!$BAD: activity: unknown value \"PARTY\" (expected one of CONDOLENCE_VISIT, HOME_VISIT, FORUM, FREE_CLINIC, HEALTH_CHECK, LEGAL_AID, JOB_FAIR, SKILLS_TRAINING, PSYCHOLOGICAL_SERVICE, MEALS, PERFORMANCE, OTHER)"
        echo "outreach-producer: $(E counts)"
        echo "outreach-producer: receipt $x.receipt: 300 published records"
    } | sort >want.err
    sort "$x.err" >got.err
    if ! cmp -s want.err got.err; then
        diff -u want.err got.err >&2 || true
        fail "$x: stderr differs"
    fi
    # The topic: the same events as the twin, field by field (ids derived alike).
    dump "$T.$x" "$x.dump"
    "${CHECK[@]}" --dump "$x.dump" twin.jsonl || fail "$x: topic differs from twin.jsonl"
    # The rejects file: a CSV for Excel (BOM), the header, the bad row as it was.
    "$PY" - "$x.rejects" <<'EOF' || fail "$x: rejects file"
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM"
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
exp = json.load(open("expect.json", encoding="utf-8"))
assert rows[0] == exp["header"], rows[0]
assert rows[1:] == [exp["bad_cells"]], rows[1:]
EOF
    # The receipt: FILE:SHEET!ROW and the id of every published row, the bad row absent. The
    # twin's ids come from producer_check.py; event i sits on sheet row 3 + i, plus the bad row
    # after the 10th event and the empty one after the 20th.
    "${CHECK[@]}" --derive twin.jsonl >twin.ids
    "$PY" - "$x" twin.ids "$x.receipt" <<'EOF' || fail "$x: receipt"
import json, sys
x, ids, got = sys.argv[1], sys.argv[2], open(sys.argv[3], encoding="utf-8").read()
sheet = json.load(open("expect.json", encoding="utf-8"))["sheet"]
want = []
for line in open(ids, encoding="utf-8"):
    src, eid = line.rstrip("\n").split("\t")
    i = int(src.rsplit(":", 1)[1]) - 1
    want.append("%s:%s!%d\t%s\n" % (x, sheet, 3 + i + (i >= 10) + (i >= 20), eid))
if got != "".join(want):
    print("".join(want)[:600], "---", got[:600])
    sys.exit(1)
EOF
done

step "the rejects CSV, with the bad activity fixed, publishes the row"
"$PY" - events.xlsx.rejects fixed.csv <<'EOF'
import sys
t = open(sys.argv[1], encoding="utf-8-sig").read().replace(",PARTY,", ",FORUM,")
open(sys.argv[2], "w", encoding="utf-8-sig", newline="").write(t)
EOF
"$P" -F p.conf -X "events.topic=$T.fixed" --no-progress fixed.csv 2>fixed.err ||
    { cat fixed.err >&2; fail "fixed.csv: exit $?"; }
grep -qxF "outreach-producer: read 1, published 1, rejected 0, failed 0 (2 lines: 1 header, 0 blank, 1 in records)" fixed.err ||
    { cat fixed.err >&2; fail "fixed.csv: counts"; }
dump "$T.fixed" fixed.dump
# (producer_check.py knows no Chinese headers: the one message is found by its id.)
"$PY" - fixed.dump <<'EOF' || fail "fixed.csv: the event is not in the topic"
import sys
d = open(sys.argv[1], "rb").read()
assert d.count(b"\nM ") + d.startswith(b"M ") == 1 and d.count(b"xlsx-bad") == 1
EOF

step "spool: an .xlsx dropped in incoming/ is published"
S=$W/spool
spool_start spool.log "$S" -F p.conf -X "events.topic=$T.spool" -X spool.rescan.ms=300 \
    -X spool.settle.ms=300
spool_drop events-xw.xlsx "$S" office.xlsx
wait_for 60 test -e "$S/done/office.xlsx" || { cat spool.log >&2; fail "office.xlsx not done"; }
spool_stop spool
grep -qF "office.xlsx:$SHEET!$BAD: activity: unknown value \"PARTY\"" "$S/done/office.xlsx.errors" ||
    { cat "$S/done/office.xlsx.errors" >&2; fail "spool: no FILE:SHEET!ROW error"; }
tail -1 "$S/done/office.xlsx.errors" | grep -qxF "office.xlsx: $(E counts)" ||
    { cat "$S/done/office.xlsx.errors" >&2; fail "spool: counts"; }
grep -qF "office.xlsx:$SHEET!1: skipped: merged cells" spool.log || fail "spool: no note in the log"
dump "$T.spool" spool.dump
"${CHECK[@]}" --dump spool.dump twin.jsonl || fail "spool: topic differs from twin.jsonl"

echo "test_xlsx: all passed"
