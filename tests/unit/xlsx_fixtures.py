"""Writes the .xlsx fixtures of tests/unit/test_xlsx.c with real spreadsheet libraries, so that
no binary file is committed: XlsxWriter (shared strings, as Excel and WPS write them) and
openpyxl 3.0 (inline strings). Run by the test itself with /usr/bin/python3.

Usage: xlsx_fixtures.py DIR

  basic.xlsx   (XlsxWriter) sheets "数据" (first) and "Other"; in "数据": a merged title row
               (A1:D1), a header row (2), shared strings, numbers, booleans, dates with a time and
               with half a second, row 5 present but empty (a formatted blank cell), rows 6-7
               absent, a vertically merged cell C8:C9, an error value #N/A in D10, a rich-text
               string with a phonetic run (<rPh>, added to the shared strings after saving, as
               Japanese Excel writes it) in B11, a number computed as 0.1+0.2 in D8.
  inline.xlsx  (openpyxl) inline strings: one with spaces around it, '&' and quotes.
  check.xlsx   (openpyxl) a visit sheet with Chinese headers for a --check run: good rows,
               one with an unknown activity, one with an Excel date in 1900, an empty row.
  wide.xlsx    (XlsxWriter) shared strings of about 200 kB (for the shared-string cap).
"""

import datetime
import os
import sys
import zipfile

import openpyxl
import xlsxwriter


def rewrite(path, part, fn):
    """Rewrites one part of the zip with fn(text) -> text."""
    with zipfile.ZipFile(path) as z:
        items = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in items:
            if info.filename == part:
                new = fn(data.decode("utf-8"))
                assert new != data.decode("utf-8"), part + " unchanged"
                data = new.encode("utf-8")
            z.writestr(info, data)
    os.replace(path + ".tmp", path)


def basic(path):
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("数据")
    wb.add_worksheet("Other").write("A1", "x")
    date = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    bold = wb.add_format({"bold": True})
    ws.merge_range("A1:D1", "2025年送温暖活动统计表", bold)
    ws.write_row("A2", ["名称", "文本", "数", "时间"])
    ws.write_row("A3", ["shared", "两节送温暖", 150])
    ws.write_datetime("D3", datetime.datetime(2025, 1, 2, 8, 30), date)
    ws.write_row("A4", ["second", "两节送温暖", 2.5])
    ws.write_datetime("D4", datetime.datetime(2025, 1, 2, 8, 30, 0, 500000), date)
    ws.write_blank("A5", None, bold)
    ws.write("A8", "merged")
    ws.write_boolean("B8", True)
    ws.merge_range("C8:C9", "530100")
    ws.write_number("D8", 0.1 + 0.2)
    ws.write("A9", "below")
    ws.write_boolean("B9", False)
    ws.write("A10", "error")
    ws.write_formula("D10", "=NA()", None, "#N/A")
    ws.write("A11", "phonetic")
    ws.write_rich_string("B11", "北京", bold, "市")
    wb.close()

    def phonetic(text):
        return text.replace("市</t></r></si>", '市</t></r><rPh sb="0" eb="2"><t>ペキン</t></rPh></si>')

    rewrite(path, "xl/sharedStrings.xml", phonetic)


def inline(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(["a", "b"])
    ws.append([' 行内 & "字符串" ', 7])
    wb.save(path)


def check(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "走访"
    ws.append(["类型", "事件编号", "发生时间", "上报时间", "单位编号", "行政区划代码",
               "活动名称", "活动类型", "服务对象", "服务职工人次", "户数", "工作人员数"])
    t = datetime.datetime(2025, 1, 6, 10, 0)
    r = datetime.datetime(2025, 1, 8, 17, 30)
    ws.append(["visit", "x-1", t, r, "530000-ZGH", 530622, "2025 两节送温暖", "CONDOLENCE_VISIT",
               "ON_DUTY_HOLIDAY", 3, 0, 1])
    ws.append(["visit", "x-2", t, r, "530000-ZGH", "530622", None, "PARTY",
               "ON_DUTY_HOLIDAY", 3, 0, 1])
    ws.append([])
    ws.append(["visit", "x-3", datetime.datetime(1900, 3, 1), r, "530000-ZGH", "530622", None,
               "HOME_VISIT", "SANITATION", 3, 0, 1])
    ws.append(["visit", None, t, r, "530000-ZGH", "530622", "a,b", "HOME_VISIT",
               "SANITATION;OTHER", 12, 4, 2])
    for row in ws.iter_rows(min_row=2):
        for c in row[2:4]:
            c.number_format = "yyyy-mm-dd hh:mm"
    wb.save(path)


def wide(path):
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    for i in range(200):
        ws.write_string(i, 0, "s%04d-" % i + "x" * 1000)
    wb.close()


def main():
    d = sys.argv[1]
    basic(os.path.join(d, "basic.xlsx"))
    inline(os.path.join(d, "inline.xlsx"))
    check(os.path.join(d, "check.xlsx"))
    wide(os.path.join(d, "wide.xlsx"))


if __name__ == "__main__":
    main()
