"""Test helper for outreach-sink's audit entries, independent of its C code (standard library).

  gen      audit entries (schemas/audit.v1.avsc as JSON) over counties, prefectures and a
           province, with repeated (event_id, correction_to) pairs, as POST bodies; and one
           rollup batch of the ALL window whose rollups carry corrections counts
  expect   the entries GET /audit?region=CODE must list (newest applied_at first, later arrival
           first on ties), from the bodies in the order posted, keeping the last MAX distinct
           entries by arrival: region matching through schemas/regions.csv parents
  page     the dashboard's table (GET /): each row whose rollup has corrections > 0 links to
           /audit.html?region=CODE showing the count; rows with 0 have no link
  view     GET /audit.html?region=CODE against `expect`: rows in order, names, yuan
"""
import argparse
import html.parser
import json
import random
import sys

from audit_common import regions, shown, under, yuan


def cmd_gen(a):
    rnd = random.Random(a.seed)
    regs = regions()
    counties = sorted(c for c, r in regs.items() if r[1] == "county" and c[:2] in ("53", "44"))
    entries = []
    for i in range(a.n):
        county = rnd.choice(counties)
        pref = regs[county][2]
        prov = regs[pref][2]
        to = rnd.randint(1, 3)
        changes = []
        for code, level in ((county, "COUNTY"), (pref, "PREFECTURE"), (prov, "PROVINCE")):
            changes.append({"window_kind": "ALL", "window": "all", "region": code, "level": level,
                            "deltas": {"funding_fen": rnd.choice([-36000000000, 5, -123405]),
                                       "event_count": rnd.choice([-1, 0, 1])}})
        entries.append({
            "event_id": "ev-%d" % rnd.randint(1, a.n // 2), "event_type": "FUNDING",
            "agency_id": "ACFTU-%s" % prov, "correction_from": rnd.choice([None, to - 1]),
            "correction_to": to, "retracted": rnd.random() < 0.3,
            "reason": rnd.choice([None, "录入错误", "重复上报 <b>&"]),
            "reported_at": 1737000000000 + i, "applied_at": 1737000000000 + rnd.randint(0, 5) * 60000,
            "source_partition": 0, "source_offset": i, "changes": changes[:rnd.randint(1, 3)]})
    bodies = [entries[:a.n // 2], entries[a.n // 2:], entries[:3]]  # the last: a re-delivery
    for i, b in enumerate(bodies):
        with open("%s/audit%d.json" % (a.out, i), "w", encoding="utf-8") as f:
            json.dump({"entries": b}, f, ensure_ascii=False)
    # rollups with corrections: the ALL window of two provinces and their prefectures
    rollups = []
    for code in sorted(c for c, r in regs.items() if c[:2] in ("53", "44") and r[1] != "county"):
        corr = rnd.choice([0, 0, 1, 4])
        rollups.append({"key": "ALL|all|" + code, "region": code, "region_name": regs[code][0],
                        "level": regs[code][1].upper(), "window_kind": "ALL", "window": "all",
                        "revision": 1, "event_count": 1, "funding_fen": 100, "funding_yuan": "1.00",
                        "funding_by_source_fen": {}, "funding_by_source_yuan": {},
                        "funding_by_purpose_fen": {}, "funding_by_purpose_yuan": {},
                        "satisfaction_mean": None, "corrections": corr})
    with open("%s/rollups.json" % a.out, "w", encoding="utf-8") as f:
        json.dump({"batch_id": "b1", "endpoint": "t", "generated_at": "2025-01-16T00:00:00.000Z",
                   "rollups": rollups}, f, ensure_ascii=False)


def kept(bodies, maximum):
    seen, order = set(), []
    for path in bodies:
        for e in json.load(open(path, encoding="utf-8"))["entries"]:
            k = (e["event_id"], e["correction_to"])
            if k in seen:
                continue
            seen.add(k)
            order.append(e)
            if len(order) > maximum:
                old = order.pop(0)
                seen.discard((old["event_id"], old["correction_to"]))
    # newest applied_at first; ties: the later arrival first
    idx = list(enumerate(order))
    idx.sort(key=lambda p: (-p[1]["applied_at"], -p[0]))
    return [e for _, e in idx]


def cmd_expect(a):
    regs = regions()
    want = [e for e in kept(a.bodies, a.max)
            if not a.region or any(under(c["region"], a.region, regs) for c in e["changes"])]
    got = json.load(open(a.got, encoding="utf-8"))
    errors = []
    if got.get("region") != (a.region or None):
        errors.append("region %r" % got.get("region"))
    if got["count"] != len(want) or got["entries"] != want:
        errors.append("entries: got %s, want %s" % (
            [(e["event_id"], e["correction_to"]) for e in got["entries"]],
            [(e["event_id"], e["correction_to"]) for e in want]))
    if errors:
        sys.exit("expect %s: %s" % (a.region, "; ".join(errors)))
    print("expect %s: %d entries" % (a.region or "all", len(want)))


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.cur, self.link, self.text, self.rows = {}, None, None, "", []

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        if tag == "tr" and "data-key" in at:
            self.row = {"key": at["data-key"]}
        if tag == "td" and at.get("data-field") == "corrections":
            self.cur = {"value": at.get("data-value")}
            self.text = ""
        if tag == "a" and self.cur is not None:
            self.cur["href"] = at.get("href")

    def handle_data(self, data):
        if self.cur is not None:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "td" and self.cur is not None:
            self.cur["text"] = self.text
            self.row["corrections"] = self.cur
            self.cur = None
        if tag == "tr" and getattr(self, "row", None):
            self.rows.append(self.row)
            self.row = None


def cmd_page(a):
    p = Links()
    p.feed(open(a.html, encoding="utf-8").read())
    rollups = {r["key"]: r for r in json.load(open(a.rollups, encoding="utf-8"))["rollups"]}
    errors, linked = [], 0
    if not p.rows:
        errors.append("no table rows")
    for row in p.rows:
        r = rollups[row["key"]]
        c = row.get("corrections")
        if c is None:
            errors.append("%s: no corrections cell" % row["key"])
        elif r["corrections"] > 0:
            linked += 1
            want = "/audit.html?region=%s%s" % (r["region"], a.suffix)
            if c.get("href") != want or c.get("value") != str(r["corrections"]) or \
                    c["text"] != "%d →" % r["corrections"]:
                errors.append("%s: %r, want link %s and %d" % (row["key"], c, want, r["corrections"]))
        elif c.get("href") or c["text"] != "0":
            errors.append("%s: %r for 0 corrections" % (row["key"], c))
    if linked == 0:
        errors.append("no row with corrections > 0: the test data should have some")
    if errors:
        sys.exit("page: " + "; ".join(errors[:10]))
    print("page: %d rows, %d link to their audit entries" % (len(p.rows), linked))


class View(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.field, self.text = [], None, ""

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        if tag == "tr" and "data-event" in at:
            self.rows.append({"event": at["data-event"], "to": int(at["data-correction"])})
        if tag == "td" and "data-field" in at and self.rows:
            self.field, self.text = at["data-field"], ""

    def handle_data(self, data):
        if self.field:
            self.text += data

    def handle_endtag(self, tag):
        if tag == "td" and self.field:
            self.rows[-1][self.field] = self.text
            self.field = None


def cmd_view(a):
    regs = regions()
    want = [e for e in kept(a.bodies, a.max)
            if any(under(c["region"], a.region, regs) for c in e["changes"])]
    v = View()
    v.feed(open(a.html, encoding="utf-8").read())
    errors = []
    if [(r["event"], r["to"]) for r in v.rows] != [(e["event_id"], e["correction_to"]) for e in want]:
        errors.append("rows %s != %s" % ([(r["event"], r["to"]) for r in v.rows],
                                         [(e["event_id"], e["correction_to"]) for e in want]))
    for r, e in zip(v.rows, want):
        exp = shown(e, "—")
        for k, x in exp.items():
            if r.get(k) != x:
                errors.append("%s/%d %s: %r != %r" % (e["event_id"], e["correction_to"], k, r.get(k), x))
        for c in e["changes"]:
            piece = "%s · 资金(元) %s" % (regs[c["region"]][0], yuan(c["deltas"]["funding_fen"]))
            if piece not in r.get("changes", ""):
                errors.append("%s/%d: changes lack %r" % (e["event_id"], e["correction_to"], piece))
    if not want:
        errors.append("the test expects entries under %s" % a.region)
    if errors:
        sys.exit("view: " + "; ".join(errors[:10]))
    print("view %s: %d entries as expected" % (a.region, len(want)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=11)
    g.add_argument("--n", type=int, default=24)
    g.add_argument("--out", required=True)
    for name in ("expect", "view"):
        e = sub.add_parser(name)
        e.add_argument("--max", type=int, required=True)
        e.add_argument("--region", default="")
        e.add_argument("bodies", nargs="+")
        e.add_argument("--got" if name == "expect" else "--html", required=True)
    p = sub.add_parser("page")
    p.add_argument("--html", required=True)
    p.add_argument("--rollups", required=True)
    p.add_argument("--suffix", default="")
    a = ap.parse_args()
    {"gen": cmd_gen, "expect": cmd_expect, "page": cmd_page, "view": cmd_view}[a.cmd](a)


if __name__ == "__main__":
    main()
