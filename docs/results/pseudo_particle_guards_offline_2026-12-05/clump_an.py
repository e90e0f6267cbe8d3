"""Guard 2: isolation. No other peak of the same map (scoring at least x) and no label within
0.9 diameters: aggregates are clumps of copies 0.55-0.85 diameters apart."""
import collections
import json
import sys

from common import candidates, table


def isolated(min_neighbour):
    return lambda cell: [r for r in candidates(cell)
                         if r["neighbour"] < min_neighbour and r["label_d"] >= 0.9]


rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
rules = {"none": lambda cell: candidates(cell), "labels only": isolated(float("inf"))}
rules.update({f"peaks >= {x:g}": isolated(x) for x in (0.2, 0.3, 0.5, 0.7, 0.9)})
table(rows, rules)
wrong = [r for r in candidates(rows) if r["kind"] != "particle"]
print("wrong ones by kind, and whether a peak >= 0.3 or a label is within 0.9 diameters:",
      dict(collections.Counter((r["kind"], r["neighbour"] >= 0.3 or r["label_d"] < 0.9)
                               for r in wrong)))
