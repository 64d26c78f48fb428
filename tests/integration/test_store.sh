#!/usr/bin/env bash
# The aggregator's local state store under faults, against a real broker: the process dies
# (as kill -9 would leave it) between the Kafka commit and the store commit, in the middle of
# a store write, and right after it, with corrections and retractions in the input; the store file is truncated and overwritten with
# garbage. Every time the restart must end with rollups equal to the independent reference
# (tests/integration/rollup_check.py), restoring from the store + changelog tail where the
# store is sound and in full, with the reason logged, where it is not.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/aggtest.sh

# run_fault NAME PREFIX POINT: runs an aggregator with the fault hook armed and waits for it
# to die at POINT (exit status 86, nothing cleaned up).
run_fault() {
    local name=$1 prefix=$2 point=$3 rc=0
    export OUTREACH_AGG_FAULT=$point
    # Small transactions (state.max.dirty) so a chunk of events spans several commits.
    agg "$name" "$prefix" -X instance.id="$name-$RUN" -X state.max.dirty=1000
    unset OUTREACH_AGG_FAULT
    for _ in $(seq 1 240); do kill -0 "$AGG_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$AGG_PID" 2>/dev/null && fail "$name: still running, never reached $point"
    wait "$AGG_PID" || rc=$?
    [ "$rc" = 86 ] || fail "$name: expected the fault at $point to exit 86, got $rc"
    grep -q "fault injected at ${point%%:*}" "$WORK/$name.log" || fail "$name: no fault at $point"
    echo "  died at $point"
}

# last_restore NAME: the last "restored ... (N in full, ...)" line of NAME.log.
last_restore() { grep "restored .* rollup records" "$WORK/$1.log" | tail -1; }

echo "== 1. death between the Kafka commit and the store commit, and inside a store write"
P=store1.$RUN
# With corrections and retractions mixed in: their records go through the same store writes.
bin/outreach-gen --seed 601 --events 30000 --correct-rate 0.05 --retract-rate 0.02 >"$WORK/f.jsonl"
export PUBLISH_ARGS="-X producer.threads=1" # the file order, as rollup_check.py applies it
agg f "$P" -X instance.id="f-$RUN"
wait_ready f
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true # topics exist now: publish while nobody runs
split -n l/5 -d "$WORK/f.jsonl" "$WORK/f.part." # one chunk of new events for each death
i=0
for point in after-kafka-commit:2 mid-store-write:3 after-kafka-commit:3 mid-store-write:2 \
    after-store-commit:3; do
    publish "$P" "$WORK/f.part.0$i"
    i=$((i + 1))
    run_fault f "$P" "$point"
done
last=$(last_restore f)
case "$last" in *"(0 in full"*) ;; *) fail "a sound store was not used: $last" ;; esac
# After a death between the two commits the store lags Kafka: the restart must have read a
# non-empty changelog tail into it, not restored in full.
tails=$(grep -c 'restored [1-9][0-9]* rollup records .*(0 in full' "$WORK/f.log" || true)
[ "$tails" -ge 2 ] || fail "no restart replayed a changelog tail ($tails)"
echo "  $tails restarts replayed a non-empty changelog tail into the store"
agg f "$P" -X instance.id="f-$RUN"
check "$P" 180 "$WORK/f.jsonl"
case "$(last_restore f)" in *"(0 in full"*) ;; *) fail "restart after faults restored in full" ;; esac
kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator exited non-zero after SIGTERM"

echo "== 2. a clean restart replays only the tail: nothing new, nothing read"
: >"$WORK/f.log"
agg f "$P" -X instance.id="f-$RUN"
wait_ready f
last=$(last_restore f)
case "$last" in *"restored 0 rollup records and 0 seen ids"*"(0 in full"*) ;;
*) fail "clean restart read more than the tail: $last" ;; esac
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true

echo "== 3. a truncated store, then one overwritten with garbage: full restore, same result"
bin/outreach-gen --seed 602 --events 3000 >"$WORK/g.jsonl"
STORE="$WORK/state/f-$RUN/data.mdb"
for damage in truncated garbage; do
    size=$(stat -c %s "$STORE")
    if [ "$damage" = truncated ]; then
        truncate -s $((size / 3)) "$STORE"
    else
        head -c "$size" /dev/urandom >"$STORE"
    fi
    : >"$WORK/f.log"
    agg f "$P" -X instance.id="f-$RUN"
    wait_ready f
    grep -q "state store .* was not usable: .*$([ "$damage" = truncated ] && echo truncated || echo unreadable)" \
        "$WORK/f.log" || fail "$damage store: no reason logged"
    case "$(last_restore f)" in *"(4 in full"*) ;; *) fail "$damage store: not restored in full" ;; esac
    publish "$P" "$WORK/g.jsonl" # more events on top of the rebuilt state
    check "$P" 120 "$WORK/f.jsonl" "$WORK/g.jsonl"
    kill -TERM "$AGG_PID"; wait "$AGG_PID" || fail "aggregator exited non-zero after SIGTERM"
done

echo "== 4. a store of another cluster's topics (same path, other topics): rebuilt"
P2=store2.$RUN
bin/outreach-gen --seed 603 --events 2000 >"$WORK/h.jsonl"
: >"$WORK/f.log"
agg f "$P2" -X instance.id="f-$RUN" # same instance, same store directory, other topics
wait_ready f
grep -q "was not usable: the store's rollups.topic is" "$WORK/f.log" || fail "foreign store used"
publish "$P2" "$WORK/h.jsonl"
check "$P2" 120 "$WORK/h.jsonl"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true
echo "== 5. the store fills up at run time (state.map.size.mb=2): removed, exit 1, rebuilt"
P3=store3.$RUN
bin/outreach-gen --seed 604 --events 40000 >"$WORK/m.jsonl"
agg m "$P3" -X instance.id="m-$RUN" -X state.map.size.mb=2
wait_ready m
publish "$P3" "$WORK/m.jsonl"
rc=0
for _ in $(seq 1 240); do kill -0 "$AGG_PID" 2>/dev/null || break; sleep 0.5; done
kill -0 "$AGG_PID" 2>/dev/null && fail "a full store did not stop the aggregator"
wait "$AGG_PID" || rc=$?
[ "$rc" = 1 ] || fail "a full store: exit status $rc, want 1"
grep -q "state store: .*MDB_MAP_FULL.*removing it" "$WORK/m.log" || fail "no storage error logged"
[ ! -e "$WORK/state/m-$RUN/data.mdb" ] || fail "the failed store was not removed"
agg m "$P3" -X instance.id="m-$RUN" # default size: rebuilt in full, then the rest
check "$P3" 180 "$WORK/m.jsonl"
grep -q "full restore from the topics" "$WORK/m.log" || fail "no full restore after the removal"
kill -TERM "$AGG_PID"; wait "$AGG_PID" || true
echo "store integration: all scenarios passed"
