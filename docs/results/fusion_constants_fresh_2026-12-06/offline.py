# How this folder's results.jsonl and offline.txt were made (offline; kept as the record,
# not a tool). Usage: python offline.py OUT.jsonl SET:REGIME:PCT:SEED ...
"""Do the ensemble's scoring constants, each chosen on the usual micrographs, hold on the fresh
ones? Each variant changes one rule of EnsemblePicker.picks_from_maps and re-picks from the
saved members' maps of the test micrographs (4 views, as the matrix picked); the calibration
(members' part quantiles) is redone per variant on the same micrographs `cryopick combine`
calibrated on in the matrix (a spread sample of the test micrographs)."""
import json
import os
import sys
from dataclasses import replace

import numpy as np
import torch

torch.set_num_threads(1)
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset  # noqa: E402
from benchmarks.regimes import EXTRA_REGIMES, REGIMES  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking import fusion  # noqa: E402
from cryopick_plugin.engine.picking.metrics import evaluate  # noqa: E402
from cryopick_plugin.engine.picking.peaks import lower_overlapping  # noqa: E402
from cryopick_plugin.engine.picking.scale import to_original  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       spread_sample)

DATA = "/work/bench_data"
CACHE = "/work/exp/s42/maps"
# the matrix runs whose saved ensembles are re-scored: (data seed, folder)
SETS = {"usual": (0, "/work/exp/s40/est"), "fresh": (1, "/work/exp/s40/fresh"),
        "fresh_s1": (1, "/work/exp/s41/fresh_s1"),
        "fresh_c20s1": (1, "/work/exp/s41/fresh_crowded20_s1"),
        "many": (2, "/work/exp/s42/many"), "many_s1": (2, "/work/exp/s42/many_s1")}

CURRENT = dict(wmul=1.0, peak=fusion.PEAK_SHARE, surround=fusion.SURROUND_SHARE,
               rank=fusion.RANK_SHARE, overlap=True, density=True)
VARIANTS = {
    "current": {},
    "unet_only": dict(wmul=0.0),
    "classifier_only": dict(wmul=1e6),
    "weight_x0.25": dict(wmul=0.25),
    "weight_x0.5": dict(wmul=0.5),
    "weight_x0.75": dict(wmul=0.75),
    "weight_x2": dict(wmul=2.0),
    "weight_x4": dict(wmul=4.0),
    "weight_1": dict(wabs=1.0),
    "weight_floor1": dict(wfloor=1.0),
    "no_peak": dict(peak=0.0),
    "no_surround": dict(surround=0.0),
    "no_rank": dict(rank=0.0),
    "no_overlap": dict(overlap=False),
    "no_density_rescore": dict(density=False),
    "plain": dict(peak=0.0, surround=0.0, rank=0.0, overlap=False, density=False),
}


def member_maps(ens, ds, names, key):
    os.makedirs(os.path.join(CACHE, key), exist_ok=True)
    out = {}
    for n in names:
        path = os.path.join(CACHE, key, n + ".npz")
        if not os.path.exists(path):
            work, factor = ens.prepare_to_pick(read_micrograph(ds.micrographs[n]), ds.pixel_size)
            u, c = ens.member_maps(work)
            np.savez(path, u=u, c=c, work=work, factor=factor)
        z = np.load(path)
        out[n] = (z["work"], float(z["factor"]), z["u"], z["c"])
    return out


def parts(ens, u, c, w, v):
    xy = ens.unet.peaks_working(fusion.fuse_maps(u, c, w), 0.0)[:, :2]
    up, cp = fusion.member_parts(xy, u, c, ens.unet.disc_radius, ens.working_diameter,
                                 v["peak"], v["surround"])
    return xy, up, cp


def picks_for(ens, maps, calibration, v):
    w = v["wabs"] if v.get("wabs") is not None else \
        max(ens.classifier_weight * v["wmul"], v.get("wfloor") or 0.0)
    got = {n: parts(ens, u, c, w, v) for n, (_, _, u, c) in maps.items()}
    q = None
    if v["rank"]:
        cal = [got[n] for n in calibration]
        q = {"unet": fusion.part_quantiles(np.concatenate([g[1] for g in cal])),
             "classifier": fusion.part_quantiles(np.concatenate([g[2] for g in cal]))}
    picks = {}
    for n, (xy, up, cp) in got.items():
        work, factor = maps[n][:2]
        if q is not None:
            up = fusion.with_rank(up, q["unet"], v["rank"])
            cp = fusion.with_rank(cp, q["classifier"], v["rank"])
        s = (up + w * cp) / (1.0 + w)
        p = np.column_stack([xy, s]) if len(xy) else np.zeros((0, 3))
        p = ens.unet.like_labels(work, p[np.argsort(-p[:, 2], kind="stable")],
                                 rescore=v["density"])
        if v["overlap"]:
            p = lower_overlapping(p, ens.working_diameter)
        picks[n] = to_original(p, factor)
    return picks


def run(set_name, regime, pct, seed):
    data_seed, root = SETS[set_name]
    reg = replace(dict(REGIMES, **EXTRA_REGIMES)[regime], seed=data_seed)
    ds = Dataset.from_folder(reg.folder(DATA))
    _, test = ds.split(reg.n_train)
    model = f"{root}/{regime}/labels_{pct}/seed_{seed}/ensemble/ensemble_model.pt"
    ens = EnsemblePicker.load(model)
    maps = member_maps(ens, ds, test, f"{set_name}_{regime}_{pct}_{seed}")
    calibration = sorted(spread_sample({n: n for n in test}, CALIBRATION_MICROGRAPHS))
    truth = {n: ds.truth[n] for n in test}
    res = {}
    for name, change in VARIANTS.items():
        ev = evaluate(picks_for(ens, maps, calibration, dict(CURRENT, **change)), truth,
                      ds.diameter_px / 2)["overall"]
        res[name] = (round(ev["ap"], 4), round(ev["best_f1"], 4))
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
