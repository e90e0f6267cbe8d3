"""Shared by the scripts of this folder: where the jitter + overlap matrix's cells were
(run folders of 2026-12-04, /work/exp/s34/fin2) and one table per rule."""
import collections

import numpy as np

DATA = {"crowded": "crowded-512px-5mic-d9f5e157",
        "apoferritin": "apoferritin-1024px-16mic-51995282",
        "large-carbon": "large-carbon-1024px-30mic-324d9ed0",
        "irregular": "irregular-1024px-12mic-66f7d2b0"}
RUNS = "/work/exp/s34/fin2/"
SOURCE = {("crowded", "20"): "c20", ("irregular", "05"): "i5", ("irregular", "50"): "i50"}
SOURCE.update({(r, "20"): "r20" for r in ("apoferritin", "large-carbon", "irregular")})
SOURCE.update({(r, b): "r5_50" for r in ("crowded", "apoferritin", "large-carbon")
               for b in ("05", "50")})


def cells():
    """(regime, budget, seed, cell folder, simulated data folder) of the 24 cells."""
    for (regime, budget), src in sorted(SOURCE.items()):
        for seed in (0, 1):
            yield (regime, budget, seed, f"{RUNS}{src}/{regime}/labels_{budget}/seed_{seed}",
                   "/work/bench_data/" + DATA[regime])


def table(rows, rules):
    """Per regime, budget and round: kept / right and precision under each rule (a rule takes
    one cell's rows, labels included, and returns the pseudo-particles it keeps)."""
    by_cell = collections.defaultdict(list)
    for r in rows:
        by_cell[(r["regime"], r["budget"], r["seed"], r["it"])].append(r)
    kept = collections.defaultdict(lambda: collections.defaultdict(list))
    for key in sorted(by_cell):
        for name, rule in rules.items():
            kept[(key[0], key[1], key[3])][name] += rule(by_cell[key])
    ok, right = collections.Counter(), collections.Counter()
    print(list(rules))
    for key in sorted(kept):
        line = []
        for name in rules:
            kk = kept[key][name]
            good = sum(r["kind"] == "particle" for r in kk)
            p = good / len(kk) if kk else float("nan")
            if key[2] == 2:
                ok[name] += p >= 0.9
                right[name] += good
            line.append(f"{len(kk)}/{good} {p:.2f}")
        print(key, " | ".join(line))
    print("round 2, regime-budgets at least 0.9 right:", dict(ok))
    print("round 2, right pseudo-particles kept:", dict(right))


def candidates(cell):
    return [r for r in cell if r["kind"] != "LABEL"]


def labels(cell, feature):
    return np.asarray([r[feature] for r in cell if r["kind"] == "LABEL"])
