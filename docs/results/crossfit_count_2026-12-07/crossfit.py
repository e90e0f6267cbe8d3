"""The cross-fitted count (plan.md, written before the runs): two classifiers, each trained
on half of a cell's labels, each counting the particles with the recall of the other half's.

Per cell (a saved matrix cell: fixmatch/ with train/, labels.json and model/results.json;
ensemble/ with picks.json on the test micrographs and counts.py's count_study_picks.npz):
trains the two classifiers under CELL/crossfit/half_{0,1} (kept: a rerun reuses them), picks
the labelled micrographs with each, and writes one JSON line: each half's count, the
cross-fitted count, the default's (count_from_labels on the cell's own classifier), each
over the true count, and the F1 gap each gives (best F1 minus F1 at its threshold).

Usage: crossfit.py OUT.jsonl CELL DATA [CELL DATA ...]
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(HERE, "..", "ensemble_count_2026-12-06"))
sys.path.insert(0, os.path.join(HERE, "..", "count_variants_2026-12-07"))
from benchmarks.datasets import Dataset  # noqa: E402
from counts import f1_at_count  # noqa: E402
from variants import run_cells  # noqa: E402
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier  # noqa: E402
from cryopick_plugin.engine.io import files  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       COUNT_MIN_RECALL, count_from_labels,
                                                       label_scores, spread_sample)

torch.set_num_threads(1)
LOW = 0.02  # the threshold every pick list is made with (counts.py's)


def read_labels(path):
    with open(path) as fh:
        raw = json.load(fh)
    return {n: np.asarray(v, float).reshape(-1, np.shape(v)[-1] if len(v) else 2)[:, :2]
            for n, v in raw.items()}


def halves(labels):
    """Two {name: (M, 2)} halves of ``labels``, split at random over all labels in file
    order (default_rng(0))."""
    flat = [(n, i) for n, v in labels.items() for i in range(len(v))]
    order = np.random.default_rng(0).permutation(len(flat))
    out = [{n: [] for n in labels}, {n: [] for n in labels}]
    for rank, j in enumerate(order):
        n, i = flat[j]
        out[rank % 2][n].append(labels[n][i])
    return [{n: np.asarray(v, float).reshape(-1, 2) for n, v in h.items()} for h in out]


def train_half(cell, half, k):
    """The classifier trained on ``half`` (cached), as the cell's own was configured."""
    import yaml

    folder = os.path.join(cell, "crossfit", f"half_{k}")
    model = os.path.join(folder, "model", files.FIXMATCH_BEST_EMA)
    if os.path.exists(model):
        return PatchClassifier.load(model)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(cell, "fixmatch", "model", "results.json")) as fh:
        config = json.load(fh)["config"]
    label_file = os.path.join(folder, "labels.json")
    with open(label_file, "w") as fh:
        json.dump({n: v.tolist() for n, v in half.items()}, fh)
    config["dataset"].update(image_dir=os.path.join(cell, "fixmatch", "train"),
                             coords_file=label_file, patch_size=64)
    config["training"]["auto_threshold"] = False  # not used here; training is unchanged
    config_file = os.path.join(folder, "config.yaml")
    with open(config_file, "w") as fh:
        yaml.safe_dump(config, fh)
    with open(os.path.join(folder, "train.log"), "w") as log:
        subprocess.run([sys.executable, "-m", "cryopick_plugin.cli", "train-fixmatch",
                        "--config", config_file, "--output-dir", folder, "--exp-name", "model",
                        "--device", "cpu", "--threads", "1"], stdout=log,
                       stderr=subprocess.STDOUT, check=True, cwd=ROOT)
    return PatchClassifier.load(model)


def half_picks(cell, classifier, names, k):
    """{name: (N, 3)} picks of the half's classifier on ``names`` (cached)."""
    cache = os.path.join(cell, "crossfit", f"half_{k}", "picks.npz")
    if os.path.exists(cache):
        z = np.load(cache)
        return {n: z[n] for n in names}
    out = {n: classifier.pick(read_micrograph(os.path.join(cell, "fixmatch", "train", n + ".mrc")),
                              threshold=LOW) for n in names}
    np.savez_compressed(cache, **out)
    return out


def half_count(picks, own, other, names, radius):
    """Particles per micrograph of ``names`` from one half's classifier (plan.md), or None."""
    own = {n: own[n] for n in names if len(own.get(n, ()))}
    other = {n: other[n] for n in names if len(other.get(n, ()))}
    scores = np.concatenate([picks[n][:, 2] for n in names])
    best_other = label_scores(picks, other, radius)
    best_own = label_scores(picks, own, radius)
    m = len(best_other)
    if not len(scores) or m == 0:
        return None
    candidates = np.unique(np.quantile(scores, np.linspace(0.0, 0.995, 200)))
    recall = np.array([(best_other >= c).mean() for c in candidates])
    n_picks = np.array([(scores >= c).sum() for c in candidates])
    k_own = np.array([(best_own >= c).sum() for c in candidates])
    ok = (recall * m >= 3) & (recall >= COUNT_MIN_RECALL)
    if not ok.any():
        return None
    low = recall - np.sqrt(recall * (1.0 - recall) / m)
    rest = ((n_picks - k_own)[ok] / low[ok]).min()
    return float(len(best_own) + rest) / len(names)


def study(cell, data):
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2.0
    labels = read_labels(os.path.join(cell, "fixmatch", "labels.json"))
    ens_labels = read_labels(os.path.join(cell, "ensemble", "labels.json"))
    assert all(np.allclose(labels[n], ens_labels[n]) for n in ens_labels if len(ens_labels[n]))
    witnesses = {n: v for n, v in labels.items() if len(v)}
    names = sorted(witnesses, key=lambda n: -len(witnesses[n]))[:8]  # count_from_labels's
    true = float(np.mean([len(ds.truth[n]) for n in names]))
    parts = halves(labels)
    counts = []
    for k, half in enumerate(parts):
        classifier = train_half(cell, half, k)
        picks = half_picks(cell, classifier, names, k)
        counts.append(half_count(picks, half, parts[1 - k], names, radius))
    cached = np.load(os.path.join(cell, "ensemble", "count_study_picks.npz"))
    default = count_from_labels(lambda n: cached[f"{n}/classifier"], witnesses, radius)
    given = [c for c in counts if c]
    crossfit = float(np.mean(given)) if given else default
    test = {n: np.asarray(p, float).reshape(-1, 3)
            for n, p in read_coordinates(os.path.join(cell, "ensemble", "picks.json")).items()}
    truth = {n: ds.truth[n] for n in test}
    calibration = spread_sample(test, CALIBRATION_MICROGRAPHS)
    best_f1 = evaluate(test, truth, radius)["overall"]["best_f1"]

    def gap(per):
        return round(best_f1 - f1_at_count(test, truth, calibration, per, radius), 4)

    return dict(labels=int(sum(len(v) for v in witnesses.values())), true=true,
                best_f1=round(best_f1, 4),
                halves=[round(c / true, 3) if c else None for c in counts],
                fallback=not given,
                ratio=dict(crossfit=round(crossfit / true, 3), default=round(default / true, 3)),
                gap=dict(crossfit=gap(crossfit), default=gap(default), true=gap(true)))


if __name__ == "__main__":
    run_cells(sys.argv[1:], study, ("halves", "ratio", "gap"))
