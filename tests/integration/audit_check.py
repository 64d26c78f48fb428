"""Expected outreach-audit output, computed from the input entries independently of the C code:
region matching from schemas/regions.csv parents, --since from Python's datetime, money
formatted with decimal arithmetic. Used by test_audit.sh."""
import datetime
import json
import sys

from audit_common import SH, regions, shown, under, yuan


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
            f = shown(e, "-")
            print("\t".join([f["applied_at"], e["event_id"], f["agency_id"], f["correction"],
                             f["retracted"], f["reason"]]))
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
