#!/usr/bin/env bash
# Corrections and retractions (更正/撤回) end to end against a real broker ($KAFKA_BOOTSTRAP):
# files published through the real producer, rollups compared with
# tests/integration/rollup_check.py (an independent recomputation that applies the rules of
# docs/events.md), the audit topic decoded with fastavro, the dead letters and the metrics;
# then the same after the aggregator lost its store, and under kill -9 with generated
# corrections mixed into the input.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/aggtest.sh

# The aggregators here also write the audit topic of their prefix.
aggc() {
    local name=$1 prefix=$2
    shift 2
    agg "$name" "$prefix" -X audit.topic="$prefix.audit" -X authz.default=deny \
        -X agency.XJ.regions=65 -X agency.YN.regions=53 -X agency.TS.regions=650102 "$@"
}
# One conversion thread: the file order is the order the aggregator sees.
publish1() { PUBLISH_ARGS="-X producer.threads=1" publish "$@"; }
dump() { bin/outreach-codec dump -X bootstrap.servers="$B" "$1" >"$2" 2>>"$WORK/dump.log"; }
# wait_metric PORT EXPR: until the metrics satisfy EXPR (30 s).
wait_metric() {
    for _ in $(seq 1 150); do
        metrics_ok "$1" "$2" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    metrics_check "$1" "$2"
}

echo "== 1. the cases of #11, one by one"
P=corr1.$RUN
T='"occurred_at":"2025-01-15T10:00:00+08:00","reported_at":"2025-01-16T09:00:00+08:00"'
F='"source":"UNION_FUNDS","purpose":"CASH_GRANT","recipients":16000,"target_group":"HARDSHIP_WORKERS"'
V='"activity":"HOME_VISIT","target_groups":["SANITATION"],"households":3,"staff":2'
S='"method":"FORUM","topic":"WAGES","enterprises":12,"needs":[{"need":"OTHER","count":3}]'
cat >"$WORK/base.jsonl" <<EOF
{"type":"funding","event_id":"f-1",$T,"agency_id":"YN","region":"530102","amount_fen":40000000000,$F}
{"type":"funding","event_id":"f-2",$T,"agency_id":"XJ","region":"650103","amount_fen":123400,$F}
{"type":"visit","event_id":"v-1",$T,"agency_id":"XJ","region":"650102","workers_reached":30,$V}
{"type":"visit","event_id":"v-2",$T,"agency_id":"XJ","region":"650103","workers_reached":10,$V}
{"type":"funding","event_id":"m-1",$T,"agency_id":"XJ","region":"650102","amount_fen":5000,$F}
{"type":"funding","event_id":"u-1",$T,"agency_id":"XJ","region":"650103","amount_fen":777,$F}
{"type":"survey","event_id":"s-1",$T,"agency_id":"XJ","region":"650102","respondents":300,"satisfaction":{"s1":1,"s2":2,"s3":30,"s4":100,"s5":167},$S}
EOF
cat >"$WORK/fix.jsonl" <<EOF
{"type":"funding","event_id":"f-1",$T,"agency_id":"YN","region":"530102","amount_fen":4000000000,$F,"correction":1,"correction_reason":"金额录入错误：4亿应为4000万"}
{"type":"visit","event_id":"v-1",$T,"agency_id":"XJ","region":"650102","workers_reached":30,$V,"correction":1,"retracted":true,"correction_reason":"重复上报"}
{"type":"funding","event_id":"m-1","occurred_at":"2025-01-18T10:00:00+08:00","reported_at":"2025-01-19T09:00:00+08:00","agency_id":"XJ","region":"650103","amount_fen":5000,$F,"correction":1,"correction_reason":"区县填错"}
{"type":"funding","event_id":"e-1",$T,"agency_id":"XJ","region":"650102","amount_fen":900,$F,"correction":1,"correction_reason":"补报更正"}
{"type":"survey","event_id":"s-1",$T,"agency_id":"XJ","region":"650102","respondents":310,"satisfaction":{"s1":1,"s2":2,"s3":30,"s4":100,"s5":177},$S,"correction":2,"correction_reason":"漏填"}
EOF
cat >"$WORK/late.jsonl" <<EOF
{"type":"funding","event_id":"e-1",$T,"agency_id":"XJ","region":"650102","amount_fen":9000,$F}
{"type":"funding","event_id":"f-1",$T,"agency_id":"YN","region":"530102","amount_fen":40000000000,$F}
EOF
# TS may report for 650102 only: moving u-1 out of 650103 is not its to do; and a
# correction cannot turn a funding event into a visit.
cat >"$WORK/rogue.jsonl" <<EOF
{"type":"funding","event_id":"u-1",$T,"agency_id":"TS","region":"650102","amount_fen":1,$F,"correction":1,"correction_reason":"x"}
{"type":"visit","event_id":"f-2",$T,"agency_id":"XJ","region":"650103","workers_reached":1,$V,"correction":1,"correction_reason":"类型填错"}
EOF
aggc c1 "$P" -X instance.id="c1-$RUN" -X health.listen=127.0.0.1:0
HP=$(health_port c1)
wait_ready c1
publish1 "$P" "$WORK/base.jsonl"
check "$P" 120 "$WORK/base.jsonl"
cp "$WORK/dump.jsonl" "$WORK/before.jsonl"
publish1 "$P" "$WORK/fix.jsonl"
check "$P" 120 "$WORK/base.jsonl" "$WORK/fix.jsonl"
wait_metric "$HP" 'm["outreach_aggregator_corrections_applied_total"] == 4'
dump "$P.rollups" "$WORK/after-fix.jsonl"
echo "-- the same correction file again changes nothing (no new rollup record at all)"
publish1 "$P" "$WORK/fix.jsonl"
wait_metric "$HP" 'm["outreach_aggregator_duplicates_total"] == 5'
sleep 1 # a commit interval: anything produced would be visible now
dump "$P.rollups" "$WORK/after-dup.jsonl"
cmp -s "$WORK/after-fix.jsonl" "$WORK/after-dup.jsonl" || fail "re-sent corrections changed rollups"
publish1 "$P" "$WORK/late.jsonl" "$WORK/rogue.jsonl"
wait_metric "$HP" 'm["outreach_aggregator_stale_total"] == 2'
wait_metric "$HP" 'm["outreach_aggregator_dead_lettered_total"] == 2'
check "$P" 60 "$WORK/base.jsonl" "$WORK/fix.jsonl" "$WORK/fix.jsonl" "$WORK/late.jsonl"
metrics_check "$HP" 'm["outreach_aggregator_corrections_applied_total"] == 4' \
    'm["outreach_aggregator_retractions_total"] == 1' \
    'm["outreach_aggregator_corrections_expired_total"] == 0' \
    'm["outreach_aggregator_events_counted_total"] == 7 + 1'
