#!/usr/bin/env bash
# Integration test of outreach-producer against the real broker ($KAFKA_BOOTSTRAP): mixed good
# and bad input publishes every good record (checked independently by producer_check.py) and
# reports every bad one exactly; re-publishing repeats the ids; the spool daemon survives
# kill -9 mid-file and a broker outage without losing an event; an unreachable broker fails
# fast with exit 2; GB18030 (GBK) files publish the same events as their UTF-8 originals.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/lib/producer.sh" # P, PY, CHECK, dump, spool_*
producer_test_init test_producer
PRIVATE_BROKER=
on_exit() {
    if [ -n "$PRIVATE_BROKER" ]; then
        OUTREACH_STATE=$W/state bash "$ROOT/deploy/kafka/kafka.sh" down --kill >/dev/null 2>&1 || true
    fi
    kafka_cleanup
}
UTIL_ON_EXIT=on_exit
GEN=$ROOT/bin/outreach-gen
BIG=${PRODUCER_TEST_BIG:-200000}
RUN=$(date +%s)-$$

cd "$W"
[ -x "$P" ] || fail "$P is not built"

cat >p.conf <<'EOF'
# agencies of the hand-written test files, and the broker
agency.530000-ZGH.regions=53
agency.150000-ZGH.regions=15
agency.330206-ZGH.regions=330206
agency.370212-ZGH.regions=370212
agency.650102-ZGH.regions=650102
agency.350200-ZGH.regions=3502
agency.450200-ZGH.regions=4502
EOF
echo "bootstrap.servers=$B" >>p.conf

# ---- inputs: hand-written JSON Lines and CSV with good and bad records ---------------------

