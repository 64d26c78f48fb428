#!/usr/bin/env python3
"""Test helper for outreach-reporter and outreach-sink, independent of their C code.

  gen      write rollup records (JSON) for a test topic: several windows and regions, several
           revisions per key (a few stale ones after newer ones), big money amounts
  produce  encode them with `outreach-codec encode rollup.v1` (rollup.v2 for records with
           corrections, gen --corrections) and produce each as one message
           with kcat (one file per message, one transactional kcat call per key, so the topic
           also holds transaction markers), plus a poison message and a tombstone
  expect   the latest revision per key of a topic dump (`outreach-codec dump`), decoded with
           fastavro from the raw bytes, not with our codec
  compare  GET /rollups of a sink (or file:// snapshot files) against `expect`, field by field,
           with yuan strings and satisfaction means recomputed here (decimal, exact)
  schema   validate received bodies (gzip, from `outreach-sink --dump-dir`) with jsonschema
           (draft 2020-12, formats checked) against schemas/rollup-batch.schema.json
  dom      compare the table of a sink page dumped by headless Chromium (html.parser) with the
           rollups of that window from GET /rollups
  dlq      check a DLQ topic dump: reasons, headers, batch JSON
Exit status 0 on success, 1 with the differences on stderr.
"""
import argparse
import collections
import csv
import datetime
import fractions
import glob
import gzip
import html.parser
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACTIVITIES = ["CONDOLENCE_VISIT", "HOME_VISIT", "FORUM", "FREE_CLINIC", "LEGAL_AID", "MEALS"]
GROUPS = ["HARDSHIP_WORKERS", "MIGRANT_WORKERS", "SANITATION", "NEW_EMPLOYMENT_FORMS"]
SOURCES = ["UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY", "ENTERPRISE"]
PURPOSES = ["CASH_GRANT", "GOODS", "HARDSHIP_RELIEF"]
NEEDS = ["WAGES_ARREARS", "HOUSING", "MEDICAL", "CHILD_EDUCATION"]
WINDOWS = [("DAY", "2025-01-15"), ("MONTH", "2025-01"), ("CAMPAIGN", "2025 两节送温暖"),
           ("ALL", "all")]
PROVINCES = ["650000", "530000"]  # Xinjiang, Yunnan
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def fail(msgs):
    for m in msgs[:40]:
        print("  " + m, file=sys.stderr)
    if len(msgs) > 40:
        print("  ... and %d more" % (len(msgs) - 40), file=sys.stderr)
    sys.exit(1)


def regions():
    with open(os.path.join(ROOT, "schemas", "regions.csv"), encoding="utf-8-sig") as f:
        return {r["code"]: r for r in csv.DictReader(f)}


# ---- generating and producing -------------------------------------------------------------

def pick_regions(regs, rnd):
    out = []
    for prov in PROVINCES:
        out.append(prov)
        prefs = sorted(c for c, r in regs.items() if r["level"] == "prefecture" and r["parent"] == prov)
        for pref in prefs[:3]:
            out.append(pref)
            counties = sorted(c for c, r in regs.items() if r["parent"] == pref)
            out.extend(counties[:2])
    return out


def money(rnd):
    return rnd.choice([0, 1, 99, 100, 12345, rnd.randrange(10**9), rnd.randrange(10**15),
                       9007199254740993])


def rollup(regs, rnd, kind, window, region, rev):
    level = regs[region]["level"].upper()
    by_source = {s: money(rnd) for s in rnd.sample(SOURCES, rnd.randrange(0, 3))}
    by_purpose = {p: money(rnd) for p in rnd.sample(PURPOSES, rnd.randrange(0, 3))}
    sat = {"s%d" % i: rnd.choice([0, 0, 1, 2, 7, 333]) for i in range(1, 6)}
    return {
        "window_kind": kind, "window": window, "region": region, "level": level,
        "revision": rev, "event_count": rnd.randrange(1, 10**6),
        "first_event_at": 1734624000000 + rnd.randrange(10**9),
        "last_event_at": 1736000000000 + rnd.randrange(10**9),
        "visits": rnd.randrange(10**5),
        "visits_by_activity": {a: rnd.randrange(1, 500) for a in rnd.sample(ACTIVITIES, 2)},
        "workers_reached": rnd.randrange(10**7),
        "workers_by_group": {g: rnd.randrange(1, 10**4) for g in rnd.sample(GROUPS, 2)},
        "households": rnd.randrange(10**5), "staff": rnd.randrange(10**4),
        "funding_fen": money(rnd), "funding_by_source_fen": by_source,
        "funding_by_purpose_fen": by_purpose, "recipients": rnd.randrange(10**5),
        "surveys": rnd.randrange(100), "enterprises": rnd.randrange(100),
        "respondents": rnd.randrange(10**4), "satisfaction": sat,
        "needs": {n: rnd.randrange(1, 99) for n in rnd.sample(NEEDS, 2)},
    }


