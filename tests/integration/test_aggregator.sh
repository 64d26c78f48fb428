#!/usr/bin/env bash
# Integration tests of outreach-aggregator against a real broker ($KAFKA_BOOTSTRAP): every
# rollup is compared with tests/integration/rollup_check.py, an independent recomputation
# from the input files, after kill -9 storms, rebalances, re-published files, late events
# and poison messages.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/aggtest.sh

echo "== 1. generated data across many regions and windows (JSON Lines + CSV)"
P=agg1.$RUN
bin/outreach-gen --seed 101 --events 20000 >"$WORK/a.jsonl"
bin/outreach-gen --seed 102 --events 5000 --format csv >"$WORK/b.csv"
agg a1 "$P" -X instance.id="a1-$RUN"
wait_ready a1
publish "$P" "$WORK/a.jsonl" "$WORK/b.csv"
check "$P" 120 "$WORK/a.jsonl" "$WORK/b.csv"
alive "$AGG_PID"
kill -TERM "$AGG_PID"
wait "$AGG_PID" || fail "aggregator exited non-zero after SIGTERM"
grep -q "stopping:" "$WORK/a1.log" || fail "no clean stop"
n_rollups=$(sed -n 's/^rollup_check: \([0-9]*\) rollups equal.*/\1/p' "$WORK/check.out")
echo "-- restart without its store: /readyz answers 200 only once the state is rebuilt"
# (With its store the restore takes milliseconds; without, it reads both topics in full,
# long enough to see the 503.)
rm -rf "$WORK/state/a1-$RUN"
: >"$WORK/a1.log"
agg a1 "$P" -X instance.id="a1-$RUN" -X health.listen=127.0.0.1:0
HP=$(health_port a1)
saw_503=0
for _ in $(seq 1 600); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$HP/readyz" || true)
    if [ "$code" = 503 ]; then saw_503=1; fi
    if [ "$code" = 200 ]; then
        grep -q "restored .* partition" "$WORK/a1.log" || fail "/readyz 200 before the restore ended"
        break
    fi
    sleep 0.05
done
[ "$code" = 200 ] || fail "/readyz never became 200"
[ "$saw_503" = 1 ] || fail "/readyz was never 503 while restoring"
metrics_check "$HP" 'm["outreach_aggregator_ready"] == 1' \
    'm["outreach_aggregator_partitions_restored_full_total"] == 4' \
    'm["outreach_aggregator_store_bytes"] > 0' \
    'm["outreach_aggregator_restores_total"] == 1' \
    "m['outreach_aggregator_state_rollups'] == $n_rollups" \
    'm["outreach_aggregator_events_read_total"] == 0' \
    'm["outreach_aggregator_restore_seconds"] > 0'
kill -TERM "$AGG_PID"
wait "$AGG_PID" || fail "aggregator exited non-zero after SIGTERM"

echo "== 2. kill -9 at random moments, 12 times, while events stream in"
P=agg2.$RUN
bin/outreach-gen --seed 201 --events 60000 >"$WORK/k.jsonl"
agg k "$P" -X instance.id="k-$RUN"
wait_ready k
publish "$P" "$WORK/k.jsonl" &
PUB=$!
for i in $(seq 1 12); do
    sleep "0.$((RANDOM % 9 + 1))$((RANDOM % 10))"
    sleep $((RANDOM % 2))
    kill -9 "$AGG_PID" 2>/dev/null || true
    wait "$AGG_PID" 2>/dev/null || true
    agg k "$P" -X instance.id="k-$RUN"
done
wait "$PUB" || fail "producer failed"
check "$P" 180 "$WORK/k.jsonl"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true

echo "== 3. two instances, one stopped and started mid-stream (rebalances)"
P=agg3.$RUN
bin/outreach-gen --seed 301 --events 40000 >"$WORK/r.jsonl"
agg r1 "$P" -X instance.id="r1-$RUN"
R1=$AGG_PID
wait_ready r1
agg r2 "$P" -X instance.id="r2-$RUN"
R2=$AGG_PID
publish "$P" "$WORK/r.jsonl" &
PUB=$!
sleep 2
kill -TERM "$R2"; wait "$R2" || true          # leaves: r1 takes over after the session
sleep 3
agg r2 "$P" -X instance.id="r2-$RUN"          # comes back: partitions move again
R2=$AGG_PID
sleep 2
kill -9 "$R1"; wait "$R1" 2>/dev/null || true # and the other one dies hard
agg r1 "$P" -X instance.id="r1-$RUN"
R1=$AGG_PID
wait "$PUB" || fail "producer failed"
check "$P" 180 "$WORK/r.jsonl"
alive "$R1"; alive "$R2"
grep -h "assigned" "$WORK/r1.log" "$WORK/r2.log" | wc -l | xargs -I{} echo "rebalances seen: {}"
kill -TERM "$R1" "$R2"; wait "$R1" "$R2" || true

