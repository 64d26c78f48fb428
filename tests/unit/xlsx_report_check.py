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
children plus its 本级 row (what was filed at the parent itself); the 合计 row = SUMIF formulas
whose cached values equal the province row. Exit 0, or
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
        # The expected rows: (code, name, level text, figures from the rollups). After a
        # province, and after a prefecture with county rows, its 本级 row when its rollup
        # exceeds the sum of its children (events filed at the parent itself).
        if sheet == "汇总":
            codes, total_level = provs, "province"
        else:
            pc = [p for p in set(prov_of.values()) if regions[p]["name"] == sheet][0]
            codes = [c for c in hierarchy(rollups, regions) if prov_of[c] == pc]
            total_level = "prefecture"
        want_rows = []
        for code in codes:
            reg = regions[code]
            figs = [get(rollups[code]) for _, get, _ in COLUMNS]
            want_rows.append((code, reg["name"], LEVEL_ZH[reg["level"]], figs))
            if sheet == "汇总" or reg["level"] == "county":
                continue
            kids = [k for k in codes if regions[k]["parent"] == code]
            own = [figs[i] - sum(get(rollups[k]) for k in kids)
                   for i, (_, get, _) in enumerate(COLUMNS)]
            if any(own) and (kids or reg["level"] == "province"):
                want_rows.append((code, reg["name"] + "本级",
                                  "省本级" if reg["level"] == "province" else "市本级", own))
        rows, total = read_rows(ws, w)
        got_keys = [(v[0], v[2]) for _, v in rows]
        if got_keys != [(c, lv) for c, _, lv, _ in want_rows]:
            err("%s: rows %s, expected %s" % (w, got_keys, [(c, lv) for c, _, lv, _ in want_rows]))
            continue
        sheet_figs = []
        for (r, v), (code, name, level, want_figs) in zip(rows, want_rows):
            if v[1] != name:
                err("%s row %d: %s, expected %s" % (w, r, v[1], name))
            figs = []
            for i, (title, _, money) in enumerate(COLUMNS):
                want, got = want_figs[i], fig(v[3 + i], money)
                figs.append(got)
                cells += 1
                if got != want:
                    err("%s row %d %s %s: %r, expected %s" % (w, r, code, title, v[3 + i],
                                                               want / 100 if money else want))
                fmt = ws.cell(r, 4 + i).number_format
                if fmt != ("#,##0.00" if money else "#,##0"):
                    err("%s row %d %s: number format %r" % (w, r, title, fmt))
            if None not in figs[:6] and figs[0] != sum(figs[1:6]):
                err("%s row %d: 资金 %s is not the sum of its sources %s" % (w, r, figs[0],
                                                                          figs[1:6]))
            sheet_figs.append((code, level, figs))
        # Totals equal the sum of the rows: each parent row = its children's rows + its 本级.
        for code, level, figs in sheet_figs:
            if level not in ("省级", "地级"):
                continue
            parts = [f for c, lv, f in sheet_figs
                     if (regions[c]["parent"] == code and lv in ("地级", "县级"))
                     or (c == code and lv.endswith("本级"))]
            if parts and [sum(p[i] for p in parts) for i in range(len(COLUMNS))] != figs:
                err("%s: %s %s is not the sum of its rows" % (w, code, level))
        if total is None:
            err("%s: no 合计 row" % w)
            continue
        r, v = total
        counted = ("省级",) if sheet == "汇总" else ("地级", "省本级")
        for i, (title, _, money) in enumerate(COLUMNS):
            want = sum(f[i] for _, lv, f in sheet_figs if lv in counted)
            if fig(v[3 + i], money) != want:
                err("%s 合计 %s: %r, expected %s" % (w, title, v[3 + i], want))
            if sheet != "汇总" and sheet_figs[0][1] == "省级" and want != sheet_figs[0][2][i]:
                err("%s: 合计 %s differs from the province row" % (w, title))
            formula = wsf.cell(r, 4 + i).value
            col = openpyxl.utils.get_column_letter(4 + i)
            expect = "".join('+SUMIF($C$%d:$C$%d,"%s",%s%d:%s%d)' % (
                HEAD + 1, r - 1, lv, col, HEAD + 1, col, r - 1) for lv in counted)[1:]
            if codes and formula != "=" + expect:
                err("%s 合计 %s: formula %r, expected %r" % (w, title, formula, "=" + expect))
            cells += 1
    return cells


if __name__ == "__main__":
    sys.exit(main())
