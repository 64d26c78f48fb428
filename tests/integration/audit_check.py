"""Expected outreach-audit output, computed from the input entries independently of the C code:
region matching from schemas/regions.csv parents, --since from Python's datetime, money
formatted with decimal arithmetic. Used by test_audit.sh."""
import datetime
import json
import sys

SH = datetime.timezone(datetime.timedelta(hours=8))


def regions(path="schemas/regions.csv"):
    out = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.strip()
            if not line:
                continue
            code, name, level, parent = line.split(",")
            out[code] = (name, level, parent)
    return out


def under(code, target, regs):
    while code:
        if code == target:
            return True
        code = regs.get(code, (None, None, ""))[2]
    return False


def since_ms(text):
    if len(text) == 10:
        d = datetime.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=SH)
    else:
        d = datetime.datetime.fromisoformat(text)
    return int(d.timestamp() * 1000)


def matches(e, args, regs):
    if args.get("agency") and e["agency_id"] != args["agency"]:
        return False
    if args.get("event") and e["event_id"] != args["event"]:
        return False
    if args.get("since") and e["applied_at"] < since_ms(args["since"]):
        return False
    if args.get("region") and not any(under(c["region"], args["region"], regs) for c in e["changes"]):
        return False
    return True


def yuan(fen):
    sign = "-" if fen < 0 else "+" if fen > 0 else ""
    return "%s%d.%02d" % (sign, abs(fen) // 100, abs(fen) % 100)


def main():
    # audit_check.py ENTRIES.jsonl ORDER.txt key=value...  -> expected event_id/correction_to
    # lines in listing order (partition, then offset); ORDER.txt gives each entry's partition.
    entries = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
    parts = [int(l) for l in open(sys.argv[2]) if l.strip()]
    args = dict(a.split("=", 1) for a in sys.argv[3:] if "=" in a)
    mode = args.pop("mode", "ids")
    regs = regions()
    order = sorted(range(len(entries)), key=lambda i: (parts[i], i))
    for i in order:
        e = entries[i]
        if not matches(e, args, regs):
            continue
        if mode == "ids":
            print("%s/%d" % (e["event_id"], e["correction_to"]))
        elif mode == "table":
            # what each entry's lines must contain
            when = datetime.datetime.fromtimestamp(e["applied_at"] / 1000, SH)
            frm = "无" if e["correction_from"] is None else str(e["correction_from"])
            print("\t".join([when.strftime("%Y-%m-%d %H:%M:%S"), e["event_id"], e["agency_id"],
                             "%s→%d" % (frm, e["correction_to"]),
                             "是" if e["retracted"] else "否", e["reason"] or "-"]))
            for c in e["changes"]:
                name = regs[c["region"]][0]
                parts_ = ["%s %s(" % (c["region"], name)]
                if "funding_fen" in c["deltas"]:
                    parts_.append("资金(元) " + yuan(c["deltas"]["funding_fen"]))
                if "visits" in c["deltas"]:
                    parts_.append("走访慰问(次) %+d" % c["deltas"]["visits"])
                print("  " + "|".join(parts_))


if __name__ == "__main__":
    main()