echo "== 4. the same file published twice, then late events for closed windows"
P=agg4.$RUN
bin/outreach-gen --seed 401 --events 3000 --start 2024-12-20 --end 2024-12-31 \
    --late-rate 0 --outside-rate 0 >"$WORK/t.jsonl"
agg t "$P" -X instance.id="t-$RUN"
wait_ready t
publish "$P" "$WORK/t.jsonl"
check "$P" 120 "$WORK/t.jsonl"
# Revision of the province rollups of December before the corrections.
"$PY" - "$WORK/dump.jsonl" >"$WORK/rev-before.txt" <<'EOF'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["key"].startswith("MONTH|2024-12|") and m["key"].endswith("0000"):
        latest[m["key"]] = m["value"]["revision"]
for key, rev in sorted(latest.items()):
    print(key, rev)
EOF
publish "$P" "$WORK/t.jsonl"                  # again: every event_id already counted
check "$P" 60 "$WORK/t.jsonl"
bin/outreach-gen --seed 402 --events 500 --start 2024-12-20 --end 2024-12-31 \
    --late-rate 0 --outside-rate 0 | sed 's/"reported_at":"2024-12-[0-9T:+]*"/"reported_at":"2025-02-20T09:00:00+08:00"/' \
    >"$WORK/late.jsonl"                       # reported weeks later, for December's windows
publish "$P" "$WORK/late.jsonl"
args=()
while read -r key rev; do
    if grep -q "\"region\":\"${key:14:2}" "$WORK/late.jsonl"; then args+=(--min-revision "$key=$((rev + 1))"); fi
