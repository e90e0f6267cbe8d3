# How docs/results/member_ranks_offline_2026-12-04.txt was made (offline; kept as the record, not a tool)
"""Offline: member parts fused through their empirical CDFs over the candidates (rank fusion)."""
import os, sys, glob, json
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, "/work/main")
from benchmarks.datasets import Dataset
from benchmarks.regimes import REGIMES
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.fusion import fuse_maps, pick_scores
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.scale import to_original

DATA = "/work/bench_data"
CACHE = "/work/exp/s32/maps"


def cell_model(regime, pct, seed):
    for root in ("/work/exp/s32/m20", "/work/exp/s32/m5_50"):
        p = f"{root}/{regime}/labels_{pct}/seed_{seed}/ensemble/ensemble_model.pt"
        if os.path.exists(p):
            return p


def maps(ens, ds, test, key):
    os.makedirs(os.path.join(CACHE, key), exist_ok=True)
    out = {}
    for n in test:
        path = os.path.join(CACHE, key, n + ".npz")
        if not os.path.exists(path):
            work, factor = ens.prepare_to_pick(read_micrograph(ds.micrographs[n]), ds.pixel_size)
            u, c = ens.member_maps(work)
            np.savez(path, u=u, c=c, work=work, factor=factor)
        z = np.load(path)
        out[n] = (z["u"], z["c"], z["work"], float(z["factor"]))
    return out


def cdf_of(values):
    ref = np.sort(np.asarray(values))
    return lambda v: np.searchsorted(ref, v, side="right") / max(len(ref), 1)


def run(regime, pct, seed, variants):
    ds = Dataset.from_folder(REGIMES[regime].folder(DATA))
    train, test = ds.split(REGIMES[regime].n_train)
    ens = EnsemblePicker.load(cell_model(regime, pct, seed))
    m = maps(ens, ds, test, f"{regime}_labels_{pct}_seed_{seed}")
    w, wd, r = ens.classifier_weight, ens.working_diameter, ens.unet.disc_radius
    cand = {}
    for n, (u, c, work, factor) in m.items():
        p = ens.unet.peaks_working(fuse_maps(u, c, w), 0.0)
        z = np.zeros_like(u)
        up = pick_scores(p[:, :2], u, z, 0.0, r, wd)
        cp = 2.0 * pick_scores(p[:, :2], z, c, 1.0, r, wd)
        cand[n] = (p, up, cp)
    allu = np.concatenate([v[1] for v in cand.values()])
    allc = np.concatenate([v[2] for v in cand.values()])
    Fu, Fc = cdf_of(allu), cdf_of(allc)
    res = {}
    for vname, v in variants.items():
        picks = {}
        for n, (p, up, cp) in cand.items():
            p = p.copy()
            ww = w * v.get("wmul", 1.0)
            if v.get("rank"):
                p[:, 2] = (Fu(up) + ww * Fc(cp)) / (1 + ww)
            elif v.get("mix"):
                p[:, 2] = 0.5 * (Fu(up) + ww * Fc(cp)) / (1 + ww) + 0.5 * (up + ww * cp) / (1 + ww)
            else:
                p[:, 2] = (up + ww * cp) / (1 + ww)
            p = p[np.argsort(-p[:, 2], kind="stable")]
            p = ens.unet.like_labels(m[n][2], p, rescore=True)
            picks[n] = to_original(p, m[n][3])
        ev = evaluate(picks, {n: ds.truth[n] for n in test}, ds.diameter_px / 2)["overall"]
        res[vname] = (round(ev["ap"], 4), round(ev["best_f1"], 4))
    return res


VARIANTS = {"current": {}, "rank": dict(rank=True), "rank_w05": dict(rank=True, wmul=0.5),
            "mix": dict(mix=True)}

if __name__ == "__main__":
    out = sys.argv[1]
    cells = [c.split(":") for c in sys.argv[2:]]
    rows = []
    for regime, pct, seed in cells:
        res = run(regime, pct, int(seed), VARIANTS)
        rows.append(dict(regime=regime, pct=pct, seed=int(seed), res=res))
        print(regime, pct, seed, " ".join(f"{k} {a:.3f}/{f:.3f}" for k, (a, f) in res.items()), flush=True)
        json.dump(rows, open(out, "w"), indent=1)
