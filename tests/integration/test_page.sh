#!/usr/bin/env bash
# The office's page of outreach-sink in headless Chromium (issue #14 item 3): rollup batches
# aggregated by tests/integration/page_check.py are POSTed to a sink; the page, rendered by
# Chromium, must carry in its SVG bars, cards, trend and funding split the numbers that
# page_check recomputes from GET /rollups — nationally, a province and a prefecture down the
# bars' own links, another metric, in English. Hostile query strings get 400 or the defaults.
# Leaves the screenshot at build/page.png. Needs no broker; skips when Chromium is absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/util.sh
util_init test_page
PY=/usr/bin/python3
CHECK=("$PY" tests/integration/page_check.py)
REGIONS=schemas/regions.csv
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "test_page: SKIP: no chromium (make deps installs it with fonts-noto-cjk)"
    exit 0
fi
fc-list :lang=zh 2>/dev/null | grep -q . ||
    echo "test_page: warning: no CJK font (fonts-noto-cjk): Chinese shows as boxes in the screenshot" >&2
[ -x bin/outreach-sink ] || make bin/outreach-sink >/dev/null || fail "cannot build bin/outreach-sink"

bin/outreach-sink --listen 127.0.0.1:0 >"$WORK/sink.out" 2>"$WORK/sink.log" &
SINK_PID=$!
track $SINK_PID
wait_for 10 test -s "$WORK/sink.out" || fail "the sink did not announce its port"
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$WORK/sink.out" | head -1)
BASE="http://127.0.0.1:$PORT"

mkdir -p "$WORK/batches"
"${CHECK[@]}" gen --regions "$REGIONS" --out "$WORK/batches"
for f in "$WORK"/batches/*.json; do
    code=$(curl -s -o "$WORK/answer" -w '%{http_code}' -H 'Content-Type: application/json' \
        -H "Idempotency-Key: \"$(basename "$f" .json)\"" --data-binary "@$f" "$BASE/rollups")
    [ "$code" = 200 ] || fail "POST $f: $code $(cat "$WORK/answer")"
done
curl -sf "$BASE/rollups" >"$WORK/rollups.json" || fail "GET /rollups"
ok "rollup batches posted"

chrome() { # chrome OUT URL [flags]: --dump-dom of URL into OUT
    local out=$1 url=$2
    shift 2
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$WORK/chromium" "$@" "$url" \
        >"$out" 2>>"$WORK/chromium.log"
}

CAMPAIGN="2025 两节送温暖"
# check NAME PATH CHECK-ARGS...: the page at PATH as Chromium renders it, against /rollups.
check() {
    local name=$1 path=$2
    shift 2
    chrome "$WORK/$name.html" "$BASE$path" --dump-dom || fail "chromium failed on $path"
    "${CHECK[@]}" check --regions "$REGIONS" --rollups "$WORK/rollups.json" \
        --html "$WORK/$name.html" --campaign "$CAMPAIGN" --links "$WORK/$name.links" "$@" ||
        fail "$path: the page differs from /rollups"
}

# The default: Chinese, the latest campaign, the provinces.
check national / --lang zh-CN
ok "national page (Chinese, latest campaign by default) equals /rollups"
# Down the bars' own links: a province, then one of its prefectures (counties).
link=$(sed -n 's/^650000 //p' "$WORK/national.links")
[ -n "$link" ] || fail "no link on Xinjiang's bar"
check xinjiang "$link" --region 650000 --lang zh-CN
link=$(sed -n 's/^650100 //p' "$WORK/xinjiang.links")
[ -n "$link" ] || fail "no link on Urumqi's bar"
check urumqi "$link" --region 650100 --lang zh-CN
[ ! -s "$WORK/urumqi.links" ] || fail "county bars link further down"
ok "drill-down through the bars' links: 650000 → prefectures, 650100 → counties, equal /rollups"
check workers "/?metric=workers&lang=en&region=530000" --region 530000 --metric workers --lang en
grep -q 'Workers reached by prefecture' "$WORK/workers.html" || fail "English headings missing"
ok "English page of another metric equals /rollups"
enc=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' \
    "<script>alert(1)</script>&\"'")
chrome "$WORK/hostile.html" "$BASE/?campaign=$enc" --dump-dom || fail "chromium on the hostile campaign"
grep -qF "<h1 id=\"campaign\">&lt;script&gt;alert(1)&lt;/script&gt;&amp;\"'</h1>" "$WORK/hostile.html" ||
    fail "the campaign named <script>… is not shown escaped"
! grep -qi '<script' "$WORK/hostile.html" || fail "a <script> element in the page"
ok "a campaign named <script>… is shown as text"

# Hostile query strings: 400 for a malformed lang, metric or region; defaults otherwise.
for q in "region=65" "region=999999" "region=65%000" "lang=fr" "metric=%ff" "region=6500001"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/?$q")
    [ "$code" = 400 ] || fail "GET /?$q: $code, want 400"
done
for q in "campaign=nope" "campaign=%ff%fe" "window=%ff" "campaign=$(head -c 3000 /dev/zero | tr '\0' x)" \
    "region=&lang=zh" "region=%00" "campaign=a&campaign=b"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/?$q")
    [ "$code" = 200 ] || fail "GET /?${q:0:40}: $code, want 200"
done
curl -s -D "$WORK/headers" -o /dev/null "$BASE/"
grep -qi "^Content-Security-Policy: default-src 'none'" "$WORK/headers" || fail "no CSP header"
kill -0 "$SINK_PID" || fail "the sink died"
ok "hostile query strings: 400 or the defaults; CSP default-src 'none'"

mkdir -p build
rm -f build/page.png
chrome "$WORK/shot.log" "$BASE/" --screenshot="$PWD/build/page.png" --window-size=1280,2000 ||
    fail "chromium --screenshot failed"
[ -s build/page.png ] || fail "no screenshot"
ok "screenshot at build/page.png ($(stat -c %s build/page.png) bytes)"
kill -TERM "$SINK_PID"
wait "$SINK_PID" || fail "the sink exited $? on SIGTERM"
echo "test_page: $PASSED passed"
