"""Learning-free difficulty probe: a difference-of-Gaussians blob picker (dark particles) on
each regime's test micrographs, usual (data seed 0) and fresh (data seed 1). Same split and
matching as the matrix. If DoG's AP drops as cryopick's does, the fresh micrographs are
harder; if not, cryopick's drop is its own."""
import glob, os, sys
import numpy as np
import mrcfile
from scipy.ndimage import gaussian_filter, maximum_filter
sys.path.insert(0, os.environ.get("CRYOPICK", "/work/main"))
from benchmarks.datasets import Dataset
from benchmarks.regimes import REGIMES
from cryopick_plugin.engine.picking.metrics import evaluate

FOLDERS = {0: {"apoferritin": "51995282", "crowded": "d9f5e157", "irregular": "66f7d2b0",
               "large-carbon": "324d9ed0"},
           1: {"apoferritin": "02e9ed64", "crowded": "fbf1a986", "irregular": "f63f184e",
               "large-carbon": "774f6d06"}}


def dog_picks(img, diameter):
    img = (img - img.mean()) / (img.std() + 1e-9)
    s = diameter / (2 * np.sqrt(2))
    resp = gaussian_filter(-img, s) - gaussian_filter(-img, 1.6 * s)
    peaks = (resp == maximum_filter(resp, size=max(3, int(0.6 * diameter))))
    ys, xs = np.nonzero(peaks)
    keep = np.argsort(-resp[ys, xs])[:4000]
    return np.stack([xs[keep], ys[keep], resp[ys[keep], xs[keep]]], 1).astype(float)


print("| regime | data seed | test mics | particles/mic | DoG best F1 | DoG AP |")
print("|---|---|---|---|---|---|")
for name, reg in REGIMES.items():
    for seed in (0, 1):
        root = glob.glob(f"/work/bench_data/{name}-*-{FOLDERS[seed][name]}")[0]
        ds = Dataset.from_folder(root)
        _, test = ds.split(reg.n_train)
        picks = {}
        for n in test:
            with mrcfile.open(ds.micrographs[n], permissive=True) as m:
                picks[n] = dog_picks(np.asarray(m.data, dtype=np.float32), ds.diameter_px)
        res = evaluate(picks, {n: ds.truth[n] for n in test}, ds.diameter_px / 2)["overall"]
        ppm = res["n_truth"] / len(test)
        print(f"| {name} | {seed} | {len(test)} | {ppm:.0f} | {res['best_f1']:.3f} | "
              f"{res['ap']:.3f} |", flush=True)
