#!/usr/bin/env bash
# Integration test of bin/outreach-audit against a real broker ($KAFKA_BOOTSTRAP): audit entries
# (audit.v1, encoded by outreach-codec) produced into a fresh topic, then every filter and both
# output forms checked against audit_check.py, which recomputes the expectations from the input.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${KAFKA_BOOTSTRAP:?run through tests/integration/run.sh or set KAFKA_BOOTSTRAP}
. tests/lib/kafka.sh
. tests/lib/util.sh
util_init test_audit
UTIL_LOGS=("*.out" "*.err") UTIL_TAIL=20 # what outreach-audit printed, per call
PY=/usr/bin/python3
RUN=$(date +%s)-$$
T=audittest.$RUN

[ -x bin/outreach-audit ] || fail "bin/outreach-audit is not built"

# audit NAME ARGS...: stdout to NAME.out, stderr to NAME.err; sets RC.
audit() { capture "$1" bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$T" "${@:2}"; }

# The entries: a funding fix in a Kunming county (4亿 typed for 4000万), a visit moved between
# two Qujing/Kunming counties, a retraction in Guangzhou, a correction that came before its
# original, and a Qujing entry by another agency; applied over three days.
cat >"$WORK/entries.jsonl" <<'JSON'
{"event_id":"ev-fund-1","event_type":"FUNDING","agency_id":"ACFTU-530100","correction_from":0,"correction_to":1,"retracted":false,"reason":"金额录入错误：4亿应为4000万","reported_at":1737000000000,"applied_at":1737000600000,"source_partition":0,"source_offset":10,"changes":[{"window_kind":"DAY","window":"2025-01-15","region":"530102","level":"COUNTY","deltas":{"funding_fen":-36000000000}},{"window_kind":"DAY","window":"2025-01-15","region":"530100","level":"PREFECTURE","deltas":{"funding_fen":-36000000000}},{"window_kind":"DAY","window":"2025-01-15","region":"530000","level":"PROVINCE","deltas":{"funding_fen":-36000000000}}]}
{"event_id":"ev-visit-2","event_type":"VISIT","agency_id":"ACFTU-530000","correction_from":0,"correction_to":1,"retracted":false,"reason":"区县填错","reported_at":1737086400000,"applied_at":1737087000000,"source_partition":1,"source_offset":3,"changes":[{"window_kind":"ALL","window":"all","region":"530302","level":"COUNTY","deltas":{"visits":-1,"event_count":-1,"workers_reached":-12}},{"window_kind":"ALL","window":"all","region":"530103","level":"COUNTY","deltas":{"visits":1,"event_count":1,"workers_reached":12}}]}
{"event_id":"ev-visit-3","event_type":"VISIT","agency_id":"ACFTU-440000","correction_from":1,"correction_to":2,"retracted":true,"reason":"重复上报","reported_at":1737172800000,"applied_at":1737173400000,"source_partition":0,"source_offset":44,"changes":[{"window_kind":"MONTH","window":"2025-01","region":"440106","level":"COUNTY","deltas":{"visits":-1,"event_count":-1}},{"window_kind":"MONTH","window":"2025-01","region":"440100","level":"PREFECTURE","deltas":{"visits":-1,"event_count":-1}}]}
{"event_id":"ev-fund-4","event_type":"FUNDING","agency_id":"ACFTU-530300","correction_from":null,"correction_to":1,"retracted":false,"reason":"先到的更正","reported_at":1737172800000,"applied_at":1737174000000,"source_partition":2,"source_offset":0,"changes":[{"window_kind":"CAMPAIGN","window":"2025 两节送温暖","region":"530302","level":"COUNTY","deltas":{"funding_fen":123405,"recipients":2,"event_count":1}}]}
{"event_id":"ev-fund-1","event_type":"FUNDING","agency_id":"ACFTU-530100","correction_from":1,"correction_to":2,"retracted":false,"reason":"再次更正\t含制表符","reported_at":1737259200000,"applied_at":1737259800000,"source_partition":0,"source_offset":80,"changes":[{"window_kind":"DAY","window":"2025-01-15","region":"530102","level":"COUNTY","deltas":{"funding_fen":5}}]}
JSON
printf '0\n1\n0\n1\n1\n' >"$WORK/parts.txt"
kafka_topics --create --topic "$T" --partitions 2 >/dev/null

echo "== 1. produce the entries (audit.v1, single-object encoding), keyed by event_id"
bin/outreach-codec encode audit.v1 <"$WORK/entries.jsonl" >"$WORK/hex.txt" ||
    fail "outreach-codec encode audit.v1 failed"
[ "$(wc -l <"$WORK/hex.txt")" -eq 5 ] || fail "expected 5 encoded entries"
i=0
while read -r hex; do
    i=$((i + 1))
    p=$(sed -n "${i}p" "$WORK/parts.txt")
    id=$(sed -n "${i}p" "$WORK/entries.jsonl" | $PY -c 'import json,sys; print(json.load(sys.stdin)["event_id"])')
    printf '%s' "$hex" | perl -ne 'print pack("H*", $_)' >"$WORK/m$i"
    kcat -P -b "$B" -t "$T" -p "$p" -k "$id" "$WORK/m$i"
done <"$WORK/hex.txt"

# check NAME FILTER-ARGS...: --json listing's ids equal audit_check.py's for the same filters.
check() {
    local name=$1
    shift
    local cli=() pyargs=()
    while [ $# -gt 0 ]; do
        cli+=("--$1" "$2")
        pyargs+=("$1=$2")
        shift 2
    done
    audit "$name" --json "${cli[@]}"
    expect_rc 0 "$name"
    $PY -c '
import json, sys
for l in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(l)
    print("%s/%d" % (e["event_id"], e["correction_to"]))' "$WORK/$name.out" >"$WORK/$name.ids"
    $PY tests/integration/audit_check.py "$WORK/entries.jsonl" "$WORK/parts.txt" "${pyargs[@]}" \
        >"$WORK/$name.want"
    [ -s "$WORK/$name.want" ] || fail "$name: the test expects at least one entry"
    diff -u "$WORK/$name.want" "$WORK/$name.ids" >&2 || fail "$name: listed entries differ"
    echo "ok $name: $(wc -l <"$WORK/$name.ids") entries"
}

echo "== 2. filters (--json), against the independent expectation"
check all
check county region 530102
check prefecture region 530100       # Kunming: its counties 530102 and 530103
check prefecture2 region 530300      # Qujing: the moved visit's old county, the early correction
check province region 530000
check province2 region 440000
check agency agency ACFTU-530100
check since since 2025-01-18         # 00:00 Asia/Shanghai
check since_edge since 2025-01-18T12:10:00+08:00  # inclusive: applied_at equal
check since_rfc since 2025-01-18T04:15:00Z
check event event ev-fund-1
check combined region 530000 since 2025-01-17
# The JSON of an entry is the Avro record: every field, the null of correction_from kept.
audit json_full --json --event ev-fund-4
$PY - "$WORK/json_full.out" "$WORK/entries.jsonl" <<'PYEOF' || fail "--json is not the record as sent"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = [e for e in map(json.loads, open(sys.argv[2], encoding="utf-8")) if e["event_id"] == "ev-fund-4"]
assert got == want, (got, want)
PYEOF

echo "== 3. the table: Chinese header, Asia/Shanghai times, region names, yuan"
audit table
expect_rc 0 table
head -1 "$WORK/table.out" | grep -qxF "$(printf '时间\t事件编号\t单位\t更正\t撤回\t原因')" ||
    fail "table header"
$PY tests/integration/audit_check.py "$WORK/entries.jsonl" "$WORK/parts.txt" mode=table \
    >"$WORK/table.want"
# every expected entry line exactly (tabs in a reason shown as spaces), every change line's
# region, name and figures in order
$PY - "$WORK/table.want" "$WORK/table.out" <<'PYEOF' || fail "table content"
import sys
want = open(sys.argv[1], encoding="utf-8").read().splitlines()
got = open(sys.argv[2], encoding="utf-8").read().splitlines()[1:]
assert len(want) == len(got), (len(want), len(got))
for w, g in zip(want, got):
    if not w.startswith("  "):
        cols = w.split("\t")
        cols[5] = cols[5].replace("\t", " ")
        gcols = g.split("\t")
        assert gcols[:5] == cols[:5] and gcols[5] == " ".join(w.split("\t")[5:]), (w, g)
    else:
        pos = 0
        for piece in w[2:].split("|"):
            at = g.find(piece, pos)
            assert at >= 0, (piece, g)
            pos = at + len(piece)
print("table ok")
PYEOF
grep -qF "资金(元) -360000000.00" "$WORK/table.out" || fail "4亿→4000万 not shown as -360000000.00 yuan"
grep -qF "资金(元) +1234.05" "$WORK/table.out" || fail "123405 fen not shown as +1234.05"
grep -qF "无→1" "$WORK/table.out" || fail "a correction before its original is not shown as 无→1"

echo "== 4. nothing matches: 'no entries', exit 0"
audit none --agency NOBODY
expect_rc 0 "no match"
[ "$(cat "$WORK/none.out")" = "no entries" ] || fail "no match: stdout is not 'no entries'"
audit none_json --json --since 2030-01-01
expect_rc 0 "no match --json"
[ ! -s "$WORK/none_json.out" ] || fail "--json with no match wrote to stdout"
grep -qx "no entries" "$WORK/none_json.err" || fail "--json with no match: no 'no entries' on stderr"

echo "== 5. bad options: clear errors, exit 2, nothing read"
audit bad1 --region 5301
expect_rc 2 "--region 5301"
grep -qF -- "--region 5301: expected a six-digit region code" "$WORK/bad1.err" || fail "bad1 message"
audit bad2 --region 539999
expect_rc 2 "--region 539999"
grep -qF "no such region" "$WORK/bad2.err" || fail "bad2 message"
audit bad3 --since 2025-02-30
expect_rc 2 "--since 2025-02-30"
grep -qF -- "--since 2025-02-30: day out of range" "$WORK/bad3.err" || fail "bad3 message"
audit bad4 --since yesterday
expect_rc 2 "--since yesterday"
audit bad5 --agency
expect_rc 2 "--agency without argument"
grep -qF -- "--agency needs an argument" "$WORK/bad5.err" || fail "bad5 message"
audit bad6 --colour
expect_rc 2 "unknown option"
audit bad7 extra-arg
expect_rc 2 "operand"
RC=0
bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$T.missing" -X metadata.timeout.ms=3000 \
    >"$WORK/missing.out" 2>"$WORK/missing.err" || RC=$?
expect_rc 2 "missing topic"
grep -qF "$T.missing" "$WORK/missing.err" || fail "missing topic: not named in the error"

echo "== 6. a message that is not an audit entry: reported with its position, the rest listed, exit 1"
kafka_topics --create --topic "$T.mixed" --partitions 1 >/dev/null
kcat -P -b "$B" -t "$T.mixed" -p 0 -k x "$WORK/m1"
printf 'not avro' | kcat -P -b "$B" -t "$T.mixed" -p 0 -k y
echo '{"event_id":"v1","occurred_at":1736908200000,"reported_at":1736994600000,"agency_id":"A","region":"530102","campaign":"c","activity":"HOME_VISIT","target_groups":["SANITATION"],"workers_reached":1,"households":1,"staff":1}' |
    bin/outreach-codec encode visit.v1 | perl -ne 'chomp; print pack("H*", $_)' >"$WORK/visit.bin"
kcat -P -b "$B" -t "$T.mixed" -p 0 -k z "$WORK/visit.bin"
kcat -P -b "$B" -t "$T.mixed" -p 0 -k w "$WORK/m3"
RC=0
bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$T.mixed" --json \
    >"$WORK/mixed.out" 2>"$WORK/mixed.err" || RC=$?
expect_rc 1 "mixed topic"
[ "$(wc -l <"$WORK/mixed.out")" -eq 2 ] || fail "mixed topic: the 2 audit entries were not listed"
grep -qF "$T.mixed 0:1: not an audit entry: framing" "$WORK/mixed.err" || fail "mixed: offset 1 not reported"
grep -qF "$T.mixed 0:2: not an audit entry" "$WORK/mixed.err" || fail "mixed: offset 2 not reported"

echo "== 7. an open transaction: its entry is not listed, and the listing does not wait for it"
kafka_topics --create --topic "$T.tx" --partitions 1 >/dev/null
kcat -P -b "$B" -t "$T.tx" -p 0 -k ev-fund-4 "$WORK/m4"
# entry 2 (ev-visit-2) in a transaction kcat never commits (interrupted below)
$PY -c '
import sys; v = open(sys.argv[1], "rb").read(); assert b"@@END@@" not in v and b"@@K@@" not in v
sys.stdout.buffer.write(b"ev-visit-2@@K@@" + v + b"@@END@@")' "$WORK/m2" >"$WORK/open.bin"
mkfifo "$WORK/fifo"
kcat -P -b "$B" -t "$T.tx" -p 0 -K '@@K@@' -D '@@END@@' -X "transactional.id=$T-open" \
    -X transaction.timeout.ms=60000 <"$WORK/fifo" 2>"$WORK/kcat.err" &
KPID=$!
exec 3>"$WORK/fifo"
cat "$WORK/open.bin" >&3
head -c 200000 /dev/zero | tr '\0' x >&3 # kcat reads in blocks: push our message out
for _ in $(seq 150); do
    kcat -C -b "$B" -t "$T.tx" -p 0 -e -q -f '%k\n' -X isolation.level=read_uncommitted 2>/dev/null |
        grep -qx ev-visit-2 && break
    sleep 0.2
done
kcat -C -b "$B" -t "$T.tx" -p 0 -e -q -f '%k\n' -X isolation.level=read_uncommitted |
    grep -qx ev-visit-2 || fail "the open transaction's message never reached the topic"
RC=0
timeout 60 bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$T.tx" --json \
    >"$WORK/tx.out" 2>"$WORK/tx.err" || RC=$?
kill -INT $KPID 2>/dev/null || true
exec 3>&-
wait $KPID 2>/dev/null || true
expect_rc 0 "topic with an open transaction"
[ "$($PY -c 'import json,sys; print(",".join(json.loads(l)["event_id"] for l in open(sys.argv[1])))' "$WORK/tx.out")" = ev-fund-4 ] ||
    fail "with an open transaction: listed $(cat "$WORK/tx.out"), expected only ev-fund-4"

echo "== 8. --help tells the filters"
bin/outreach-audit --help >"$WORK/help.out"
for w in --region --agency --since --event --json audit.topic read_committed; do
    grep -qF -- "$w" "$WORK/help.out" || fail "--help lacks $w"
done
echo "test_audit: all checks passed"