done <"$WORK/rev-before.txt"
[ ${#args[@]} -gt 0 ] || fail "no province got late events"
check "$P" 120 "$WORK/t.jsonl" "$WORK/late.jsonl" -- "${args[@]}"
echo "late events bumped $((${#args[@]} / 2)) province revisions"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true

echo "== 5. poison of every kind interleaved with good events"
P=agg5.$RUN
bin/outreach-gen --seed 501 --events 4000 >"$WORK/g1.jsonl"
bin/outreach-gen --seed 502 --events 4000 >"$WORK/g2.jsonl"
{
    echo "authz.default=deny"
    { bin/outreach-gen --seed 501 --events 4000 --list-agencies
      bin/outreach-gen --seed 502 --events 4000 --list-agencies; } | grep -v '^#' | sort -u
} >"$WORK/acl.conf" # agency.ACFTU-<code>.regions=<prefix> lines
agg p "$P" -X instance.id="p-$RUN" -F "$WORK/acl.conf" -X health.listen=127.0.0.1:0
PP=$AGG_PID
HP=$(health_port p)
wait_ready p
publish "$P" "$WORK/g1.jsonl"
mkdir -p "$WORK/poison"
V1='{"event_id":"p-1","occurred_at":1735700000000,"reported_at":1735700000000,"agency_id":"ACFTU-650102","region":"999999","activity":"FORUM","target_groups":[],"workers_reached":1,"households":0,"staff":1}'
V2='{"event_id":"p-2","occurred_at":1735700000000,"reported_at":1735700000000,"agency_id":"ROGUE-OFFICE","region":"650102","activity":"FORUM","target_groups":[],"workers_reached":1,"households":0,"staff":1}'
V3='{"event_id":"p-3","occurred_at":1735700000000,"reported_at":1735700000000,"agency_id":"ACFTU-650102","region":"650102","activity":"FORUM","target_groups":["SANITATION"],"workers_reached":-5,"households":0,"staff":1}'
printf '%s\n%s\n%s\n' "$V1" "$V2" "$V3" | bin/outreach-codec encode visit.v1 >"$WORK/poison/hex"
"$PY" - "$WORK/poison" <<'EOF'
import sys, os
d = sys.argv[1]
lines = [bytes.fromhex(l.strip()) for l in open(os.path.join(d, "hex"))]
poison = {
    "garbage": b"this is not avro at all",
    # Confluent framing (00 + schema id 7) on an aggregator without schema.registry.url:
    # unknown-schema (tests/integration/test_registry.sh covers it with a registry).
    "confluent": b"\x00\x00\x00\x00\x07" + lines[0][10:],
    "unknown-fp": b"\xc3\x01" + b"\x01\x02\x03\x04\x05\x06\x07\x08" + lines[0][10:],
    "truncated": lines[0][:-3],
    "bad-region": lines[0],
    "unauthorized": lines[1],
    "negative": lines[2],
    "short": b"\xc3\x01\x00",
}
for name, data in poison.items():
    open(os.path.join(d, name + ".bin"), "wb").write(data)
EOF
for f in "$WORK"/poison/*.bin; do
    kcat -P -b "$B" -t "$P.events" -k 650000 "$f"
done
publish "$P" "$WORK/g2.jsonl"
check "$P" 120 "$WORK/g1.jsonl" "$WORK/g2.jsonl"
alive "$PP"
bin/outreach-codec dump -X bootstrap.servers="$B" "$P.dlq" >"$WORK/dlq.jsonl"
"$PY" - "$WORK/dlq.jsonl" <<'EOF' || fail "dead-letter queue content"
import json, sys, collections
got = collections.Counter()
for line in open(sys.argv[1]):
    m = json.loads(line)
    h = m["headers"]
    for k in ("dlq.reason", "dlq.error", "dlq.source.topic", "dlq.source.partition",
              "dlq.source.offset", "dlq.time"):
        assert k in h, "missing header %s in %r" % (k, h)
    got[h["dlq.reason"]] += 1
    print("  dlq: %-14s %s" % (h["dlq.reason"], h["dlq.error"]))
want = {"framing": 2, "unknown-schema": 2, "malformed": 1, "invalid": 2, "unauthorized": 1}
assert got == want, "dead letters %r, want %r" % (dict(got), want)
EOF
counted=$(sed -n 's/^rollup_check: .*(\([0-9]*\) events,.*/\1/p' "$WORK/check.out")
lines=$(cat "$WORK/g1.jsonl" "$WORK/g2.jsonl" | wc -l)
metrics_check "$HP" 'm["outreach_aggregator_dead_lettered_total"] == 8' \
    "m['outreach_aggregator_events_read_total'] == $lines + 8" \
    "m['outreach_aggregator_events_counted_total'] == $counted" \
    "m['outreach_aggregator_duplicates_total'] == $lines - $counted" \
    'm["outreach_aggregator_transactions_aborted_total"] == 0' \
    'm["outreach_aggregator_transactions_committed_total"] >= 1' \
    'sum(v for k, v in m.items() if k.startswith("outreach_aggregator_consumer_lag{")) == 0'
echo "-- SIGHUP: a new agency authorisation applies without a restart"
printf 'agency.ROGUE-OFFICE.regions=6501\n' >>"$WORK/acl.conf"
kill -HUP "$PP"
for _ in $(seq 1 50); do grep -q "SIGHUP: reloaded" "$WORK/p.log" && break; sleep 0.1; done
grep -q "SIGHUP: reloaded" "$WORK/p.log" || fail "no reload after SIGHUP"
V4='{"event_id":"p-4","occurred_at":1735700000000,"reported_at":1735700000000,"agency_id":"ROGUE-OFFICE","region":"650102","activity":"FORUM","target_groups":["SANITATION"],"workers_reached":7,"households":0,"staff":1}'
echo "$V4" | bin/outreach-codec encode visit.v1 | "$PY" -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$WORK/poison/ok4.bin"
kcat -P -b "$B" -t "$P.events" -k 650000 "$WORK/poison/ok4.bin"
for _ in $(seq 1 100); do
    metrics_ok "$HP" "m['outreach_aggregator_events_counted_total'] == $counted + 1" >/dev/null 2>&1 && break
    sleep 0.2
done
metrics_check "$HP" "m['outreach_aggregator_events_counted_total'] == $counted + 1" \
    'm["outreach_aggregator_dead_lettered_total"] == 8'
kill -TERM "$PP"; wait "$PP" || fail "aggregator exited non-zero after poison"
echo "aggregator integration: all scenarios passed"
