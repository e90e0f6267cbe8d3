# How this folder's results.jsonl was made (offline; kept as the record, not a tool).
# Usage: python rounds_offline.py OUT.jsonl SET:REGIME:PCT:SEED ...
"""Would the ensemble pick better with a steadier U-Net member than its last self-training
round? On fresh micrographs the last round's AP fell below the baseline's in some cells
(irregular 50%, label seed 1: 0.841 -> 0.784). Variants of the U-Net map fused with the
classifier's (scoring as the matrix's ensemble, fusion_constants_fresh_2026-12-06/offline.py,
calibration redone per variant):
  last      the last round's map (the default; reproduces the matrix)
  mean12    the mean of rounds 1 and 2's maps
  mean012   the mean of the baseline's and both rounds' maps
  soup12    one model, the mean of rounds 1 and 2's weights
  soup012   one model, the mean of the three's weights
each also alone (classifier weight 0)."""
import importlib.util
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "offline", os.path.join(HERE, "..", "fusion_constants_fresh_2026-12-06", "offline.py"))
offline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(offline)  # sets torch threads to 1, sys.path

from dataclasses import replace  # noqa: E402

from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       spread_sample)
from cryopick_plugin.engine.unet.picker import UNetPicker  # noqa: E402

# the matrix runs with the classifier weight 50 / n (stop 42's reruns: the same members as
# offline.SETS's folders, whose member maps offline.py cached under the same set names)
SETS = {"usual": (0, "/work/exp/s42/est_w50"), "fresh": (1, "/work/exp/s42/fresh_w50"),
        "fresh_s1": (1, "/work/exp/s42/fresh_s1_w50"),
        "many": (2, "/work/exp/s42/many_w50"), "many_s1": (2, "/work/exp/s42/many_s1_w50")}
ROUNDS = {"baseline": "baseline_model.pt", "it1": "model_iteration_1.pt",
          "it2": "model_iteration_2.pt"}


def soup(pickers):
    """A picker whose weights are the mean of ``pickers``' (same lineage: each round
    retrains the previous one)."""
    states = [p.model.state_dict() for p in pickers]
    mean = {k: (sum(s[k].double() for s in states) / len(states)).to(states[0][k].dtype)
            if states[0][k].dtype.is_floating_point else states[-1][k] for k in states[0]}
    out = UNetPicker.load(pickers[-1].path)
    out.model.load_state_dict(mean)
    return out


def round_maps(ens, unet_dir, maps, key):
    """{variant: {name: U-Net map}} on the test micrographs (cached)."""
    pickers = {}
    for r, f in ROUNDS.items():
        pickers[r] = UNetPicker.load(os.path.join(unet_dir, f))
        pickers[r].path = os.path.join(unet_dir, f)
    pickers["soup12"] = soup([pickers["it1"], pickers["it2"]])
    pickers["soup012"] = soup([pickers["baseline"], pickers["it1"], pickers["it2"]])
    out = {k: {} for k in pickers}
    os.makedirs(os.path.join(offline.CACHE, key), exist_ok=True)
    for n, (work, _, _, _) in maps.items():
        path = os.path.join(offline.CACHE, key, n + "_rounds.npz")
        if not os.path.exists(path):
            np.savez(path, **{k: p.view_map(work, views=ens.views) for k, p in pickers.items()})
        z = np.load(path)
        for k in pickers:
            out[k][n] = z[k]
    return out


def run(set_name, regime, pct, seed):
    data_seed, root = SETS[set_name]
    reg = replace(dict(offline.REGIMES, **offline.EXTRA_REGIMES)[regime], seed=data_seed)
    ds = Dataset.from_folder(reg.folder(offline.DATA))
    _, test = ds.split(reg.n_train)
    cell = f"{root}/{regime}/labels_{pct}/seed_{seed}"
    ens = EnsemblePicker.load(f"{cell}/ensemble/ensemble_model.pt")
    key = f"{set_name}_{regime}_{pct}_{seed}"
    maps = offline.member_maps(ens, ds, test, key)
    rounds = round_maps(ens, f"{cell}/unet/model", maps, key)
    u = {"last": {n: m[2] for n, m in maps.items()}}
    u["mean12"] = {n: (rounds["it1"][n] + rounds["it2"][n]) / 2 for n in maps}
    u["mean012"] = {n: (rounds["baseline"][n] + rounds["it1"][n] + rounds["it2"][n]) / 3
                    for n in maps}
    u["soup12"], u["soup012"] = rounds["soup12"], rounds["soup012"]
    u["it2_recomputed"] = rounds["it2"]
    calibration = sorted(spread_sample({n: n for n in test}, CALIBRATION_MICROGRAPHS))
    truth = {n: ds.truth[n] for n in test}
    res = {}
    for name, umap in u.items():
        m = {n: (w, f, umap[n], c) for n, (w, f, _, c) in maps.items()}
        for suffix, change in (("", {}), ("_alone", dict(wmul=0.0))):
            ev = evaluate(offline.picks_for(ens, m, calibration, dict(offline.CURRENT, **change)),
                          truth, ds.diameter_px / 2)["overall"]
            res[name + suffix] = (round(ev["ap"], 4), round(ev["best_f1"], 4))
    return res


if __name__ == "__main__":
    out = sys.argv[1]
    for cell in sys.argv[2:]:
        set_name, regime, pct, seed = cell.split(":")
        res = run(set_name, regime, pct, int(seed))
        row = dict(set=set_name, regime=regime, pct=int(pct), seed=int(seed), res=res)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(set_name, regime, pct, seed,
              " ".join(f"{k} {a:.3f}/{b:.3f}" for k, (a, b) in res.items()), flush=True)
