#!/usr/bin/env python3
"""Test helper for Confluent framing, with the reference client (confluent_kafka's
schema_registry: AvroSerializer / AvroDeserializer, fastavro underneath), not our C code.

  consume      read TOPIC from the beginning with AvroDeserializer; every message must be
               Confluent-framed (00 + schema id) and decode; the records must be exactly the
               published ones of the producer's input FILE (by event_id), field by field
  produce      write visit events with AvroSerializer: --v1 N records of schemas/visit.v1.avsc,
               then --v3 N of visit.v3.avsc, then --newer N of visit.v3 plus a field with a
               default (a compatible evolution we do not know), keyed by province (as our
               producer does), subject TOPIC-value; the same events as JSON Lines (the
               producer's input format) to --out
  break        register under SUBJECT a Visit schema whose `staff` is a string: a schema our
               visit.v3 (staff: int) cannot follow under BACKWARD compatibility
Exit status 0 on success, 1 with the differences on stderr.
"""
import argparse
import csv
import datetime
import json
import os
import random
import sys

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TZ = datetime.timezone(datetime.timedelta(hours=8))
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def fail(msgs):
    for m in msgs[:20]:
        print("registry_check: " + m, file=sys.stderr)
    sys.exit(1)


def schema_text(name):
    with open(os.path.join(ROOT, "schemas", name + ".avsc"), encoding="utf-8") as f:
        return f.read()


def to_ms(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(v, str):
        d = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
        return int(d.timestamp() * 1000)
    return v


def cmd_consume(a):
    want, no_id = {}, 0
    for line in open(a.input, encoding="utf-8"):
        if line.strip():
            e = json.loads(line)
            if "event_id" in e:
                want[e["event_id"]] = e
            else:
                no_id += 1  # the producer derives its id: checked by count only
    sr = SchemaRegistryClient({"url": a.registry})
    deser = AvroDeserializer(sr)
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "registry-check-%d" % os.getpid(),
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    c.subscribe([a.topic])
    got, errors, ids, n = {}, [], set(), 0
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=60)
    while n < a.expect and datetime.datetime.now() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        raw = m.value()
        if raw[:1] != b"\x00":
            errors.append("%d:%d: first byte %r, not the Confluent magic 0" %
                          (m.partition(), m.offset(), raw[:1]))
            continue
        ids.add(int.from_bytes(raw[1:5], "big"))
        rec = deser(raw, SerializationContext(a.topic, MessageField.VALUE))
        got[rec["event_id"]] = rec  # a re-published row: same event, same fields
        n += 1
    c.close()
    if n != a.expect:
        errors.append("decoded %d messages, expected %d" % (n, a.expect))
    compared = derived = 0
    for eid, rec in got.items():
        e = want.get(eid)
        if e is None:
            derived += 1
            continue
        for k, v in e.items():
            if k == "type" or k not in rec:
                continue
            r = rec[k]
            if k.endswith("_at"):
                v, r = to_ms(v), to_ms(r)
            elif isinstance(v, dict):  # survey satisfaction {"s1": ..}
                v = {kk: vv for kk, vv in v.items()}
            if isinstance(v, (int, str)) and v != r:
                errors.append("%s: %s = %r, input %r" % (eid, k, r, v))
            compared += 1
    if derived > no_id:
        errors.append("%d event ids not in the input, but only %d input rows without one" %
                      (derived, no_id))
    if errors:
        fail(errors)
    print("consume: %d Confluent-framed messages (%d events) decoded by AvroDeserializer "
          "(schema ids %s), %d fields equal the input" % (n, len(got), sorted(ids), compared))


