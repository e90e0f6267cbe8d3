"""The surplus readings of the three sets (surplus.md tables) by how many particles the test
micrographs hold against the count given: per group, the regime-budgets where 1.0 x the count
is closer to the best F1 than 1.15 x, the reverse, and ties; and each set's and the pooled
counts within 0.03.
Usage: surplus_by_ratio.py SURPLUS.md [SURPLUS.md ...]"""
import sys
from collections import Counter

GROUPS = (("fewer (<= 0.95x)", lambda r: r <= 0.95), ("more (>= 1.05x)", lambda r: r >= 1.05),
          ("in between", lambda r: 0.95 < r < 1.05))
rows, current = [], None
for path in sys.argv[1:]:
    for line in open(path):
        if line.startswith("### "):
            current = line[4:].split(":")[0]
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[0].endswith("%"):
            rows.append(dict(set=current, cell=f"{current} {cells[1]} {cells[0]}",
                             ratio=float(cells[3]), g100=float(cells[6]), g115=float(cells[8])))
for name, test in GROUPS:
    group = [r for r in rows if test(r["ratio"])]
    tally = Counter("1.0" if r["g100"] < r["g115"] else "1.15" if r["g115"] < r["g100"]
                    else "tie" for r in group)
    print(f"{name}: {len(group)} regime-budgets; 1.0 closer {tally['1.0']}, 1.15 closer "
          f"{tally['1.15']}, ties {tally['tie']} ("
          + ", ".join(f"{r['cell']} {r['ratio']:.2f}" for r in group) + ")")
for s in sorted({r["set"] for r in rows}) + ["pooled"]:
    group = [r for r in rows if s in (r["set"], "pooled")]
    print(f"{s}: within 0.03 at 1.0x {sum(r['g100'] <= 0.03 for r in group)}, at 1.15x "
          f"{sum(r['g115'] <= 0.03 for r in group)}, of {len(group)}")
