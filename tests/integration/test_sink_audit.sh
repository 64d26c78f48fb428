#!/usr/bin/env bash
# outreach-sink's audit entries (issue #11): POST /audit with the bearer token (plain and gzip),
# all-or-nothing validation, dedup by (event_id, correction_to), the --max-audit bound with
# eviction counted, GET /audit?region=CODE and /audit.html against sink_audit_check.py (which
# recomputes from the posted bodies), and the dashboard's 更正 column linking to them.
# Needs no broker.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/util.sh
util_init test_sink_audit
PY=/usr/bin/python3
CHECK=("$PY" tests/integration/sink_audit_check.py)
MAX=10
[ -x bin/outreach-sink ] || fail "bin/outreach-sink is not built"

echo "s3cret-token" >"$WORK/token"
bin/outreach-sink --listen 127.0.0.1:0 --token-file "$WORK/token" --max-audit $MAX \
    >"$WORK/sink.out" 2>"$WORK/sink.log" &
track $!
wait_for 10 test -s "$WORK/sink.out" || fail "the sink did not announce its port"
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/sink.out" | head -1)
BASE="http://127.0.0.1:$PORT"
AUTH=(-H "Authorization: Bearer s3cret-token")

"${CHECK[@]}" gen --out "$WORK"
# http NAME ARGS...: the answer's body to NAME.out; sets CODE.
http() {
    local name=$1
    shift
    CODE=$(curl -s -o "$WORK/$name.out" -w '%{http_code}' "$@")
}

http noauth -XPOST --data-binary @"$WORK/audit0.json" "$BASE/audit"
[ "$CODE" = 401 ] || fail "POST /audit without the token: $CODE"
http noauth_get "$BASE/audit"
[ "$CODE" = 401 ] || fail "GET /audit without the token: $CODE"
ok "the token is required"

http bad "${AUTH[@]}" -XPOST --data '{"entries":[{"event_id":"x"}]}' "$BASE/audit"
[ "$CODE" = 400 ] && grep -qF 'entries[0].event_type' "$WORK/bad.out" ||
    fail "invalid entry: $CODE $(cat "$WORK/bad.out")"
# A bad entry after good ones: nothing of the body is kept.
$PY -c '
import json, sys
b = json.load(open(sys.argv[1], encoding="utf-8"))
b["entries"].append(dict(b["entries"][0], changes=[{"window_kind": "ALL", "window": "all",
    "region": "539999", "level": "COUNTY", "deltas": {}}]))
json.dump(b, open(sys.argv[2], "w"), ensure_ascii=False)' "$WORK/audit0.json" "$WORK/bad1.json"
http bad1 "${AUTH[@]}" -XPOST --data-binary @"$WORK/bad1.json" "$BASE/audit"
[ "$CODE" = 400 ] && grep -qF '.changes[0].region: 539999 is not in the region table' "$WORK/bad1.out" ||
    fail "unknown region: $CODE $(cat "$WORK/bad1.out")"
http enc "${AUTH[@]}" -XPOST -H 'Content-Encoding: br' --data-binary @"$WORK/audit0.json" "$BASE/audit"
[ "$CODE" = 415 ] || fail "Content-Encoding br: $CODE"
http empty "${AUTH[@]}" "$BASE/audit"
[ "$(jq -c '[.count, .entries]' "$WORK/empty.out")" = '[0,[]]' ] || fail "not empty after refused bodies"
ok "invalid bodies refused whole (400 naming the field), unknown encoding 415"

# The bodies: the first plain, the second gzip, the third a re-delivery of entries already held.
http p0 "${AUTH[@]}" -XPOST -H 'Content-Type: application/json' --data-binary @"$WORK/audit0.json" "$BASE/audit"
[ "$CODE" = 200 ] || fail "POST audit0: $CODE $(cat "$WORK/p0.out")"
gzip -c "$WORK/audit1.json" >"$WORK/audit1.json.gz"
http p1 "${AUTH[@]}" -XPOST -H 'Content-Encoding: gzip' --data-binary @"$WORK/audit1.json.gz" "$BASE/audit"
[ "$CODE" = 200 ] || fail "POST audit1 (gzip): $CODE $(cat "$WORK/p1.out")"
http p2 "${AUTH[@]}" -XPOST --data-binary @"$WORK/audit2.json" "$BASE/audit"
[ "$CODE" = 200 ] || fail "POST audit2: $CODE"
# Counts recomputed from the bodies: distinct (event_id, correction_to) pairs.
read -r DISTINCT EVICTED <<<"$($PY -c '
import json, sys
seen, order, evicted = set(), [], 0
for p in sys.argv[2:]:
    for e in json.load(open(p, encoding="utf-8"))["entries"]:
        k = (e["event_id"], e["correction_to"])
        if k not in seen:
            seen.add(k); order.append(k)
            if len(order) > int(sys.argv[1]):
                seen.discard(order.pop(0)); evicted += 1
print(len(order), evicted)' $MAX "$WORK"/audit0.json "$WORK"/audit1.json "$WORK"/audit2.json)"
[ "$(jq .added "$WORK/p2.out")" = 0 ] || [ "$EVICTED" -gt 0 ] ||
    fail "a re-delivered body added entries: $(cat "$WORK/p2.out")"
