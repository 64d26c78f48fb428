"""What the audit helpers share (audit_check.py for test_audit.sh, sink_audit_check.py for
test_sink_audit.sh), independent of the C code, standard library only: the region tree from
schemas/regions.csv, region matching through parents, signed yuan, and the fields both programs
show for an entry. Run from the repository root."""
import datetime

SH = datetime.timezone(datetime.timedelta(hours=8))


def regions(path="schemas/regions.csv"):
    """{code: (name, level, parent)}"""
    out = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.strip()
            if line:
                code, name, level, parent = line.split(",")
                out[code] = (name, level, parent)
    return out


def under(code, target, regs):
    """code is target or lies below it."""
    while code:
        if code == target:
            return True
        code = regs.get(code, (None, None, ""))[2]
    return False


def yuan(fen):
    """-360000000.00, +0.05, 0.00"""
    sign = "-" if fen < 0 else "+" if fen > 0 else ""
    return "%s%d.%02d" % (sign, abs(fen) // 100, abs(fen) % 100)


def shown(e, no_reason):
    """An entry's fields as a listing shows them: applied_at in Asia/Shanghai, the correction
    as from→to (无 without a from), retracted 是/否, the reason or no_reason."""
    when = datetime.datetime.fromtimestamp(e["applied_at"] / 1000, SH)
    frm = "无" if e["correction_from"] is None else str(e["correction_from"])
    return {"applied_at": when.strftime("%Y-%m-%d %H:%M:%S"), "agency_id": e["agency_id"],
            "correction": "%s→%d" % (frm, e["correction_to"]),
            "retracted": "是" if e["retracted"] else "否", "reason": e["reason"] or no_reason}
