#!/usr/bin/env python3
"""The chaos suite's end check: the sink's latest rollups against the reference recomputed
from every input file, counting the keys that differ (reuses rollup_check.py's reference and
reporter_check.py's mapping of a rollup to what an endpoint receives; nothing of our C code).

Usage: chaos_check.py --sink URL --dump ROLLUPS_DUMP.jsonl --campaign NAME:FIRST:LAST FILE...
Prints a line per problem (at most 40), then
  chaos_check: keys K sink S topic T mismatches M (topic vs reference: P, sink behind topic: B)
and exits 0 when M = 0. M counts keys where the sink differs from the reference (missing,
unexpected, or any field); P and B say where a difference comes from (the aggregator's output
or the delivery to the endpoint)."""
import argparse
import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import reporter_check  # noqa: E402
import rollup_check  # noqa: E402


def campaigns_of(specs):
    out = []
    tz = rollup_check.TZ
    for c in specs:
        name, s, e = c.rsplit(":", 2)
        start = int(datetime.datetime.fromisoformat(s).replace(tzinfo=tz).timestamp() * 1000)
        end = int((datetime.datetime.fromisoformat(e).replace(tzinfo=tz)
                   + datetime.timedelta(days=1)).timestamp() * 1000)
        out.append((name, start, end))
    return out


def field_diffs(got, exp):
    return ["%s = %r, reference %r" % (f, got.get(f), v) for f, v in exp.items() if got.get(f) != v]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sink", required=True)
    ap.add_argument("--dump", required=True, help="outreach-codec dump of the rollups topic")
    ap.add_argument("--campaign", action="append", default=[])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()

    regions = rollup_check.load_regions(os.path.join(reporter_check.ROOT, "schemas", "regions.csv"))
    regs = reporter_check.regions()
    ref, _, n_events = rollup_check.reference(a.files, regions, campaigns_of(a.campaign))
    ref = {k: rollup_check.normal(r) for k, r in ref.items()}
    topic = reporter_check.decode_dump(a.dump)
    body = reporter_check.fetch(a.sink.rstrip("/") + "/rollups")
    sink = {r["key"]: r for r in body["rollups"]}

    problems = []
    mismatched = set()
    for key in sorted(set(ref) | set(sink)):
        if key not in sink:
            problems.append("%s: missing at the sink" % key)
            mismatched.add(key)
            continue
        if key not in ref:
            problems.append("%s: at the sink, not in the reference" % key)
            mismatched.add(key)
            continue
        got = sink[key]
        # The reference has no revision: the sink's own is taken, and checked against the topic.
        exp = reporter_check.expected_payload(dict(ref[key], revision=got["revision"]), regs)
        d = field_diffs(got, exp)
        if d:
            problems.append("%s: %s" % (key, "; ".join(d[:4])))
            mismatched.add(key)

    # Where a difference comes from: the aggregator's output, or the delivery.
    topic_bad = 0
    for key in set(ref) | set(topic):
        t, r = topic.get(key), ref.get(key)
        if t is None or r is None or any(t.get(f) != v for f, v in r.items()):
            topic_bad += 1
    behind = 0
    for key, t in topic.items():
        s = sink.get(key)
        if s is None or s.get("revision") != t["revision"]:
            behind += 1
            if len(problems) < 40:
                problems.append("%s: sink revision %s, topic's latest %d"
                                % (key, s and s.get("revision"), t["revision"]))

    for p in problems[:40]:
        print("chaos_check: " + p)
    if len(problems) > 40:
        print("chaos_check: ... and %d more" % (len(problems) - 40))
    print("chaos_check: %d events, keys %d sink %d topic %d mismatches %d "
          "(topic vs reference: %d, sink behind topic: %d)"
          % (n_events, len(ref), len(sink), len(topic), len(mismatched), topic_bad, behind))
    return 1 if mismatched or behind else 0


if __name__ == "__main__":
    sys.exit(main())
