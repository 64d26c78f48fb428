# Helpers of the aggregator integration tests (sourced after `cd` to the repository):
# start aggregators on their own topics, publish through the real producer, and compare
# the rollups with tests/integration/rollup_check.py, an independent recomputation.
REPO=$PWD
B=${KAFKA_BOOTSTRAP:?run through tests/integration/run.sh or set KAFKA_BOOTSTRAP}
PY=${OUTREACH_STATE:-$REPO/.state}/venv/bin/python
[ -x "$PY" ] || bash tests/interop/run.sh >/dev/null # creates the venv with fastavro
. tests/lib/util.sh # WORK, PIDS killed at exit, fail (with every log's tail), wait_for
util_init "$(basename "$0" .sh)"
RUN=$(date +%s)-$$
CAMPAIGN="2025 两节送温暖:2024-12-20:2025-02-12"

# agg NAME PREFIX [args...]: starts an aggregator on topics PREFIX.*, logging to NAME.log;
# sets AGG_PID.
agg() {
    local name=$1 prefix=$2
    shift 2
    bin/outreach-aggregator -X bootstrap.servers="$B" -X events.topic="$prefix.events" \
        -X rollups.topic="$prefix.rollups" -X seen.topic="$prefix.seen" \
        -X dlq.topic="$prefix.dlq" -X group.name="$prefix.group" \
        -X commit.interval.ms=200 -X session.timeout.ms=6000 -X topic.partitions=4 \
        -X authz.default=allow -X state.dir="$WORK/state" "$@" >>"$WORK/$name.log" 2>&1 &
    AGG_PID=$!
    PIDS+=("$AGG_PID")
}

# wait_ready NAME: until the aggregator logged a finished restore (topics exist then).
wait_ready() {
    for _ in $(seq 1 120); do
        grep -q "restored" "$WORK/$1.log" 2>/dev/null && return 0
        sleep 0.5
    done
    fail "$1 never became ready"
}

# publish PREFIX FILE...: through the real producer; $PUBLISH_ARGS are added (e.g. -X
# producer.threads=1 where files hold corrections: then the aggregator sees the file order,
# the order rollup_check.py applies them in).
publish() {
    local prefix=$1 rc=0
    shift
    # shellcheck disable=SC2086 # PUBLISH_ARGS is a list of words
    bin/outreach-producer -X bootstrap.servers="$B" -X events.topic="$prefix.events" \
        -X authz.default=allow -X topic.partitions=4 ${PUBLISH_ARGS:-} -q "$@" \
        >>"$WORK/producer.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || fail "producer exited $rc"
}

# check PREFIX SECONDS FILE... [-- extra rollup_check args]: waits until the rollups equal
# the reference recomputed from FILEs, or fails after SECONDS.
check() {
    local prefix=$1 secs=$2
    shift 2
    local files=() extra=()
    while (($#)); do
        if [ "$1" = -- ]; then shift; extra=("$@"); break; fi
        files+=("$1")
        shift
    done
    local deadline=$(($(date +%s) + secs))
    while :; do
        bin/outreach-codec dump -X bootstrap.servers="$B" "$prefix.rollups" >"$WORK/dump.jsonl" \
            2>>"$WORK/dump.log" || true
        if "$PY" tests/integration/rollup_check.py --dump "$WORK/dump.jsonl" \
            --regions schemas/regions.csv --campaign "$CAMPAIGN" ${extra[@]+"${extra[@]}"} \
            "${files[@]}" >"$WORK/check.out" 2>&1; then
            cat "$WORK/check.out"
            return 0
        fi
        [ "$(date +%s)" -lt "$deadline" ] || { cat "$WORK/check.out" >&2; fail "rollups of $prefix differ from the reference"; }
        sleep 2
    done
}

alive() { kill -0 "$1" 2>/dev/null || fail "aggregator $1 died"; }

# health_port NAME: the port the aggregator logged for health.listen=127.0.0.1:0.
health_port() { logged_port "$WORK/$1.log"; }

# metrics_check PORT 'python expression over m'...: /metrics asserted by
# tests/integration/metrics_check.py (prometheus_client's parser, independent of ours).
metrics_check() { metrics_ok "$@" || fail "metrics do not match what happened"; }
metrics_ok() {
    local port=$1
    shift
    curl -sf "127.0.0.1:$port/metrics" >"$WORK/metrics.txt" || return 1
    "$PY" tests/integration/metrics_check.py "$WORK/metrics.txt" "$@"
}
