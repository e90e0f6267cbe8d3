"""Offline: which count of the particles should the ensemble's threshold keep, when the user
gives none? Per finished matrix cell (its ensemble/ folder: the saved model, labels.json,
train/ and test/ links, picks.json on the test micrographs at the ranking threshold):
the members' and the ensemble's picks on the labelled training micrographs, the count each
gives through count_from_labels (as `cryopick combine` counts with the classifier's), two
blends of them, and the ensemble's F1 on the test micrographs at the threshold each count gives (threshold_from_
unseen's rule: the k-th best score over the calibration sample of the test micrographs).

Usage: counts.py OUT.jsonl CELL DATA [CELL DATA ...]
  CELL: <matrix --out>/<regime>/labels_<pct>/seed_<s>; DATA: that regime's dataset folder.
"""
import glob
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..", "..", "..")))
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       COUNT_MIN_RECALL, count_from_labels,
                                                       recall_curve, spread_sample)

torch.set_num_threads(1)
LOW = 0.02  # the threshold every pick list is made with (combine's)


def training_picks(ens, folder, names):
    """{name: {"classifier", "unet", "ensemble": (N, 3)}} on the training micrographs, cached
    beside the cell (a full pick each)."""
    cache = os.path.join(folder, "count_study_picks.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return {n: {k: z[f"{n}/{k}"] for k in ("classifier", "unet", "ensemble")} for n in names}
    out, flat = {}, {}
    for n in names:
        image = read_micrograph(os.path.join(folder, "train", n + ".mrc"))
        work, factor = ens.prepare_to_pick(image)
        u, c = ens.member_maps(work)
        out[n] = dict(classifier=ens.classifier.pick(image, threshold=LOW),
                      unet=ens.unet.pick(image, threshold=LOW),
                      ensemble=ens.picks_from_maps(work, factor, u, c, threshold=LOW))
        flat.update({f"{n}/{k}": v for k, v in out[n].items()})
    np.savez_compressed(cache, **flat)
    return out


def classifier_calibration_picks(ens, folder, names):
    """The classifier's picks on the calibration micrographs (cached like training_picks)."""
    cache = os.path.join(folder, "count_study_calibration.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return {n: z[n] for n in names}
    out = {n: ens.classifier.pick(read_micrograph(os.path.join(folder, "test", n + ".mrc")),
                                  threshold=LOW) for n in names}
    np.savez_compressed(cache, **out)
    return out


def top(picks, names, per_micrograph):
    """The best per_micrograph x len(names) picks over ``names``, as {name: (N, 3)}."""
    ranked = np.sort(np.concatenate([picks[n][:, 2] for n in names]))[::-1]
    k = int(round(per_micrograph * len(names)))
    t = ranked[min(max(k, 1), len(ranked)) - 1]
    return {n: picks[n][picks[n][:, 2] >= t] for n in names}


def agreement(first, second, names, per_micrograph, radius):
    """Share of the first picker's best picks (as many as counted) that one of the second's
    best picks matches (one to one, within ``radius``): where the two keep different junk,
    an estimate of the precision of the counted picks, so count x agreement ~ the particles."""
    a, b = top(first, names, per_micrograph), top(second, names, per_micrograph)
    return evaluate(a, {n: b[n][:, :2] for n in names}, radius)["overall"]["precision"]


def count_on_unseen(train_picks, labels, unseen_picks, radius):
    """count_from_labels's rule with the picks counted on the calibration micrographs
    instead of the labelled ones: the smallest n_unseen(t) / R_low(t) over the thresholds
    keeping at least COUNT_MIN_RECALL of the labels, per calibration micrograph. The
    labelled micrographs' unlabelled particles score higher than anyone's on micrographs
    the models did not train on; their picks are not counted."""
    curve = recall_curve(train_picks, labels, radius)
    if curve is None:
        return None
    cand, recall, _, enough = curve
    enough &= recall >= COUNT_MIN_RECALL
    if not enough.any():
        return None
    m = sum(len(v) for v in labels.values())
    low = recall - np.sqrt(recall * (1.0 - recall) / m)
    scores = np.concatenate([p[:, 2] for p in unseen_picks.values()])
    n_unseen = np.array([(scores >= c).sum() for c in cand])
    return float((n_unseen[enough] / low[enough]).min()) / len(unseen_picks)


def f1_at_count(picks, truth, calibration, per_micrograph, radius):
    ranked = np.sort(np.concatenate([picks[n][:, 2] for n in calibration]))[::-1]
    k = int(round(per_micrograph * len(calibration)))
    t = ranked[min(max(k, 1), len(ranked)) - 1]
    kept = {n: p[p[:, 2] >= t] for n, p in picks.items()}
    return evaluate(kept, truth, radius)["overall"]["f1"]


def study(cell, data):
    folder = os.path.join(cell, "ensemble")
    ens = EnsemblePicker.load(os.path.join(folder, "ensemble_model.pt"))
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2.0
    with open(os.path.join(folder, "labels.json")) as fh:
        labels = {n: np.asarray(v, float).reshape(-1, np.shape(v)[-1] if len(v) else 2)[:, :2]
                  for n, v in json.load(fh).items() if len(v)}
    test = read_coordinates(os.path.join(folder, "picks.json"))
    test = {n: np.asarray(p, float).reshape(-1, 3) for n, p in test.items()}
    names = sorted(labels)
    train = training_picks(ens, folder, names)
    counted = {k: count_from_labels(lambda n: train[n][k], labels, radius)
               for k in ("classifier", "unet", "ensemble")}
    used = sorted(labels, key=lambda n: -len(labels[n]))[:8]
    true = float(np.mean([len(ds.truth[n]) for n in used]))
    c, e = counted["classifier"], counted["ensemble"]
    counted["geometric"] = float(np.sqrt(c * e)) if c and e else c
    calib = spread_sample(test, CALIBRATION_MICROGRAPHS)
    if c:
        unseen = classifier_calibration_picks(ens, folder, calib)
        counted["agree_unseen"] = c * agreement(unseen, test, calib, c, radius)
        counted["agree_train"] = c * agreement({n: train[n]["classifier"] for n in names},
                                               {n: train[n]["ensemble"] for n in names},
                                               names, c, radius)
        used_labels = {n: labels[n] for n in used}
        counted["classifier_unseen"] = count_on_unseen(
            {n: train[n]["classifier"] for n in used}, used_labels, unseen, radius)
        counted["ensemble_unseen"] = count_on_unseen(
            {n: train[n]["ensemble"] for n in used}, used_labels,
            {n: test[n] for n in calib}, radius)
    counted["true"] = true
    truth = {n: ds.truth[n] for n in test}
    calibration = spread_sample(test, CALIBRATION_MICROGRAPHS)
    overall = evaluate(test, truth, radius)["overall"]
    res = dict(true=true, labels=int(sum(len(v) for v in labels.values())),
               best_f1=round(overall["best_f1"], 4), ap=round(overall["ap"], 4),
               ratio={}, f1={})
    for k, per in counted.items():
        if per:
            res["ratio"][k] = round(per / true, 3)
            res["f1"][k] = round(f1_at_count(test, truth, calibration, per, radius), 4)
    return res


if __name__ == "__main__":
    out, pairs = sys.argv[1], sys.argv[2:]
    done = set()
    if os.path.exists(out):
        done = {json.loads(line)["cell"] for line in open(out)}
    for cell, data in zip(pairs[::2], pairs[1::2]):
        if cell in done or not os.path.exists(os.path.join(cell, "ensemble", "picks.json")):
            continue
        res = study(cell, data)
        with open(out, "a") as fh:
            fh.write(json.dumps(dict(cell=cell, res=res)) + "\n")
        print(cell, res["ratio"], {k: round(res["best_f1"] - v, 3) for k, v in res["f1"].items()},
              flush=True)
