"""Exploratory: does a texture measure around a particle tell particles on carbon (the
simulator's on_carbon distractors) from true particles in ice? AUC per feature, per dataset.
Usage: texture.py DATA_FOLDER ..."""
import glob, json, os, sys
import numpy as np, mrcfile
from scipy import ndimage as ndi

def auc(pos, neg):
    """P(a value of pos > one of neg): the rank-sum AUC."""
    pos, neg = np.asarray(pos), np.asarray(neg)
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.concatenate([pos, neg]).argsort().argsort() + 1
    return (order[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))

def feature_maps(img, d):
    img = (img - img.mean()) / img.std()
    lo = ndi.gaussian_filter(img, d / 6)
    band = ndi.gaussian_filter(img, 1) - ndi.gaussian_filter(img, 3)
    w = int(d)  # local window ~ one diameter
    def lstd(a):
        m = ndi.uniform_filter(a, w); m2 = ndi.uniform_filter(a * a, w)
        return np.sqrt(np.maximum(m2 - m * m, 0))
    return dict(mean=ndi.uniform_filter(img, 2 * w), lo_std=lstd(lo), band_std=lstd(band),
                raw_std=lstd(img))

def main():
    for folder in sys.argv[1:]:
        feats = {"true": [], "on_carbon": [], "true_near_carbon": []}
        for tj in sorted(glob.glob(folder + "/truth/*.json")):
            t = json.load(open(tj)); d = t["particle_diameter_px"]
            name = os.path.splitext(os.path.basename(tj))[0]
            img = np.asarray(mrcfile.open(folder + "/micrographs/" + name + ".mrc", permissive=True).data, float)
            lab = np.asarray(mrcfile.open(folder + "/masks/" + name + "_labels.mrc", permissive=True).data)
            maps = feature_maps(img, d)
            # sample each feature in an annulus 0.75-1.5 d: median of the annulus pixels
            r1 = int(1.5 * d); yy, xx = np.mgrid[-r1:r1 + 1, -r1:r1 + 1]; rr = np.hypot(xx, yy)
            ring = (rr >= 0.75 * d) & (rr <= 1.5 * d)
            def sample(x, y):
                ys, xs = yy + int(round(y)), xx + int(round(x))
                ok = ring & (ys >= 0) & (ys < img.shape[0]) & (xs >= 0) & (xs < img.shape[1])
                return {k: float(np.median(m[ys[ok], xs[ok]])) for k, m in maps.items()}
            has_carbon = (lab == 1).any()
            for p in t["particles"]:
                f = sample(p["x"], p["y"]); f["mic_has_carbon"] = has_carbon
                feats["true"].append(f)
            for p in t["distractor_particles"]:
                if p["kind"] == "on_carbon":
                    feats["on_carbon"].append(sample(p["x"], p["y"]))
        print(f"{os.path.basename(folder)}: {len(feats['true'])} true, {len(feats['on_carbon'])} on carbon")
        for k in ("mean", "lo_std", "band_std", "raw_std"):
            tv = [f[k] for f in feats["true"]]; cv = [f[k] for f in feats["on_carbon"]]
            tvc = [f[k] for f in feats["true"] if f["mic_has_carbon"]]
            print(f"  {k:9s} AUC on_carbon>true {auc(cv, tv):.3f} (true in carbon micrographs only {auc(cv, tvc):.3f}); "
                  f"true median {np.median(tv):+.3f} [5-95%: {np.percentile(tv,5):+.3f}, {np.percentile(tv,95):+.3f}], "
                  f"on carbon median {np.median(cv) if cv else float('nan'):+.3f}")


if __name__ == "__main__":
    main()
