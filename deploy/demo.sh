#!/usr/bin/env bash
# make demo: runs the whole pipeline once. Placeholder until the operations issue lands.
echo "make demo: not implemented yet: the demo (embedded broker, aggregator, reporter, sink," >&2
echo "rollup table) arrives with the operations issue. 'make test' runs everything built so far." >&2
exit 1