def with_corrections(v, rnd):
    """A rollup.v2 record: corrections 0 or more (every third one has none)."""
    v["corrections"] = rnd.choice([0, 1, 2, 7, 12345, 2**40])
    return v


def cmd_gen(a):
    """Writes JSON lines {key, partition, value}; value null = tombstone, "poison" = junk."""
    rnd = random.Random(a.seed)
    regs = regions()
    out = []
    for kind, window in WINDOWS:
        for region in pick_regions(regs, rnd):
            key = "%s|%s|%s" % (kind, window, region)
            revs = list(range(a.first_revision, a.first_revision + rnd.randrange(1, a.revisions + 1)))
            if len(revs) > 2 and rnd.random() < 0.2:
                revs.append(revs[0])  # a stale revision after newer ones
            part = zlib.crc32(key.encode()) % a.partitions
            for rev in revs:
                v = rollup(regs, rnd, kind, window, region, rev)
                if a.corrections:
                    v = with_corrections(v, rnd)
                out.append({"key": key, "partition": part, "value": v})
    if a.junk:
        out.append({"key": "DAY|2025-01-15|999999", "partition": 0, "value": "poison"})
        out.append({"key": "DAY|2025-01-15|650000-gone", "partition": 0, "value": None})
    with open(a.out, "w", encoding="utf-8") as f:
        for m in out:
            f.write(json.dumps(m, ensure_ascii=False) + "\n")
    print("%d messages, %d keys" % (len(out), len({m["key"] for m in out})))


def cmd_produce(a):
    msgs = [json.loads(l) for l in open(a.messages, encoding="utf-8")]
    codec = os.path.join(ROOT, "bin", "outreach-codec")
    # rollup.v2 adds corrections: records that carry it are written as v2, the others as v1
    for version, pick in (("rollup.v1", lambda v: "corrections" not in v),
                          ("rollup.v2", lambda v: "corrections" in v)):
        avro = [m for m in msgs if isinstance(m["value"], dict) and pick(m["value"])]
        if not avro:
            continue
        enc = subprocess.run([codec, "encode", version], check=True, capture_output=True,
                             input="".join(json.dumps(m["value"], ensure_ascii=False) + "\n"
                                           for m in avro).encode())
        hexes = enc.stdout.decode().split()
        if len(hexes) != len(avro):
            fail(["codec encoded %d of %d records: %s" % (len(hexes), len(avro), enc.stderr.decode())])
        for m, h in zip(avro, hexes):
            m["bytes"] = bytes.fromhex(h)
    groups = collections.OrderedDict()
    for m in msgs:
        if m["value"] == "poison":
            m["bytes"] = b"\x01not avro at all"  # neither C3 01 nor 00 (Confluent): framing
        elif m["value"] is None:
            m["bytes"] = b""
        groups.setdefault((m["key"], m["partition"], m["value"] is None), []).append(m)
    tmp = tempfile.mkdtemp(prefix="reporter-produce-")

    def produce(item):
        idx, ((key, part, tomb), ms) = item
        files = []
        for j, m in enumerate(ms):
            p = os.path.join(tmp, "%d-%d.bin" % (idx, j))
            with open(p, "wb") as f:
                f.write(m["bytes"])
            files.append(p)
        cmd = ["kcat", "-P", "-b", a.bootstrap, "-t", a.topic, "-p", str(part),
               "-H", "type=rollup", "-X", "transactional.id=reporter-test-%d-%d" % (os.getpid(), idx)]
        if tomb:  # kcat skips empty files and lines: a NULL value is "KEY:" with -K: -Z
            r = subprocess.run(cmd + ["-K:", "-Z"], input=key.encode() + b":\n", capture_output=True)
        else:
            r = subprocess.run(cmd + ["-k", key] + files, capture_output=True)
        return None if r.returncode == 0 else "%s: %s" % (key, r.stderr.decode()[-300:])

    with ThreadPoolExecutor(8) as ex:
        errors = [e for e in ex.map(produce, enumerate(groups.items())) if e]
    if errors:
        fail(errors)
    print("produced %d messages in %d transactions" % (len(msgs), len(groups)))


