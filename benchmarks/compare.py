"""Paired differences between two benchmark-matrix runs: the same regime, budget, label seed
and row in both, the second run minus the first.

    python -m benchmarks.compare BEFORE/results.json AFTER/results.json [--rows ...]

Two runs of one change (a new default, an experimental flag) on the same simulated data and
label seeds differ only by the change and by training noise; pairing them per seed shows the
change's effect without the spread between label sets, which is larger. Prints a markdown
table: per regime and budget, the mean difference in best F1, AP, F1 at the model's own
threshold and (self-training rounds) pseudo-positive precision and count, with how many
seeds moved up.
"""
import argparse
import json

import numpy as np

from .matrix import _order_key, row_label

METRICS = ("best_f1", "ap", "f1", "pseudo_precision", "pseudo_n")
DEFAULT_ROWS = ("unet/iteration 2", "fixmatch", "ensemble")


def load_records(path):
    """The scored rows of a matrix run (its results.json or cells.json)."""
    with open(path) as fh:
        data = json.load(fh)
    if "results" in data:
        return data["results"]
    # cells.json: written after every piece, so a run still going can be compared too
    return [r for cell in data["cells"] for r in cell.get("saved", {}).get("records", [])]


def _key(r):
    return r["regime"], r["fraction"], r["row"], r["seed"]


def paired(before, after, rows=None):
    """Per (regime, fraction, row) present in both runs: for each metric, the per-seed
    differences (after - before) of the seeds both runs have."""
    old = {_key(r): r for r in before}
    groups = {}
    for r in after:
        if (rows and r["row"] not in rows) or _key(r) not in old:
            continue
        groups.setdefault(_key(r)[:3], []).append((old[_key(r)], r))
    regimes = list(dict.fromkeys(r["regime"] for r in after))
    out = []
    for (regime, fraction, row), pairs in sorted(
            groups.items(), key=lambda kv: (regimes.index(kv[0][0]), kv[0][1],
                                            _order_key(kv[0][2]))):
        diffs = {m: [b[m] - a[m] for a, b in pairs
                     if a.get(m) is not None and b.get(m) is not None] for m in METRICS}
        out.append(dict(regime=regime, fraction=fraction, row=row, n=len(pairs),
                        after={m: _mean(b.get(m) for _, b in pairs) for m in METRICS},
                        diff={m: _mean(d) for m, d in diffs.items()},
                        up={m: sum(d > 0 for d in v) for m, v in diffs.items()}))
    return out


def _mean(values):
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None


def table(comparison):
    """Markdown: one line per regime, budget and row."""
    head = ("| regime | budget | row | seeds | best F1 (change) | AP (change) | own-threshold F1 "
            "(change) | pseudo precision (change) | pseudo-positives (change) |")
    lines = [head, "|" + "---|" * 9]
    for c in comparison:
        cells = []
        for m in METRICS:
            after, diff = c["after"][m], c["diff"][m]
            if after is None:
                cells.append("")
            elif m == "pseudo_n":
                cells.append(f"{after:.0f} ({diff:+.0f})" if diff is not None else f"{after:.0f}")
            else:
                moved = f", {c['up'][m]}/{c['n']} up" if diff is not None else ""
                cells.append(f"{after:.3f} ({diff:+.3f}{moved})" if diff is not None
                             else f"{after:.3f}")
        lines.append(f"| {c['regime']} | {100 * c['fraction']:.0f}% | {row_label(c['row'])} | "
                     f"{c['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before", help="results.json (or cells.json) of the first run")
    p.add_argument("after", help="results.json (or cells.json) of the second run")
    p.add_argument("--rows", nargs="+", default=list(DEFAULT_ROWS),
                   help="row ids to compare (default: %(default)s; 'all' for every row)")
    args = p.parse_args(argv)
    rows = None if args.rows == ["all"] else set(args.rows)
    comparison = paired(load_records(args.before), load_records(args.after), rows)
    if not comparison:
        raise SystemExit("no regime, budget, seed and row is in both runs")
    print(table(comparison))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
