# How this folder's counts.jsonl was made (offline; kept as the record, not a tool).
# Usage: python count_estimators.py OUT.jsonl SET:REGIME:PCT:SEED ...
"""Counting the particles from the labels with the classifier's picks: the current estimator
(count_from_labels: the smallest n(t) / R(t) over thresholds keeping >= half the labels)
against variants, and the ensemble's F1 at the threshold each count gives (the k-th best
candidate of the calibration micrographs, k = surplus x count x micrographs; F1 on all test
micrographs). Classifier picks on the labelled training micrographs are made as `cryopick
combine` makes them (threshold 0.02) and cached.

counts.jsonl was made at commit 444bcef, when count_from_labels ("current" below) was the
smallest n / R itself; "lower_se" is what it became (commit 35eee13), so a rerun now gives
"current" = "lower_se"."""
import json
import os

import numpy as np

from cells import load_cell, main
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import (COUNT_MIN_RECALL, count_from_labels,
                                                       recall_curve)

PICKS = "/work/exp/s43/classifier_picks"


def classifier_picks(ens, cell, key):
    path = os.path.join(PICKS, key + ".json")
    if not os.path.exists(path):
        labels = json.load(open(os.path.join(cell, "fixmatch", "labels.json")))
        train = os.path.join(cell, "fixmatch", "train")
        out = {}
        for n in sorted(labels):
            if len(labels[n]):
                img = read_micrograph(os.path.join(train, n + ".mrc"))
                out[n] = ens.classifier.pick(img, None, threshold=0.02).tolist()
        os.makedirs(PICKS, exist_ok=True)
        with open(path, "w") as f:
            json.dump(dict(picks=out, labels=labels), f)
    z = json.load(open(path))
    return ({n: np.asarray(p).reshape(-1, 3) for n, p in z["picks"].items()},
            {n: np.asarray(v)[:, :2] for n, v in z["labels"].items() if len(v)})


def estimators(picks, labels, radius):
    """{name: particles per micrograph} over the (up to 8) most labelled micrographs."""
    names = sorted(labels, key=lambda n: -len(labels[n]))[:8]
    out = {"current": count_from_labels(lambda n: picks[n], labels, radius)}
    _, recall, n_picks, enough = recall_curve({n: picks[n] for n in names},
                                              {n: labels[n] for n in names}, radius)
    m = sum(len(labels[n]) for n in names)
    ok = enough & (recall >= COUNT_MIN_RECALL)
    ratio = n_picks / np.maximum(recall, 1e-9)
    if ok.any():
        out["median"] = float(np.median(ratio[ok])) / len(names)
        # recall's binomial lower bound (one standard error): a threshold where the labels
        # happened to be found more often than the particles counts less
        low = np.clip(recall - np.sqrt(recall * (1 - recall) / m), 1e-9, None)
        out["lower_se"] = float((n_picks[ok] / low[ok]).min()) / len(names)
        for level in (0.5, 0.6, 0.7, 0.8):
            at = np.flatnonzero(enough & (recall >= level))
            out[f"at_R{level:g}"] = float(ratio[at[-1]]) / len(names) if len(at) else None
    return out, m, names


def run(set_name, regime, pct, seed):
    c = load_cell(set_name, regime, pct, seed)
    ds, truth, radius, ens_picks = c["ds"], c["truth"], c["radius"], c["picks"]
    picks, labels = classifier_picks(c["ens"], c["folder"], c["key"])
    counts, m, names = estimators(picks, labels, radius)
    true = float(np.mean([len(ds.truth[n]) for n in names]))
    overall = evaluate(ens_picks, truth, radius)["overall"]
    ranked = np.sort(np.concatenate([ens_picks[n][:, 2] for n in c["calibration"]]))[::-1]
    res = dict(true=true, labels=m, best_f1=round(overall["best_f1"], 4), f1={}, ratio={})
    for name, per in dict(counts, true=true).items():
        res["ratio"][name] = None if per is None else round(per / true, 3)
        for surplus in (0.9, 1.0, 1.15, 1.3):
            if per is None:
                continue
            k = int(round(surplus * per * len(c["calibration"])))
            t = ranked[min(max(k, 1), len(ranked)) - 1]
            kept = {n: p[p[:, 2] >= t] for n, p in ens_picks.items()}
            res["f1"][f"{name}@{surplus:g}"] = round(evaluate(kept, truth, radius)["overall"]["f1"], 4)
    return res


if __name__ == "__main__":
    main(run, lambda res: f"best {res['best_f1']} ratio {res['ratio']} "
         f"f1 current@1.15 {res['f1'].get('current@1.15')}")
