"""The sink page's test twin (issue #14): `gen` writes rollup batches aggregated here from a
small set of synthetic events (county → prefecture → province; DAY, CAMPAIGN and ALL windows);
`check` parses a page's DOM as Chromium rendered it (--dump-dom) and compares every chart
mark with numbers recomputed independently from GET /rollups. Standard library only."""
import argparse
import datetime
import html.parser
import json
import random
import sys

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
CAMPAIGNS = [  # name, first day, last day (Asia/Shanghai)
    ("2025 两节送温暖", datetime.date(2024, 12, 20), datetime.date(2025, 2, 12)),
    ("2024 夏送清凉", datetime.date(2024, 7, 1), datetime.date(2024, 8, 31)),
    ("<script>alert(1)</script>&\"'", datetime.date(2024, 3, 1), datetime.date(2024, 3, 3)),
]
COUNTIES = ["650102", "650103", "650104", "654002", "530102", "530103", "532501", "450202",
            "450203", "370212", "370211", "441900", "110105"]
SOURCES = ["UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY", "ENTERPRISE", "OTHER"]
PURPOSES = ["CASH_GRANT", "GOODS", "MEDICAL_MUTUAL_AID", "HARDSHIP_RELIEF", "SERVICE_PROJECT"]


def load_regions(path):
    regions = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            code, name, level, parent = line.rstrip("\n").split(",")
            regions[code] = (name, level, parent)
    return regions


