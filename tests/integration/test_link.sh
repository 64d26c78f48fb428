#!/usr/bin/env bash
# The sink serves HTTP and keeps a JSON store: it must run on a host without librdkafka or
# avro-c (libop is split into libopcore.a and libopkafka.a; see the Makefile). Checks what
# the dynamic loader would load for bin/outreach-sink, and, as a control, that a Kafka
# program does load librdkafka (so the check itself can fail).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v ldd >/dev/null; then
    echo "test_link: skipped (no ldd on this machine)"
    exit 0
fi
for b in bin/outreach-sink bin/outreach-codec; do
    [ -x "$b" ] || { echo "test_link: FAIL: $b is not built" >&2; exit 1; }
done
sink=$(ldd bin/outreach-sink)
if grep -Ei 'librdkafka|libavro' <<<"$sink"; then
    echo "test_link: FAIL: bin/outreach-sink loads librdkafka or libavro (above)" >&2
    exit 1
fi
grep -q 'librdkafka' <(ldd bin/outreach-codec) ||
    { echo "test_link: FAIL: the control bin/outreach-codec shows no librdkafka" >&2; exit 1; }
echo "ok - bin/outreach-sink loads neither librdkafka nor libavro ($(wc -l <<<"$sink") libraries)"
