#!/usr/bin/env bash
# Interop tests: checks bin/outreach-codec against Apache avro (Python) and fastavro, in a venv
# kept under $OUTREACH_STATE (default <repo>/.state). Ends with 'N passed, N failed'.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${OUTREACH_STATE:-$ROOT/.state}
VENV=$STATE/venv
PY=$VENV/bin/python
# Every Python package any test uses (independent cross-checks only), installed once here.
# Pinned: the tests lean on avro 1.12's canonical_form and fingerprint() behaviour.
# confluent-kafka's schema_registry (AvroSerializer/AvroDeserializer): tests/integration/
# test_registry.sh reads and writes Confluent-framed messages with the reference client.
REQS=('avro==1.12.*' 'fastavro>=1.9,<2' 'jsonschema>=4.18' 'rfc3339-validator'
      'prometheus-client>=0.17' 'confluent-kafka[avro,schemaregistry]>=2.6,<3')

fail_setup() {
    echo "interop: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

# The pyenv python3 on PATH may lack venv/ensurepip: always build the venv from Debian's.
if [ ! -x "$PY" ]; then
    mkdir -p "$STATE"
    /usr/bin/python3 -m venv "$VENV" ||
        fail_setup "cannot create $VENV (apt-get install python3-venv)"
fi
if ! "$PY" -c 'import avro, fastavro, jsonschema, rfc3339_validator, prometheus_client
import confluent_kafka.schema_registry.avro
assert avro.__version__.startswith("1.12.")' 2>/dev/null; then
    echo "interop: installing ${REQS[*]} into $VENV"
    "$PY" -m pip install --quiet --disable-pip-version-check "${REQS[@]}" ||
        fail_setup "pip install ${REQS[*]} failed"
fi

# INTEROP_SETUP_ONLY=1: only make sure the venv has every package (for other suites).
[ "${INTEROP_SETUP_ONLY:-0}" = 1 ] && exit 0

if [ ! -x "$ROOT/bin/outreach-codec" ]; then
    make -C "$ROOT" bin/outreach-codec >/dev/null || fail_setup "cannot build bin/outreach-codec"
fi

# The test prints its own closing 'N passed, N failed' line and exits non-zero on any failure.
exec "$PY" "$ROOT/tests/interop/test_interop.py" "$ROOT" "$@"
