"""Writes an office-style .xlsx of generated events and its UTF-8 JSON Lines twin, for
tests/integration/test_xlsx.sh. Standard library plus openpyxl and XlsxWriter (real spreadsheet
libraries); run with /usr/bin/python3.

Usage: xlsx_twin.py --repo ROOT --out DIR [--events N]

Writes in DIR:
  twin.jsonl       the events, one JSON object a line, times as RFC 3339 with +08:00
  events.xlsx      (openpyxl) sheet "活动记录": a merged title row, a header row of Chinese column
                   names (docs/producer.md, Header aliases), one row per event with the times as
                   Excel dates (serial numbers formatted as dates, Beijing wall time), one empty
                   row, and one bad row (activity PARTY) that the twin does not have
  events-xw.xlsx   (XlsxWriter, shared strings as Excel writes them) the same sheet
  expect.json      what the producer must say: the sheet, the bad row's number and its cells as
                   the rejects CSV must hold them, the header, the counts line, the notes
"""

import argparse
import datetime
import glob
import json
import os
import random

import openpyxl
import xlsxwriter
from openpyxl.utils import get_column_letter

SHEET = "活动记录"
# column -> field (the alias table of docs/producer.md, written out independently here)
COLUMNS = [
    ("类型", "type"), ("事件编号", "event_id"), ("发生时间", "occurred_at"),
    ("上报时间", "reported_at"), ("单位编号", "agency_id"), ("行政区划代码", "region"),
    ("活动名称", "campaign"), ("活动类型", "activity"), ("慰问对象", "target"),
    ("服务职工人次", "workers_reached"), ("户数", "households"), ("工作人员数", "staff"),
    ("活动时长（分钟）", "duration_minutes"), ("活动地点", "venue"), ("备注", "note"),
    ("金额(分)", "amount_fen"), ("资金来源", "source"), ("资金用途", "purpose"),
    ("受益人数", "recipients"), ("发放方式", "disbursement"), ("调研方式", "method"),
    ("调研企业数", "enterprises"), ("受访职工人数", "respondents"), ("调研主题", "topic"),
    ("满意度1", "s1"), ("满意度2", "s2"), ("满意度3", "s3"), ("满意度4", "s4"), ("满意度5", "s5"),
    ("急难愁盼", "needs"),
]


def symbols(repo):
    """Enum symbols by field name, from the newest schema of each type."""
    out = {}
    for path in sorted(glob.glob(os.path.join(repo, "schemas", "*.avsc"))):
        s = json.load(open(path, encoding="utf-8"))

        def walk(t, name):
            if isinstance(t, dict):
                if t.get("type") == "enum":
                    out[name] = t["symbols"]
                elif t.get("type") == "array":
                    walk(t["items"], name)
                elif t.get("type") == "record":
                    for f in t["fields"]:
                        walk(f["type"], f["name"])
            elif isinstance(t, list):
                for b in t:
                    walk(b, name)

        walk(s, s["name"])
    return out


def regions(repo):
    rows = open(os.path.join(repo, "schemas", "regions.csv"), encoding="utf-8").read().split("\n")
    return [r.split(",")[0] for r in rows[1:] if r.startswith("53")][:20]


def events(n, sym, regs):
    rnd = random.Random(20250102)
    base = datetime.datetime(2025, 1, 2, 8, 30)
    out = []
    for i in range(n):
        t = ("visit", "funding", "survey")[i % 3]
        occ = base + datetime.timedelta(minutes=rnd.randrange(0, 60 * 24 * 30),
                                        seconds=rnd.choice((0, 0, 15, 59)))
        e = {"type": t, "occurred_at": occ, "reported_at": occ + datetime.timedelta(days=2),
             "agency_id": "530000-ZGH", "region": rnd.choice(regs)}
        if i % 3 != 1:
            e["event_id"] = "xlsx-%04d" % i
        if rnd.random() < 0.6:
            e["campaign"] = "2025 两节送温暖"
        if t == "visit":
            e["activity"] = rnd.choice(sym["activity"])
            e["target_groups"] = rnd.sample(sym["target_groups"], rnd.choice((1, 2)))
            e["workers_reached"] = rnd.randrange(1, 500)
            e["households"] = rnd.randrange(0, 50)
            e["staff"] = rnd.randrange(1, 20)
            if rnd.random() < 0.5:
                e["duration_minutes"] = rnd.randrange(10, 240)
                e["venue"] = rnd.choice(sym["venue"])
            if rnd.random() < 0.3:
                e["note"] = "送米面油，含逗号, \"引号\" 第%d次" % i
        elif t == "funding":
            e["amount_fen"] = rnd.randrange(0, 10 ** 9)
            e["source"] = rnd.choice(sym["source"])
            e["purpose"] = rnd.choice(sym["purpose"])
            e["recipients"] = rnd.randrange(0, 3000)
            e["target_group"] = rnd.choice(sym["target_group"])
            if rnd.random() < 0.5:
                e["disbursement"] = rnd.choice(sym["disbursement"])
        else:
            e["method"] = rnd.choice(sym["method"])
            e["enterprises"] = rnd.randrange(0, 20)
            e["respondents"] = rnd.randrange(50, 300)
            e["topic"] = rnd.choice(sym["topic"])
            hist = [rnd.randrange(0, 10) for _ in range(5)]
            e["satisfaction"] = {"s%d" % (k + 1): hist[k] for k in range(5)}
            needs = rnd.sample(sym["need"], rnd.choice((0, 1, 2)))
            e["needs"] = [{"need": x, "count": rnd.randrange(1, 9)} for x in needs]
        out.append(e)
    return out


