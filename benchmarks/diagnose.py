"""Where a picker's picks and misses land, on micrographs from ../shared/bench/simulate.py.

    python -m benchmarks.diagnose --data DATA_FOLDER --picks picks.json [--threshold 0.5]

``--picks``: a coordinate file with scores (``cryopick pick --output``; the benchmark matrix
keeps one per U-Net model, ``picks_<model>.json`` in each run's ``unet`` folder). Each pick is
matched one-to-one to the true centres within half a diameter, as the benchmark scores it;
a pick left over is named by what lies under it in the simulator's label map (carbon, ice
contamination, aggregate, fragment) or, on plain ice, "next to a particle" (a true centre
within one diameter: a pick between touching particles, or an off-centre duplicate) or "empty
ice". A missed particle is "touching" when another lies within 1.5 diameters. Prints the
counts above / below the threshold, the kinds of the best-scoring picks in order, and the
misses: what to fix, before changing anything.
"""
import argparse

import numpy as np

from benchmarks.datasets import Dataset
from benchmarks.matrix import match_one_to_one
from cryopick_plugin.engine.io.coordinates import read_coordinates, stem

# simulate.py's label map values (its truth files say so under "label_codes")
LABEL_NAMES = {1: "carbon", 2: "ice contamination", 3: "aggregate", 4: "fragment"}
PARTICLE, NEXT_TO, EMPTY = "particle", "next to a particle", "empty ice"
TOUCHING = 1.5  # diameters: a missed particle with a neighbour this close is "touching"


def _label_map(path):
    import mrcfile

    with mrcfile.open(path, permissive=True) as m:
        return np.asarray(m.data)


def classify(picks, truth, diameter, label_map=None):
    """Kinds of the picks ((N, 3) x, y, score) and of the true particles ((M, 2+)): a list
    of N pick kinds and a list of M "found" / "missed (touching)" / "missed (isolated)"."""
    picks = np.asarray(picks, dtype=np.float64).reshape(-1, 3)
    truth = np.asarray(truth, dtype=np.float64).reshape(len(truth), -1)[:, :2]
    matched = dict(match_one_to_one(picks[:, :2], truth, diameter / 2))
    kinds = []
    for i, (x, y, _) in enumerate(picks):
        if i in matched:
            kinds.append(PARTICLE)
            continue
        code = 0
        if label_map is not None:
            code = int(label_map[int(np.clip(round(y), 0, label_map.shape[0] - 1)),
                                 int(np.clip(round(x), 0, label_map.shape[1] - 1))])
        if code in LABEL_NAMES:
            kinds.append(LABEL_NAMES[code])
        elif len(truth) and np.hypot(*(truth - (x, y)).T).min() <= diameter:
            kinds.append(NEXT_TO)
        else:
            kinds.append(EMPTY)
    found = set(matched.values())
    fates = []
    for j, t in enumerate(truth):
        if j in found:
            fates.append("found")
            continue
        others = np.delete(truth, j, axis=0)
        near = len(others) and np.hypot(*(others - t).T).min() <= TOUCHING * diameter
        fates.append("missed (touching)" if near else "missed (isolated)")
    return kinds, fates


def diagnose(ds, picks, threshold, first=60):
    """Counts per pick kind above / below ``threshold``, the kinds of the ``first`` best
    picks, and the fates of the true particles, over the micrographs in ``picks``."""
    counts, fates, ranked = {}, {}, []
    for name, table in picks.items():
        table = np.asarray(table, dtype=np.float64).reshape(-1, 3)
        lab = _label_map(ds.label_masks[name]) if name in ds.label_masks else None
        kinds, fate = classify(table, ds.truth[name], ds.diameter_px, lab)
        for kind, score in zip(kinds, table[:, 2]):
            counts.setdefault(kind, [0, 0])[0 if score >= threshold else 1] += 1
            ranked.append((float(score), kind))
        for f in fate:
            fates[f] = fates.get(f, 0) + 1
    ranked.sort(key=lambda r: -r[0])
    return dict(counts=counts, fates=fates, best=[k for _, k in ranked[:first]])


def report(result, threshold):
    order = [PARTICLE, NEXT_TO, EMPTY] + list(LABEL_NAMES.values())
    lines = [f"| pick lands on | score >= {threshold:g} | below |", "|---|---:|---:|"]
    for kind in order:
        if kind in result["counts"]:
            above, below = result["counts"][kind]
            lines.append(f"| {kind} | {above} | {below} |")
    short = {PARTICLE: "P", NEXT_TO: "n", EMPTY: "e", "carbon": "C", "ice contamination": "I",
             "aggregate": "A", "fragment": "F"}
    lines += ["", "Best picks in order (P particle, n next to one, e empty ice, C carbon, "
              "I ice contamination, A aggregate, F fragment):",
              "".join(short[k] for k in result["best"]), "",
              "True particles: " + ", ".join(f"{v} {k}" for k, v in
                                             sorted(result["fates"].items()))]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="simulate.py output folder")
    p.add_argument("--picks", required=True, help="coordinate file with scores")
    p.add_argument("--threshold", type=float, default=0.5, help="the model's threshold")
    p.add_argument("--first", type=int, default=60, help="how many best picks to list")
    args = p.parse_args(argv)
    ds = Dataset.from_folder(args.data)
    picks = {}
    for key, table in read_coordinates(args.picks).items():
        name = stem(key)
        if name not in ds.truth:
            raise SystemExit(f"{args.picks}: micrograph {key!r} is not in {args.data}")
        if np.shape(table)[-1] < 3:
            raise SystemExit(f"{args.picks}: picks without scores")
        picks[name] = np.asarray(table)[:, :3]
    result = diagnose(ds, picks, args.threshold, args.first)
    print(report(result, args.threshold))
    return result


if __name__ == "__main__":
    main()
