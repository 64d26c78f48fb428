#!/usr/bin/env python3
"""Independent reference for the aggregator: recomputes every rollup from the input event
files (JSON Lines or CSV as the producer reads them) with its own code, decodes the rollups
topic dump (outreach-codec dump output) with fastavro, and compares them field by field.

Usage: rollup_check.py --dump DUMP.jsonl --regions schemas/regions.csv
                       --campaign "NAME:YYYY-MM-DD:YYYY-MM-DD" [--schemas schemas]
                       [--min-revision-key KEY=N]... [--registry URL] EVENTS_FILE...
(--registry: Confluent-framed rollups, 00 + schema id, are decoded with the writer schema
fetched from that registry.)
Events are taken in file order (files in the order given). Corrections (docs/events.md) follow
the rules as written there: per event_id the highest `correction` counts; the same
(event_id, correction) again changes nothing, a lower one is stale; a retraction takes the
event out of every window and level; each applied correction or retraction adds 1 to
`corrections` of every rollup it changed (old and new windows and regions), and
first/last_event_at widen with every version applied, never narrow.
Exit 0 when every rollup equals the reference and every parent equals the sum of its
children plus the events filed at the parent itself; 1 with the differences otherwise."""
import argparse
import csv
import collections
import datetime
import io
import json
import sys

import glob
import os

import fastavro
import fastavro.schema

TZ = datetime.timezone(datetime.timedelta(hours=8))
SUM_FIELDS = ["event_count", "visits", "workers_reached", "households", "staff", "funding_fen",
              "recipients", "surveys", "enterprises", "respondents"]
MAP_FIELDS = ["visits_by_activity", "workers_by_group", "funding_by_source_fen",
              "funding_by_purpose_fen", "needs"]


def parse_time(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v)
    d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=TZ)
    return int(d.timestamp() * 1000)


def read_events(path):
    """Yields events as dicts with typed fields, in file order."""
    if path.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                e = {k: v for k, v in row.items() if v not in ("", None)}
                for k in ("workers_reached", "households", "staff", "amount_fen", "recipients",
                          "enterprises", "respondents", "s1", "s2", "s3", "s4", "s5",
                          "correction"):
                    if k in e:
                        e[k] = int(e[k])
                if "target_groups" in e:
                    e["target_groups"] = [g for g in e["target_groups"].split(";") if g]
                elif e.get("type") == "visit":
                    e["target_groups"] = []
                if e.get("type") == "survey":
                    e["satisfaction"] = {k: e.pop(k, 0) for k in ("s1", "s2", "s3", "s4", "s5")}
                    needs = []
                    for item in e.get("needs", "").split(";"):
                        if item:
                            k, c = item.split(":")
                            needs.append({"need": k, "count": int(c)})
                    e["needs"] = needs
                yield e
    else:
        # Files of a single type may omit "type" when named after it (visit.jsonl, ...).
        base = path.rsplit("/", 1)[-1].split(".")[0]
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    e = json.loads(line)
                    if "type" not in e and base in ("visit", "funding", "survey"):
                        e["type"] = base
                    yield e


def load_regions(path):
    regions = {}
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            regions[row["code"]] = (row["level"].upper(), row["parent"])
    return regions


def chain(regions, code):
    out = []
    while code:
        out.append(code)
        code = regions[code][1]
    return out


def windows(ms, campaigns):
    d = datetime.datetime.fromtimestamp(ms / 1000, TZ)
    out = [("DAY", d.strftime("%Y-%m-%d")), ("MONTH", d.strftime("%Y-%m")), ("ALL", "all")]
    for name, start, end in campaigns:
        if start <= ms < end:
            out.append(("CAMPAIGN", name))
    return out


def empty(kind, window, region, level):
    r = {"window_kind": kind, "window": window, "region": region, "level": level,
         "first_event_at": None, "last_event_at": None,
         "satisfaction": {k: 0 for k in ("s1", "s2", "s3", "s4", "s5")}}
    for f in SUM_FIELDS:
        r[f] = 0
    r["corrections"] = 0
    for f in MAP_FIELDS:
        r[f] = collections.Counter()
    return r


