"""metrics_check.py METRICS.txt 'python expression over m'...: parses a /metrics answer with
prometheus_client's parser (independent of ours) into m["name{label=value,...}"] = value and
asserts each expression in turn; exit 1 at the first false one, after printing every sample.
Used by test_health.sh and tests/lib/aggtest.sh (run with the venv's python)."""
import sys

from prometheus_client.parser import text_string_to_metric_families

m = {}
with open(sys.argv[1], encoding="utf-8") as f:
    for fam in text_string_to_metric_families(f.read()):
        for s in fam.samples:
            key = s.name + ("{%s}" % ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
                            if s.labels else "")
            m[key] = s.value
for expr in sys.argv[2:]:
    ok = eval(expr, {"m": m})
    print("  metrics: %-70s %s" % (expr, "ok" if ok else "FAILED"))
    if not ok:
        print("  got: %r" % m)
        sys.exit(1)
