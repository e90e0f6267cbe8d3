"""The last round's pseudo-particles (stable.jsonl) under other rules: all (as taken), only
those round 1 took too ("in1": --confirm-pseudo-particles), or those plus new ones the
baseline's map scored at least 0.9 / 0.7. Per cell: right / taken; then the cells at least
90% right. Usage: policies.py stable.jsonl"""
import json
import sys

RULES = {"all": lambda x: True, "in1": lambda x: x["in_it1"],
         "in1|s0>=.9": lambda x: x["in_it1"] or x["s0"] >= 0.9,
         "in1|s0>=.7": lambda x: x["in_it1"] or x["s0"] >= 0.7}
share = {k: [] for k in RULES}
for line in open(sys.argv[1]):
    d = json.loads(line)
    out = []
    for k, rule in RULES.items():
        rows = [x for x in d["rows"] if rule(x)]
        right = sum(x["kind"] == "particle" for x in rows)
        share[k].append(right / len(rows) if rows else None)
        out.append(f"{k} {right}/{len(rows)}")
    wrong = sorted(x["kind"] for x in d["rows"] if x["kind"] != "particle")
    print(d["cell"].split("s45/")[1], " | ".join(out), "| wrong:", ", ".join(wrong))
for k, v in share.items():
    v = [p for p in v if p is not None]
    print(f"{k}: at least 90% right in {sum(p >= 0.9 for p in v)} of {len(v)} cells that took any")
