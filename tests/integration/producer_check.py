"""Independent check of what outreach-producer published (standard library only).

Reads the input files itself (JSON Lines with json, CSV with the csv module), applies the
schema defaults from schemas/*.avsc, derives the missing event ids with the algorithm of
docs/producer.md, and compares the result field by field with the messages of a topic as
kcat fetched them: Avro single-object encoding decoded here (its own CRC-64-AVRO, Parsing
Canonical Form and binary decoder), key = province code, header type = record type.

Usage:
  producer_check.py --repo ROOT --dump FILE [--skip FILE:LINE]... [--copies N | --at-least]
                    INPUT...
  producer_check.py --repo ROOT --derive INPUT...   (prints LINE<TAB>event_id per record)

--dump is the output of: kcat -C -b B -t T -e -q -f 'M %p %o %k %S %h\\n%s\\n'
--skip FILE:LINE excludes the record starting at that line (a line the producer must reject).
--copies N: every good record is in the topic exactly N times (default 1); --at-least: at
least once (a re-published file after kill -9). Either way nothing else is in the topic.
Exit status 0 when everything matches; otherwise the first differences are printed.
"""

import argparse
import csv
import datetime
import glob
import hashlib
import json
import os
import sys

PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
ID_DOMAIN = "outreach-event-id-v1"

# ---- schemas ---------------------------------------------------------------------------


def _crc64_table():
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    return empty, table


_CRC_EMPTY, _CRC_TABLE = _crc64_table()


def crc64_avro(data):
    fp = _CRC_EMPTY
    for b in data:
        fp = (fp >> 8) ^ _CRC_TABLE[(fp ^ b) & 0xFF]
    return fp


def full_name(name, ns):
    if "." in name:
        return name
    return ns + "." + name if ns else name


def pcf(s, ns, seen):
    """Parsing Canonical Form, from the Avro specification."""
    if isinstance(s, str):
        return json.dumps(s if s in PRIMS else full_name(s, ns))
    if isinstance(s, list):
        return "[" + ",".join(pcf(x, ns, seen) for x in s) + "]"
    t = s["type"]
    if t in ("record", "enum", "fixed"):
        name = full_name(s["name"], s.get("namespace", ns))
        inner_ns = name.rsplit(".", 1)[0] if "." in name else ""
        if name in seen:
            return json.dumps(name)
        seen.add(name)
        parts = ['"name":' + json.dumps(name), '"type":' + json.dumps(t)]
        if t == "record":
            fields = [
                '{"name":' + json.dumps(f["name"]) + ',"type":' + pcf(f["type"], inner_ns, seen) + "}"
                for f in s["fields"]
            ]
            parts.append('"fields":[' + ",".join(fields) + "]")
        elif t == "enum":
            parts.append('"symbols":[' + ",".join(json.dumps(x) for x in s["symbols"]) + "]")
        else:
            parts.append('"size":' + str(s["size"]))
        return "{" + ",".join(parts) + "}"
    if t == "array":
        return '{"type":"array","items":' + pcf(s["items"], ns, seen) + "}"
    if t == "map":
        return '{"type":"map","values":' + pcf(s["values"], ns, seen) + "}"
    return pcf(t, ns, seen)


class Schema:
    def __init__(self, path):
        base = os.path.basename(path)[: -len(".avsc")]
        self.type, version = base.rsplit(".v", 1)
        self.version = int(version)
        with open(path, encoding="utf-8") as f:
            self.json = json.load(f)
        self.names = {}
        self._collect(self.json, "")
        self.fingerprint = crc64_avro(pcf(self.json, "", set()).encode())

    def _collect(self, s, ns):
        if isinstance(s, list):
            for x in s:
                self._collect(x, ns)
        elif isinstance(s, dict):
            t = s["type"]
            if t in ("record", "enum", "fixed"):
                name = full_name(s["name"], s.get("namespace", ns))
                self.names[name] = s
                inner = name.rsplit(".", 1)[0]
                for f in s.get("fields", []):
                    self._collect(f["type"], inner)
            elif t == "array":
                self._collect(s["items"], ns)
            elif t == "map":
                self._collect(s["values"], ns)
            elif isinstance(t, (dict, list)):
                self._collect(t, ns)

    def resolve(self, s, ns="org.outreach.event"):
        """A type node with references and {"type": X} wrappers resolved."""
        while True:
            if isinstance(s, str):
                if s in PRIMS:
                    return s
                s = self.names[full_name(s, ns)]
            elif isinstance(s, dict) and s["type"] not in ("record", "enum", "fixed", "array", "map"):
                if isinstance(s["type"], str) and s["type"] in PRIMS:
                    return s  # a primitive with attributes (logicalType)
                s = s["type"]
            else:
                return s


