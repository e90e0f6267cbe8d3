import sys
import json, collections
rows = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "dens.jsonl")]
print("min_distance", set(r["min_distance"] for r in rows), "own missing", sum(r["own"] is None for r in rows))
def rule(x, lab=True):
    return lambda r: not ((r["neighbour"] >= x) or (lab and r["label_d"] < 0.9))
rules = {"none": lambda r: True, "lab.9": rule(9e9), "nb.2": rule(0.2), "nb.3": rule(0.3), "nb.5": rule(0.5), "nb.7": rule(0.7), "nb.9": rule(0.9)}
cells = collections.defaultdict(list)
for r in rows: cells[(r["regime"], r["budget"], r["it"])].append(r)
ok = collections.Counter(); lost = collections.Counter(); tot = collections.Counter()
for key in sorted(cells):
    line = []
    for name, f in rules.items():
        kk = [r for r in cells[key] if f(r)]
        good = sum(r['kind'] == 'particle' for r in kk)
        p = good / len(kk) if kk else float('nan')
        if key[2] == 2: 
            ok[name] += p >= 0.9; tot[name] += good
        line.append(f"{len(kk)}/{good} {p:.2f}")
    print(key, " | ".join(line))
print("iteration 2 cells P>=0.9 (of those with any):", dict(ok))
print("iteration 2 right pseudo-positives kept:", dict(tot))
bad = [r for r in rows if r["kind"] != "particle"]
print("wrong ones by kind & neighbour>=0.3:", collections.Counter((r["kind"], r["neighbour"] >= 0.3 or r['label_d'] < .9) for r in bad))
