"""Offline: can hand-picked labels be moved back onto their particles' centres from the
image alone? Labels moved as --label-jitter moves them; each recentred to the best match of a
rotationally averaged template (the mean of the labels' patches) within max_shift; distance
to the true centre before and after, in diameters."""
import os
import sys
import numpy as np
import cv2
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.scale import downsample, normalize, working_factor


def radial_average(img):
    h, w = img.shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2)
    ri = np.round(r).astype(int)
    prof = np.bincount(ri.ravel(), img.ravel()) / np.maximum(np.bincount(ri.ravel()), 1)
    return prof[ri].astype(np.float32)


def recentre(works, labels, d, max_shift=0.25, iters=3, half=0.75, sigma=0.0):
    """works: {name: working image}; labels: {name: (N,2) working xy}; d: working diameter."""
    R = int(np.ceil(half * d)); S = int(np.ceil(max_shift * d))
    pads = {n: cv2.copyMakeBorder(w if not sigma else cv2.GaussianBlur(w, (0, 0), sigma),
                                   R + S, R + S, R + S, R + S, cv2.BORDER_REFLECT)
            for n, w in works.items()}
    orig = {n: np.round(v).astype(int) for n, v in labels.items()}
    cur = {n: v.copy() for n, v in orig.items()}
    yy, xx = np.mgrid[-S:S + 1, -S:S + 1]
    allowed = xx ** 2 + yy ** 2 <= (max_shift * d) ** 2
    for _ in range(iters):
        patches = [pads[n][y + S:y + S + 2 * R + 1, x + S:x + S + 2 * R + 1]
                   for n, v in cur.items() for x, y in v]
        t = radial_average(np.mean(patches, axis=0))
        for n, v in orig.items():
            out = []
            for x, y in v:
                region = pads[n][y:y + 2 * R + 2 * S + 1, x:x + 2 * R + 2 * S + 1]
                cc = cv2.matchTemplate(region, t, cv2.TM_CCOEFF_NORMED)
                cc = np.where(allowed, cc, -np.inf)
                dy, dx = np.unravel_index(np.argmax(cc), cc.shape)
                out.append((x + dx - S, y + dy - S))
            cur[n] = np.array(out)
    return cur


def main(folder, fraction=0.2, jitter=0.1, **kw):
    ds = Dataset.from_folder(folder)
    train, _ = ds.split({"crowded": 2, "apoferritin": 4, "large-carbon": 6, "irregular": 4}[
        folder.split("/")[-1].split("-1024")[0].split("-512")[0]])
    f = working_factor(ds.diameter_px)
    d = ds.diameter_px / f
    works = {n: normalize(downsample(read_micrograph(ds.micrographs[n]), f)) for n in train}
    for seed in (0, 1):
        for jit in (0.0, jitter):
            lab = ds.labels(train, fraction, seed, jit)
            exact = ds.labels(train, fraction, seed, 0.0)
            w = {n: v[:, :2] / f for n, v in lab.items()}
            new = recentre(works, w, d, **kw)
            before = np.concatenate([np.hypot(*(w[n] - exact[n][:, :2] / f).T) for n in w]) / d
            after = np.concatenate([np.hypot(*(new[n] - exact[n][:, :2] / f).T) for n in w]) / d
            print(f"{folder.split('/')[-1][:22]:22s} seed {seed} jitter {jit:.2f} n {len(before):4d}: "
                  f"mean {before.mean():.3f} -> {after.mean():.3f}, median {np.median(before):.3f} -> "
                  f"{np.median(after):.3f}, >0.25d {np.mean(before > 0.25):.2f} -> {np.mean(after > 0.25):.2f}")


if __name__ == "__main__":
    kw = dict(a.split("=") for a in sys.argv[2:])
    main(sys.argv[1], **{k: float(v) for k, v in kw.items()})
