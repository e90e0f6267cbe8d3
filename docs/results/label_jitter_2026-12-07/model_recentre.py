"""Offline: moved labels recentred on a trained U-Net's own map (disc mean, local max within
max_shift of the label): distance to the true centre before and after, in diameters."""
import os
import sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.unet.picker import UNetPicker
from cryopick_plugin.engine.picking.peaks import disc_mean
from cryopick_plugin.engine.picking.scale import to_working

folder, cell, n_train, model = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
max_shift = 0.25
ds = Dataset.from_folder(folder)
train, _ = ds.split(n_train)
seed = int(cell.rstrip("/").split("_")[-1])
moved = ds.labels(train, 0.2, seed, 0.1)
exact = ds.labels(train, 0.2, seed, 0.0)
p = UNetPicker.load(f"{cell}/unet/model/{model}")
errs = [[], []]
for n in train:
    work, f = p.prepare(read_micrograph(ds.micrographs[n]))
    m = p.view_map(work, views=8)
    d = ds.diameter_px / f
    dm = disc_mean(m, d / 2)
    S = int(np.ceil(max_shift * d))
    yy, xx = np.mgrid[-S:S + 1, -S:S + 1]
    ok = xx ** 2 + yy ** 2 <= (max_shift * d) ** 2
    pad = np.pad(dm, S, mode="edge")
    for (x, y), (tx, ty) in zip(to_working(moved[n][:, :2], f), to_working(exact[n][:, :2], f)):
        cx, cy = int(round(x)), int(round(y))
        win = np.where(ok, pad[cy:cy + 2 * S + 1, cx:cx + 2 * S + 1], -np.inf)
        dy, dx = np.unravel_index(np.argmax(win), win.shape)
        nx, ny = cx + dx - S, cy + dy - S
        errs[0].append(np.hypot(x - tx, y - ty) / d)
        errs[1].append(np.hypot(nx - tx, ny - ty) / d)
b, a = map(np.array, errs)
print(f"{cell} {model}: mean {b.mean():.3f} -> {a.mean():.3f}, median {np.median(b):.3f} -> {np.median(a):.3f}")
