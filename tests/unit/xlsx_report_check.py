#!/usr/bin/python3
"""Reads the workbooks of an xlsx:// endpoint back with openpyxl and compares them with rollups
computed elsewhere (the unit test's input, or the reference of tests/integration/rollup_check.py).

Usage: xlsx_report_check.py --regions schemas/regions.csv [--input ROLLUPS.jsonl]
                            [--generated 'YYYY-MM-DD HH:MM:SS'] DIR
ROLLUPS.jsonl holds one rollup object a line (window_kind, window, region, revision, the
figures, funding_by_source_fen); the latest revision per key counts, DAY and ALL are ignored.
Checks: one workbook per MONTH/CAMPAIGN window under the documented file name and no other;
sheet 汇总 then one sheet per province; rows in hierarchy order with names and levels; every
figure (yuan to the fen); 资金 = the sum of the source columns; each parent row = the sum of its
children; the 合计 row = SUMIF formulas whose cached values equal the province row. Exit 0, or
1 with the differences."""
import argparse
import csv
import glob
import json
import os
import sys

import openpyxl

SOURCES = ["UNION_FUNDS", "GOVERNMENT", "SOCIAL_CHARITY", "ENTERPRISE"]
COLUMNS = [  # title, how to get the value from a rollup, money
    ("资金(元)", lambda r: r["funding_fen"], True),
    ("工会经费(元)", lambda r: r["funding_by_source_fen"].get("UNION_FUNDS", 0), True),
    ("政府资金(元)", lambda r: r["funding_by_source_fen"].get("GOVERNMENT", 0), True),
    ("社会捐助(元)", lambda r: r["funding_by_source_fen"].get("SOCIAL_CHARITY", 0), True),
    ("企业资金(元)", lambda r: r["funding_by_source_fen"].get("ENTERPRISE", 0), True),
    ("其他来源(元)", lambda r: sum(v for k, v in r["funding_by_source_fen"].items()
                                  if k not in SOURCES), True),
    ("受助人数", lambda r: r["recipients"], False),
    ("走访慰问(次)", lambda r: r["visits"], False),
    ("服务职工(人)", lambda r: r["workers_reached"], False),
    ("户数", lambda r: r["households"], False),
    ("工作人员(人)", lambda r: r["staff"], False),
    ("调研(次)", lambda r: r["surveys"], False),
    ("调研企业(家)", lambda r: r["enterprises"], False),
    ("受访人数", lambda r: r["respondents"], False),
    ("事件数", lambda r: r["event_count"], False),
]
LEVEL_ZH = {"province": "省级", "prefecture": "地级", "county": "县级"}
HEAD = 6  # 1-based row of the column titles
errors = []


def err(msg):
    errors.append(msg)
    if len(errors) <= 40:
        print("xlsx_report_check: " + msg, file=sys.stderr)


def crc64_avro(data):
    """CRC-64-AVRO (the Avro fingerprint): the project's name hash, written independently."""
    poly = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (poly & -(fp & 1))
        table.append(fp)
    fp = 0xC15D213AA4D7A795
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