def add(r, e, t, sign=1):
    """Adds event e (occurred at t) to rollup r, or takes it away with sign -1."""
    occ = t
    if sign > 0:
        r["first_event_at"] = occ if r["first_event_at"] is None else min(r["first_event_at"], occ)
        r["last_event_at"] = occ if r["last_event_at"] is None else max(r["last_event_at"], occ)
    r["event_count"] += sign
    typ = e["type"]
    if typ == "visit":
        r["visits"] += sign
        r["visits_by_activity"][e["activity"]] += sign
        wr = e.get("workers_reached", 0)
        r["workers_reached"] += sign * wr
        for g in e.get("target_groups", []):
            r["workers_by_group"][g] += sign * wr
        r["households"] += sign * e.get("households", 0)
        r["staff"] += sign * e.get("staff", 0)
    elif typ == "funding":
        amt = e["amount_fen"]
        r["funding_fen"] += sign * amt
        r["funding_by_source_fen"][e["source"]] += sign * amt
        r["funding_by_purpose_fen"][e["purpose"]] += sign * amt
        r["recipients"] += sign * e.get("recipients", 0)
    elif typ == "survey":
        r["surveys"] += sign
        r["enterprises"] += sign * e.get("enterprises", 0)
        r["respondents"] += sign * e.get("respondents", 0)
        for k, v in e.get("satisfaction", {}).items():
            r["satisfaction"][k] += sign * v
        for n in e.get("needs", []):
            r["needs"][n["need"]] += sign * n["count"]
    else:
        raise ValueError("unknown type %r" % typ)


def truthy(v):
    """retracted as JSON (true/false) or a CSV cell (true/false, 1/0, 是/否)."""
    if isinstance(v, bool):
        return v
    return str(v).strip().lower() in ("true", "1", "是")


def reference(files, regions, campaigns):
    counted = {}  # event_id -> (correction, event or None when retracted, t)
    applied = []  # (event_id, correction, retracted) of every applied correction, in order
    rollups = {}
    own = {}  # the same, but each event only at the region it names

    def apply(e, t, sign, touched):
        for kind, win in windows(t, campaigns):
            for code in chain(regions, e["region"]):
                key = "%s|%s|%s" % (kind, win, code)
                if key not in rollups:
                    rollups[key] = empty(kind, win, code, regions[code][0])
                add(rollups[key], e, t, sign)
                touched.add(key)
            key = "%s|%s|%s" % (kind, win, e["region"])
            if key not in own:
                own[key] = empty(kind, win, e["region"], regions[e["region"]][0])
            add(own[key], e, t, sign)

    for path in files:
        for e in read_events(path):
            eid = e.get("event_id")
            if eid is None:
                # The producer derives ids from content: a record repeated verbatim is the
                # same event, different content a different one.
                eid = "content:" + json.dumps(e, sort_keys=True, ensure_ascii=False)
            corr = int(e.get("correction", 0) or 0)
            retracted = truthy(e.get("retracted", False))
            prev = counted.get(eid)
            if prev is not None and corr <= prev[0]:
                continue  # a duplicate, or stale
            touched = set()
            if prev is not None and prev[1] is not None:
                apply(prev[1], prev[2], -1, touched)
            t = parse_time(e["occurred_at"])
            if not retracted:
                apply(e, t, 1, touched)
            if corr > 0:
                for key in touched:
                    rollups[key]["corrections"] += 1
                applied.append((eid, corr, retracted))
            counted[eid] = (corr, None if retracted else e, t)
    reference.applied = applied
    return rollups, own, len(counted)


def registry_schema(url, sid, cache={}):
    """Writer schema of a Confluent schema id, fetched from the registry (urllib, not ours)."""
    if sid not in cache:
        import urllib.request
        with urllib.request.urlopen("%s/schemas/ids/%d" % (url.rstrip("/"), sid), timeout=10) as r:
            cache[sid] = fastavro.parse_schema(json.loads(json.load(r)["schema"]))
    return cache[sid]


def decode_dump(path, schema_dir, registry=None):
    """The latest value of every key, each decoded with its writer schema (by fingerprint)
    and read as the newest rollup schema (fields a writer lacks take their default)."""
    writers = {}
    for p in sorted(glob.glob(os.path.join(schema_dir, "rollup.v*.avsc"))):
        parsed = fastavro.parse_schema(json.load(open(p)))
        canon = fastavro.schema.to_parsing_canonical_form(parsed)
        fp = fastavro.schema.fingerprint(canon, "CRC-64-AVRO")
        writers[bytes.fromhex(fp)] = (int(p.rsplit(".v", 1)[1].split(".")[0]), parsed)
    reader = max(writers.values(), key=lambda v: v[0])[1]
    latest = {}
    with open(path) as f:
        for line in f:
            m = json.loads(line)
            raw = bytes.fromhex(m["hex"]) if m.get("hex") else None
            if raw is None:
                latest.pop(m["key"], None)
                continue
            if registry and raw[:1] == b"\x00":  # Confluent framing: 00 + big-endian schema id
                writer = registry_schema(registry, int.from_bytes(raw[1:5], "big"))
                rec = fastavro.schemaless_reader(io.BytesIO(raw[5:]), writer, reader)
            elif raw[:2] != b"\xc3\x01":
                raise SystemExit("rollup %s: not single-object encoded" % m["key"])
            else:
                if raw[2:10] not in writers:
                    raise SystemExit("rollup %s: unknown writer schema %s" % (m["key"], raw[2:10].hex()))
                rec = fastavro.schemaless_reader(io.BytesIO(raw[10:]), writers[raw[2:10]][1], reader)
            for f in ("first_event_at", "last_event_at"):  # fastavro returns datetimes
                if isinstance(rec[f], datetime.datetime):
                    rec[f] = round(rec[f].timestamp() * 1000)
            prev = latest.get(m["key"])
            if prev and prev["revision"] > rec["revision"]:
                raise SystemExit("rollup %s: revision went back from %d to %d"
                                 % (m["key"], prev["revision"], rec["revision"]))
            latest[m["key"]] = rec
    return latest