def kind(node):
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "union"
    return node["type"]


def load_schemas(repo):
    schemas = [Schema(p) for p in sorted(glob.glob(os.path.join(repo, "schemas", "*.avsc")))]
    by_fp = {s.fingerprint: s for s in schemas}
    newest = {}
    for s in schemas:
        if s.type not in newest or s.version > newest[s.type].version:
            newest[s.type] = s
    return by_fp, newest


# ---- Avro binary ----------------------------------------------------------------------


class Reader:
    def __init__(self, data):
        self.d = data
        self.i = 0

    def long(self):
        shift = n = 0
        while True:
            b = self.d[self.i]
            self.i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return (n >> 1) ^ -(n & 1)

    def take(self, n):
        if n < 0 or self.i + n > len(self.d):
            raise ValueError("truncated")
        v = self.d[self.i : self.i + n]
        self.i += n
        return v


def decode(schema, node, r):
    node = schema.resolve(node)
    k = kind(node)
    if k in ("null",):
        return None
    if k == "boolean":
        return r.take(1) != b"\x00"
    if k in ("int", "long"):
        return r.long()
    if k == "string":
        return r.take(r.long()).decode("utf-8")
    if k == "union":
        return decode(schema, node[r.long()], r)
    if k == "enum":
        return node["symbols"][r.long()]
    if k == "array":
        out = []
        while True:
            n = r.long()
            if n == 0:
                return out
            if n < 0:
                n = -n
                r.long()
            for _ in range(n):
                out.append(decode(schema, node["items"], r))
    if k == "record":
        return {f["name"]: decode(schema, f["type"], r) for f in node["fields"]}
    if isinstance(node, dict) and node["type"] in ("int", "long"):
        return r.long()
    raise ValueError("unsupported type %r" % (node,))


def decode_message(by_fp, newest, payload):
    if len(payload) < 10 or payload[0] != 0xC3 or payload[1] != 0x01:
        raise ValueError("not single-object encoded")
    fp = int.from_bytes(payload[2:10], "little")
    writer = by_fp.get(fp)
    if writer is None:
        raise ValueError("unknown fingerprint %016x" % fp)
    r = Reader(payload[10:])
    value = decode(writer, writer.json, r)
    if r.i != len(r.d):
        raise ValueError("trailing bytes")
    reader = newest[writer.type]
    for f in reader.json["fields"]:  # writer -> reader: added fields take their default
        if f["name"] not in value:
            value[f["name"]] = f["default"]
    return writer.type, value


def read_dump(path):
    """Messages of a kcat dump made with -f 'M %p %o %k %S %h\\n%s\\n'."""
    with open(path, "rb") as f:
        data = f.read()
    i, out = 0, []
    while i < len(data):
        nl = data.index(b"\n", i)
        head = data[i:nl].decode().split(" ")
        if head[0] != "M" or len(head) < 5:
            raise ValueError("bad dump line at byte %d: %r" % (i, data[i:nl]))
        size = int(head[4])
        headers = dict(h.split("=", 1) for h in " ".join(head[5:]).split(",") if "=" in h)
        payload = data[nl + 1 : nl + 1 + size]
        out.append({"partition": int(head[1]), "offset": int(head[2]), "key": head[3],
                    "headers": headers, "payload": payload})
        i = nl + 1 + size + 1
    return out


# ---- input files ----------------------------------------------------------------------


