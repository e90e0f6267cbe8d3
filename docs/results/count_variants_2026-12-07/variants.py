"""Offline, exploratory (eleventh session): why the classifier's count misses, and three other
ways to count or place the threshold, on the saved matrix cells. Nothing here was written down
before it ran: it looks for a rule worth pre-registering, it does not choose one.

Per cell (its ensemble/ folder as counts.py left it: count_study_picks.npz with the members'
picks on the labelled training micrographs, labels.json, picks.json on the test micrographs):
- where count_from_labels reads the classifier's count (its threshold): the labels' recall
  there, the true recall and precision of the classifier's picks on the same micrographs;
- the count and the F1 gap (best F1 minus F1 at the threshold keeping that many picks per
  calibration micrograph, counts.f1_at_count) for: the default (count_from_labels), the same
  without its standard error ("raw"), the raw minimum less its bootstrap bias ("bootstrap":
  2 x raw - mean of 200 label resamples), the classifier's picks lowered where they overlap
  as the ensemble's are ("overlap", peaks.lower_overlapping), and the true count;
- what the false ones among the classifier's and the ensemble's best picks on the labelled
  micrographs (as many as their particles) land on, by the simulator's label map;
- "snap": from the default or the true count's rank k, the threshold moved to the steepest
  drop of the calibration micrographs' scores between ranks 0.8 k and 1.25 k (the score drop
  over 0.05 k or 0.1 k ranks), the edge of the particles' mode where the scores have one.

Usage: variants.py OUT.jsonl CELL DATA [CELL DATA ...]
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
sys.path.insert(0, os.path.join(HERE, "..", "ensemble_count_2026-12-06"))
from benchmarks.datasets import Dataset  # noqa: E402
from counts import f1_at_count  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.peaks import lower_overlapping  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (COUNT_MIN_RECALL,  # noqa: E402
                                                       CALIBRATION_MICROGRAPHS,
                                                       count_from_labels, label_scores,
                                                       recall_curve,
                                                       spread_sample)

BOOTSTRAPS = 200
#: the simulator's label codes (simulate.py: masks/NAME_labels.mrc)
LABEL_CODES = {0: "ice", 1: "carbon", 2: "contamination", 3: "aggregate", 4: "fragment"}


def min_ratio(candidates, n_picks, best, standard_error):
    """count_from_labels's minimum of n(t) / R(t) (all micrographs together) for the labels'
    best scores ``best``, with or without R less its standard error."""
    recall = np.array([(best >= c).mean() for c in candidates])
    ok = (recall * len(best) >= min(3, len(best))) & (recall >= COUNT_MIN_RECALL)
    if not ok.any():
        return None
    if standard_error:
        recall = recall - np.sqrt(recall * (1.0 - recall) / len(best))
    return float((n_picks[ok] / recall[ok]).min())


def false_by_label(picks, ds, names, radius):
    """{label: count} of the false picks among the best picks of ``names`` (as many as their
    true particles), by the simulator's label map under each pick."""
    import mrcfile
    from scipy.spatial import cKDTree

    rows = []
    for n in names:
        p, t = picks[n], ds.truth[n][:, :2]
        right = cKDTree(t).query(p[:, :2])[0] <= radius if len(t) else np.zeros(len(p), bool)
        with mrcfile.open(ds.label_masks[n], permissive=True) as m:
            lab = np.asarray(m.data)
        x = np.clip(np.rint(p[:, 0]).astype(int), 0, lab.shape[1] - 1)
        y = np.clip(np.rint(p[:, 1]).astype(int), 0, lab.shape[0] - 1)
        rows.append(np.column_stack([p[:, 2], right, lab[y, x]]))
    rows = np.concatenate(rows)
    best = rows[np.argsort(-rows[:, 0], kind="stable")][:sum(len(ds.truth[n]) for n in names)]
    codes, counts = np.unique(best[best[:, 1] == 0, 2].astype(int), return_counts=True)
    return {LABEL_CODES.get(int(c), str(c)): int(k) for c, k in zip(codes, counts)}


def snapped(scores, k, lo=0.8, hi=1.25, step=0.05):
    """The score at the steepest drop of ``scores`` (best first) between ranks lo x k and
    hi x k, the drop measured over step x k ranks; the k-th score when the window is empty."""
    s = np.sort(scores)[::-1]
    d = max(1, int(round(step * k)))
    a, b = max(1, int(lo * k)), min(len(s) - 1, int(hi * k))
    if b - d <= a:
        return s[min(k, len(s)) - 1]
    ranks = np.arange(a, b - d + 1)
    return s[ranks[int(np.argmax(s[ranks - 1] - s[ranks - 1 + d]))] - 1]