def yuan(fen):
    return "%s%d.%02d" % ("-" if fen < 0 else "", abs(fen) // 100, abs(fen) % 100)


def cmd_gen(a):
    regions = load_regions(a.regions)
    rnd = random.Random(14)
    events = []
    for name, first, last in CAMPAIGNS:
        span = (last - first).days
        n = 200 if name.startswith("2025") else 20
        for i in range(n):
            day = first + datetime.timedelta(days=rnd.randint(0, span))
            if i == 0:
                day = first
            if i == 1:
                day = last
            t = datetime.datetime(day.year, day.month, day.day, rnd.randint(0, 23),
                                  rnd.randint(0, 59), tzinfo=SHANGHAI)
            kind = rnd.choice(["visit", "funding", "funding", "survey"])
            e = {"t": t, "campaign": name, "region": rnd.choice(COUNTIES), "kind": kind}
            if kind == "funding":
                e["fen"] = rnd.randint(1, 5_000_000_00) if rnd.random() < 0.1 else rnd.randint(1, 80_000_00)
                e["source"], e["purpose"] = rnd.choice(SOURCES), rnd.choice(PURPOSES)
            if kind == "visit":
                e["workers"] = rnd.randint(1, 2100)
            events.append(e)
    roll = {}

    def chain(code):
        out = [code]
        while regions[out[-1]][2]:
            out.append(regions[out[-1]][2])
        return out

    for e in events:
        local = e["t"].astimezone(SHANGHAI)
        windows = [("DAY", local.strftime("%Y-%m-%d")), ("CAMPAIGN", e["campaign"]), ("ALL", "all")]
        for kind, w in windows:
            for code in chain(e["region"]):
                k = "%s|%s|%s" % (kind, w, code)
                r = roll.setdefault(k, {"window_kind": kind, "window": w, "region": code,
                                        "events": [], "fen": 0, "src": {}, "pur": {},
                                        "visits": 0, "workers": 0, "surveys": 0})
                r["events"].append(e["t"])
                if e["kind"] == "funding":
                    r["fen"] += e["fen"]
                    r["src"][e["source"]] = r["src"].get(e["source"], 0) + e["fen"]
                    r["pur"][e["purpose"]] = r["pur"].get(e["purpose"], 0) + e["fen"]
                elif e["kind"] == "visit":
                    r["visits"] += 1
                    r["workers"] += e["workers"]
                else:
                    r["surveys"] += 1
    out = []
    for k, r in sorted(roll.items()):
        name, level, _ = regions[r["region"]]
        iso = lambda t: t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        out.append({
            "key": k, "region": r["region"], "region_name": name, "level": level.upper(),
            "window_kind": r["window_kind"], "window": r["window"], "revision": 1,
            "event_count": len(r["events"]), "first_event_at": iso(min(r["events"])),
            "last_event_at": iso(max(r["events"])), "visits": r["visits"],
            "visits_by_activity": {}, "workers_reached": r["workers"], "workers_by_group": {},
            "households": 0, "staff": 0, "funding_fen": r["fen"], "funding_yuan": yuan(r["fen"]),
            "funding_by_source_fen": r["src"],
            "funding_by_source_yuan": {s: yuan(v) for s, v in r["src"].items()},
            "funding_by_purpose_fen": r["pur"],
            "funding_by_purpose_yuan": {s: yuan(v) for s, v in r["pur"].items()},
            "recipients": 0, "surveys": r["surveys"], "enterprises": 0, "respondents": 0,
            "satisfaction": {"s1": 0, "s2": 0, "s3": 0, "s4": 0, "s5": 0},
            "satisfaction_mean": None, "needs": {}})
    for i in range(0, len(out), a.batch):
        with open("%s/batch%03d.json" % (a.out, i // a.batch), "w", encoding="utf-8") as f:
            json.dump({"batch_id": "page-%d" % i, "endpoint": "page",
                       "generated_at": "2025-02-13T00:00:00.000Z",
                       "source": {"topic": "t", "partition": 0, "first_offset": i,
                                  "last_offset": i, "messages": 1},
                       "rollups": out[i:i + a.batch]}, f, ensure_ascii=False)
    print("gen: %d events, %d rollups" % (len(events), len(out)))


class Dom(html.parser.HTMLParser):
    """The chart marks of one SVG (by id), the headline cards and <script> elements."""

    def __init__(self):
        super().__init__()
        self.svg, self.marks, self.cards, self.scripts, self.html_lang = None, {}, {}, 0, None
        self.links = {}

    def handle_starttag(self, tag, attrs):
        at = dict(attrs)
        if tag == "html":
            self.html_lang = at.get("lang")
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self.svg = at.get("id")
            self.marks.setdefault(self.svg, {})
        if tag == "a" and self.svg == "bars":
            self.href = at.get("href")
        if tag == "rect" and "bar" in at.get("class", "").split():
            key = at.get("data-region") or at.get("data-symbol")
            self.marks[self.svg][key] = at["data-value"]
            if self.svg == "bars" and getattr(self, "href", None):
                self.links[key] = self.href
        if tag == "circle" and at.get("class") == "pt":
            self.marks[self.svg][at["data-day"]] = at["data-value"]
        if tag == "div" and at.get("class") == "card":
            self.cards[at["data-metric"]] = at["data-value"]

    def handle_endtag(self, tag):
        if tag == "svg":
            self.svg = None
        if tag == "a":
            self.href = None


FIELDS = {"funding": "funding_fen", "visits": "visits", "workers": "workers_reached",
          "surveys": "surveys"}


def cmd_check(a):
    regions = load_regions(a.regions)
    rollups = json.load(open(a.rollups, encoding="utf-8"))["rollups"]
    dom = Dom()
    dom.feed(open(a.html, encoding="utf-8").read())
    errors = []
    field = FIELDS[a.metric]
    fmt = yuan if a.metric == "funding" else str
    camp = [r for r in rollups if r["window_kind"] == "CAMPAIGN" and r["window"] == a.campaign]
    if a.region:
        children = [r for r in camp if regions[r["region"]][2] == a.region]
        heads = [r for r in camp if r["region"] == a.region]
        days = [r for r in rollups if r["window_kind"] == "DAY" and r["region"] == a.region]
    else:
        children = [r for r in camp if r["level"] == "PROVINCE"]
        heads = children
        days = [r for r in rollups if r["window_kind"] == "DAY" and r["level"] == "PROVINCE"]
    want_bars = {r["region"]: fmt(r[field]) for r in children}
    if dom.marks.get("bars") != want_bars:
        errors.append("bars: page %s, /rollups %s" % (dom.marks.get("bars"), want_bars))
    for m, f in FIELDS.items():
        total = sum(r[f] for r in heads)
        want = yuan(total) if m == "funding" else str(total)
        if dom.cards.get(m) != want:
            errors.append("card %s: page %s, /rollups %s" % (m, dom.cards.get(m), want))
    for svg, mapname in (("by-source", "funding_by_source_fen"),
                         ("by-purpose", "funding_by_purpose_fen")):
        sums = {}
        for r in heads:
            for s, v in r[mapname].items():
                sums[s] = sums.get(s, 0) + v
        want = {s: yuan(v) for s, v in sums.items()}
        if dom.marks.get(svg) != want:
            errors.append("%s: page %s, /rollups %s" % (svg, dom.marks.get(svg), want))
    # The trend: every day from the first to the last event of the campaign there (UTC+8).
    local = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(SHANGHAI).date()
    first = min(local(r["first_event_at"]) for r in heads)
    last = max(local(r["last_event_at"]) for r in heads)
    per_day = {}
    for r in days:
        per_day[r["window"]] = per_day.get(r["window"], 0) + r[field]
    want = {}
    d = first
    while d <= last:
        want[d.isoformat()] = fmt(per_day.get(d.isoformat(), 0))
        d += datetime.timedelta(days=1)
    if dom.marks.get("trend") != want:
        got = dom.marks.get("trend") or {}
        diff = sorted(set(got.items()) ^ set(want.items()))[:6]
        errors.append("trend: %d points on the page, %d wanted; differences %s" % (len(got), len(want), diff))
    if dom.scripts:
        errors.append("%d <script> elements in the page (an unescaped campaign name?)" % dom.scripts)
    if dom.html_lang != a.lang:
        errors.append("html lang %s, want %s" % (dom.html_lang, a.lang))
    if errors:
        for e in errors:
            print("page_check: " + e, file=sys.stderr)
        sys.exit(1)
    if a.links:
        with open(a.links, "w", encoding="utf-8") as f:
            for code, href in sorted(dom.links.items()):
                f.write("%s %s\n" % (code, href))
    print("check: %d bars, %d trend days, %d + %d split bars, 4 cards equal /rollups (%s, %s%s)"
          % (len(want_bars), len(want), len(dom.marks.get("by-source", {})),
             len(dom.marks.get("by-purpose", {})), a.campaign, a.metric,
             ", region " + a.region if a.region else ""))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--regions", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--batch", type=int, default=200)
    c = sub.add_parser("check")
    c.add_argument("--regions", required=True)
    c.add_argument("--rollups", required=True)
    c.add_argument("--html", required=True)
    c.add_argument("--campaign", required=True)
    c.add_argument("--region")
    c.add_argument("--metric", default="funding")
    c.add_argument("--lang", default="zh-CN")
    c.add_argument("--links", help="write the bars' drill-down links here")
    a = p.parse_args()
    {"gen": cmd_gen, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    main()