def ts(d):
    return d.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def row_of(e, region_as_number):
    """The cells of one event: dates as datetimes, numbers as numbers, lists joined."""
    cells = []
    for _, f in COLUMNS:
        v = None
        if f == "target":
            v = ";".join(e["target_groups"]) if "target_groups" in e else e.get("target_group")
        elif f in ("s1", "s2", "s3", "s4", "s5"):
            v = e.get("satisfaction", {}).get(f)
        elif f == "needs":
            v = ";".join("%s:%d" % (x["need"], x["count"]) for x in e.get("needs", [])) or None
        elif f == "region":
            v = int(e["region"]) if region_as_number else e["region"]
        else:
            v = e.get(f)
        cells.append(v)
    return cells


def cell_text(v):
    """A cell as the producer's rejects CSV must give it."""
    if v is None:
        return ""
    if isinstance(v, datetime.datetime):
        return ts(v)
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--events", type=int, default=300)
    a = ap.parse_args()
    sym = symbols(a.repo)
    evs = events(a.events, sym, regions(a.repo))

    with open(os.path.join(a.out, "twin.jsonl"), "w", encoding="utf-8") as f:
        for e in evs:
            j = dict(e, occurred_at=ts(e["occurred_at"]), reported_at=ts(e["reported_at"]))
            f.write(json.dumps(j, ensure_ascii=False) + "\n")

    header = [c for c, _ in COLUMNS]
    bad = dict(evs[0], activity="PARTY", event_id="xlsx-bad")
    bad_cells = row_of(bad, False)
    # Sheet rows: 1 title (merged), 2 header, events, the bad one after the 10th, an empty row
    # after the 20th.
    rows = []
    for i, e in enumerate(evs):
        rows.append(row_of(e, i % 2 == 0))
        if i == 9:
            rows.append(bad_cells)
        if i == 19:
            rows.append(None)
    bad_row = 3 + 10
    empty_row = 3 + 21
    last = 2 + len(rows)
    title = "2025年两节送温暖活动记录（昆明市总工会）"
    span = "A1:%s1" % get_column_letter(len(COLUMNS))

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = title
    ws.merge_cells(span)
    ws.append(header)
    for r in rows:
        ws.append(r or [])
    for row in ws.iter_rows(min_row=3, max_col=4):
        for c in row[2:4]:
            c.number_format = "yyyy-mm-dd hh:mm:ss"
    wb.save(os.path.join(a.out, "events.xlsx"))

    wb = xlsxwriter.Workbook(os.path.join(a.out, "events-xw.xlsx"))
    ws = wb.add_worksheet(SHEET)
    date = wb.add_format({"num_format": "yyyy/m/d h:mm:ss"})
    ws.merge_range(span, title)
    ws.write_row(1, 0, header)
    for k, r in enumerate(rows):
        for c, v in enumerate(r or []):
            if isinstance(v, datetime.datetime):
                ws.write_datetime(2 + k, c, v, date)
            elif v is not None:
                ws.write(2 + k, c, v)
    wb.close()

    nrec = len(evs) + 1
    expect = {
        "sheet": SHEET,
        "bad_row": bad_row,
        "bad_cells": [cell_text(v) for v in bad_cells],
        "header": header,
        "notes": ["%s!1: skipped: merged cells %s (a title or a total line, not a record)"
                  % (SHEET, span), "%s!%d: skipped: an empty row" % (SHEET, empty_row)],
        "counts": "read %d, published %d, rejected 1, failed 0 (%d lines: 1 header, 2 blank, "
                  "%d in records)" % (nrec, len(evs), last, nrec),
    }
    json.dump(expect, open(os.path.join(a.out, "expect.json"), "w", encoding="utf-8"),
              ensure_ascii=False)


if __name__ == "__main__":
    main()