def study(cell, data):
    ds = Dataset.from_folder(data)
    rng = np.random.default_rng(0)  # the same resamples whatever the order of the cells
    radius = ds.diameter_px / 2.0
    folder = os.path.join(cell, "ensemble")
    with open(os.path.join(folder, "labels.json")) as fh:
        labels = {n: np.asarray(v, float).reshape(-1, np.shape(v)[-1])[:, :2]
                  for n, v in json.load(fh).items() if len(v)}
    cached = np.load(os.path.join(folder, "count_study_picks.npz"))
    classifier = {n: cached[f"{n}/classifier"] for n in labels}
    names = sorted(labels, key=lambda n: -len(labels[n]))[:8]  # as count_from_labels reads
    true = float(np.mean([len(ds.truth[n]) for n in names]))
    test = {n: np.asarray(p, float).reshape(-1, 3)
            for n, p in read_coordinates(os.path.join(folder, "picks.json")).items()}
    truth = {n: ds.truth[n] for n in test}
    calibration = spread_sample(test, CALIBRATION_MICROGRAPHS)
    best_f1 = evaluate(test, truth, radius)["overall"]["best_f1"]

    # where the default count is read: the labels' recall against the truth's
    candidates, recall, n_picks, enough = recall_curve({n: classifier[n] for n in names},
                                                       {n: labels[n] for n in names}, radius)
    m = sum(len(labels[n]) for n in names)
    low = recall - np.sqrt(recall * (1.0 - recall) / m)
    ok = enough & (recall >= COUNT_MIN_RECALL)
    i = int(np.argmin(np.where(ok, n_picks / np.maximum(low, 1e-9), np.inf)))
    kept = {n: classifier[n][classifier[n][:, 2] >= candidates[i]] for n in names}
    there = evaluate(kept, {n: ds.truth[n] for n in names}, radius)["overall"]
    diagnosis = dict(labels_recall=round(float(recall[i]), 3),
                     true_recall=round(there["recall"], 3),
                     precision=round(there["precision"], 3))

    if ds.label_masks:
        diagnosis["false_by_label"] = {
            member: false_by_label({n: cached[f"{n}/{member}"] for n in names}, ds, names,
                                   radius) for member in ("classifier", "ensemble")}

    best = label_scores({n: classifier[n] for n in names}, {n: labels[n] for n in names},
                             radius)
    raw = min_ratio(candidates, n_picks, best, False)
    boots = [min_ratio(candidates, n_picks, rng.choice(best, len(best)), False)
             for _ in range(BOOTSTRAPS)]
    boots = [b for b in boots if b]
    counts = dict(
        default=count_from_labels(lambda n: classifier[n], labels, radius),
        raw=raw / len(names) if raw else None,
        bootstrap=(2 * raw - np.mean(boots)) / len(names) if raw and boots else None,
        overlap=count_from_labels(lambda n: lower_overlapping(classifier[n], ds.diameter_px),
                                  labels, radius),
        true=true)
    res = dict(labels=m, true=true, best_f1=round(best_f1, 4), diagnosis=diagnosis,
               ratio={}, gap={})
    for k, per in counts.items():
        if per:
            res["ratio"][k] = round(per / true, 3)
            res["gap"][k] = round(best_f1 - f1_at_count(test, truth, calibration, per, radius), 4)
    scores = np.concatenate([test[n][:, 2] for n in calibration])
    for k in ("default", "true"):
        for step in (0.05, 0.1):
            t = snapped(scores, int(round(counts[k] * len(calibration))), step=step)
            kept = {n: p[p[:, 2] >= t] for n, p in test.items()}
            res["gap"][f"{k} snapped {step:g}"] = round(
                best_f1 - evaluate(kept, truth, radius)["overall"]["f1"], 4)
    return res


def run_cells(argv, study, shown):
    """OUT.jsonl CELL DATA [CELL DATA ...]: one JSON line {cell, res: study(cell, data)} per
    cell not yet in OUT (a rerun goes on where it stopped), printing ``shown`` keys of res."""
    out, pairs = argv[0], argv[1:]
    done = {json.loads(line)["cell"] for line in open(out)} if os.path.exists(out) else set()
    for cell, data in zip(pairs[::2], pairs[1::2]):
        if cell in done:
            continue
        res = study(cell, data)
        with open(out, "a") as fh:
            fh.write(json.dumps(dict(cell=cell, res=res)) + "\n")
        print(cell, *(res[k] for k in shown), flush=True)


if __name__ == "__main__":
    run_cells(sys.argv[1:], study, ("diagnosis", "ratio"))
