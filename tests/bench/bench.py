#!/usr/bin/python3
"""make bench helpers (stdlib only): the kcat input file, the latency pacer and analyser, and
the results writer. tests/bench/run.sh calls each as a subcommand; see docs/benchmarks.md.
"""
import argparse
import datetime
import glob
import gzip
import json
import math
import os
import sys
import time

DELIM = b"\x17\x18OUTREACH-BENCH-DELIM\x18\x17"


def die(msg):
    print("bench.py: " + msg, file=sys.stderr)
    sys.exit(1)


# ---- kcat input: the producer's own bytes, with their keys ---------------------------------
def cmd_kcat_input(a):
    n = 0
    with open(a.raw, "wb") as out, open(a.dump, encoding="utf-8") as dump:
        for line in dump:
            m = json.loads(line)
            v = bytes.fromhex(m["hex"])
            k = m["key"].encode()
            if DELIM in v or b"\t" in k:
                die("message %d holds the delimiter; pick another" % n)
            out.write(k + b"\t" + v + DELIM)
            n += 1
    print(n)


# ---- the pacer: RATE events/s stamped with the wall clock as they are written -------------
def cmd_pace(a):
    # Parsed up front so that writing costs only json.dumps.
    src = []
    with open(a.source, encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            o.pop("campaign", None)  # the campaign windows are long past: no campaign
            src.append(o)
    if not src:
        die("no events in " + a.source)
    total = int(a.rate * a.seconds)
    out = sys.stdout.buffer
    start = time.time()
    with open(a.start_file, "w") as f:
        f.write("%d\n" % int(start * 1000))
    sent = 0
    tick = 0.005
    try:
        while sent < total:
            due = min(total, int((time.time() - start) * a.rate) + 1)
            if due > sent:
                now_ms = int(time.time() * 1000)
                chunk = []
                for i in range(sent, due):
                    o = src[i % len(src)]
                    o["event_id"] = "%s-%07d" % (a.id_prefix, i)
                    o["occurred_at"] = now_ms
                    o["reported_at"] = now_ms
                    chunk.append(json.dumps(o, ensure_ascii=False, separators=(",", ":")))
                out.write(("\n".join(chunk) + "\n").encode())
                out.flush()
                sent = due
            time.sleep(tick)
    except BrokenPipeError:
        die("the producer stopped reading after %d events" % sent)
    elapsed = time.time() - start
    print("pacer: %d events in %.2f s (%.0f/s)" % (sent, elapsed, sent / elapsed), file=sys.stderr)


# ---- latency: receipt of a body at the sink minus the newest event time of each rollup ------
def iso_ms(s):
    # "2026-12-01T13:48:33.123Z", as the reporter writes every time
    dt = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def percentile(sorted_vals, p):
    # nearest rank
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def cmd_latency(a):
    start = int(open(a.start_file).read().strip())
    since = start + int(a.warmup * 1000)
    end = start + int(a.seconds * 1000)
    first = {}  # (key, revision) -> (newest event time, latency of its first receipt)
    last_receipt = 0.0  # of a body holding a rollup revised by the run
    bodies = sorted(glob.glob(os.path.join(a.dump_dir, "*.body")))
    for path in bodies:
        received_ms = os.stat(path).st_mtime_ns / 1e6
        raw = open(path, "rb").read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        doc = json.loads(raw)
        for r in doc["rollups"]:
            t = iso_ms(r["last_event_at"])
            if t < since:
                continue
            k = (r["key"], r["revision"])
            if k not in first:
                first[k] = (t, received_ms - t)
            last_receipt = max(last_receipt, received_ms)
    vals = sorted(v for _, v in first.values())
    if not vals:
        die("no rollup revised after the warm-up reached the sink (%d bodies)" % len(bodies))
    res = {
        "e2e_latency_samples": len(vals),
        "e2e_latency_bodies": len(bodies),
        "e2e_latency_p50_ms": round(percentile(vals, 50), 1),
        "e2e_latency_p99_ms": round(percentile(vals, 99), 1),
        "e2e_latency_max_ms": round(vals[-1], 1),
    }
    # Steady or not: the median over the first and the last 5 s of events, and how long after
    # the pacer stopped the sink took its last rollup. Growth means the pipeline falls behind.
    for name, lo, hi in (("first", since, since + 5000), ("last", end - 5000, end + 1000)):
        w = sorted(v for t, v in first.values() if lo <= t < hi)
        res["e2e_latency_%s_5s_p50_ms" % name] = round(percentile(w, 50), 1) if w else None
    res["e2e_drain_after_last_event_s"] = round((last_receipt - end) / 1000.0, 2)
    print(json.dumps(res))


# ---- results.json and results.md ----------------------------------------------------------
def load_kv(path):
    """Lines 'KIND KEY VALUE': num (null when empty or not a number), str, json, merge."""
    res = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            kind, key, val = (line.split(" ", 2) + [""])[:3]
            if kind == "num":
                try:
                    x = float(val)
                    res[key] = int(x) if x.is_integer() and "." not in val else x
                except ValueError:
                    res[key] = None
            elif kind == "str":
                res[key] = val
            elif kind == "json":
                res[key] = json.loads(val) if val else None
            elif kind == "merge":
                res.update(json.loads(val))
            else:
                die("bad line in %s: %s" % (path, line))
    return res


def fmt(v, unit=""):
    if v is None:
        return "not measured"
    if isinstance(v, list):
        return " / ".join(fmt(x) for x in v) + unit
    if isinstance(v, float):
        s = ("%.2f" % v) if abs(v) < 10 else ("%.1f" % v) if abs(v) < 1000 else "%.0f" % v
    else:
        s = str(v)
    if isinstance(v, (int, float)) and abs(v) >= 10000:
        s = "{:,}".format(int(round(v))).replace(",", " ")
    return s + unit


def cmd_report(a):
    r = load_kv(a.kv)
    # Ratios here, once, from the same numbers the table shows.
    def ratio(x, y):
        return round(r[x] / r[y], 3) if r.get(x) and r.get(y) else None

    r["producer_ratio_to_kcat"] = ratio("producer_events_per_s", "kcat_produce_msgs_per_s")
    r["aggregator_ratio_to_kcat_consume"] = ratio("aggregator_events_per_s", "kcat_consume_msgs_per_s")
    for k in ("reporter_restart_to_first_delivery_s", "reporter_restart_to_first_delivery_max_s"):
        r.setdefault(k, None)
    tmp = a.json + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(r, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, a.json)

    g = r.get
    rows = [
        ("outreach-producer: JSON Lines → validated Avro → idempotent acks=all delivery",
         fmt(g("producer_events_per_s"), " events/s") + " (×%s of kcat)" % fmt(g("producer_ratio_to_kcat")),
         "kcat producing the same %s bytes (same keys and producer settings): %s" %
         (fmt(g("kcat_produce_bytes")), fmt(g("kcat_produce_msgs_per_s"), " msgs/s"))),
        ("outreach-aggregator: consume → rollups → transactional output (exactly-once)",
         fmt(g("aggregator_events_per_s"), " events/s") + " (×%s of kcat)" % fmt(g("aggregator_ratio_to_kcat_consume")),
         "kcat reading the same topic (read_committed): %s" % fmt(g("kcat_consume_msgs_per_s"), " msgs/s")),
        ("year of state: events, rollups (gauge / distinct keys in the topic), seen ids",
         "%s events, %s / %s rollups, %s ids" % (fmt(g("year_events")), fmt(g("year_rollups")),
                                                 fmt(g("year_rollup_keys_in_topic")), fmt(g("year_seen_ids"))),
         ""),
        ("aggregator memory over the year: peak RssAnon (0.2 s samples) / VmHWM",
         "%s / %s" % (fmt(g("year_peak_rss_anon_mb"), " MB"), fmt(g("year_vm_hwm_mb"), " MB")), ""),
        ("restart to /readyz 200 after SIGTERM (×3); after kill -9",
         "%s; %s" % (fmt(g("year_restart_to_ready_s"), " s"), fmt(g("year_restart_after_kill9_to_ready_s"), " s")),
         "restore alone (last start): %s" % fmt(g("year_restore_s"), " s")),
        ("second year on the same state: peak RssAnon",
         fmt(g("second_year_peak_rss_anon_mb"), " MB"),
         "first year: %s; before the second year: %s" % (fmt(g("year_peak_rss_anon_mb"), " MB"),
                                                          fmt(g("second_year_start_rss_anon_mb"), " MB"))),
        ("end-to-end latency produce → sink receipt at %s events/s for %s s: p50 / p99" %
         (fmt(g("e2e_rate_events_per_s")), fmt(g("e2e_duration_s"))),
         "%s / %s" % (fmt(g("e2e_latency_p50_ms"), " ms"), fmt(g("e2e_latency_p99_ms"), " ms")),
         "%s rollup revisions, max %s; p50 over the first / last 5 s of events: %s / %s; "
         "the sink's last rollup came %s after the pacer stopped" %
         (fmt(g("e2e_latency_samples")), fmt(g("e2e_latency_max_ms"), " ms"),
          fmt(g("e2e_latency_first_5s_p50_ms"), " ms"), fmt(g("e2e_latency_last_5s_p50_ms"), " ms"),
          fmt(g("e2e_drain_after_last_event_s"), " s"))),
        ("codec: op_codec_encode / op_codec_decode + op_event_from_value",
         "%s / %s per event" % (fmt(g("codec_encode_ns_per_event"), " ns"), fmt(g("codec_decode_ns_per_event"), " ns")),
         "%s bytes per encoded event" % fmt(g("codec_bytes_per_event"))),
        ("reporter restart (kill -9) to first delivery",
         fmt(g("reporter_restart_to_first_delivery_s"), " s"),
         "max %s" % fmt(g("reporter_restart_to_first_delivery_max_s"), " s")),
    ]
    with open(a.md, "w", encoding="utf-8") as f:
        f.write("# outreach-pipeline benchmark\n\n")
        f.write("%s, %s cores, %s broker(s) at %s, %s events per year (outreach-gen --seed 2025, "
                "2025-01-01..2025-12-31, every region), commit %s\n\n" %
                (g("timestamp"), g("cores"), g("brokers"), g("bootstrap"), fmt(g("events")),
                 g("git_commit")))
        f.write("| measurement | value | baseline in the same run |\n|---|---|---|\n")
        for row in rows:
            f.write("| %s | %s | %s |\n" % row)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("kcat-input")
    s.add_argument("dump")
    s.add_argument("raw")
    s.set_defaults(fn=cmd_kcat_input)
    s = sub.add_parser("pace")
    s.add_argument("--source", required=True)
    s.add_argument("--rate", type=float, required=True)
    s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--id-prefix", required=True)
    s.add_argument("--start-file", required=True)
    s.set_defaults(fn=cmd_pace)
    s = sub.add_parser("latency")
    s.add_argument("--dump-dir", required=True)
    s.add_argument("--start-file", required=True)
    s.add_argument("--warmup", type=float, default=0)
    s.add_argument("--seconds", type=float, required=True)
    s.set_defaults(fn=cmd_latency)
    s = sub.add_parser("report")
    s.add_argument("--kv", required=True)
    s.add_argument("--json", required=True)
    s.add_argument("--md", required=True)
    s.set_defaults(fn=cmd_report)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
