#!/usr/bin/env bash
# Runs the integration tests against a real Kafka broker: $KAFKA_BOOTSTRAP if it answers,
# otherwise a single-node KRaft broker started here (and stopped again at the end).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/kafka.sh
trap kafka_cleanup EXIT
kafka_ensure
echo "integration: broker $KAFKA_BOOTSTRAP"

VARIANT_DIR=${1:-build/default}
passed=0
failed=0
names=()
run() {
    local name=$1
    shift
    echo "== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        names+=("$name")
    fi
}
for t in "$VARIANT_DIR"/itests/test_*; do
    [ -x "$t" ] && run "$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] && run "$(basename "$t")" bash "$t"
done
[ ${#names[@]} -eq 0 ] || echo "integration: failed: ${names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