def normal(r):
    out = dict(r)
    for f in MAP_FIELDS:
        out[f] = {k: v for k, v in dict(r[f]).items() if v}
    out["satisfaction"] = dict(r["satisfaction"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--regions", required=True)
    ap.add_argument("--schemas", default="schemas", help="directory of rollup.vN.avsc")
    ap.add_argument("--campaign", action="append", default=[])
    ap.add_argument("--registry", help="schema registry URL: rollups may be Confluent-framed")
    ap.add_argument("--expect-events", type=int, help="distinct event ids the files must hold")
    ap.add_argument("--min-revision", action="append", default=[],
                    help="KEY=N: that rollup's revision must be at least N")
    ap.add_argument("--audit", help="dump of the audit topic: it must hold each applied "
                    "correction of the reference exactly once, and nothing else")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    campaigns = []
    for c in a.campaign:
        name, s, e = c.rsplit(":", 2)
        start = int(datetime.datetime.fromisoformat(s).replace(tzinfo=TZ).timestamp() * 1000)
        end = int((datetime.datetime.fromisoformat(e).replace(tzinfo=TZ)
                   + datetime.timedelta(days=1)).timestamp() * 1000)
        campaigns.append((name, start, end))
    regions = load_regions(a.regions)
    want, own, n_events = reference(a.files, regions, campaigns)
    got = decode_dump(a.dump, a.schemas, a.registry)
    problems = []
    if a.expect_events is not None and n_events != a.expect_events:
        problems.append("input holds %d distinct events, expected %d" % (n_events, a.expect_events))
    for key, r in want.items():
        g = got.get(key)
        if g is None:
            problems.append("missing rollup %s" % key)
            continue
        exp = normal(r)
        for f, v in exp.items():
            if g.get(f) != v:
                problems.append("%s: %s = %r, reference %r" % (key, f, g.get(f), v))
        if g["revision"] < 1:
            problems.append("%s: revision %d" % (key, g["revision"]))
    for key in got:
        if key not in want:
            problems.append("unexpected rollup %s" % key)
    # Parent = sum of children + events filed at the parent's own code, on the output.
    children = collections.defaultdict(list)
    for key, g in got.items():
        parent = regions[g["region"]][1]
        if parent:
            children["%s|%s|%s" % (g["window_kind"], g["window"], parent)].append(g)
    checked_parents = 0
    for pkey, kids in children.items():
        p = got.get(pkey)
        if p is None:
            problems.append("parent %s missing" % pkey)
            continue
        direct = own.get(pkey)
        for f in SUM_FIELDS:
            total = sum(k[f] for k in kids) + (direct[f] if direct else 0)
            if total != p[f]:
                problems.append("%s: %s %d != children + own events %d" % (pkey, f, p[f], total))
        for f in MAP_FIELDS:
            total = collections.Counter()
            for k in kids:
                total.update(k[f])
            if direct:
                total.update(direct[f])
            if {k: v for k, v in total.items() if v} != p[f]:
                problems.append("%s: %s != children + own events" % (pkey, f))
        checked_parents += 1
    if a.audit:
        schema = fastavro.parse_schema(json.load(open(os.path.join(a.schemas, "audit.v1.avsc"))))
        got_audit = collections.Counter()
        for line in open(a.audit):
            m = json.loads(line)
            e = fastavro.schemaless_reader(io.BytesIO(bytes.fromhex(m["hex"])[10:]), schema)
            got_audit[(e["event_id"], e["correction_to"], e["retracted"])] += 1
        want_audit = collections.Counter(reference.applied)
        if got_audit != want_audit:
            problems.append("audit: %d entries, reference %d; missing %r; extra or repeated %r"
                            % (sum(got_audit.values()), sum(want_audit.values()),
                               list(want_audit - got_audit)[:5], list(got_audit - want_audit)[:5]))
    for spec in a.min_revision:
        key, n = spec.rsplit("=", 1)
        if key not in got or got[key]["revision"] < int(n):
            problems.append("%s: revision %s, want >= %s"
                            % (key, got.get(key, {}).get("revision"), n))
    if problems:
        for p in problems[:50]:
            print("rollup_check: " + p, file=sys.stderr)
        print("rollup_check: %d problem(s) in %d rollups (%d expected)"
              % (len(problems), len(got), len(want)), file=sys.stderr)
        return 1
    print("rollup_check: %d rollups equal the reference (%d events, %d parents checked)"
          % (len(want), n_events, checked_parents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