cat >mixed.jsonl <<'EOF'
{"type":"visit","event_id":"yn-2025lj-0001","occurred_at":"2025-01-06T10:00:00+08:00","reported_at":"2025-01-08T17:30:00+08:00","agency_id":"530000-ZGH","region":"530622","campaign":"2025 两节送温暖","activity":"CONDOLENCE_VISIT","target_groups":["ON_DUTY_HOLIDAY"],"workers_reached":300,"households":0,"staff":12}
{"type":"visit","event_id":"bad-authz","occurred_at":"2025-01-06T10:00:00+08:00","reported_at":"2025-01-08T17:30:00+08:00","agency_id":"530000-ZGH","region":"650102","activity":"HOME_VISIT","target_groups":["SANITATION"],"workers_reached":2,"households":2,"staff":1}
{"type":"visit","occurred_at":"2024-12-23T10:00:00+08:00","reported_at":"2024-12-27T09:00:00+08:00","agency_id":"150000-ZGH","region":"150100","campaign":"2025 两节送温暖","activity":"FREE_CLINIC","target_groups":["PUBLIC_SERVICE_FRONTLINE","OTHER"],"workers_reached":150,"households":0,"staff":6}
{"type":"visit","event_id":"bad-json","occurred_at":

{"type":"visit","event_id":"nb-bl-20241223-01","occurred_at":"2024-12-23T09:00:00+08:00","reported_at":"2024-12-24T12:00:00+08:00","agency_id":"330206-ZGH","region":"330206","campaign":"2025 两节送温暖","activity":"HEALTH_CHECK","target_groups":["NEW_EMPLOYMENT_FORMS"],"workers_reached":80,"households":0,"staff":10,"duration_minutes":180,"venue":"WORKPLACE","note":"圆通站点移动体检"}
{"type":"visit","event_id":"bad-enum","occurred_at":"2025-01-06T10:00:00+08:00","reported_at":"2025-01-08T17:30:00+08:00","agency_id":"530000-ZGH","region":"530622","activity":"PARTY","target_groups":["SANITATION"],"workers_reached":2,"households":2,"staff":1}
{"type":"funding","event_id":"nm-20241223-001","occurred_at":1734922800000,"reported_at":"2024-12-27T01:00:00Z","agency_id":"150000-ZGH","region":"150100","campaign":"2025 两节送温暖","amount_fen":6000000,"source":"UNION_FUNDS","purpose":"CASH_GRANT","recipients":30,"target_group":"HARDSHIP_WORKERS"}
{"type":"funding","event_id":"bad-future","occurred_at":"2099-01-01T00:00:00+08:00","reported_at":"2099-01-01T00:00:00+08:00","agency_id":"150000-ZGH","region":"150100","amount_fen":100,"source":"UNION_FUNDS","purpose":"CASH_GRANT","recipients":1,"target_group":"HARDSHIP_WORKERS"}
{"type":"funding","event_id":"bad-date","occurred_at":"2025-02-30T10:00:00+08:00","reported_at":"2025-03-01T10:00:00+08:00","agency_id":"150000-ZGH","region":"150100","amount_fen":100,"source":"UNION_FUNDS","purpose":"CASH_GRANT","recipients":1,"target_group":"HARDSHIP_WORKERS"}
{"type":"funding","event_id":"wlmq-ts-20241222-01","occurred_at":"2024-12-22T10:00:00+08:00","reported_at":"2024-12-23T18:00:00+08:00","agency_id":"650102-ZGH","region":"650102","campaign":"2025 两节送温暖","amount_fen":42000000,"source":"UNION_FUNDS","purpose":"GOODS","recipients":2100,"target_group":"SANITATION","disbursement":"IN_KIND","note":"大米、面粉、食用油"}
{"type":"funding","event_id":"bad-amount","occurred_at":"2024-12-22T10:00:00+08:00","reported_at":"2024-12-23T18:00:00+08:00","agency_id":"650102-ZGH","region":"650102","amount_fen":-500,"source":"UNION_FUNDS","purpose":"GOODS","recipients":10,"target_group":"SANITATION"}
{"type":"survey","event_id":"qd-ls-zt-2024-11","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-18T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{"s1":1,"s2":3,"s3":10,"s4":22,"s5":12},"needs":[{"need":"MENTAL_HEALTH","count":30},{"need":"REST_FACILITIES","count":12}]}
{"type":"survey","event_id":"bad-needs","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-18T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{},"needs":[{"need":"HOUSING","count":3},{"need":"HOUSING","count":1}]}
{"type":"survey","event_id":"bad-field","occurred_at":"2024-11-15T14:30:00+08:00","reported_at":"2024-11-18T09:00:00+08:00","agency_id":"370212-ZGH","region":"370212","method":"FORUM","enterprises":5,"respondents":48,"topic":"HEALTH","satisfaction":{},"needs":[],"mood":"good"}
{"type":"meeting","event_id":"bad-type"}
{"type":"survey","event_id":"xm-2024-12-myd","occurred_at":"2024-12-21T15:00:00+08:00","reported_at":"2024-12-23T09:00:00+08:00","agency_id":"350200-ZGH","region":"350200","campaign":"2025 两节送温暖","method":"QUESTIONNAIRE","enterprises":0,"respondents":300,"topic":"SATISFACTION","satisfaction":{"s1":2,"s2":8,"s3":40,"s4":130,"s5":120},"needs":[]}
EOF
# A CRLF line, and a last line without a line end.
printf '%s\r\n' '{"type":"visit","event_id":"qd-ls-eap-2024-q4","occurred_at":"2024-12-20T14:00:00+08:00","reported_at":"2024-12-31T16:00:00+08:00","agency_id":"370212-ZGH","region":"370212","activity":"PSYCHOLOGICAL_SERVICE","target_groups":["CONSTRUCTION"],"workers_reached":40,"households":0,"staff":3,"venue":"MOBILE_STATION"}' >>mixed.jsonl
printf '%s' '{"type":"visit","event_id":"bad-last","occurred_at":"2024-12-20T14:00:00+08:00","reported_at":"2024-12-19T16:00:00+08:00","agency_id":"370212-ZGH","region":"370212","activity":"PSYCHOLOGICAL_SERVICE","target_groups":["CONSTRUCTION"],"workers_reached":40,"households":0,"staff":3}' >>mixed.jsonl
JSONL_BAD=(2 4 7 9 10 12 14 15 16 19)

H='type,event_id,occurred_at,reported_at,agency_id,region,campaign,activity,target_groups,workers_reached,households,staff,amount_fen,source,purpose,recipients,target_group,method,enterprises,respondents,topic,s1,s2,s3,s4,s5,needs,note'
{
    printf '\xef\xbb\xbf%s\r\n' "$H"
    printf '%s\r\n' 'visit,cs-v-1,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,2025 两节送温暖,HOME_VISIT,MODEL_WORKERS_CRAFTSMEN;HARDSHIP_WORKERS,2,2,6,,,,,,,,,,,,,,,,"劳模家中, 送上慰问金"'
    printf '%s\r\n' 'visit,cs-bad-cells,2025-01-06T10:00:00+08:00'
    printf '%s\r\n' 'visit,,2025-01-07T09:30:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,2025 两节送温暖,FORUM,PUBLIC_SERVICE_FRONTLINE;NEW_EMPLOYMENT_FORMS,20,0,6,,,,,,,,,,,,,,,,"座谈会:'
    printf '%s\r\n' '10 名公交司机 + 10 名骑手, ""暖心"" 座谈"'
    printf '%s\r\n' 'visit,cs-bad-field,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,HOME_VISIT,SANITATION,2,2,6,500,,,,,,,,,,,,,,,'
    printf '%s\r\n' 'funding,cs-f-1,2024-12-23T11:00:00+08:00,2024-12-27T09:00:00+08:00,150000-ZGH,150100,2025 两节送温暖,,,,,,4000000,UNION_FUNDS,GOODS,200,PUBLIC_SERVICE_FRONTLINE,,,,,,,,,,,'
    printf '%s\r\n' 'funding,cs-bad-int,2024-12-23T11:00:00+08:00,2024-12-27T09:00:00+08:00,150000-ZGH,150100,,,,,,,"4,000,000",UNION_FUNDS,GOODS,200,PUBLIC_SERVICE_FRONTLINE,,,,,,,,,,,'
    printf '\r\n'
    printf '%s\r\n' 'survey,lz-2024-05-dy,2024-05-20T09:00:00+08:00,2024-06-03T10:00:00+08:00,450200-ZGH,450200,,,,,,,,,,,,MIXED,12,360,WAGES,0,0,0,0,0,PAY_RAISE:210;SKILLS_TRAINING:95;OTHER:20,'
    printf '%s\r\n' 'survey,cs-bad-sum,2024-05-20T09:00:00+08:00,2024-06-03T10:00:00+08:00,450200-ZGH,450200,,,,,,,,,,,,MIXED,12,10,WAGES,5,5,5,0,0,,'
    printf '%s\r\n' 'survey,cs-bad-need,2024-05-20T09:00:00+08:00,2024-06-03T10:00:00+08:00,450200-ZGH,450200,,,,,,,,,,,,MIXED,12,360,WAGES,,,,,,PAY_RAISE=210,'
    printf '%s\r\n' 'visit,cs-bad-quote,2025-01-06T10:00:00+08:00,2025-01-08T17:30:00+08:00,530000-ZGH,530622,,HOME_VISIT,SANITATION,2,2,6,,,,,,,,,,,,,,,,a "quoted" word'
    printf '%s\r\n' 'visit,cs-v-3,2025-01-06T10:00:00Z,2025-01-08T17:30:00Z,530000-ZGH,530622,,HOME_VISIT,SANITATION,2,2,6,,,,,,,,,,,,,,,,'
} >mixed.csv
CSV_BAD=(3 6 8 11 12 13)

# Generated input (another engineer's bin/outreach-gen), different seeds per format so that
# the explicit ids of the two files never meet.
if [ -x "$GEN" ]; then
    "$GEN" --seed 101 --events 3000 >gen.jsonl
    "$GEN" --seed 102 --events 3000 --format csv >gen.csv
    { "$GEN" --seed 101 --events 3000 --list-agencies; "$GEN" --seed 102 --events 3000 --list-agencies; } |
        grep -v '^#' | sort -u >>p.conf
    GENFILES=(gen.jsonl gen.csv)
else
    echo "test_producer: bin/outreach-gen not built: generated inputs skipped" >&2
    GENFILES=()
fi

skips() {
    local l
    for l in "${JSONL_BAD[@]}"; do echo "--skip mixed.jsonl:$l"; done
    for l in "${CSV_BAD[@]}"; do echo "--skip mixed.csv:$l"; done
}

# The rejects files must hold exactly the bad records, as they were (CSV: header first).
{ for l in "${JSONL_BAD[@]}"; do awk -v l="$l" "NR == l" mixed.jsonl; done; } >want.jsonl.rejects
{
    printf '%s\r\n' "$H"
    awk -v RS='\r\n' -v ORS='\r\n' 'NR==3||NR==6||NR==8||NR==11||NR==12||NR==13' mixed.csv
} >want.csv.rejects

cat >want.diag <<'EOF'
mixed.jsonl:2: region: agency 530000-ZGH is not authorised for region 650102
mixed.jsonl:4: record: invalid JSON: unexpected token near end of file (column 52)
mixed.jsonl:7: activity: unknown value "PARTY" (expected one of CONDOLENCE_VISIT, HOME_VISIT, FORUM, FREE_CLINIC, HEALTH_CHECK, LEGAL_AID, JOB_FAIR, SKILLS_TRAINING, PSYCHOLOGICAL_SERVICE, MEALS, PERFORMANCE, OTHER)
mixed.jsonl:9: occurred_at: N s in the future (allowed skew 600 s)
mixed.jsonl:10: occurred_at: invalid timestamp "2025-02-30T10:00:00+08:00": day out of range
mixed.jsonl:12: amount_fen: -500 is negative
mixed.jsonl:14: needs[1].need: repeats needs[0]
mixed.jsonl:15: mood: unknown field
mixed.jsonl:16: type: unknown record type "meeting" (expected visit, funding or survey)
mixed.jsonl:19: reported_at: before occurred_at
mixed.csv:3: record: 3 cells, the header has 28
mixed.csv:6: amount_fen: not a field of visit (leave the cell empty)
mixed.csv:8: amount_fen: "4,000,000" is not an integer
mixed.csv:11: satisfaction: s1+s2+s3+s4+s5 = 15 exceeds respondents (10)
mixed.csv:12: needs[0]: "PAY_RAISE=210" is not need:count
mixed.csv:13: note: quote in an unquoted cell (enclose the cell in quotes and double the quote)
EOF

# diag STDERR_FILE: the FILE:LINE: lines, with the clock-dependent number normalised.
diag() {
    grep -E '^mixed\.(jsonl|csv):[0-9]+: ' "$1" | sed -E 's/: [0-9]+ s in the future/: N s in the future/'
}

# count_lines FILE...: the "(L lines: H header, B blank, R in records)" part of the producer's counts,
# computed here from the files (CSV with Python's csv module), not by the code under test.
count_lines() {
    "$PY" - "$@" <<'EOF'
import csv, sys
tot = [0, 0, 0, 0]  # lines, header, blank, in records
for path in sys.argv[1:]:
    if path.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            rd, prev, first = csv.reader(f), 0, True
            for row in rd:
                n, prev = rd.line_num - prev, rd.line_num
                if len(row) <= 1 and not "".join(row).strip(" \t\r\n"):
                    tot[2] += n
                elif first:
                    tot[1], first = tot[1] + n, False
                else:
                    tot[3] += n
            tot[0] += prev
    else:
        data = open(path, "rb").read()
        ls = data.split(b"\n")
        if ls and ls[-1] == b"":
            ls.pop()
        tot[0] += len(ls)
        b = sum(1 for l in ls if not l.strip(b" \t\r"))
        tot[2], tot[3] = tot[2] + b, tot[3] + len(ls) - b
header = "%d header, " % tot[1] if tot[1] else ""
print("(%d %s: %s%d blank, %d in records)" % (tot[0], "line" if tot[0] == 1 else "lines", header, tot[2], tot[3]))
EOF
}

# ---- (a) mixed files: exit 1, exact reports, rejects, independent check --------------------
step "(a) mixed good and bad records"
T1=test.producer.$RUN.a
set +e
"$P" -F p.conf -X "events.topic=$T1" mixed.jsonl mixed.csv "${GENFILES[@]}" 2>a.err
rc=$?
set -e
[ $rc -eq 1 ] || { cat a.err >&2; fail "(a) exit status $rc, expected 1"; }
diag a.err >got.diag
expect_same want.diag got.diag "(a) diagnostics"
expect_same want.jsonl.rejects mixed.jsonl.rejects "(a) mixed.jsonl.rejects"
expect_same want.csv.rejects mixed.csv.rejects "(a) mixed.csv.rejects"
for g in "${GENFILES[@]}"; do [ ! -e "$g.rejects" ] || fail "(a) $g.rejects exists"; done
ngen=$((${#GENFILES[@]} * 3000))
want_counts="outreach-producer: read $((29 + ngen)), published $((13 + ngen)), rejected 16, failed 0 $(count_lines mixed.jsonl mixed.csv "${GENFILES[@]}")"
tail -1 a.err | grep -qxF "$want_counts" || fail "(a) counts: $(tail -1 a.err), expected $want_counts"
grep -qxF "mixed.jsonl: read 18, published 8, rejected 10, failed 0 $(count_lines mixed.jsonl)" a.err ||
    fail "(a) per-file counts"
dump "$T1" a.dump
# shellcheck disable=SC2046
"${CHECK[@]}" --dump a.dump $(skips) mixed.jsonl mixed.csv "${GENFILES[@]}" || fail "(a) published events"

# ---- (a') a bad cell costs one record, never the records after it (issue #10) -------------
if [ -x "$GEN" ]; then
    step "(a') a stray quote and an over-long quoted cell: one reject each, every other row published"
    "$GEN" --seed 103 --events 2000 --format csv >g3.csv
    "$GEN" --seed 103 --events 2000 --list-agencies | grep -v '^#' >g3.conf
    # stray.csv: x"y appended to the unquoted agency_id cell of line 3. long.csv: line 4's
    # campaign replaced by a quoted cell of 300 lines with commas and doubled quotes, longer
    # than input.max.record.bytes=4096. Rows, ids and line numbers come from Python's csv.
    "$PY" - <<'EOF'
import csv
with open("g3.csv", encoding="utf-8", newline="") as f:
    rows = list(csv.reader(f))
head = rows[0]
ag, camp = head.index("agency_id"), head.index("campaign")
def enc(c):
    return '"' + c.replace('"', '""') + '"' if any(x in c for x in ',"\r\n') else c
def write(path, at, col, raw):
    """rows as CSV, with the cell (at, col) written as raw text, unquoted."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        for i, r in enumerate(rows):
            f.write(",".join(raw if (i, j) == (at, col) else enc(c) for j, c in enumerate(r)))
            f.write("\n")
write("stray.csv", 2, ag, rows[2][ag] + 'x"y')
write("long.csv", 3, camp, '"' + 'long, ""quoted"" text\n' * 300 + '"')
with open("long.csv", encoding="utf-8", newline="") as f:
    rd = csv.reader(f)
    n = sum(1 for _ in rd)
    assert n == len(rows), (n, len(rows))
with open("g3.rows", "w") as f:
    f.write("%d\n" % (len(rows) - 1))
EOF
    rows=$(cat g3.rows)
    for f in stray long; do
        T5=test.producer.$RUN.$f
        set +e
        "$P" -q -F p.conf -F g3.conf -X "events.topic=$T5" -X input.max.record.bytes=4096 \
            "$f.csv" 2>"$f.err"
        rc=$?
        set -e
        [ $rc -eq 1 ] || { cat "$f.err" >&2; fail "(a') $f.csv: exit status $rc, expected 1"; }
        want="outreach-producer: read $rows, published $((rows - 1)), rejected 1, failed 0 $(count_lines "$f.csv")"
        tail -1 "$f.err" | grep -qxF "$want" || fail "(a') $f.csv counts: $(tail -1 "$f.err"), expected $want"
        n=$(kcat -C -b "$B" -t "$T5" -o beginning -e -q -f '%o\n' | wc -l)
        [ "$n" -eq $((rows - 1)) ] || fail "(a') $f.csv: $n events in the topic, expected $((rows - 1))"
        dump "$T5" "$f.dump"
    done
    grep -qxF 'stray.csv:3: agency_id: quote in an unquoted cell (enclose the cell in quotes and double the quote)' stray.err ||
        { cat stray.err >&2; fail "(a') stray.csv diagnostic"; }
    grep -qxF 'long.csv:4: record: longer than 4096 bytes (input.max.record.bytes); the rejects file has only its beginning' long.err ||
        { cat long.err >&2; fail "(a') long.csv diagnostic"; }
    [ "$(grep -c '^stray.csv:' stray.err)" -eq 1 ] && [ "$(grep -c '^long.csv:' long.err)" -eq 1 ] ||
        fail "(a') more than one diagnostic"
    # The rejects files hold the header and the one bad record: never the rows after it.
    [ "$(head -1 stray.csv.rejects)" = "$(head -1 g3.csv)" ] || fail "(a') stray.csv.rejects header"
    [ "$(sed -n 2p stray.csv.rejects)" = "$(sed -n 3p stray.csv)" ] && [ "$(wc -l <stray.csv.rejects)" -eq 2 ] ||
        fail "(a') stray.csv.rejects holds more than the bad record"
    [ "$(wc -c <long.csv.rejects)" -le $((4096 + $(head -1 g3.csv | wc -c) + 1)) ] ||
        fail "(a') long.csv.rejects holds more than the bad record's beginning"
    "${CHECK[@]}" --dump stray.dump --skip stray.csv:3 stray.csv || fail "(a') stray.csv events"
    "${CHECK[@]}" --dump long.dump --skip long.csv:4 long.csv || fail "(a') long.csv events"
fi

# ---- (b) the same files again: the same ids ----------------------------------------------
step "(b) publishing the same files again repeats the event ids"
set +e
"$P" -q -F p.conf -X "events.topic=$T1" mixed.jsonl mixed.csv "${GENFILES[@]}" 2>b.err
rc=$?
set -e
[ $rc -eq 1 ] || { cat b.err >&2; fail "(b) exit status $rc, expected 1"; }
dump "$T1" b.dump
# shellcheck disable=SC2046
"${CHECK[@]}" --dump b.dump --copies 2 $(skips) mixed.jsonl mixed.csv "${GENFILES[@]}" ||
    fail "(b) every good record twice with the same id"

# stdin, a clean file (exit 0), and a stale rejects file removed
step "(b') stdin and exit 0"
T2=test.producer.$RUN.stdin
grep -v -e bad- -e '^$' mixed.jsonl >clean.jsonl
echo stale >stdin.rejects
"$P" -q -F p.conf -X "events.topic=$T2" - <clean.jsonl 2>s.err || fail "(b') exit $? on clean stdin"
[ ! -e stdin.rejects ] || fail "(b') a stale stdin.rejects was left"
tail -1 s.err | grep -qxF "outreach-producer: read 8, published 8, rejected 0, failed 0 $(count_lines clean.jsonl)" ||
    fail "(b') counts"
set +e
"$P" -q -F p.conf -X "events.topic=$T2" --format jsonl - <mixed.jsonl 2>s2.err
rc=$?
set -e
[ $rc -eq 1 ] || fail "(b') exit $rc for stdin with rejects"
expect_same want.jsonl.rejects stdin.rejects "(b') stdin.rejects"
grep -q '^stdin:2: region: agency 530000-ZGH' s2.err || fail "(b') stdin diagnostics"

# ---- (f) GB18030 (GBK) input ---------------------------------------------------------------
# same_events A.dump B.dump WHAT: the two topics (outreach-codec dump) hold the same events,
# field by field, keys and headers included, and Chinese text came through as Chinese.
same_events() {
    "$PY" - "$1" "$2" <<'EOF' || fail "(f) $3: the topics differ"
import json, sys

# The generator repeats some events on purpose: compare the lists of messages, sorted.
def load(path):
    events = []
    for line in open(path, encoding="utf-8"):
        m = json.loads(line)
        if "value" not in m:
            sys.exit("%s: undecodable message %s" % (path, line.strip()))
        events.append((m["value"]["event_id"], m["key"], m.get("headers"), m["value"]))
    return sorted(events, key=lambda e: json.dumps(e, sort_keys=True, ensure_ascii=False))

a, b = load(sys.argv[1]), load(sys.argv[2])
if len(a) != 500 or len(b) != 500:
    sys.exit("%d and %d messages, expected 500" % (len(a), len(b)))
for x, y in zip(a, b):
    if x != y:
        sys.exit("%s differs:\n  %s\n  %s" % (x[0], x, y))
if not any("两节送温暖" in (e[3].get("campaign") or "") for e in a):
    sys.exit("no campaign named in Chinese: nothing was converted")
EOF
}

if [ -x "$GEN" ]; then
    step "(f) GB18030 input: detected, forced, on stdin, in the spool; forced to UTF-8 it is refused"
    "$GEN" --seed 5 --events 500 --format csv >enc.csv
    iconv -f UTF-8 -t GB18030 enc.csv >enc-gb.csv
    ! cmp -s enc.csv enc-gb.csv || fail "(f) the generated CSV has nothing that GB18030 changes"
    "$GEN" --seed 5 --events 500 --list-agencies | grep -v '^#' >enc.conf
    TE=test.producer.$RUN.enc
    "$P" -F p.conf -F enc.conf -X "events.topic=$TE.utf8" enc.csv 2>fu.err ||
        { cat fu.err >&2; fail "(f) UTF-8 file: exit $?"; }
    "$P" -F p.conf -F enc.conf -X "events.topic=$TE.gb" enc-gb.csv 2>fg.err ||
        { cat fg.err >&2; fail "(f) GB18030 file: exit $?"; }
    ! grep -q 'read as' fu.err || fail "(f) the UTF-8 file had its encoding announced"
    [ "$(grep -c 'read as' fg.err)" = 1 ] || { cat fg.err >&2; fail "(f) not said exactly once"; }
    grep -qxF 'enc-gb.csv: read as GB18030 (not valid UTF-8 from line 2, valid GB18030)' fg.err ||
        { cat fg.err >&2; fail "(f) detection not said on stderr"; }
    tail -1 fg.err | grep -qxF "outreach-producer: read 500, published 500, rejected 0, failed 0 $(count_lines enc.csv)" ||
        fail "(f) GB18030 counts: $(tail -1 fg.err)"
    # Forced on a file (nothing to announce) and detected on stdin, which is a stream.
    "$P" -F p.conf -F enc.conf -X "events.topic=$TE.forced" --encoding gb18030 enc-gb.csv \
        2>ff.err || { cat ff.err >&2; fail "(f) --encoding gb18030: exit $?"; }
    ! grep -q 'read as' ff.err || fail "(f) a forced encoding was announced"
    "$P" -F p.conf -F enc.conf -X "events.topic=$TE.stdin" - <enc-gb.csv 2>fs.err ||
        { cat fs.err >&2; fail "(f) GB18030 on stdin: exit $?"; }
    [ "$(grep -c '^stdin: read as GB18030 (decided at line 2, ' fs.err)" = 1 ] ||
        { cat fs.err >&2; fail "(f) stdin: detection not said once"; }
    for t in utf8 gb forced stdin; do
        "$ROOT/bin/outreach-codec" dump -X "bootstrap.servers=$B" "$TE.$t" >"f.$t.dump" ||
            fail "(f) dump of $TE.$t"
    done
    for t in gb forced stdin; do same_events f.utf8.dump "f.$t.dump" "$t"; done

    # The spool reads the same way, and says it in its log.
    S4=$W/spool4
    spool_start f.log "$S4" -F p.conf -F enc.conf -X "events.topic=$TE.spool" -X spool.rescan.ms=500
    spool_drop enc-gb.csv "$S4" gb.csv
    wait_for 60 test -e "$S4/done/gb.csv" || { cat f.log >&2; fail "(f) gb.csv not done"; }
    spool_stop "(f)"
    [ ! -e "$S4/done/gb.csv.errors" ] || fail "(f) the spooled GB18030 file has an errors report"
    [ "$(grep -c 'gb.csv: read as GB18030' f.log)" = 1 ] || { cat f.log >&2; fail "(f) spool log"; }
    "$ROOT/bin/outreach-codec" dump -X "bootstrap.servers=$B" "$TE.spool" >f.spool.dump
    same_events f.utf8.dump f.spool.dump spool

    # Forced to UTF-8: every row with GB18030 bytes is rejected under its own line, the
    # rejects file holds them as they were, and the ASCII rows still pass.
    set +e
    "$P" -F p.conf -F enc.conf --check --encoding utf-8 enc-gb.csv 2>fx.err
    rc=$?
    set -e
    [ $rc -eq 1 ] || { cat fx.err >&2; fail "(f) --encoding utf-8 on GB18030: exit $rc"; }
    LC_ALL=C grep -n '[^ -~]' enc-gb.csv | cut -d: -f1 >want.lines
    nbad=$(wc -l <want.lines)
    [ "$nbad" -gt 400 ] || fail "(f) only $nbad rows with Chinese"
    grep -E '^enc-gb\.csv:[0-9]+: ' fx.err >got.fx || true
    cut -d: -f2 got.fx >got.lines
    expect_same want.lines got.lines "(f) the lines refused as UTF-8"
    msg='^enc-gb\.csv:[0-9]+: record: invalid UTF-8 at byte [0-9]+ \(--encoding utf-8; for GBK or GB18030 give --encoding gb18030\)$'
    ! grep -vqE "$msg" got.fx || fail "(f) unexpected message: $(grep -vE "$msg" got.fx | head -1)"
    tail -1 fx.err | grep -qxF "outreach-producer: read 500, valid $((500 - nbad)), rejected $nbad, failed 0 $(count_lines enc.csv)" ||
        fail "(f) counts: $(tail -1 fx.err)"
    { head -1 enc-gb.csv; LC_ALL=C grep '[^ -~]' enc-gb.csv; } >want.gb.rejects
    expect_same want.gb.rejects enc-gb.csv.rejects "(f) enc-gb.csv.rejects"
else
    echo "test_producer: (f) skipped: bin/outreach-gen not built" >&2
fi

# ---- (c) spool daemon ---------------------------------------------------------------------
step "(c) spool: files dropped into incoming/"
T3=test.producer.$RUN.spool
S=$W/spool
# message.max.bytes makes one record undeliverable for good (too large): that file goes to
# failed/ with the delivery error in its report.
spool_start c.log "$S" -F p.conf -X "events.topic=$T3" -X spool.rescan.ms=500 \
    -X spool.settle.ms=500 -X message.max.bytes=1000
spool_drop mixed.jsonl "$S" m.jsonl                     # rename in: IN_MOVED_TO
cp mixed.csv "$S/incoming/c.csv"                         # written in place: IN_CLOSE_WRITE
cp clean.jsonl "$S/incoming/clean.jsonl"
echo '{"type":"nope"}' >"$S/incoming/allbad.jsonl"
"$PY" -c 'import json; print(json.dumps({"type": "visit", "event_id": "long-note",
    "occurred_at": "2025-01-06T10:00:00+08:00", "reported_at": "2025-01-08T17:30:00+08:00",
    "agency_id": "530000-ZGH", "region": "530622", "activity": "HOME_VISIT",
    "target_groups": ["SANITATION"], "workers_reached": 2, "households": 2, "staff": 1,
    "note": "长" * 400}, ensure_ascii=False))' >"$S/incoming/long.jsonl"
echo 'partial' >"$S/incoming/upload.part"                # ignored
echo 'hidden' >"$S/incoming/.hidden"                      # ignored
wait_for 60 test -e "$S/done/m.jsonl" -a -e "$S/done/c.csv" -a -e "$S/done/clean.jsonl" \
    -a -e "$S/failed/allbad.jsonl" -a -e "$S/failed/long.jsonl" ||
    { cat c.log >&2; fail "(c) files not filed"; }
[ -e "$S/incoming/upload.part" ] && [ -e "$S/incoming/.hidden" ] || fail "(c) temp files were taken"
[ ! -e "$S/done/clean.jsonl.errors" ] || fail "(c) clean.jsonl has an errors report"
{
    diag a.err | grep '^mixed.jsonl' | sed 's/^mixed.jsonl/m.jsonl/'
    echo "m.jsonl: read 18, published 8, rejected 10, failed 0 $(count_lines mixed.jsonl)"
} >want.m.errors
sed -E 's/: [0-9]+ s in the future/: N s in the future/' "$S/done/m.jsonl.errors" >got.m.errors
expect_same want.m.errors got.m.errors "(c) done/m.jsonl.errors"
expect_same want.jsonl.rejects "$S/done/m.jsonl.rejects" "(c) done/m.jsonl.rejects"
expect_same want.csv.rejects "$S/done/c.csv.rejects" "(c) done/c.csv.rejects"
printf '%s\n' 'allbad.jsonl:1: type: unknown record type "nope" (expected visit, funding or survey)' \
    "allbad.jsonl: read 1, published 0, rejected 1, failed 0 $(count_lines "$S/failed/allbad.jsonl")" \
    >want.allbad
expect_same want.allbad "$S/failed/allbad.jsonl.errors" "(c) failed/allbad.jsonl.errors"
printf '%s\n' 'long.jsonl:1: kafka: Broker: Message size too large' \
    "long.jsonl: read 1, published 0, rejected 0, failed 1 $(count_lines "$S/failed/long.jsonl")" \
    >want.long
expect_same want.long "$S/failed/long.jsonl.errors" "(c) failed/long.jsonl.errors"
[ ! -e "$S/failed/long.jsonl.rejects" ] || fail "(c) a delivery failure is not a reject"
# The same name again is kept beside the first, not over it.
cp clean.jsonl "$S/incoming/clean.jsonl"
wait_for 30 test -e "$S/done/clean.jsonl.1" || fail "(c) second clean.jsonl not filed as clean.jsonl.1"
spool_stop "(c)"
dump "$T3" c.dump
# shellcheck disable=SC2046
"${CHECK[@]}" --dump c.dump $(skips) mixed.jsonl mixed.csv clean.jsonl clean.jsonl ||
    fail "(c) spooled events"

step "(c) spool: a symbolic link, a FIFO and a directory go to failed/ unread"
# A link to a file the daemon may read but the office may not must not leak it into failed/.
S5=$W/spool5
printf 'SECRET-%s-%s\n' "$RUN" "$RANDOM" >secret.txt
chmod 600 secret.txt
spool_start c5.log "$S5" -F p.conf -X "events.topic=$T3.s5" -X spool.rescan.ms=300 \
    -X spool.settle.ms=300
ln -s "$W/secret.txt" "$S5/incoming/link.csv"
mkfifo "$S5/incoming/pipe.jsonl"
mkdir "$S5/incoming/dir.csv"
wait_for 30 test -L "$S5/failed/link.csv" -a -p "$S5/failed/pipe.jsonl" -a -d "$S5/failed/dir.csv" ||
    { cat c5.log >&2; fail "(c) special files not moved to failed/"; }
# The FIFO did not block the daemon: a file dropped afterwards is published.
cp clean.jsonl "$S5/incoming/after.jsonl"
wait_for 30 test -e "$S5/done/after.jsonl" || { cat c5.log >&2; fail "(c) daemon blocked after a FIFO"; }
spool_stop "(c) spool5"
[ "$(readlink "$S5/failed/link.csv")" = "$W/secret.txt" ] || fail "(c) failed/link.csv is not the link itself"
for k in "link.csv:a symbolic link" "pipe.jsonl:a FIFO" "dir.csv:a directory"; do
    n=${k%%:*}
    grep -qxF "$n: not a regular file (${k#*:}): not read" "$S5/failed/$n.errors" ||
        { cat "$S5/failed/$n.errors" >&2; fail "(c) failed/$n.errors gives no reason"; }
    [ ! -e "$S5/failed/$n.rejects" ] || fail "(c) failed/$n.rejects exists"
done
# -D skip: reading the FIFO here would block the test; -r does not follow the link.
if grep -rqF -D skip "$(cat secret.txt)" "$S5" c5.log; then
    fail "(c) the secret's content was read into the spool directory or the log"
fi

step "(c) spool: kill -9 in the middle of a $BIG-event file, restart"
T4=test.producer.$RUN.big
S2=$W/spool2
if [ -x "$GEN" ]; then
    "$GEN" --seed 7 --events "$BIG" >big.jsonl
    "$GEN" --seed 7 --events "$BIG" --list-agencies | grep -v '^#' >big.conf
else
    "$PY" - "$BIG" >big.jsonl <<'EOF'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"type": "visit", "event_id": None if i % 10 == 0 else "py-%d" % i,
        "occurred_at": 1734919200000 + i * 1000, "reported_at": 1735000000000 + i * 1000,
        "agency_id": "530000-ZGH", "region": "530622", "activity": "HOME_VISIT",
        "target_groups": ["SANITATION"], "workers_reached": i % 50, "households": 1, "staff": 1},
        ensure_ascii=False))
EOF
    : >big.conf
fi
mkdir -p "$S2/incoming"
spool_drop big.jsonl "$S2" big.jsonl
# The producer publishes the whole file in about a second now: a small librdkafka queue and a
# long linger hold it to ~20 000 events/s, so that the kill lands mid-file.
spool_start c2.log "$S2" -F p.conf -F big.conf -X "events.topic=$T4" --progress \
    -X queue.buffering.max.messages=10000 -X linger.ms=500
# Mid-file: some events acknowledged, the file not done.
published_some() { grep -qE 'progress: big.jsonl: read [0-9]+ .*published [1-9]' c2.log; }
wait_for 60 published_some || { cat c2.log >&2; fail "(c) no progress on big.jsonl"; }
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null || true
DAEMON=
[ -e "$S2/processing/big.jsonl" ] || fail "(c) big.jsonl is not in processing/ after kill -9"
[ ! -e "$S2/done/big.jsonl" ] || fail "(c) big.jsonl was done before kill -9: make it bigger"
grep -E 'progress: big.jsonl' c2.log | tail -1
spool_start c3.log "$S2" -F p.conf -F big.conf -X "events.topic=$T4"
wait_for 300 test -e "$S2/done/big.jsonl" || { cat c3.log >&2; fail "(c) big.jsonl not done after restart"; }
spool_stop "(c) restarted"
grep -F 'big.jsonl -> done/big.jsonl' c3.log
dump "$T4" big.dump
"${CHECK[@]}" --dump big.dump --at-least big.jsonl || fail "(c) events lost across kill -9"

# ---- (d) unreachable broker ----------------------------------------------------------------
step "(d) unreachable broker: exit 2 within the message timeout"
set +e
timeout 120 "$P" -F p.conf -X bootstrap.servers=127.0.0.1:1 -X message.timeout.ms=3000 \
    -X events.topic=never mixed.jsonl 2>d.err
rc=$?
set -e
[ $rc -eq 2 ] || { cat d.err >&2; fail "(d) exit status $rc, expected 2"; }
tail -1 d.err | grep -qxF "outreach-producer: read 18, published 0, rejected 10, failed 8 $(count_lines mixed.jsonl)" ||
    fail "(d) counts: $(tail -1 d.err)"
grep -qE '^mixed\.jsonl:1: kafka: Local: Message timed out$' d.err || fail "(d) no delivery failure report"

# ---- (e) broker down in the middle of a spool run (a private broker we may kill) -----------
LIBS=${OUTREACH_STATE:-$ROOT/.state}/kafka/libs
if [ -d "$LIBS" ] && [ "${PRODUCER_TEST_OUTAGE:-1}" = 1 ]; then
    step "(e) spool: the broker is killed and comes back"
    ST=$W/state
    mkdir -p "$ST/kafka"
    ln -s "$LIBS" "$ST/kafka/libs"
    EPORT=$((20000 + $$ % 5000))
    kafka_private() { OUTREACH_STATE=$ST bash "$ROOT/deploy/kafka/kafka.sh" "$@"; }
    PRIVATE_BROKER=1
    EB=$(kafka_private up --port "$EPORT" 2>e.kafka.log | tail -1)
    [ -n "$EB" ] || { cat e.kafka.log >&2; fail "(e) private broker did not start"; }
    if [ -x "$GEN" ]; then
        "$GEN" --seed 5 --events 20000 >o1.jsonl
        "$GEN" --seed 6 --events 20000 >o2.jsonl
        { "$GEN" --seed 5 --events 20000 --list-agencies; "$GEN" --seed 6 --events 20000 --list-agencies; } |
            grep -v '^#' | sort -u >o.conf
    else
        head -20000 big.jsonl >o1.jsonl
        tail -20000 big.jsonl >o2.jsonl
        : >o.conf
    fi
    S3=$W/spool3
    spool_start e.log "$S3" -F p.conf -F big.conf -F o.conf -X "bootstrap.servers=$EB" \
        -X events.topic=outage -X message.timeout.ms=4000 -X spool.retry.max.ms=2000
    spool_drop o1.jsonl "$S3" o1.jsonl
    wait_for 60 test -e "$S3/done/o1.jsonl" || { cat e.log >&2; fail "(e) o1.jsonl not done"; }
    kafka_private down --keep --kill >>e.kafka.log 2>&1
    spool_drop o2.jsonl "$S3" o2.jsonl
    retried() { grep -q 'o2.jsonl: 20000 of 20000 deliveries failed .*publishing it again' e.log; }
    wait_for 60 retried || { cat e.log >&2; fail "(e) no retry while the broker is down"; }
    [ -e "$S3/processing/o2.jsonl" ] || fail "(e) o2.jsonl left processing/ while the broker was down"
    kafka_private up --port "$EPORT" >>e.kafka.log 2>&1 || fail "(e) private broker did not restart"
    wait_for 120 test -e "$S3/done/o2.jsonl" || { cat e.log >&2; fail "(e) o2.jsonl not done"; }
    spool_stop "(e)"
    [ ! -e "$S3/failed/o2.jsonl" ] || fail "(e) o2.jsonl in failed/"
    grep -F 'o2.jsonl -> done/o2.jsonl' e.log
    kcat -C -b "$EB" -t outage -o beginning -e -q -f 'M %p %o %k %S %h\n%s\n' >e.dump
    "${CHECK[@]}" --dump e.dump --at-least o1.jsonl o2.jsonl || fail "(e) events lost in the outage"
    kafka_private down >>e.kafka.log 2>&1
    PRIVATE_BROKER=
else
    echo "test_producer: (e) skipped: no Kafka jars in $LIBS for a private broker" >&2
fi

echo "test_producer: all passed"
