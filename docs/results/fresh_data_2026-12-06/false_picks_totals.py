"""The three budgets of false_picks.md added up per regime and data set (the totals quoted in
docs/benchmarks.md). Usage: false_picks_totals.py false_picks.md"""
import collections
import sys

rows = [[c.strip() for c in line.split("|")[1:-1]] for line in open(sys.argv[1])
        if line.startswith("| ") and "regime" not in line]
head = ["picks", "false", "carbon", "contamination", "aggregate", "fragment", "near particle",
        "plain ice", "missed"]
total = collections.defaultdict(lambda: [0] * len(head))
for r in rows:
    total[(r[0], r[2])] = [a + int(b) for a, b in zip(total[(r[0], r[2])], r[3:])]
print("| regime | data | " + " | ".join(head) + " |")
print("|---|---|" + "---|" * len(head))
for (regime, data), v in sorted(total.items()):
    print(f"| {regime} | {data} | " + " | ".join(map(str, v)) + " |")
