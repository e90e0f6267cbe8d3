"""Benchmark datasets: a folder of MRC micrographs with complete truth coordinates.

Understood layouts: the output of ../shared/bench/simulate.py (micrographs/, coords_star/),
cryopick's demo data (micrographs/, truth/coordinates.json), or any folder given with
--micrographs and --truth (STAR / CSV / JSON / box, file or folder).
"""
import json
import os

import numpy as np

from cryopick_plugin.engine.io.coordinates import read_coordinates, write_coordinates
from cryopick_plugin.engine.io.images import list_images, micrograph_name

#: the second entry of the seed of the label offsets' random stream (Dataset.labels)
LABEL_JITTER_STREAM = 7


class Dataset:
    def __init__(self, micrographs, truth, diameter_px, pixel_size=None, label_masks=None):
        self.micrographs = micrographs  # {name: path}
        self.truth = truth  # {name: (N, 3)}
        self.diameter_px = float(diameter_px)
        self.pixel_size = pixel_size
        self.label_masks = label_masks or {}  # {name: path of the simulator's label map}

    @classmethod
    def from_folder(cls, root, micrographs=None, truth=None, diameter_px=None):
        mic_dir = micrographs or os.path.join(root, "micrographs")
        paths = {micrograph_name(p): p for p in list_images(mic_dir)}
        pixel_size, masks = None, {}
        if truth is None:
            for candidate in ("coords_star", os.path.join("truth", "coordinates.json")):
                if os.path.exists(os.path.join(root, candidate)):
                    truth = os.path.join(root, candidate)
                    break
        tables = read_coordinates(truth)
        if diameter_px is None:
            diameter_px, pixel_size = _diameter_from_metadata(root, tables)
        for name in paths:
            mask = os.path.join(root, "masks", f"{name}_labels.mrc")
            if os.path.exists(mask):
                masks[name] = mask
        return cls(paths, {n: tables.get(n, np.zeros((0, 3))) for n in paths}, diameter_px,
                   pixel_size, masks)

    def split(self, n_train):
        names = sorted(self.micrographs)
        return names[:n_train], names[n_train:]

    def labels(self, names, fraction, seed, jitter=0.0):
        """A seeded random ``fraction`` of the particles of each training micrograph.

        ``jitter`` > 0 moves each label off its particle's centre, as a hand-picked one is: a
        normal offset of ``jitter`` x the particle diameter (standard deviation) in x and in
        y. The same particles are labelled as without it (the offsets come from a stream of
        their own)."""
        rng = np.random.default_rng(seed)
        out = {}
        for n in names:
            t = self.truth[n]
            k = int(round(fraction * len(t)))
            if k:
                out[n] = t[np.sort(rng.choice(len(t), size=k, replace=False))]
        if jitter > 0:
            offsets = np.random.default_rng([seed, LABEL_JITTER_STREAM])
            for n in names:  # in the order of names: the offsets repeat with the seed
                if n in out:
                    out[n] = np.array(out[n], dtype=np.float64)
                    out[n][:, :2] += offsets.normal(0.0, jitter * self.diameter_px,
                                                    (len(out[n]), 2))
        return out

    def link(self, names, folder):
        os.makedirs(folder, exist_ok=True)
        for n in names:
            dst = os.path.join(folder, os.path.basename(self.micrographs[n]))
            if not os.path.lexists(dst):
                os.symlink(os.path.abspath(self.micrographs[n]), dst)
        return folder

    def write_labels(self, labels, path):
        write_coordinates(path, labels, fmt="json")
        return path


def _diameter_from_metadata(root, tables):
    """Particle diameter in pixels from the simulator's truth files or the demo manifest."""
    manifest = os.path.join(root, "dataset.json")
    if os.path.exists(manifest):
        with open(manifest) as fh:
            m = json.load(fh)
        return m["particle_diameter_px"], m["pixel_size"]
    truth_dir = os.path.join(root, "truth")
    for fn in sorted(os.listdir(truth_dir)) if os.path.isdir(truth_dir) else []:
        if fn.endswith(".json"):
            with open(os.path.join(truth_dir, fn)) as fh:
                t = json.load(fh)
            diameter = _find_key(t, "particle_diameter_px")
            apix = _find_key(t, "apix")
            if diameter:
                return float(diameter), apix
    raise SystemExit(f"{root}: cannot tell the particle diameter; pass --diameter-px")


def _find_key(obj, key):
    if isinstance(obj, dict):
        if key in obj and isinstance(obj[key], (int, float)):
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    return None
