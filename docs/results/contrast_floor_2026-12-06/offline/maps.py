"""Cache the ensemble members' maps of a cell's test micrographs (offline experiments)."""
import sys, os, time
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(1)
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import read_micrograph
from benchmarks.datasets import Dataset
cell, data = sys.argv[1], sys.argv[2]
out = os.path.join(cell, "ensemble", "maps_s45.npz")
if os.path.exists(out):
    sys.exit(0)
ens = EnsemblePicker.load(os.path.join(cell, "ensemble/ensemble_model.pt"))
ds = Dataset.from_folder(data)
picks = read_coordinates(os.path.join(cell, "ensemble/picks.json"))
arrs = {}
t = time.time()
for n in picks:
    work, factor = ens.prepare_to_pick(read_micrograph(ds.micrographs[n]))
    u, c = ens.member_maps(work)
    arrs[n + "/work"] = work; arrs[n + "/u"] = u; arrs[n + "/c"] = c; arrs[n + "/f"] = np.array(factor)
np.savez_compressed(out, **arrs)
print(cell, len(picks), f"{time.time() - t:.0f}s")
