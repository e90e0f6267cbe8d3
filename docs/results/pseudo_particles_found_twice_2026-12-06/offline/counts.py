"""Offline: how the particle count behind the ensemble's threshold could be made closer.
Per cell (cells.txt of the contrast-floor study; models with the floor from s45/rerun):
the classifier's picks (and, optionally, the ensemble's) on the labelled training
micrographs, counts by variants, true precision of the counted picks, and the ensemble's F1
on the test micrographs at the threshold each count gives (threshold_from_unseen's rule).
Usage: counts.py CELLS.txt OUT.jsonl"""
import sys, os, json
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(1)
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import (count_from_labels, recall_curve,
                                                       spread_sample, CALIBRATION_MICROGRAPHS,
                                                       COUNT_MIN_RECALL)
from cryopick_plugin.engine.picking.scale import to_original
from benchmarks.datasets import Dataset

CACHE = "/work/exp/s46/cache"
RERUN = {"/work/exp/s43/est_se": "/work/exp/s45/rerun/est_se",
         "/work/exp/s43/fresh_se": "/work/exp/s45/rerun/fresh_se",
         "/work/exp/s44/fresh_s1_se": "/work/exp/s45/rerun/fresh_s1_se"}


def model_cell(cell):
    for a, b in RERUN.items():
        if cell.startswith(a):
            return b + cell[len(a):]
    raise ValueError(cell)


def train_picks(ens, cell, key, ds, labels):
    """{name: (classifier picks, ensemble picks, work factor)} on labelled micrographs."""
    path = os.path.join(CACHE, key + ".npz")
    if not os.path.exists(path):
        arrs = {}
        for n in sorted(labels):
            img = read_micrograph(ds.micrographs[n])
            work, factor = ens.prepare_to_pick(img)
            u, c = ens.member_maps(work)
            arrs[n + "/cls"] = ens.classifier.pick(img, None, threshold=0.02)
            arrs[n + "/ens"] = ens.picks_from_maps(work, factor, u, c, threshold=0.02)
            arrs[n + "/work"] = work; arrs[n + "/f"] = np.array(factor)
        os.makedirs(CACHE, exist_ok=True)
        np.savez_compressed(path, **arrs)
    z = np.load(path)
    return {n: (z[n + "/cls"], z[n + "/ens"], z[n + "/work"], float(z[n + "/f"]))
            for n in sorted(labels)}


def like_labels_orig(ens, work, f, picks):
    """``picks`` (original frame) through the U-Net's label rules (rescore), original frame."""
    w = picks.copy(); w[:, :2] = (w[:, :2] + 0.5) / f - 0.5
    return to_original(ens.unet.like_labels(work, w, rescore=True), f)


def precision_at(picks, truth, radius, labels, names):
    """true precision and N/precision at count_from_labels's chosen threshold"""
    curve = recall_curve({n: picks[n] for n in names}, {n: labels[n] for n in names}, radius)
    cand, recall, n_picks, enough = curve
    ok = enough & (recall >= COUNT_MIN_RECALL)
    m = sum(len(labels[n]) for n in names)
    low = recall - np.sqrt(recall * (1 - recall) / m)
    i = np.flatnonzero(ok)[np.argmin(n_picks[ok] / low[ok])]
    t = cand[i]
    kept = {n: picks[n][picks[n][:, 2] >= t] for n in names}
    ev = evaluate(kept, {n: truth[n] for n in names}, radius)["overall"]
    return float(ev["precision"]), float(recall[i]), float(ev["recall"])


def run(cell, data):
    mc = model_cell(cell)
    ens = EnsemblePicker.load(os.path.join(mc, "ensemble/ensemble_model.pt"))
    ds = Dataset.from_folder(data)
    radius = ds.diameter_px / 2
    labels = {n: np.asarray(v, float)[:, :2] for n, v in
              json.load(open(os.path.join(mc, "ensemble/labels.json"))).items() if len(v)}
    key = mc.replace("/work/exp/s45/rerun/", "").replace("/labels_", "_").replace("/seed_", "_").replace("/", "_")
    z = np.load(os.path.join(cell, "ensemble/maps_s45.npz"))
    test = sorted({k.split("/")[0] for k in z.files})
    picks = {n: ens.picks_from_maps(z[n + "/work"], float(z[n + "/f"]), z[n + "/u"], z[n + "/c"], threshold=0.02)
             for n in test}
    truth = {n: ds.truth[n] for n in test}
    calibration = spread_sample(test, CALIBRATION_MICROGRAPHS)
    ranked = np.sort(np.concatenate([picks[n][:, 2] for n in calibration]))[::-1]
    tp = train_picks(ens, mc, key, ds, labels)
    names = sorted(labels, key=lambda n: -len(labels[n]))[:8]
    cls = {n: tp[n][0] for n in tp}
    ensp = {n: tp[n][1] for n in tp}
    filt = {n: like_labels_orig(ens, tp[n][2], tp[n][3], tp[n][0]) for n in tp}
    true = float(np.mean([len(ds.truth[n]) for n in names]))
    counts = dict(current=count_from_labels(lambda n: cls[n], labels, radius),
                  filtered=count_from_labels(lambda n: filt[n], labels, radius),
                  ensemble=count_from_labels(lambda n: ensp[n], labels, radius),
                  true=true)
    prec = {k: precision_at(p, ds.truth, radius, labels, names) for k, p in
            (("current", cls), ("filtered", filt), ("ensemble", ensp))}
    ov = evaluate(picks, truth, radius)["overall"]
    res = dict(true=true, labels=sum(len(labels[n]) for n in names), best_f1=round(ov["best_f1"], 4),
               ap=round(ov["ap"], 4), ratio={}, f1={}, prec=prec)
    for name, per in counts.items():
        res["ratio"][name] = None if per is None else round(per / true, 3)
        if per is None:
            continue
        k = int(round(per * len(calibration)))
        t = ranked[min(max(k, 1), len(ranked)) - 1]
        kept = {n: p[p[:, 2] >= t] for n, p in picks.items()}
        res["f1"][name] = round(evaluate(kept, truth, radius)["overall"]["f1"], 4)
        if name == "current":
            res["threshold"] = round(float(t), 4)
    return key, res


if __name__ == "__main__":
    out = sys.argv[2]
    done = set()
    if os.path.exists(out):
        done = {json.loads(l)["key"] for l in open(out)}
    for line in open(sys.argv[1]):
        cell, data = line.split()
        key, res = run(cell, data)
        if key in done:
            continue
        with open(out, "a") as f:
            f.write(json.dumps(dict(key=key, res=res)) + "\n")
        print(key, res["ratio"], {k: round(res["best_f1"] - v, 3) for k, v in res["f1"].items()},
              {k: [round(x, 2) for x in v] for k, v in res["prec"].items()}, res.get("threshold"), flush=True)
