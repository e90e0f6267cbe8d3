import sys
import json, collections, sys
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "veto.jsonl")]
rules = {
 "none": lambda r: True,
 "thr": lambda r: r["score"] >= r["threshold"],
 "labmin": lambda r: r["score"] >= r["lab_q"][0],
 "lab10": lambda r: r["score"] >= r["lab_q"][1],
 "iso1": lambda r: r["nn"] >= 1.0,
 "thr+iso": lambda r: r["score"] >= r["threshold"] and r["nn"] >= 1.0,
 "lab10+iso": lambda r: r["score"] >= r["lab_q"][1] and r["nn"] >= 1.0,
 "labmin+iso": lambda r: r["score"] >= r["lab_q"][0] and r["nn"] >= 1.0,
}
cells = collections.defaultdict(list)
for r in rows: cells[(r["regime"], r["budget"], r["it"])].append(r)
print("cell it | " + " | ".join(rules))
ok = collections.Counter()
for key in sorted(cells):
    line = []
    for name, f in rules.items():
        per = []
        for seed in (0, 1):
            k = [r for r in cells[key] if r["seed"] == seed and f(r)]
            per.append(f"{len(k)}/{sum(r['kind']=='particle' for r in k)}")
        kk = [r for r in cells[key] if f(r)]
        p = sum(r['kind']=='particle' for r in kk) / len(kk) if kk else float('nan')
        if key[2] == 2 and p >= 0.9: ok[name] += 1
        line.append(f"{' '.join(per)} {p:.2f}")
    print(key, " | ".join(line))
print("cells (iteration 2) with P>=0.9:", dict(ok))
