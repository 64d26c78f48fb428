"""Interop tests: bin/outreach-codec against two independent Avro implementations, Apache avro
(Python) and fastavro. Usage: test_interop.py REPO_ROOT [unittest options, e.g. -v, -k visit].

What is proved, for every schemas/*.avsc:
  a. our Parsing Canonical Form and CRC-64-AVRO fingerprint equal theirs and the Avro spec's;
  b. messages made by `outreach-codec encode` decode in avro and fastavro to the input records;
  c. bodies written by avro and fastavro, framed here, decode in `outreach-codec decode` to the
     same records, and v1 bodies come out as v2 exactly as avro's own schema resolution says;
  d. hostile lines are reported as `stdin:LINE: framing|unknown-schema|malformed: ...` while the
     good lines of the same input still decode.
Expected values never come from the code under test.
"""

import copy
import datetime
import glob
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

import avro.io
import avro.schema
import fastavro
import fastavro.schema

ROOT = None  # set by main() from argv[1]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
# Timestamps that Python's datetime can hold (0001-01-01 .. 9999-12-31): only these can go
# through the logical-type conversions of avro and fastavro.
MS_MIN, MS_MAX = -62135596800000, 253402300799999
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
RECORDS_PER_SCHEMA = 48

# ---- CRC-64-AVRO, written from the Avro specification ("Schema Fingerprints") ---------------

CRC64_EMPTY = 0xC15D213AA4D7A795


