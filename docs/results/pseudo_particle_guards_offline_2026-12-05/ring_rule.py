import sys
import json, collections
import numpy as np
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
cells = collections.defaultdict(list)
for r in rows: cells[(r["regime"], r["budget"], r["seed"], r["it"])].append(r)
def rule(feat, q, slack=1.0):
    def f(cell):
        lab = [r[feat] for r in cell if r["kind"] == "LABEL"]
        lim = np.quantile(lab, q) * slack if lab else np.inf
        return [r for r in cell if r["kind"] != "LABEL" and r[feat] <= lim]
    return f
rules = {"none": rule("ring", 1.0, np.inf), "ring max": rule("ring", 1.0), "ring q90": rule("ring", 0.9), "area max": rule("area", 1.0), "area q90": rule("area", .9), "area 1.5max": rule("area", 1.0, 1.5)}
agg = collections.defaultdict(lambda: collections.defaultdict(list))
for key in sorted(cells):
    for name, f in rules.items():
        agg[(key[0], key[1], key[3])][name] += f(cells[key])
ok = collections.Counter(); tot = collections.Counter()
for key in sorted(agg):
    line = []
    for name in rules:
        kk = agg[key][name]; good = sum(r["kind"] == "particle" for r in kk)
        p = good / len(kk) if kk else float("nan")
        if key[2] == 2: ok[name] += p >= 0.9; tot[name] += good
        line.append(f"{len(kk)}/{good} {p:.2f}")
    print(key, " | ".join(line))
print(dict(ok)); print(dict(tot))