# ---- the reference ------------------------------------------------------------------------

def decode_dump(path, registry=None):
    """(latest, per_message): latest rollup per key by revision, decoded with fastavro.
    With a registry URL, Confluent-framed rollups (00 + schema id) are decoded too, with the
    writer schema fetched from it."""
    import fastavro
    from fastavro.schema import fingerprint, to_parsing_canonical_form
    # writer schemas by their CRC-64-AVRO fingerprint (fastavro gives the bytes of the framing,
    # little-endian)
    writers = {}
    for name in ("rollup.v1", "rollup.v2"):
        sch = fastavro.parse_schema(json.load(open(os.path.join(ROOT, "schemas", name + ".avsc"))))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(sch), "CRC-64-AVRO"))
        writers[fp] = sch
    reader = writers[[fp for fp in writers][-1]]  # rollup.v2: the newest, the reader schema
    latest = {}
    for line in open(path, encoding="utf-8"):
        m = json.loads(line)
        raw = bytes.fromhex(m["hex"]) if m.get("hex") else None
        if raw and registry and raw[:1] == b"\x00":
            sid = int.from_bytes(raw[1:5], "big")
            if sid not in writers:
                text = fetch("%s/schemas/ids/%d" % (registry.rstrip("/"), sid))["schema"]
                writers[sid] = fastavro.parse_schema(json.loads(text))
            v = fastavro.schemaless_reader(io.BytesIO(raw[5:]), writers[sid], reader)
        elif not raw or raw[:2] != b"\xc3\x01" or raw[2:10] not in writers:
            continue
        else:
            v = fastavro.schemaless_reader(io.BytesIO(raw[10:]), writers[raw[2:10]], reader)
        for f in ("first_event_at", "last_event_at"):  # fastavro gives datetimes: back to ms
            if isinstance(v[f], datetime.datetime):
                v[f] = (v[f] - EPOCH) // datetime.timedelta(milliseconds=1)
        key = "%s|%s|%s" % (v["window_kind"], v["window"], v["region"])
        if key not in latest or latest[key]["revision"] <= v["revision"]:
            latest[key] = v
    return latest


def yuan(fen):
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(fen), 100)
    return "%s%d.%02d" % (sign, q, r)


def mean(sat):
    counts = [sat["s%d" % i] for i in range(1, 6)]
    total = sum(counts)
    if total == 0:
        return None
    m = fractions.Fraction(sum((i + 1) * c for i, c in enumerate(counts)), total) * 100
    hundredths = int(m) + (1 if m - int(m) >= fractions.Fraction(1, 2) else 0)
    return "%d.%02d" % divmod(hundredths, 100)


