import sys
import json, collections, sys
import numpy as np
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
cells = collections.defaultdict(list)
for r in rows: cells[(r["regime"], r["budget"], r["seed"], r["it"])].append(r)
def rng(feats, margin):
    f = np.asarray(feats); lo, hi = f.min(0), f.max(0); sp = hi - lo
    return lo - margin * sp, hi + margin * sp
def rule(margin, minl):
    def f(cell):
        lab = [r["dens"] for r in cell if r["kind"] == "LABEL"]
        cand = [r for r in cell if r["kind"] != "LABEL"]
        if len(lab) < minl: return cand
        lo, hi = rng(lab, margin)
        return [r for r in cand if np.all((np.asarray(r["dens"]) >= lo) & (np.asarray(r["dens"]) <= hi))]
    return f
rules = {"none": rule(0, 10**9), "m.5 n15 (ships)": rule(0.5, 15), "m.5 n2": rule(0.5, 2), "m.25 n2": rule(0.25, 2), "m1 n2": rule(1.0, 2), "m.5 n3": rule(0.5, 3)}
agg = collections.defaultdict(lambda: collections.defaultdict(list))
for key in sorted(cells):
    for name, f in rules.items():
        agg[(key[0], key[1], key[3])][name] += f(cells[key])
ok = collections.Counter(); tot = collections.Counter()
print(list(rules))
for key in sorted(agg):
    line = []
    for name in rules:
        kk = agg[key][name]; good = sum(r["kind"] == "particle" for r in kk)
        p = good / len(kk) if kk else float("nan")
        if key[2] == 2: ok[name] += p >= 0.9; tot[name] += good
        line.append(f"{len(kk)}/{good} {p:.2f}")
    print(key, " | ".join(line))
print(dict(ok)); print(dict(tot))