"$PY" - "$WORK/before.jsonl" "$WORK/dump.jsonl" <<'EOF' || fail "corrected figures"
import json, sys
def latest(path):
    out = {}
    for line in open(path):
        m = json.loads(line)
        out[m["key"]] = m["value"]
    return out
before, after = latest(sys.argv[1]), latest(sys.argv[2])
wins = ["DAY|2025-01-15", "MONTH|2025-01", "CAMPAIGN|2025 两节送温暖", "ALL|all"]
# 4亿 typed for 4000万: county, prefecture and province in every window by the difference.
for w in wins:
    for r in ("530102", "530100", "530000"):
        k = "%s|%s" % (w, r)
        d = after[k]["funding_fen"] - before[k]["funding_fen"]
        assert d == 4000000000 - 40000000000, (k, d)
        assert after[k]["event_count"] == before[k]["event_count"] == 1, k
        assert after[k]["corrections"] == 1, k
# The retraction removes the visit from every window and level.
for w in wins:
    assert before[w + "|650102"]["visits"] == 1 and after[w + "|650102"]["visits"] == 0, w
    assert after[w + "|650100"]["visits"] == 1 and after[w + "|650000"]["visits"] == 1, w
    assert after[w + "|650100"]["workers_reached"] == 10, w
# The region and day move: m-1 left 650102 and 2025-01-15, arrived at 650103 on 2025-01-18.
assert after["ALL|all|650102"]["funding_fen"] == 900  # e-1 only
assert after["ALL|all|650103"]["funding_fen"] == 123400 + 5000 + 777
assert after["DAY|2025-01-18|650103"]["funding_fen"] == 5000
assert after["DAY|2025-01-15|650100"]["funding_fen"] == 123400 + 777 + 900
# The correction that came first counts; its late original (9000) is stale.
assert after["DAY|2025-01-15|650102"]["funding_fen"] == 900
# The unauthorised correction changed nothing.
assert after["DAY|2025-01-15|650103"]["funding_fen"] == 123400 + 777
print("corrections: figures as expected in every window and level")
EOF
dump "$P.dlq" "$WORK/dlq.jsonl"
"$PY" - "$WORK/dlq.jsonl" <<'EOF' || fail "dead letters"
import json, sys
dl = [json.loads(l)["headers"] for l in open(sys.argv[1])]
assert len(dl) == 2, dl
h = dl[0]
assert h["dlq.reason"] == "unauthorized" and "650103" in h["dlq.error"], h
assert dl[1]["dlq.reason"] == "invalid" and "record type" in dl[1]["dlq.error"], dl[1]
print("corrections: dead letters:", h["dlq.error"], "/", dl[1]["dlq.error"])
EOF
dump "$P.audit" "$WORK/audit.jsonl"
check "$P" 30 "$WORK/base.jsonl" "$WORK/fix.jsonl" "$WORK/fix.jsonl" "$WORK/late.jsonl" \
    -- --audit "$WORK/audit.jsonl"
