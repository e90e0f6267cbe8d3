"""How the measured U-Net models got their contrast floor: the saved runs' U-Nets predate it.
For each cell of a matrix output folder, the floor is made from the cell's labels as
train-unet now makes it (density.contrast_floor of density.centre_contrast at the labels, on
the working images UNetPicker.prepare makes) and written into unet/model/final_model.pt,
the U-Net `cryopick combine` takes. The U-Net's weights are unchanged: the floor only lowers
picks' scores at picking, and self-training's pseudo-particles do not use it.
Usage: add_contrast_floor.py [--print-only] MATRIX_OUT REGIME=DATA_FOLDER...  (run from the
repository root). Prints each cell's labels' mean centre contrast, its sd and the floor;
--print-only writes nothing (contrast_spread.txt)."""
import glob
import os
import sys

import numpy as np

sys.path.insert(0, os.getcwd())
from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.io.coordinates import read_coordinates  # noqa: E402
from cryopick_plugin.engine.io.images import read_micrograph  # noqa: E402
from cryopick_plugin.engine.picking.density import centre_contrast, contrast_floor  # noqa: E402
from cryopick_plugin.engine.picking.scale import to_working  # noqa: E402
from cryopick_plugin.engine.unet.picker import UNetPicker  # noqa: E402

args = sys.argv[1:]
print_only = "--print-only" in args
args = [a for a in args if a != "--print-only"]
out_dir, folders = args[0], dict(a.split("=", 1) for a in args[1:])
for cell in sorted(glob.glob(os.path.join(out_dir, "*", "labels_*", "seed_*"))):
    path = os.path.join(cell, "unet", "model", "final_model.pt")
    if not os.path.exists(path):
        continue
    ds = Dataset.from_folder(folders[cell.split(os.sep)[-3]])
    picker = UNetPicker.load(path)
    values = []
    for name, xy in read_coordinates(os.path.join(cell, "unet", "labels.json")).items():
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, np.shape(xy)[-1] if np.size(xy) else 2)
        if len(xy):
            work, factor = picker.prepare(read_micrograph(ds.micrographs[name]))
            values.append(centre_contrast(work, to_working(xy[:, :2], factor),
                                          picker.working_diameter))
    values = np.concatenate(values)
    picker.contrast_floor = contrast_floor(values)
    if not print_only:
        picker.save(path)
    print(cell, len(values), f"labels, mean {values.mean():+.3f} sd {values.std(ddof=1):.3f} "
          f"floor", picker.contrast_floor)