def file_name(kind, window):
    raw = window.encode()
    cut = raw[:180]
    changed = len(raw) > 180
    if changed:
        cut = cut.decode("utf-8", "ignore").encode()
    out = bytearray()
    for i, c in enumerate(cut):
        bad = c < 0x20 or c == 0x7F or c in b"/\\" or (i == 0 and c == ord("."))
        out.append(ord("_") if bad else c)
        changed |= bad
    w = out.decode() or "_"
    if changed:
        return "%s-%s-%08x.xlsx" % (kind.lower(), w, crc64_avro(raw) & 0xFFFFFFFF)
    return "%s-%s.xlsx" % (kind.lower(), w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--regions", required=True)
    ap.add_argument("--input")
    ap.add_argument("--generated")
    ap.add_argument("dir")
    a = ap.parse_args()
    regions = {}
    with open(a.regions, encoding="utf-8") as f:
        for row in csv.DictReader(f):
            regions[row["code"]] = row
    latest = {}
    with open(a.input or os.path.join(a.dir, "input.jsonl"), encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["window_kind"] not in ("MONTH", "CAMPAIGN") or r["region"] not in regions:
                continue
            k = (r["window_kind"], r["window"], r["region"])
            if k not in latest or latest[k].get("revision", 0) <= r.get("revision", 0):
                latest[k] = r
    windows = {}
    for (kind, window, region), r in latest.items():
        windows.setdefault((kind, window), {})[region] = r
    want_files = {file_name(k, w): (k, w) for k, w in windows}
    have = {os.path.basename(p) for p in glob.glob(os.path.join(a.dir, "*.xlsx"))}
    if have != set(want_files):
        err("workbooks %s, expected %s" % (sorted(have), sorted(want_files)))
    cells = 0
    for name, (kind, window) in sorted(want_files.items()):
        if name not in have:
            continue
        path = os.path.join(a.dir, name)
        cells += check_workbook(path, kind, window, windows[(kind, window)], regions, a.generated)
    if errors:
        print("xlsx_report_check: %d difference(s)" % len(errors), file=sys.stderr)
        return 1
    print("xlsx_report_check: %d workbook(s), %d figures equal the reference"
          % (len(want_files), cells))
    return 0


def hierarchy(rollups, regions):
    """Region codes in the order of the sheet: province, then each prefecture and its counties,
    from the parent links of the table (not from code order)."""
    children = {}
    for code in rollups:
        children.setdefault(regions[code]["parent"], []).append(code)
    order = []
    for prov in sorted(c for c in rollups if regions[c]["level"] == "province"):
        order.append(prov)
        for pref in sorted(children.get(prov, [])):
            order.append(pref)
            order.extend(sorted(children.get(pref, [])))
    return order


def read_rows(ws, where):
    """The data rows (code, name, level, figures) and the 合计 row of a sheet."""
    titles = [ws.cell(HEAD, c).value for c in range(1, 4 + len(COLUMNS))]
    if titles != ["地区代码", "地区名称", "级别"] + [c[0] for c in COLUMNS]:
        err("%s: column titles %s" % (where, titles))
    rows, total, r = [], None, HEAD + 1
    while ws.cell(r, 1).value is not None:
        vals = [ws.cell(r, c).value for c in range(1, 4 + len(COLUMNS))]
        if vals[0] == "合计":
            total = (r, vals)
            break
        rows.append((r, vals))
        r += 1
    return rows, total


def fig(v, money):
    """A cell as an integer in fen (money) or units, exact to the fen."""
    if not isinstance(v, (int, float)):
        return None
    return round(v * 100) if money else round(v)


def check_workbook(path, kind, window, rollups, regions, generated):
    where = os.path.basename(path)
    wb = openpyxl.load_workbook(path, data_only=True)
    wf = openpyxl.load_workbook(path, data_only=False)
    provs = sorted(c for c in rollups if regions[c]["level"] == "province")
    prov_of = {c: c[:2] + "0000" for c in rollups}
    want_sheets = ["汇总"] + [regions[p]["name"] for p in sorted(set(prov_of.values()))]
    if wb.sheetnames != want_sheets:
        err("%s: sheets %s, expected %s" % (where, wb.sheetnames, want_sheets))
        return 0
    cells = 0
    for sheet in wb.sheetnames:
        ws, wsf = wb[sheet], wf[sheet]
        w = "%s/%s" % (where, sheet)
        shown = "".join("?" if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in window)
        if shown not in str(ws["A2"].value) or kind not in str(ws["A2"].value):
            err("%s: A2 %r does not name the window" % (w, ws["A2"].value))
        if generated and generated not in str(ws["A3"].value):
            err("%s: A3 %r is not the generation time %s" % (w, ws["A3"].value, generated))
        if "汇总" not in str(ws["A4"].value) or "元" not in str(ws["A4"].value):
            err("%s: A4 %r lacks the note on the source and the unit" % (w, ws["A4"].value))
        if sheet == "汇总":
            codes, total_level = provs, "province"
        else:
            pc = [p for p in set(prov_of.values()) if regions[p]["name"] == sheet][0]
            codes = [c for c in hierarchy(rollups, regions) if prov_of[c] == pc]
            total_level = "prefecture"
        rows, total = read_rows(ws, w)
        got_codes = [v[0] for _, v in rows]
        if got_codes != codes:
            err("%s: rows %s, expected %s" % (w, got_codes, codes))
            continue
        by_code = {}
        for (r, v), code in zip(rows, codes):
            reg = regions[code]
            if v[1] != reg["name"] or v[2] != LEVEL_ZH[reg["level"]]:
                err("%s row %d: %s %s, expected %s %s" % (w, r, v[1], v[2], reg["name"],
                                                          LEVEL_ZH[reg["level"]]))
            figs = []
            for i, (title, get, money) in enumerate(COLUMNS):
                want, got = get(rollups[code]), fig(v[3 + i], money)
                figs.append(got)
                cells += 1
                if got != want:
                    err("%s row %d %s %s: %r, expected %s" % (w, r, code, title, v[3 + i],
                                                               want / 100 if money else want))
                fmt = ws.cell(r, 4 + i).number_format
                if fmt != ("#,##0.00" if money else "#,##0"):
                    err("%s row %d %s: number format %r" % (w, r, title, fmt))
            if figs[0] is not None and None not in figs[1:6] and figs[0] != sum(figs[1:6]):
                err("%s row %d: 资金 %s is not the sum of its sources %s" % (w, r, figs[0],
                                                                          figs[1:6]))
            by_code[code] = figs
        # Parents equal the sums of their children (the "totals equal the rows").
        for code, figs in by_code.items():
            kids = [k for k in by_code if regions[k]["parent"] == code]
            if kids and [sum(by_code[k][i] for k in kids) for i in range(len(COLUMNS))] != figs:
                err("%s: %s is not the sum of its rows %s" % (w, code, kids))
        if total is None:
            err("%s: no 合计 row" % w)
            continue
        r, v = total
        level_rows = [c for c in codes if regions[c]["level"] == total_level]
        for i, (title, _, money) in enumerate(COLUMNS):
            want = sum(by_code[c][i] for c in level_rows)
            if fig(v[3 + i], money) != want:
                err("%s 合计 %s: %r, expected %s" % (w, title, v[3 + i], want))
            if sheet != "汇总" and provs and prov_of[codes[0]] in by_code:
                if want != by_code[prov_of[codes[0]]][i]:
                    err("%s: 合计 %s differs from the province row" % (w, title))
            formula = wsf.cell(r, 4 + i).value
            col = openpyxl.utils.get_column_letter(4 + i)
            expect = '=SUMIF($C$%d:$C$%d,"%s",%s%d:%s%d)' % (
                HEAD + 1, r - 1, LEVEL_ZH[total_level], col, HEAD + 1, col, r - 1)
            if codes and formula != expect:
                err("%s 合计 %s: formula %r, expected %r" % (w, title, formula, expect))
            cells += 1
    return cells


if __name__ == "__main__":
    sys.exit(main())
