#!/usr/bin/env bash
# Integration test of the reporter's xlsx:// endpoint on a real broker: events → producer →
# aggregator → rollups → reporter → workbooks, read back with openpyxl and compared with the
# rollups recomputed from the input files (tests/integration/rollup_check.py); then more events
# update them, and after a kill -9 with the workbooks deleted a restart rebuilds them whole.
set -euo pipefail
cd "$(dirname "$0")/../.."
export KAFKA_BOOTSTRAP=${KAFKA_BOOTSTRAP:-127.0.0.1:9092}
. tests/lib/aggtest.sh
. tests/lib/kafka.sh

/usr/bin/python3 -c 'import openpyxl' 2>/dev/null ||
    fail "/usr/bin/python3 has no openpyxl (make deps installs python3-openpyxl)"
for b in outreach-aggregator outreach-producer outreach-gen outreach-reporter outreach-codec; do
    [ -x "bin/$b" ] || make "bin/$b" >/dev/null || fail "cannot build bin/$b"
done

# A bad xlsx:// URL is a configuration error (exit 2) before anything connects.
rc=0
bin/outreach-reporter -X bootstrap.servers=127.0.0.1:1 -X endpoint.x.url=xlsx://relative/dir \
    2>"$WORK/conf.err" || rc=$?
[ "$rc" = 2 ] && grep -q 'is not xlsx:///ABSOLUTE/DIR' "$WORK/conf.err" ||
    fail "xlsx://relative/dir: exit $rc, $(cat "$WORK/conf.err")"
echo "ok 0 - xlsx://relative/dir is refused at start"

# reference OUT FILE...: the MONTH and CAMPAIGN rollups recomputed from the event files.
reference() {
    local out=$1
    shift
    "$PY" - "$CAMPAIGN" "$@" >"$out" <<'EOF' || fail "reference computation failed"
import datetime, json, sys
sys.path.insert(0, "tests/integration")
import rollup_check as rc
name, s, e = sys.argv[1].rsplit(":", 2)
day = lambda d: int(datetime.datetime.fromisoformat(d).replace(tzinfo=rc.TZ).timestamp() * 1000)
campaigns = [(name, day(s), day(e) + 86400000)]
want, _, _ = rc.reference(sys.argv[2:], rc.load_regions("schemas/regions.csv"), campaigns)
for r in want.values():
    if r["window_kind"] in ("MONTH", "CAMPAIGN"):
        print(json.dumps(r, ensure_ascii=False, default=dict))
EOF
}

# xlsx_check SECONDS REF: waits until the workbooks equal the reference, or fails.
xlsx_check() {
    local deadline=$(($(date +%s) + $1))
    while :; do
        if /usr/bin/python3 tests/unit/xlsx_report_check.py --regions schemas/regions.csv \
            --input "$2" "$WORK/xlsx" >"$WORK/xlsx-check.out" 2>&1; then
            cat "$WORK/xlsx-check.out"
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || {
            head -20 "$WORK/xlsx-check.out" >&2
            fail "the workbooks differ from the reference"
        }
        sleep 2
    done
}

reporter() {
    bin/outreach-reporter -X bootstrap.servers="$B" -X rollups.topic="$P.rollups" \
        -X group.prefix="$P.reporter" -X instance.id="x-$RUN" -X status.interval.ms=5000 \
        -X endpoint.office.url="xlsx://$WORK/xlsx" -X endpoint.office.max.delay.ms=200 \
        >>"$WORK/reporter.log" 2>&1 &
    REP_PID=$!
    PIDS+=("$REP_PID")
}

P=repxlsx.$RUN
bin/outreach-gen --seed 141 --events 3000 >"$WORK/a.jsonl"
bin/outreach-gen --seed 142 --events 600 >"$WORK/b.jsonl"
agg a1 "$P" -X instance.id="xa-$RUN"
wait_ready a1
publish "$P" "$WORK/a.jsonl"
check "$P" 120 "$WORK/a.jsonl" >/dev/null
reporter
reference "$WORK/ref-a.jsonl" "$WORK/a.jsonl"
xlsx_check 90 "$WORK/ref-a.jsonl"
echo "ok 1 - workbooks of every MONTH and CAMPAIGN window equal the reference"

publish "$P" "$WORK/b.jsonl"
check "$P" 120 "$WORK/a.jsonl" "$WORK/b.jsonl" >/dev/null
reference "$WORK/ref-ab.jsonl" "$WORK/a.jsonl" "$WORK/b.jsonl"
xlsx_check 60 "$WORK/ref-ab.jsonl"
echo "ok 2 - more events: the workbooks follow the new revisions"

kill -9 "$REP_PID"
wait "$REP_PID" 2>/dev/null || true
rm -f "$WORK"/xlsx/*.xlsx
reporter
xlsx_check 90 "$WORK/ref-ab.jsonl"
ls "$WORK"/xlsx/.*.tmp >/dev/null 2>&1 && fail "temporary files left in $WORK/xlsx"
kill -TERM "$REP_PID"
wait "$REP_PID" || fail "reporter exited non-zero after SIGTERM"
kill -TERM "$AGG_PID"
wait "$AGG_PID" || true
echo "ok 3 - kill -9, workbooks deleted: the restart re-reads the topic and rebuilds them whole"
# Its topics have unique names, but a shared broker should not keep them.
kafka_topics --delete --topic "${P//./\\.}\\..*" >/dev/null 2>&1 || true