curl -sf "${AUTH[@]}" "$BASE/stats" >"$WORK/stats.json"
[ "$(jq .audit.entries "$WORK/stats.json")" = "$DISTINCT" ] ||
    fail "/stats audit.entries $(jq .audit.entries "$WORK/stats.json"), expected $DISTINCT"
[ "$(jq .audit.evicted "$WORK/stats.json")" = "$EVICTED" ] ||
    fail "/stats audit.evicted $(jq .audit.evicted "$WORK/stats.json"), expected $EVICTED"
[ "$EVICTED" -gt 0 ] || fail "the test data should overflow --max-audit $MAX"
curl -sf "${AUTH[@]}" "$BASE/metrics" | grep -qx "outreach_sink_audit_evicted_total $EVICTED" ||
    fail "metrics: outreach_sink_audit_evicted_total is not $EVICTED"
ok "$DISTINCT entries kept (--max-audit $MAX, $EVICTED evicted and counted), re-delivery deduplicated"

BODIES=("$WORK"/audit0.json "$WORK"/audit1.json "$WORK"/audit2.json)
for region in "" 530000 530100 530102 440000 440100 110000; do
    http "get$region" "${AUTH[@]}" "$BASE/audit${region:+?region=$region}"
    [ "$CODE" = 200 ] || fail "GET /audit?region=$region: $CODE"
    "${CHECK[@]}" expect --max $MAX --region "$region" --got "$WORK/get$region.out" "${BODIES[@]}" ||
        fail "GET /audit?region=$region"
done
http limit "${AUTH[@]}" "$BASE/audit?limit=2"
[ "$(jq '.entries | length' "$WORK/limit.out")" = 2 ] || fail "limit=2"
for q in "region=5301" "region=539999" "lang=fr" "limit=x"; do
    http badq "${AUTH[@]}" "$BASE/audit?$q"
    [ "$CODE" = 400 ] || fail "GET /audit?$q: $CODE"
done
ok "GET /audit?region=CODE lists the entries touching CODE or below, newest first; bad queries 400"

# The dashboard: rollups with corrections, the 更正 column linking to the audit view.
http rollups "${AUTH[@]}" -XPOST -H 'Idempotency-Key: "b1"' --data-binary @"$WORK/rollups.json" "$BASE/rollups"
[ "$CODE" = 200 ] || fail "POST /rollups: $CODE $(cat "$WORK/rollups.out")"
curl -sf "${AUTH[@]}" "$BASE/rollups" >"$WORK/all_rollups.json"
curl -sf "${AUTH[@]}" "$BASE/?window=ALL%7Call" >"$WORK/page.html" || fail "GET /"
grep -qF '<th>更正</th>' "$WORK/page.html" || fail "the table has no 更正 column"
"${CHECK[@]}" page --html "$WORK/page.html" --rollups "$WORK/all_rollups.json" || fail "the page's links"
curl -sf "${AUTH[@]}" "$BASE/?window=ALL%7Call&lang=en" >"$WORK/page_en.html" || fail "GET /?lang=en"
"${CHECK[@]}" page --html "$WORK/page_en.html" --rollups "$WORK/all_rollups.json" --suffix "&lang=en" ||
    fail "the English page's links"
http badroll "${AUTH[@]}" -XPOST -H 'Idempotency-Key: "b2"' \
    --data '{"batch_id":"b2","endpoint":"t","generated_at":"x","rollups":[{"region":"530000","window_kind":"ALL","window":"all","level":"PROVINCE","revision":9,"event_count":1,"funding_fen":0,"funding_yuan":"0.00","funding_by_source_fen":{},"funding_by_source_yuan":{},"funding_by_purpose_fen":{},"funding_by_purpose_yuan":{},"satisfaction_mean":null,"corrections":-1}]}' \
    "$BASE/rollups"
[ "$CODE" = 400 ] && grep -qF "corrections: not an integer >= 0" "$WORK/badroll.out" ||
    fail "negative corrections: $CODE $(cat "$WORK/badroll.out")"
ok "the table's 更正 column links each region with corrections to /audit.html?region=CODE"

for region in 530000 530100 440000; do
    curl -sf "${AUTH[@]}" "$BASE/audit.html?region=$region" >"$WORK/view$region.html" || fail "GET /audit.html"
    "${CHECK[@]}" view --max $MAX --region $region --html "$WORK/view$region.html" "${BODIES[@]}" ||
        fail "/audit.html?region=$region"
done
grep -qF '<html lang="zh-CN">' "$WORK/view530000.html" || fail "the view is not in Chinese"
grep -qF '<script' "$WORK/view530000.html" && fail "the view has a script"
grep -qF '重复上报 &lt;b&gt;&amp;' "$WORK/view530000.html" "$WORK/view440000.html" ||
    fail "a reason is not escaped"
curl -sf "${AUTH[@]}" "$BASE/audit.html?region=530100&lang=en" >"$WORK/view_en.html"
grep -qF '<html lang="en">' "$WORK/view_en.html" && grep -qF '<th>Retracted</th>' "$WORK/view_en.html" ||
    fail "?lang=en is not English"
curl -sf "${AUTH[@]}" "$BASE/audit.html?region=110000" | grep -qF '暂无更正记录' || fail "the empty view"
ok "/audit.html shows each region's entries in Chinese (English with lang=en), escaped"
echo "test_sink_audit: all checks passed"
