"""Guard 1: the classifier's verdict at the pick (its own threshold, or the labels' scores),
alone and with isolation from the other pseudo-particles and labels (nn: diameters)."""
import json
import sys

from common import candidates, table


def keep(test):
    return lambda cell: [r for r in candidates(cell) if test(r)]


rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "veto.jsonl")]
table(rows, {
    "none": keep(lambda r: True),
    "threshold": keep(lambda r: r["score"] >= r["threshold"]),
    "labels' min": keep(lambda r: r["score"] >= r["lab_q"][0]),
    "labels' 10%": keep(lambda r: r["score"] >= r["lab_q"][1]),
    "isolated": keep(lambda r: r["nn"] >= 1.0),
    "threshold + isolated": keep(lambda r: r["score"] >= r["threshold"] and r["nn"] >= 1.0),
    "labels' 10% + isolated": keep(lambda r: r["score"] >= r["lab_q"][1] and r["nn"] >= 1.0),
})