def parse_time(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    s = v.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    d = datetime.datetime.fromisoformat(s.replace("z", "Z"))
    if d.tzinfo is None:
        raise ValueError("no offset")
    return (d - EPOCH) // datetime.timedelta(milliseconds=1)


def is_ts(field):
    t = field["type"]
    return isinstance(t, dict) and t.get("logicalType") == "timestamp-millis"


def csv_value(schema, node, text):
    node = schema.resolve(node)
    k = kind(node)
    if k == "union":
        other = [b for b in node if b != "null"][0]
        return csv_value(schema, other, text)
    if k == "string":
        return text
    text = text.strip()
    if k == "enum":
        return text
    if k == "boolean":  # docs/producer.md: true/false (any case), 1/0, 是/否
        if text.lower() in ("true", "1", "是"):
            return True
        if text.lower() in ("false", "0", "否"):
            return False
        raise ValueError("not a boolean: %r" % text)
    if k in ("int", "long") or (isinstance(node, dict) and node["type"] in ("int", "long")):
        return int(text)
    if k == "array":
        items = schema.resolve(node["items"])
        out = []
        for piece in text.split(";"):
            piece = piece.strip()
            if not piece:
                continue
            if kind(items) == "record":
                a, b = piece.split(":", 1)
                f0, f1 = items["fields"]
                out.append({f0["name"]: csv_value(schema, f0["type"], a),
                            f1["name"]: csv_value(schema, f1["type"], b)})
            else:
                out.append(csv_value(schema, items, piece))
        return out
    raise ValueError("no CSV form for %r" % (node,))


def complete(schema, rec):
    """The record as the reader schema holds it: times in ms, defaults filled in."""
    out = {}
    for f in schema.json["fields"]:
        name = f["name"]
        node = schema.resolve(f["type"])
        if name in rec:
            v = rec[name]
            if is_ts(f):
                v = parse_time(v)
            elif kind(node) == "record":
                v = dict(v)
                for sf in node["fields"]:
                    if sf["name"] not in v:
                        v[sf["name"]] = sf["default"]
            out[name] = v
        elif "default" in f:
            out[name] = f["default"]
        else:
            raise ValueError("missing " + name)
    return out


def json_str(s):
    return json.dumps(s, ensure_ascii=False)


def canon(schema, node, v, top=False):
    node = schema.resolve(node)
    k = kind(node)
    if k == "union":
        if v is None:
            return "null"
        return canon(schema, [b for b in node if b != "null"][0], v)
    if k == "record":
        parts = []
        for f in sorted(node["fields"], key=lambda f: f["name"].encode()):
            name = f["name"]
            if top and name in ("event_id", "reported_at"):
                continue
            if "default" in f and v[name] == f["default"]:
                continue
            parts.append(json_str(name) + ":" + canon(schema, f["type"], v[name]))
        return "{" + ",".join(parts) + "}"
    if k == "array":
        items = sorted((canon(schema, node["items"], x) for x in v), key=lambda s: s.encode())
        return "[" + ",".join(items) + "]"
    if k in ("string", "enum"):
        return json_str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    raise ValueError("cannot canonicalise %r" % (v,))


def derive_id(schema, rec):
    text = ID_DOMAIN + "\n" + schema.type + "\n" + canon(schema, schema.json, rec, top=True)
    return "d-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def read_records(path, newest, skip=()):
    """(line, type, record) for each non-blank record of a JSON Lines or CSV file, except
    the lines in skip (FILE:LINE strings)."""
    out = []
    if path.endswith(".csv"):
        with open(path, encoding="utf-8-sig", newline="") as f:
            rd = csv.reader(f)
            header = None
            prev = 0
            for row in rd:
                start, prev = prev + 1, rd.line_num
                if not row or all(not c.strip() for c in row):
                    continue
                if header is None:
                    header = [h.strip() for h in row]
                    continue
                if "%s:%d" % (path, start) in skip:
                    continue
                cells = dict(zip(header, row))
                t = cells.get("type", "").strip()
                schema = newest[t]
                subs = {}
                for f in schema.json["fields"]:
                    node = schema.resolve(f["type"])
                    if kind(node) == "record":
                        for sf in node["fields"]:
                            subs[sf["name"]] = (f["name"], sf)
                rec = {}
                for f in schema.json["fields"]:
                    node = schema.resolve(f["type"])
                    if kind(node) == "record":
                        if any(sf["name"] in cells for sf in node["fields"]):
                            rec[f["name"]] = {}
                        continue
                    text = cells.get(f["name"])
                    if text is None:
                        continue
                    if kind(node) == "array":
                        rec[f["name"]] = csv_value(schema, node, text)
                    elif is_ts(f):
                        if text.strip():
                            rec[f["name"]] = text.strip()
                    elif text.strip() == "" and (kind(node) != "string" or text == ""):
                        continue
                    else:
                        rec[f["name"]] = csv_value(schema, node, text)
                for col, text in cells.items():
                    if col in subs and text.strip():
                        top, sf = subs[col]
                        rec[top][sf["name"]] = csv_value(schema, sf["type"], text)
                out.append((start, t, rec))
    else:
        with open(path, encoding="utf-8-sig") as f:
            for n, line in enumerate(f, 1):
                if not line.strip() or "%s:%d" % (path, n) in skip:
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
                if not isinstance(obj, dict):
                    out.append((n, None, None))
                    continue
                t = obj.pop("type", None)
                if obj.get("event_id", "") is None:
                    del obj["event_id"]
                out.append((n, t, obj))
    return out


def expected_events(paths, skip, newest):
    exp = []
    for path in paths:
        for line, t, rec in read_records(path, newest, skip):
            if t not in newest:
                raise ValueError("%s:%d: not a good record: --skip it" % (path, line))
            schema = newest[t]
            full = complete(schema, dict(rec, event_id=rec.get("event_id") or ""))
            if not rec.get("event_id"):
                full["event_id"] = derive_id(schema, full)
            exp.append((path, line, t, full))
    return exp


# ---- main -----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--dump")
    ap.add_argument("--skip", action="append", default=[])
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--at-least", action="store_true")
    ap.add_argument("--derive", action="store_true")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()
    by_fp, newest = load_schemas(args.repo)

    if args.derive:
        for path in args.inputs:
            for line, t, rec in read_records(path, newest):
                schema = newest[t]
                full = complete(schema, dict(rec, event_id=rec.get("event_id") or ""))
                eid = rec.get("event_id") or derive_id(schema, full)
                print("%s:%d\t%s" % (path, line, eid))
        return 0

    exp = expected_events(args.inputs, set(args.skip), newest)
    want = {}
    for path, line, t, rec in exp:
        if rec["event_id"] in want and want[rec["event_id"]][3] != rec:
            print("input: %s:%d repeats event_id %s with other content" % (path, line, rec["event_id"]))
            return 1
        want[rec["event_id"]] = (path, line, t, rec)

    got = {}
    problems = []
    for m in read_dump(args.dump):
        where = "partition %d offset %d" % (m["partition"], m["offset"])
        try:
            t, v = decode_message(by_fp, newest, m["payload"])
        except (ValueError, IndexError, KeyError) as e:
            problems.append("%s: undecodable: %s" % (where, e))
            continue
        eid = v["event_id"]
        got[eid] = got.get(eid, 0) + 1
        if eid not in want:
            problems.append("%s: event %s is not a good input record" % (where, eid))
            continue
        path, line, wt, wrec = want[eid]
        src = "%s:%d" % (path, line)
        if t != wt:
            problems.append("%s: %s: type %s, expected %s" % (where, src, t, wt))
        if m["headers"].get("type") != wt:
            problems.append("%s: %s: header type=%r, expected %s" % (where, src, m["headers"].get("type"), wt))
        key = wrec["region"][:2] + "0000"
        if m["key"] != key:
            problems.append("%s: %s: key %s, expected %s" % (where, src, m["key"], key))
        for name in wrec:
            if v.get(name) != wrec[name]:
                problems.append("%s: %s: %s = %r, expected %r" % (where, src, name, v.get(name), wrec[name]))
        for name in v:
            if name not in wrec:
                problems.append("%s: %s: unexpected field %s" % (where, src, name))
    in_input = {}
    for e in exp:
        in_input[e[3]["event_id"]] = in_input.get(e[3]["event_id"], 0) + 1
    for eid, (path, line, t, rec) in want.items():
        n = got.get(eid, 0)
        copies = in_input[eid] * args.copies
        if n == 0:
            problems.append("%s:%d: event %s was not published" % (path, line, eid))
        elif not args.at_least and n != copies:
            problems.append("%s:%d: event %s published %d times, expected %d" % (path, line, eid, n, copies))
    if problems:
        for p in problems[:40]:
            print(p)
        if len(problems) > 40:
            print("... and %d more" % (len(problems) - 40))
        return 1
    print("producer_check: %d good records, %d distinct ids, %d messages: all match"
          % (len(exp), len(want), sum(got.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