def _crc64_table():
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (CRC64_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_CRC64_TABLE = _crc64_table()


def crc64_avro(data: bytes) -> int:
    """The 64-bit Rabin fingerprint of the spec, as an unsigned integer."""
    fp = CRC64_EMPTY
    for b in data:
        fp = (fp >> 8) ^ _CRC64_TABLE[(fp ^ b) & 0xFF]
    return fp


def signed64(u: int) -> int:
    return u - (1 << 64) if u >= (1 << 63) else u


# Canonical forms and fingerprints from Apache Avro's share/test/data/schema-tests.txt (the
# values Java's SchemaNormalization.parsingFingerprint64 gives), as (input, canonical, fp).
SPEC_VECTORS = [
    ('"null"', '"null"', 7195948357588979594),
    ('{"type":"null"}', '"null"', 7195948357588979594),
    ('"boolean"', '"boolean"', -6970731678124411036),
    ('"int"', '"int"', 8247732601305521295),
    ('{"type":"long"}', '"long"', -3434872931120570953),
    ('"float"', '"float"', 5583340709985441680),
    ('"double"', '"double"', -8181574048448539266),
    ('"bytes"', '"bytes"', 5746618253357095269),
    ('{"type":"string"}', '"string"', -8142146995180207161),
    ("[  ]", "[]", -1241056759729112623),
    ('[ "int"  ]', '["int"]', -5232228896498058493),
    ('[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090),
    ('{"fields":[], "type":"record", "name":"foo"}',
     '{"name":"foo","type":"record","fields":[]}', -4824392279771201922),
    ('{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
     '{"name":"x.y.foo","type":"record","fields":[]}', 5916914534497305771),
    ('{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
     '{"name":"a.b.foo","type":"record","fields":[]}', -4616218487480524110),
    ('{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
     '{"name":"foo","type":"record","fields":[]}', -4824392279771201922),
    ('{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
     '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
     7843277075252814651),
    ('{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},\n'
     '            {"order":"descending","name":"f2","doc":"Hello","type":"int"}],\n'
     '  "type":"record", "name":"foo"\n}',
     '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},'
     '{"name":"f2","type":"int"}]}', -4860222112080293046),
    ('{"type":"enum", "name":"foo", "symbols":["A1"]}',
     '{"name":"foo","type":"enum","symbols":["A1"]}', -6342190197741309591),
    ('{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
     '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}', -4448647247586288245),
    ('{"name":"foo","type":"fixed","size":15}',
     '{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
    ('{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
     '{"name":"x.y.z.foo","type":"fixed","size":32}', -3064184465700546786),
    ('{ "items":{"type":"null"}, "type":"array"}',
     '{"type":"array","items":"null"}', -589620603366471059),
    ('{ "values":"string", "type":"map"}',
     '{"type":"map","values":"string"}', -8732877298790414990),
    ('{"name":"PigValue","type":"record",\n'
     ' "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
     '{"name":"PigValue","type":"record","fields":[{"name":"value",'
     '"type":["null","int","long","PigValue"]}]}', -1759257747318642341),
    # Not in the Apache file: a logical type is stripped ([STRIP]) and the primitive then
    # written in its simple form ([PRIMITIVES]), exactly as {"type":"long"} above.
    ('{"type":"long","logicalType":"timestamp-millis"}', '"long"', -3434872931120570953),
]

# ---- helpers ---------------------------------------------------------------------------------


def codec_bin():
    # OUTREACH_CODEC: another build of the tool, e.g. one linked with sanitizers elsewhere.
    return os.environ.get("OUTREACH_CODEC") or os.path.join(ROOT, "bin", "outreach-codec")


def run_codec(args, stdin_text=""):
    return subprocess.run([codec_bin()] + list(args), input=stdin_text.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)


def schema_names():
    return sorted(os.path.basename(p)[: -len(".avsc")]
                  for p in glob.glob(os.path.join(ROOT, "schemas", "*.avsc")))


def schema_text(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc"), encoding="utf-8") as f:
        return f.read()


def strip_logical(obj):
    """The schema without logicalType annotations: same binary encoding, plain longs in Python
    (avro and fastavro turn timestamp-millis into datetime and fail outside years 1-9999)."""
    if isinstance(obj, dict):
        return {k: strip_logical(v) for k, v in obj.items() if k != "logicalType"}
    if isinstance(obj, list):
        return [strip_logical(v) for v in obj]
    return obj


PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def collapse_primitives(obj):
    """Spec rule [PRIMITIVES] applied to a canonical-form JSON value: {"type":"long"} -> "long".
    Python avro 1.12 leaves primitives that carried a logicalType as {"type":"long"} in its
    canonical_form (and so fingerprints them differently from Java, fastavro and us)."""
    if isinstance(obj, dict):
        if set(obj) == {"type"} and obj["type"] in PRIMITIVES:
            return obj["type"]
        return {k: collapse_primitives(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [collapse_primitives(v) for v in obj]
    return obj


def canonical_dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


_LIST_CACHE = {}


def codec_list():
    """name -> (fingerprint as unsigned int from the hex column, signed column, canonical)."""
    if not _LIST_CACHE:
        p = run_codec(["list"])
        if p.returncode != 0:
            raise AssertionError("outreach-codec list: rc %d: %s"
                                 % (p.returncode, p.stderr.decode()))
        for line in p.stdout.decode("utf-8").split("\n")[:-1]:
            name, hexfp, sfp, canon = line.split("\t", 3)
            _LIST_CACHE[name] = (int(hexfp, 16), int(sfp), canon)
    return _LIST_CACHE


class Schemas:
    """Parsed forms of one schema file, built once."""

    _cache = {}

    def __init__(self, name):
        self.name = name
        self.text = schema_text(name)
        self.json = json.loads(self.text)
        self.plain_json = strip_logical(self.json)
        self.avro = avro.schema.parse(self.text)
        self.avro_plain = avro.schema.parse(json.dumps(self.plain_json))
        self.fast = fastavro.parse_schema(copy.deepcopy(self.json))
        self.fast_plain = fastavro.parse_schema(copy.deepcopy(self.plain_json))
        self.pcf = fastavro.schema.to_parsing_canonical_form(copy.deepcopy(self.json))
        # Independent of our code: the test's CRC over fastavro's canonical form.
        self.fingerprint = crc64_avro(self.pcf.encode("utf-8"))

    @classmethod
    def get(cls, name):
        if name not in cls._cache:
            cls._cache[name] = Schemas(name)
        return cls._cache[name]


def header(fp: int) -> bytes:
    return b"\xc3\x01" + fp.to_bytes(8, "little")


def avro_write(schema, record) -> bytes:
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def fast_write(parsed, record) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def avro_read(body, writer, reader=None):
    """Decodes `body` with avro; fails unless it consumes every byte."""
    buf = io.BytesIO(body)
    value = avro.io.DatumReader(writer, reader).read(avro.io.BinaryDecoder(buf))
    if buf.tell() != len(body):
        raise AssertionError("avro left %d bytes unread" % (len(body) - buf.tell()))
    return value


def fast_read(body, writer, reader=None):
    buf = io.BytesIO(body)
    value = fastavro.schemaless_reader(buf, writer, reader)
    if buf.tell() != len(body):
        raise AssertionError("fastavro left %d bytes unread" % (len(body) - buf.tell()))
    return value


def zigzag(n: int) -> bytes:
    """Avro's long encoding, for hand-built (hostile or block-encoded) bodies."""
    u = (n << 1) ^ (n >> 63)
    u &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = u & 0x7F
        u >>= 7
        if u:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# ---- logical types: our JSON has plain longs, avro/fastavro may use datetime -----------------


def _walk(schema, value, fn):
    """Rebuilds `value` of avro schema object `schema`, applying fn(schema, v) to longs that
    carry logicalType timestamp-millis."""
    if isinstance(schema, avro.schema.RecordSchema):
        return {f.name: _walk(f.type, value[f.name], fn) for f in schema.fields}
    if isinstance(schema, avro.schema.ArraySchema):
        return [_walk(schema.items, v, fn) for v in value]
    if isinstance(schema, avro.schema.MapSchema):
        return {k: _walk(schema.values, v, fn) for k, v in value.items()}
    if isinstance(schema, avro.schema.UnionSchema):
        if value is None:
            return None
        branches = [b for b in schema.schemas if b.type != "null"]
        if len(branches) != 1:
            raise AssertionError("only nullable unions are generated")
        return _walk(branches[0], value, fn)
    if schema.get_prop("logicalType") == "timestamp-millis":
        return fn(value)
    return value


class OutOfDatetimeRange(Exception):
    pass


def ms_to_datetime(ms):
    if not MS_MIN <= ms <= MS_MAX:
        raise OutOfDatetimeRange(ms)
    return EPOCH + datetime.timedelta(milliseconds=ms)


def datetime_to_ms(dt):
    return (dt - EPOCH) // datetime.timedelta(milliseconds=1)


def to_logical(s: Schemas, record):
    """The record with datetimes for timestamps, or None when one is outside datetime's range."""
    try:
        return _walk(s.avro, record, ms_to_datetime)
    except OutOfDatetimeRange:
        return None


def from_logical(s: Schemas, record):
    return _walk(s.avro, record, lambda v: datetime_to_ms(v) if isinstance(v, datetime.datetime)
                 else v)


# ---- deterministic record generator ----------------------------------------------------------

FIXED_STRINGS = [
    "", "a", "EVT-2025-000001", "650102", "乌鲁木齐市天山区总工会", "2025 两节送温暖",
    "新就业形态劳动者（快递员、外卖配送员、网约车司机）", "𠮷野家 𩸽 🎉🧧 emoji",
    'quote " backslash \\ slash / brace }{', "tab\tnewline\ncarriage\r", "\u0001\u001f\u007f",
    "é ü ß ÿ", "\u2028\u2029", "\ufeffBOM", "\uffff\U0010ffff", "长" * 200, "x" * 63, "y" * 64,
    "z" * 8192,
]
INTS = [0, 1, -1, 63, -64, 64, -65, 8191, 8192, INT_MIN, INT_MAX, INT_MIN + 1, INT_MAX - 1]
LONGS = [0, 1, -1, LONG_MIN, LONG_MAX, LONG_MIN + 1, LONG_MAX - 1, INT_MIN - 1, INT_MAX + 1,
         2**56, -(2**56), 10000000, 4000000000]
TIMESTAMPS_EXTREME = [LONG_MIN, LONG_MAX, MS_MIN - 1, MS_MAX + 1]
TIMESTAMPS_EDGE = [0, -1, 1, MS_MIN, MS_MAX, 1734652800000]
LENGTHS = [0, 1, 2, 3, 5, 17, 0, 1, 130]


def random_string(rng):
    ranges = [(0x20, 0x7E), (0x4E00, 0x9FFF), (0x3000, 0x303F), (0x20000, 0x2A6DF),
              (0x1F300, 0x1F5FF), (0xA0, 0x24F)]
    out = []
    for _ in range(rng.randint(0, 40)):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


class Generator:
    """Varied records of an avro schema object. Record i takes the i-th value of every pool
    (offset per field), so a few dozen records cover every enum symbol, both branches of every
    nullable union, the integer extremes and empty, single and multi-element arrays and maps."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def record(self, schema, i):
        return self._gen(schema, i, 0, "")

    def _pick(self, pool, i, salt):
        return pool[(i + salt) % len(pool)]

    def _gen(self, schema, i, salt, path):
        rng = self.rng
        if isinstance(schema, avro.schema.RecordSchema):
            return {f.name: self._gen(f.type, i, salt + 7 * (k + 1), path + "." + f.name)
                    for k, f in enumerate(schema.fields)}
        if isinstance(schema, avro.schema.EnumSchema):
            if i < 2 * len(schema.symbols):
                return self._pick(schema.symbols, i, salt)
            return rng.choice(schema.symbols)
        if isinstance(schema, avro.schema.ArraySchema):
            n = self._pick(LENGTHS, i, salt) if i < 3 * len(LENGTHS) else rng.randint(0, 6)
            return [self._gen(schema.items, i + k + 1, salt + k, path + "[]") for k in range(n)]
        if isinstance(schema, avro.schema.MapSchema):
            n = self._pick(LENGTHS, i, salt) if i < 3 * len(LENGTHS) else rng.randint(0, 6)
            out = {}
            k = 0
            while len(out) < n:
                key = ("" if k == 0 and i % 3 == 0 else
                       self._pick(FIXED_STRINGS[:12], i + k, salt) + "·" + str(k)
                       if k % 2 else random_string(rng) + str(k))
                out[key] = self._gen(schema.values, i + k + 1, salt + k, path + "{}")
                k += 1
            return out
        if isinstance(schema, avro.schema.UnionSchema):
            if (i + salt) % 2 == 0:
                return None
            return self._gen([b for b in schema.schemas if b.type != "null"][0], i, salt, path)
        t = schema.type
        if schema.get_prop("logicalType") == "timestamp-millis":
            if i % 12 == 5:
                return self._pick(TIMESTAMPS_EXTREME, i // 12, salt)
            if i % 12 == 6:
                return self._pick(TIMESTAMPS_EDGE, i // 12, salt)
            return rng.randint(1577836800000, 1893456000000)  # 2020 .. 2030
        if t == "string":
            if i < 3 * len(FIXED_STRINGS) and (i + salt) % 3 != 2:
                return self._pick(FIXED_STRINGS, i, salt)
            return random_string(rng)
        if t == "int":
            return self._pick(INTS, i, salt) if (i + salt) % 2 else rng.randint(INT_MIN, INT_MAX)
        if t == "long":
            return (self._pick(LONGS, i, salt) if (i + salt) % 2
                    else rng.randint(LONG_MIN, LONG_MAX))
        if t == "boolean":
            return (i + salt) % 2 == 1
        if t == "null":
            return None
        raise AssertionError("%s: generator has no rule for %s" % (path, t))


def records_for(name, count=RECORDS_PER_SCHEMA):
    s = Schemas.get(name)
    gen = Generator("outreach-interop:" + name)
    # Walk the real schema: the generator needs to see which longs are timestamps.
    return [gen.record(s.avro, i) for i in range(count)]


def symbols_used(schema, records):
    """Enum full name -> set of symbols appearing in `records` (for the coverage check)."""
    used = {}

    def walk(sc, v):
        if isinstance(sc, avro.schema.RecordSchema):
            for f in sc.fields:
                walk(f.type, v[f.name])
        elif isinstance(sc, avro.schema.ArraySchema):
            for x in v:
                walk(sc.items, x)
        elif isinstance(sc, avro.schema.MapSchema):
            for x in v.values():
                walk(sc.values, x)
        elif isinstance(sc, avro.schema.UnionSchema):
            if v is not None:
                walk([b for b in sc.schemas if b.type != "null"][0], v)
        elif isinstance(sc, avro.schema.EnumSchema):
            used.setdefault(sc.fullname, set()).add(v)

    for r in records:
        walk(schema, r)
    return used


def enum_symbols(schema, out=None):
    out = {} if out is None else out
    if isinstance(schema, avro.schema.RecordSchema):
        for f in schema.fields:
            enum_symbols(f.type, out)
    elif isinstance(schema, avro.schema.ArraySchema):
        enum_symbols(schema.items, out)
    elif isinstance(schema, avro.schema.MapSchema):
        enum_symbols(schema.values, out)
    elif isinstance(schema, avro.schema.UnionSchema):
        for b in schema.schemas:
            enum_symbols(b, out)
    elif isinstance(schema, avro.schema.EnumSchema):
        out[schema.fullname] = set(schema.symbols)
    return out


def to_json_lines(records):
    # Alternate raw UTF-8 and \u escapes (surrogate pairs for non-BMP) to exercise both.
    return "".join(json.dumps(r, ensure_ascii=(k % 2 == 0)) + "\n"
                   for k, r in enumerate(records))


def decode_lines(hex_lines):
    p = run_codec(["decode"], "".join(h + "\n" for h in hex_lines))
    # Split on \n only: str.splitlines() would also split inside U+2028 or U+0085 in strings.
    return p, p.stdout.decode("utf-8").split("\n")[:-1], p.stderr.decode("utf-8")


def newest_version(name):
    kind = name.rsplit(".v", 1)[0]
    versions = [n for n in schema_names() if n.rsplit(".v", 1)[0] == kind]
    return max(versions, key=lambda n: int(n.rsplit(".v", 1)[1]))


def brief(value, limit=160):
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


class Case(unittest.TestCase):
    # Records carry strings of thousands of characters: keep failure diffs readable.
    maxDiff = 3000


# ---- a. fingerprints and canonical form ------------------------------------------------------


class Fingerprints(Case):
    """Our Parsing Canonical Form and CRC-64-AVRO against the spec, avro and fastavro."""

    def test_crc64_matches_spec_vectors(self):
        for _, canon, fp in SPEC_VECTORS:
            with self.subTest(canonical=canon):
                self.assertEqual(signed64(crc64_avro(canon.encode())), fp)

    def test_crc64_matches_avro_and_fastavro(self):
        for _, canon, fp in SPEC_VECTORS:
            with self.subTest(canonical=canon):
                want = (fp & (2**64 - 1)).to_bytes(8, "little")
                # avro and fastavro give the fingerprint as its 8 little-endian bytes.
                self.assertEqual(avro.schema._crc_64_fingerprint(canon.encode()), want)
                self.assertEqual(fastavro.schema.fingerprint(canon, "CRC-64-AVRO"), want.hex())

    def test_our_canonical_command_matches_spec_vectors(self):
        with tempfile.TemporaryDirectory() as tmp:
            for k, (text, canon, fp) in enumerate(SPEC_VECTORS):
                with self.subTest(schema=text):
                    path = os.path.join(tmp, "v%d.avsc" % k)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text)
                    p = run_codec(["canonical", path])
                    self.assertEqual(p.returncode, 0, p.stderr.decode())
                    hexfp, got = p.stdout.decode("utf-8").rstrip("\n").split("\t", 1)
                    self.assertEqual(got, canon)
                    self.assertEqual(signed64(int(hexfp, 16)), fp)

    def test_list_has_every_schema_file(self):
        self.assertEqual(sorted(codec_list()), schema_names())

    def check_schema(self, name):
        s = Schemas.get(name)
        fp, sfp, ours = codec_list()[name]
        # Python avro's canonical_form, with [PRIMITIVES] applied where 1.12 omits it.
        theirs_raw = s.avro.canonical_form
        theirs = canonical_dumps(collapse_primitives(json.loads(theirs_raw)))
        self.assertEqual(ours, theirs, "our canonical form differs from avro's")
        self.assertEqual(ours, s.pcf, "our canonical form differs from fastavro's")
        self.assertEqual(crc64_avro(ours.encode("utf-8")), fp)
        self.assertEqual(s.fingerprint, fp)
        self.assertEqual(signed64(fp), sfp, "the signed column is not the hex one as int64")
        self.assertEqual(fastavro.schema.fingerprint(s.pcf, "CRC-64-AVRO"),
                         fp.to_bytes(8, "little").hex())
        self.assertEqual(avro.schema.parse(ours).fingerprint(), fp.to_bytes(8, "little"))
        p = run_codec(["canonical", os.path.join(ROOT, "schemas", name + ".avsc")])
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stdout.decode("utf-8"), "%016x\t%s\n" % (fp, ours))


# ---- b. our bytes decode in theirs -----------------------------------------------------------


class OursDecodeInTheirs(Case):
    """`outreach-codec encode` output read back by avro and fastavro."""

    def test_generator_covers_every_enum_symbol(self):
        for name in schema_names():
            s = Schemas.get(name)
            used = symbols_used(s.avro_plain, records_for(name))
            for enum, symbols in enum_symbols(s.avro_plain).items():
                with self.subTest(schema=name, enum=enum):
                    self.assertEqual(used.get(enum, set()), symbols)

    def check_schema(self, name):
        s = Schemas.get(name)
        records = records_for(name)
        p = run_codec(["encode", name], to_json_lines(records))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stderr, b"")
        lines = p.stdout.decode("ascii").splitlines()
        self.assertEqual(len(lines), len(records))
        converted = 0
        for k, (line, rec) in enumerate(zip(lines, records)):
            with self.subTest(record=k, value=brief(rec)):
                msg = bytes.fromhex(line)
                self.assertEqual(msg[:2], b"\xc3\x01", "single-object magic")
                self.assertEqual(int.from_bytes(msg[2:10], "little"), s.fingerprint,
                                 "fingerprint (little-endian)")
                body = msg[10:]
                self.assertEqual(avro_read(body, s.avro_plain), rec, "avro")
                self.assertEqual(fast_read(body, s.fast_plain), rec, "fastavro")
                # The writers of both libraries produce the very same bytes.
                self.assertEqual(body, avro_write(s.avro_plain, rec), "bytes differ from avro's")
                self.assertEqual(body, fast_write(s.fast, rec), "bytes differ from fastavro's")
                if to_logical(s, rec) is not None:
                    converted += 1
                    # Through the real schema: timestamp-millis as datetime, back to millis.
                    self.assertEqual(from_logical(s, avro_read(body, s.avro)), rec,
                                     "avro, logical types")
                    self.assertEqual(from_logical(s, fast_read(body, s.fast)), rec,
                                     "fastavro, logical types")
        self.assertGreater(converted, len(records) // 2)


# ---- c. their bytes decode in ours -----------------------------------------------------------


def expected_after_resolution(name, body):
    """What the newest schema of the type makes of `body` (written with `name`), according to
    avro's schema resolution, cross-checked with fastavro's."""
    s = Schemas.get(name)
    r = Schemas.get(newest_version(name))
    want = avro_read(body, s.avro_plain, r.avro_plain)
    also = fast_read(body, s.fast_plain, r.fast_plain)
    if want != also:
        raise AssertionError("avro and fastavro resolve differently: %s vs %s"
                             % (brief(want), brief(also)))
    return want


class TheirBytesDecodeInOurs(Case):
    """Bodies written by avro and fastavro, framed by the test, read by `outreach-codec decode`."""

    def check_writer(self, name, writer):
        s = Schemas.get(name)
        records = records_for(name)
        bodies = []
        for rec in records:
            if writer == "avro":
                logical = to_logical(s, rec)
                # avro's writer wants datetime for timestamp-millis; where a value is out of
                # datetime's range write through the schema without logical types instead.
                body = (avro_write(s.avro, logical) if logical is not None
                        else avro_write(s.avro_plain, rec))
            else:
                body = fast_write(s.fast, rec)
            bodies.append(body)
        msgs = [(header(s.fingerprint) + b).hex() for b in bodies]
        p, out, err = decode_lines(msgs)
        self.assertEqual(err, "")
        self.assertEqual(p.returncode, 0)
        self.assertEqual(len(out), len(records))
        reader = newest_version(name)
        for k, (line, rec, body) in enumerate(zip(out, records, bodies)):
            with self.subTest(record=k, value=brief(rec)):
                got = json.loads(line)
                want = rec if reader == name else expected_after_resolution(name, body)
                self.assertEqual(got, want)

    def test_v1_to_v2_defaults(self):
        # Spot check of what the resolution must add, independently of any library: the
        # fields of v2 and of v3 (corrections), with their defaults.
        v3 = {"correction": 0, "retracted": False, "correction_reason": None}
        cases = {
            "visit.v1": dict({"duration_minutes": 0, "venue": "UNSPECIFIED", "note": None}, **v3),
            "funding.v1": dict({"disbursement": "UNSPECIFIED", "note": None}, **v3),
        }
        for name, added in cases.items():
            with self.subTest(schema=name):
                s = Schemas.get(name)
                rec = records_for(name, 1)[0]
                body = fast_write(s.fast, rec)
                want = dict(rec, **added)
                self.assertEqual(expected_after_resolution(name, body), want)
                p, out, err = decode_lines([(header(s.fingerprint) + body).hex()])
                self.assertEqual((p.returncode, err), (0, ""))
                self.assertEqual(json.loads(out[0]), want)
                self.assertEqual(list(json.loads(out[0])), list(want), "field order")

    def test_array_blocks(self):
        # An array as several blocks, and with negative counts followed by a byte size as Java's
        # BlockingBinaryEncoder writes them: valid Avro that our decoder must accept.
        s = Schemas.get("visit.v3")  # the newest: decoded as written
        rec = records_for("visit.v3", 1)[0]
        rec["target_groups"] = ["SANITATION", "CONSTRUCTION", "OTHER"]
        rec["note"] = "分块编码"
        plain = avro_write(s.avro_plain, rec)
        symbols = s.avro_plain.fields_dict["target_groups"].type.items.symbols
        items = [zigzag(symbols.index(g)) for g in rec["target_groups"]]
        one_block = zigzag(3) + b"".join(items) + b"\x00"
        self.assertEqual(plain.count(one_block), 1, "the array is found in the body")
        head, tail = plain.split(one_block, 1)
        variants = {
            "three blocks": b"".join(zigzag(1) + it for it in items) + b"\x00",
            "negative count + size": zigzag(-3) + zigzag(len(b"".join(items)))
            + b"".join(items) + b"\x00",
            "mixed": zigzag(-1) + zigzag(len(items[0])) + items[0] + zigzag(2) + items[1]
            + items[2] + b"\x00",
        }
        msgs = []
        for label, enc in variants.items():
            body = head + enc + tail
            # The independent references agree this is the same record.
            self.assertEqual(avro_read(body, s.avro_plain), rec, label)
            self.assertEqual(fast_read(body, s.fast_plain), rec, label)
            msgs.append((header(s.fingerprint) + body).hex())
        p, out, err = decode_lines(msgs)
        self.assertEqual(err, "", "our decoder rejects valid block encodings")
        self.assertEqual(p.returncode, 0)
        for label, line in zip(variants, out):
            with self.subTest(variant=label):
                self.assertEqual(json.loads(line), rec)

    def test_map_blocks(self):
        # The same for a map: a negative-count block with its byte size, then a plain one.
        s = Schemas.get("rollup.v2")  # the newest: decoded as written
        rec = records_for("rollup.v2", 1)[0]
        for f in ("visits_by_activity", "workers_by_group", "funding_by_source_fen",
                  "funding_by_purpose_fen", "needs"):
            rec[f] = {}
        rec["needs"] = {"WAGES_ARREARS": 3, "住房": LONG_MAX, "": LONG_MIN}
        plain = avro_write(s.avro_plain, rec)
        entries = [zigzag(len(k.encode())) + k.encode() + zigzag(v)
                   for k, v in rec["needs"].items()]
        one_block = zigzag(3) + b"".join(entries) + b"\x00"
        self.assertEqual(plain.count(one_block), 1, "the map is found in the body")
        head, tail = plain.split(one_block, 1)  # tail: the fields after needs (corrections)
        enc = (zigzag(-2) + zigzag(len(entries[0] + entries[1])) + entries[0] + entries[1]
               + zigzag(1) + entries[2] + b"\x00")
        body = head + enc + tail
        self.assertEqual(avro_read(body, s.avro_plain), rec)
        self.assertEqual(fast_read(body, s.fast_plain), rec)
        p, out, err = decode_lines([(header(s.fingerprint) + body).hex()])
        self.assertEqual((p.returncode, err), (0, ""))
        self.assertEqual(json.loads(out[0]), rec)


# ---- d. hostile input ------------------------------------------------------------------------


def variant_schema(base_json, field, new_type):
    """The schema with one field's type replaced: a way to make Python write bytes that are
    wrong for the real schema at exactly that spot (e.g. an enum index out of range)."""
    j = copy.deepcopy(base_json)
    for f in j["fields"]:
        if f["name"] == field:
            f["type"] = new_type
            f.pop("default", None)
    return avro.schema.parse(json.dumps(j))


class Hostile(Case):
    """Bad lines are reported with their line number and kind; the good ones still decode."""

    def test_hostile_lines_among_good_ones(self):
        v2 = Schemas.get("visit.v3")  # the newest: good lines decode as written
        f1 = Schemas.get("funding.v1")
        recs = records_for("visit.v3", 6)
        good = [avro_write(v2.avro_plain, r) for r in recs]
        hv = header(v2.fingerprint)
        base = v2.plain_json

        def hostile_body(field, new_type, value):
            rec = dict(recs[1], **{field: value})
            return avro_write(variant_schema(base, field, new_type), rec)

        lines = []  # (hex, expected kind or None for good, expected JSON)
        lines.append(((hv + good[0]).hex(), None, recs[0]))
        lines.append(((hv + good[1][:-3]).hex(), "malformed", None))                 # truncated
        lines.append(((header(v2.fingerprint ^ 1) + good[1]).hex(), "unknown-schema", None))
        lines.append(((b"\xc3\x02" + hv[2:] + good[1]).hex(), "framing", None))     # bad magic
        lines.append(((b"\x01\xc3" + hv[2:] + good[1]).hex(), "framing", None))     # swapped
        lines.append(((hv[:7]).hex(), "framing", None))                               # short
        lines.append(("", "skip", None))                                             # blank line
        lines.append(((hv + good[2]).hex(), None, recs[2]))
        lines.append(((hv + hostile_body("activity", "long", 12)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("activity", "long", -1)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("campaign", "long", 2)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("event_id", "long", -5)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("event_id", "long", 2**40)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("target_groups", "long", 2**40)).hex(), "malformed",
                      None))
        lines.append(((hv + hostile_body("target_groups", "long", LONG_MIN)).hex(), "malformed",
                      None))
        lines.append(((hv + hostile_body("staff", "long", INT_MAX + 1)).hex(), "malformed", None))
        lines.append(((hv + hostile_body("event_id", "bytes", b"\xff\xfe")).hex(), "malformed",
                      None))
        lines.append(((hv + hostile_body("event_id", "string", "NUL\x00inside")).hex(),
                      "malformed", None))
        lines.append(((hv + good[3] + b"\x00").hex(), "malformed", None))        # trailing byte
        lines.append(((hv + b"\xff" * 11).hex(), "malformed", None))             # overlong varint
        lines.append(((hv).hex(), "malformed", None))                            # header only
        frec = records_for("funding.v1", 2)[1]
        fbody = fast_write(f1.fast, frec)
        lines.append(((header(f1.fingerprint) + fbody).hex(), None,
                      expected_after_resolution("funding.v1", fbody)))
        lines.append(("zz" + hv.hex(), "not-hex", None))
        lines.append(((hv + good[4]).hex(), None, recs[4]))

        p, out, err = decode_lines([h for h, _, _ in lines])
        want_out = [j for _, kind, j in lines if kind is None]
        self.assertEqual(len(out), len(want_out),
                         "good lines must still decode; stderr:\n" + err[-3000:])
        for k, (got, want) in enumerate(zip(out, want_out)):
            self.assertEqual(json.loads(got), want, "good line %d" % k)
        self.assertEqual(p.returncode, 1, "exit status with failed lines")

        got_err = err.splitlines()
        pattern = re.compile(r"^stdin:(\d+): (framing|unknown-schema|malformed): \S.*$")
        want_err = [(n, kind) for n, (_, kind, _) in enumerate(lines, 1)
                    if kind not in (None, "skip")]
        self.assertEqual(len(got_err), len(want_err), "one stderr line per bad line:\n" + err)
        for (n, kind), text in zip(want_err, got_err):
            with self.subTest(line=n, kind=kind):
                if kind == "not-hex":
                    self.assertEqual(text, "stdin:%d: not hex" % n)
                    continue
                m = pattern.match(text)
                self.assertIsNotNone(m, text)
                self.assertEqual((int(m.group(1)), m.group(2)), (n, kind), text)

    def test_python_rejects_what_we_call_truncated(self):
        # The references agree the truncated body is not a datum of the schema.
        v2 = Schemas.get("visit.v2")
        body = avro_write(v2.avro_plain, records_for("visit.v2", 1)[0])[:-3]
        with self.assertRaises(Exception):
            avro_read(body, v2.avro_plain)
        with self.assertRaises(Exception):
            fast_read(body, v2.fast_plain)


# ---- per-schema tests and the runner ---------------------------------------------------------


def add_schema_tests():
    for name in schema_names():
        ident = name.replace(".", "_")
        setattr(Fingerprints, "test_canonical_and_fingerprint_" + ident,
                lambda self, n=name: self.check_schema(n))
        setattr(OursDecodeInTheirs, "test_encode_" + ident,
                lambda self, n=name: self.check_schema(n))
        for writer in ("avro", "fastavro"):
            setattr(TheirBytesDecodeInOurs, "test_decode_%s_written_by_%s" % (ident, writer),
                    lambda self, n=name, w=writer: self.check_writer(n, w))


def main():
    global ROOT
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print("usage: test_interop.py REPO_ROOT [unittest options]", file=sys.stderr)
        return 2
    ROOT = os.path.abspath(args.pop(0))
    if not os.access(codec_bin(), os.X_OK):
        print("test_interop: %s missing: run make first" % codec_bin(), file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    add_schema_tests()
    prog = unittest.main(module=__name__, argv=[sys.argv[0]] + args, exit=False,
                         testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
    res = prog.result
    failed = {getattr(t, "test_case", t).id() for t, _ in res.failures + res.errors}
    failed |= {t.id() for t in res.unexpectedSuccesses}
    passed = res.testsRun - len(failed) - len(res.skipped) - len(res.expectedFailures)
    sys.stdout.flush()
    print("%d passed, %d failed" % (passed, len(failed)))
    return 0 if not failed and res.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