def iso(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def expected_payload(v, regs):
    """What the reporter must send for rollup v (the schema's documented mapping)."""
    e = dict(v)
    e["key"] = "%s|%s|%s" % (v["window_kind"], v["window"], v["region"])
    e["region_name"] = regs[v["region"]]["name"] if v["region"] in regs else None
    e["first_event_at"] = iso(v["first_event_at"])
    e["last_event_at"] = iso(v["last_event_at"])
    e["funding_yuan"] = yuan(v["funding_fen"])
    e["funding_by_source_yuan"] = {k: yuan(x) for k, x in v["funding_by_source_fen"].items()}
    e["funding_by_purpose_yuan"] = {k: yuan(x) for k, x in v["funding_by_purpose_fen"].items()}
    e["satisfaction_mean"] = mean(v["satisfaction"])
    return e


def compare(got, want, regs, allow_missing=()):
    errors = []
    for key, v in sorted(want.items()):
        if key not in got:
            if key not in allow_missing:
                errors.append("%s: missing (latest revision %d)" % (key, v["revision"]))
            continue
        exp = expected_payload(v, regs)
        g = got[key]
        if g.get("revision") != exp["revision"] and key in allow_missing:
            continue
        for field, x in exp.items():
            if g.get(field) != x:
                errors.append("%s: %s = %r, expected %r" % (key, field, g.get(field), x))
    for key in sorted(set(got) - set(want)):
        errors.append("%s: not in the topic" % key)
    return errors


def cmd_expect(a):
    latest = decode_dump(a.dump)
    json.dump({k: v["revision"] for k, v in sorted(latest.items())}, sys.stdout, ensure_ascii=False)
    print()


def fetch(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read().decode("utf-8"))


def cmd_compare(a):
    regs = regions()
    want = decode_dump(a.dump, a.registry)
    if a.registry and not want:
        fail(["no rollup in %s" % a.dump])
    allow = set()
    if a.allow_dlq:
        for line in open(a.allow_dlq, encoding="utf-8"):
            m = json.loads(line)
            if m["headers"].get("dlq.reason") == "rejected":
                batch = json.loads(bytes.fromhex(m["hex"]).decode("utf-8"))
                allow.update(r["key"] for r in batch["rollups"])
    if a.files:
        got = {}
        for path in sorted(glob.glob(os.path.join(a.files, "*.jsonl"))):
            for line in open(path, encoding="utf-8"):
                r = json.loads(line)
                if r["key"] not in got or got[r["key"]]["revision"] < r["revision"]:
                    got[r["key"]] = r
        if glob.glob(os.path.join(a.files, ".*.tmp")):
            fail(["temporary files left in %s" % a.files])
    else:
        body = fetch(a.sink.rstrip("/") + "/rollups", a.token)
        rollups = body["rollups"]
        keys = [r["key"] for r in rollups]
        if keys != sorted(keys, key=lambda k: k.encode("utf-8")):
            fail(["GET /rollups is not sorted by key"])
        if body["count"] != len(rollups):
            fail(["GET /rollups count %d != %d rollups" % (body["count"], len(rollups))])
        got = {r["key"]: r for r in rollups}
    errors = compare(got, want, regs, allow)
    if errors:
        print("compare: %d difference(s) over %d keys" % (len(errors), len(want)), file=sys.stderr)
        fail(errors)
    print("compare: %d rollups equal the topic's latest revisions%s" %
          (len(want), " (%d keys of a rejected batch tolerated)" % len(allow) if allow else ""))


# ---- schema -------------------------------------------------------------------------------

def cmd_schema(a):
    import jsonschema
    schema = json.load(open(a.schema, encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors, n, rollups = [], 0, 0
    for meta_path in sorted(glob.glob(os.path.join(a.dump_dir, "*.meta.json"))):
        meta = json.load(open(meta_path, encoding="utf-8"))
        raw = open(meta_path.replace(".meta.json", ".body"), "rb").read()
        if meta.get("content_encoding") != "gzip" or raw[:2] != b"\x1f\x8b":
            errors.append("%s: not gzip (Content-Encoding %r)" % (meta_path, meta.get("content_encoding")))
            continue
        doc = json.loads(gzip.decompress(raw).decode("utf-8"))
        for e in v.iter_errors(doc):
            errors.append("%s: %s at %s" % (meta_path, e.message[:200], "/".join(map(str, e.absolute_path))))
        if doc.get("batch_id") != meta.get("idempotency_key"):
            errors.append("%s: batch_id %r is not the Idempotency-Key %r" %
                          (meta_path, doc.get("batch_id"), meta.get("idempotency_key")))
        n += 1
        rollups += len(doc.get("rollups", []))
    if n < a.min_bodies:
        errors.append("only %d bodies in %s" % (n, a.dump_dir))
    if errors:
        fail(errors)
    print("schema: %d gzip bodies (%d rollups) valid against %s" % (n, rollups, os.path.basename(a.schema)))


# ---- the page -----------------------------------------------------------------------------

class Table(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.field, self.text, self.window = [], None, None, "", None
        self.value = None

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        if tag == "table" and at.get("id") == "rollups":
            self.window = at.get("data-window")
        if tag == "tr" and "data-key" in at:
            self.row = {"_key": at["data-key"], "_class": at.get("class")}
        if tag == "td" and self.row is not None and "data-field" in at:
            self.field, self.text = at["data-field"], ""
            self.value = at.get("data-value")  # a symbol shown by its display name

    def handle_data(self, data):
        if self.field:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "td" and self.field:
            self.row[self.field] = self.text if self.value is None else self.value
            self.field = None
        if tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None


def cell_text(v):
    return "\u2014" if v is None else str(v)


def cmd_dom(a):
    p = Table()
    p.feed(open(a.html, encoding="utf-8").read())
    rollups = json.load(open(a.rollups, encoding="utf-8"))["rollups"]
    want = [r for r in rollups if "%s|%s" % (r["window_kind"], r["window"]) == a.window
            and r["level"] in ("PROVINCE", "PREFECTURE")]
    want.sort(key=lambda r: r["region"])
    errors = []
    if p.window != a.window:
        errors.append("page shows window %r, not %r" % (p.window, a.window))
    if [r["_key"] for r in p.rows] != [r["key"] for r in want]:
        errors.append("rows %s != %s" % ([r["_key"] for r in p.rows][:6], [r["key"] for r in want][:6]))
    cells = 0
    for row, r in zip(p.rows, want):
        for field, text in row.items():
            if field.startswith("_"):
                continue
            cells += 1
            if text != cell_text(r.get(field)):
                errors.append("%s: %s shows %r, /rollups has %r" % (r["key"], field, text, r.get(field)))
        if row["_class"] != r["level"].lower():
            errors.append("%s: row class %r" % (r["key"], row["_class"]))
    # Province first, then its prefectures.
    last_prov = None
    for row in p.rows:
        if row["_class"] == "province":
            last_prov = row["region"][:2]
        elif row["region"][:2] != last_prov:
            errors.append("%s: prefecture not under its province" % row["_key"])
    if not p.rows:
        errors.append("no rows")
    if errors:
        fail(errors)
    print("dom: window %s: %d rows, %d cells equal GET /rollups" % (a.window, len(p.rows), cells))


# ---- DLQ ----------------------------------------------------------------------------------

def cmd_dlq(a):
    msgs = [json.loads(l) for l in open(a.dump, encoding="utf-8")]
    reasons = collections.Counter(m["headers"].get("dlq.reason") for m in msgs)
    errors = []
    for r in a.want:
        name, n = r.split("=")
        if reasons.get(name, 0) != int(n):
            errors.append("dlq.reason %s: %d messages, expected %s (all: %s)" % (name, reasons.get(name, 0), n, dict(reasons)))
    for m in msgs:
        h = m["headers"]
        if h.get("dlq.endpoint") != a.endpoint:
            errors.append("dlq.endpoint %r" % h.get("dlq.endpoint"))
        if not (h.get("dlq.time") or "").isdigit():
            errors.append("dlq.time %r" % h.get("dlq.time"))
        if h.get("dlq.reason") == "rejected":
            if h.get("dlq.status") != a.status:
                errors.append("dlq.status %r, expected %r" % (h.get("dlq.status"), a.status))
            if a.body_contains not in (h.get("dlq.body") or ""):
                errors.append("dlq.body %r lacks %r" % (h.get("dlq.body"), a.body_contains))
            batch = json.loads(bytes.fromhex(m["hex"]).decode("utf-8"))
            if batch["batch_id"] != h.get("dlq.batch_id") or batch["batch_id"] != m["key"]:
                errors.append("batch_id %r vs header %r / key %r" % (batch["batch_id"], h.get("dlq.batch_id"), m["key"]))
            if not batch["rollups"]:
                errors.append("rejected batch without rollups")
    if errors:
        fail(errors)
    print("dlq: %s" % dict(reasons))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--partitions", type=int, default=3)
    g.add_argument("--revisions", type=int, default=4)
    g.add_argument("--first-revision", type=int, default=1)
    g.add_argument("--junk", action="store_true")
    g.add_argument("--corrections", action="store_true",
                   help="rollup.v2 records with a corrections count (else rollup.v1)")
    g.add_argument("--out", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("messages")
    e = sub.add_parser("expect")
    e.add_argument("--dump", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--dump", required=True)
    c.add_argument("--sink")
    c.add_argument("--files")
    c.add_argument("--token")
    c.add_argument("--allow-dlq")
    c.add_argument("--registry", help="schema registry URL: rollups may be Confluent-framed")
    s = sub.add_parser("schema")
    s.add_argument("--schema", default=os.path.join(ROOT, "schemas", "rollup-batch.schema.json"))
    s.add_argument("--dump-dir", required=True)
    s.add_argument("--min-bodies", type=int, default=1)
    d = sub.add_parser("dom")
    d.add_argument("--html", required=True)
    d.add_argument("--rollups", required=True)
    d.add_argument("--window", required=True)
    q = sub.add_parser("dlq")
    q.add_argument("--dump", required=True)
    q.add_argument("--endpoint", required=True)
    q.add_argument("--status", default="400")
    q.add_argument("--body-contains", default="")
    q.add_argument("--want", nargs="*", default=[])
    a = ap.parse_args()
    {"gen": cmd_gen, "produce": cmd_produce, "expect": cmd_expect, "compare": cmd_compare,
     "schema": cmd_schema, "dom": cmd_dom, "dlq": cmd_dlq}[a.cmd](a)


if __name__ == "__main__":
    main()