"$PY" - "$WORK/audit.jsonl" <<'EOF' || fail "audit trail"
import io, json, sys
import fastavro
schema = fastavro.parse_schema(json.load(open("schemas/audit.v1.avsc")))
entries = {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    raw = bytes.fromhex(m["hex"])
    assert raw[:2] == b"\xc3\x01"
    e = fastavro.schemaless_reader(io.BytesIO(raw[10:]), schema)
    assert m["key"] == e["event_id"]
    assert e["event_id"] not in entries, "two entries for %s" % e["event_id"]
    entries[e["event_id"]] = e
assert sorted(entries) == ["e-1", "f-1", "m-1", "s-1", "v-1"], sorted(entries)
def changes(e):
    return {(c["window_kind"], c["window"], c["region"]): c["deltas"] for c in e["changes"]}
f1 = entries["f-1"]
assert (f1["correction_from"], f1["correction_to"], f1["retracted"]) == (0, 1, False)
assert f1["agency_id"] == "YN" and f1["reason"] == "金额录入错误：4亿应为4000万"
assert len(f1["changes"]) == 12
assert all(d == {"funding_fen": -36000000000} for d in changes(f1).values()), changes(f1)
v1 = entries["v-1"]
assert v1["retracted"] and v1["event_type"] == "VISIT" and len(v1["changes"]) == 12
assert all(d["visits"] == -1 and d["event_count"] == -1 and d["workers_reached"] == -30
           for d in changes(v1).values())
m1 = changes(entries["m-1"])
assert m1[("ALL", "all", "650102")] == {"event_count": -1, "funding_fen": -5000, "recipients": -16000}
assert m1[("ALL", "all", "650103")] == {"event_count": 1, "funding_fen": 5000, "recipients": 16000}
assert m1[("ALL", "all", "650100")] == {}  # moved within the prefecture: touched, no change
assert m1[("DAY", "2025-01-15", "650100")] == {"event_count": -1, "funding_fen": -5000,
                                               "recipients": -16000}
assert len(m1) == 18  # 4 windows x 4 regions + the new day's prefecture and province
assert entries["e-1"]["correction_from"] is None
assert entries["s-1"]["correction_from"] == 0 and entries["s-1"]["correction_to"] == 2
print("corrections: audit trail holds the 5 applied corrections with their deltas")
EOF
if [ -x bin/outreach-audit ]; then
    bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$P.audit" --region 650100 \
        >"$WORK/audit-list.txt" || fail "outreach-audit failed"
    for id in v-1 m-1 e-1 s-1; do
        grep -q -- "$id" "$WORK/audit-list.txt" || fail "outreach-audit --region 650100 lacks $id"
    done
    ! grep -q -- "f-1" "$WORK/audit-list.txt" || fail "outreach-audit --region 650100 lists f-1"
    bin/outreach-audit -X bootstrap.servers="$B" -X audit.topic="$P.audit" --agency YN \
        >"$WORK/audit-yn.txt" || fail "outreach-audit --agency failed"
    grep -q -- "f-1" "$WORK/audit-yn.txt" || fail "outreach-audit --agency YN lacks f-1"
    ! grep -q -- "v-1" "$WORK/audit-yn.txt" || fail "outreach-audit --agency YN lists v-1"
    # Each case as the office reads it: from -> to, withdrawn or not, the reason, the deltas.
    grep -qP '\tf-1\tYN\t0→1\t否\t金额录入错误' "$WORK/audit-yn.txt" || fail "audit: f-1 line"
    grep -q -- '-360000000.00' "$WORK/audit-yn.txt" || fail "audit: f-1 lacks the -3.6亿 yuan change"
    grep -qP '\tv-1\tXJ\t0→1\t是\t重复上报' "$WORK/audit-list.txt" || fail "audit: v-1 line"
    grep -qP '\te-1\tXJ\t无→1\t否' "$WORK/audit-list.txt" || fail "audit: e-1 line"
    grep -qP '\ts-1\tXJ\t0→2\t否' "$WORK/audit-list.txt" || fail "audit: s-1 line"
    awk '/\tm-1\t/{on=1; next} /^[^ ]/{on=0} on' "$WORK/audit-list.txt" >"$WORK/m1.txt"
    grep -q '650102 天山区' "$WORK/m1.txt" && grep -q '650103 沙依巴克区' "$WORK/m1.txt" ||
        fail "audit: the region move does not list both counties"
else
    fail "bin/outreach-audit was not built"
fi

echo "-- without its store: the contributions come back from the seen changelog"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator exited non-zero"
rm -rf "$WORK/state/c1-$RUN"
aggc c1 "$P" -X instance.id="c1-$RUN"
wait_ready c1
cat >"$WORK/fix2.jsonl" <<EOF
{"type":"funding","event_id":"f-1",$T,"agency_id":"YN","region":"530103","amount_fen":4100000000,$F,"correction":2,"correction_reason":"区县填错"}
{"type":"funding","event_id":"m-1",$T,"agency_id":"XJ","region":"650103","amount_fen":5000,$F,"correction":2,"correction_reason":"日期填错","retracted":true}
EOF
publish1 "$P" "$WORK/fix2.jsonl"
check "$P" 120 "$WORK/base.jsonl" "$WORK/fix.jsonl" "$WORK/late.jsonl" "$WORK/fix2.jsonl"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true

echo "== 2. kill -9 at random moments while generated events with corrections stream in"
P=corr2.$RUN
bin/outreach-gen --seed 601 --events 30000 --correct-rate 0.08 --retract-rate 0.03 >"$WORK/g.jsonl"
grep -q '"correction":' "$WORK/g.jsonl" || fail "the generator wrote no corrections"
grep -q '"retracted":true' "$WORK/g.jsonl" || fail "the generator wrote no retractions"
agg k "$P" -X instance.id="k-$RUN" -X audit.topic="$P.audit"
wait_ready k
publish1 "$P" "$WORK/g.jsonl" &
PUB=$!
for i in $(seq 1 8); do
    sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
    sleep $((RANDOM % 2))
    kill -9 "$AGG_PID" 2>/dev/null || true
    wait "$AGG_PID" 2>/dev/null || true
    if [ $((i % 3)) = 0 ]; then rm -rf "$WORK/state/k-$RUN"; fi # and now and then its store
    agg k "$P" -X instance.id="k-$RUN" -X audit.topic="$P.audit"
done
wait "$PUB" || fail "producer failed"
check "$P" 180 "$WORK/g.jsonl"
dump "$P.audit" "$WORK/audit2.jsonl"
# Each applied correction audited exactly once, none else (the reference's list).
check "$P" 30 "$WORK/g.jsonl" -- --audit "$WORK/audit2.jsonl"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true
echo "corrections integration: all scenarios passed"