def counties():
    out = []
    with open(os.path.join(ROOT, "schemas", "regions.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["level"].upper() == "COUNTY":
                out.append(row["code"])
    return out


def visit(rnd, regs, i, version):
    region = rnd.choice(regs)
    occurred = datetime.datetime(2025, 1, 1, 9, tzinfo=TZ) + datetime.timedelta(
        days=rnd.randrange(40), minutes=rnd.randrange(600))
    ms = int(occurred.timestamp() * 1000)
    v = {"event_id": "reg-v%d-%06d" % (version, i), "occurred_at": ms,
         "reported_at": ms + 3600000, "agency_id": "ACFTU-" + region, "region": region,
         "campaign": None, "activity": rnd.choice(["HOME_VISIT", "FORUM", "MEALS", "OTHER"]),
         "target_groups": rnd.sample(["MIGRANT_WORKERS", "SANITATION", "CONSTRUCTION"],
                                     rnd.randrange(1, 3)),
         "workers_reached": rnd.randrange(0, 500), "households": rnd.randrange(0, 50),
         "staff": rnd.randrange(1, 20)}
    if version >= 2:
        v.update({"duration_minutes": rnd.randrange(0, 300), "venue": "WORKPLACE", "note": None})
    if version >= 3:
        v.update({"correction": 0, "retracted": False, "correction_reason": None})
    if version >= 4:
        v["weather"] = rnd.choice(["晴", "雪"])
    return v


def cmd_produce(a):
    rnd = random.Random(a.seed)
    regs = counties()
    sr = SchemaRegistryClient({"url": a.registry})
    p = Producer({"bootstrap.servers": a.bootstrap, "enable.idempotence": True})
    ctx = SerializationContext(a.topic, MessageField.VALUE)
    n, failed = 0, []

    def report(err, msg):
        if err is not None:
            failed.append(str(err))
    # A newer Visit than any we know: visit.v3 plus a field with a default, a compatible
    # evolution the aggregator has to learn from the registry and resolve to its visit.v3.
    newer = json.loads(schema_text("visit.v3"))
    newer["fields"].append({"name": "weather", "type": "string", "default": ""})
    with open(a.out, "w", encoding="utf-8") as out:
        for version, count in ((1, a.v1), (3, a.v3), (4, a.newer)):
            ser = AvroSerializer(sr, json.dumps(newer) if version == 4
                                 else schema_text("visit.v%d" % version))
            for i in range(count):
                v = visit(rnd, regs, i, version)
                p.produce(a.topic, key=v["region"][:2] + "0000", value=ser(v, ctx),
                          on_delivery=report)
                out.write(json.dumps(dict(v, type="visit"), ensure_ascii=False) + "\n")
                n += 1
            p.flush(30)
    if len(p) != 0 or failed:
        fail(["%d messages not delivered: %s" % (len(p) + len(failed), failed[:3])])
    print("produce: %d visits (%d visit.v1, %d visit.v3, %d of a newer Visit) written by "
          "AvroSerializer" % (n, a.v1, a.v3, a.newer))


def cmd_break(a):
    s = json.loads(schema_text("visit.v3"))
    for f in s["fields"]:
        if f["name"] == "staff":
            f["type"] = "string"
    sr = SchemaRegistryClient({"url": a.registry})
    sid = sr.register_schema(a.subject, Schema(json.dumps(s), "AVRO"))
    print("break: %s holds a Visit with staff: string (id %d)" % (a.subject, sid))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("consume")
    p = sub.add_parser("produce")
    b = sub.add_parser("break")
    for x in (c, p, b):
        x.add_argument("--registry", required=True)
    for x in (c, p):
        x.add_argument("--bootstrap", required=True)
        x.add_argument("--topic", required=True)
    c.add_argument("--input", required=True)
    c.add_argument("--expect", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--v1", type=int, default=100)
    p.add_argument("--v3", type=int, default=100)
    p.add_argument("--newer", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    b.add_argument("--subject", required=True)
    a = ap.parse_args()
    {"consume": cmd_consume, "produce": cmd_produce, "break": cmd_break}[a.cmd](a)


if __name__ == "__main__":
    main()
