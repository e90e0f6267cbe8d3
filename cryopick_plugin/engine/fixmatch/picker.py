"""A trained patch classifier as one self-contained file, and picking with it.

``PatchClassifier`` holds the weights plus the particle size, working diameter, patch size
and picking threshold, like UNetPicker. It scores given coordinates (re-scoring another
picker's picks) and picks whole micrographs by scoring a grid of patches (the compact network
in one pass over the image, a ResNet patch by patch in bounded batches), then finding peaks
with NMS.
"""
import numpy as np

from ..errors import CryopickInputError
from ..io.files import read_model_state, save_torch_atomic
from ..picking.peaks import find_peaks
from ..picking.scale import WorkingScale, to_original, to_working
from ..picking.views import view_mean
from .network import build_classifier, dense_stride, predict, predict_dense
from .patches import PatchSource, grid_positions

MODEL_KIND = "cryopick-fixmatch"
FORMAT_VERSION = 1


def _squash(logit):
    """A monotone map of logits into (0, 1) that, unlike the sigmoid, does not saturate to
    a flat plateau of 1.0 around a confidently classified particle (NMS needs a summit)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=np.float64) / 16.0))


class PatchClassifier(WorkingScale):
    default_batch_size = 256  # patches per forward pass (a ResNet scores patch by patch)

    def __init__(self, model, backbone, dropout, particle_diameter_px, working_diameter,
                 patch_size, pixel_size=None, threshold=0.5, pick_stride=0.25,
                 min_distance_fraction=0.5, extra=None):
        self.model = model
        self.backbone = backbone
        self.dropout = float(dropout)
        self.particle_diameter_px = float(particle_diameter_px)
        self.working_diameter = float(working_diameter)
        self.patch_size = int(patch_size)
        self.pixel_size = pixel_size
        self.threshold = float(threshold)
        self.pick_stride = float(pick_stride)
        self.min_distance_fraction = float(min_distance_fraction)
        self.extra = dict(extra or {})

    # ------------------------------------------------------------------ scoring
    def score_coordinates(self, image, coords, pixel_size=None, device="cpu", batch_size=256,
                          search=1.0 / 6.0):
        """Classifier probability at each (x, y) of the micrograph's own pixel frame.

        The classifier is sharp about centring (it learned centred particles against random
        positions), while other pickers' picks may sit a few pixels off: each coordinate
        scores the best of a 3 x 3 neighbourhood ``search`` x working diameter apart
        (0: the coordinate only).
        """
        coords = np.asarray(coords, dtype=np.float64)
        if coords.size == 0:
            return np.zeros(0)
        coords = coords.reshape(len(coords), -1)
        work, factor = self.prepare(image, pixel_size)
        src = PatchSource(work, self.patch_size)
        centres = to_working(coords[:, :2], factor)
        step = search * self.working_diameter
        offsets = [(dx, dy) for dx in (-step, 0.0, step) for dy in (-step, 0.0, step)] \
            if step > 0 else [(0.0, 0.0)]
        shifted = np.concatenate([centres + np.array(o) for o in offsets])
        scores = predict(self.model, src.extract(shifted), device, batch_size)
        return scores.reshape(len(offsets), len(coords)).max(axis=0).astype(np.float64)

    def score_map(self, image, pixel_size=None, device="cpu", batch_size=256, logits=False):
        """Probability (or logit) on a grid with step pick_stride x working diameter,
        upsampled to the working image; memory is bounded by one batch of patches."""
        work, factor = self.prepare(image, pixel_size)
        return self.score_working(work, device, batch_size, logits), factor

    def score_working(self, work, device="cpu", batch_size=256, logits=False, one_pass=True):
        """score_map of an image already binned and normalised (see prepare).

        The compact network scores the whole image in one pass (``one_pass=False``: patch by
        patch at the same positions, the same numbers more slowly); a ResNet patch by patch.
        """
        from scipy.ndimage import map_coordinates

        grid, offset, step = self._grid_scores(work, device, batch_size, one_pass)
        if not logits:
            grid = 1.0 / (1.0 + np.exp(-grid))
        # cubic interpolation back to every working pixel (grid index = (pos - offset) / step):
        # unlike bilinear, it puts a summit between grid nodes, where the particle is
        py, px = np.mgrid[0:work.shape[0], 0:work.shape[1]].astype(np.float32)
        return map_coordinates(grid, [(py - offset) / step, (px - offset) / step],
                               order=3, mode="nearest")

    def _grid_scores(self, work, device, batch_size, one_pass):
        """(logits on a grid, position of its first node, its step) in working pixels."""
        src = PatchSource(work, self.patch_size)
        step = max(1.0, self.pick_stride * self.working_diameter)
        dense = hasattr(self.model, "dense")
        if dense:  # nodes on every stride-th pixel from 0, the one-pass network's own grid
            step = dense_stride(step)
            xs, ys = np.arange(0, work.shape[1], step), np.arange(0, work.shape[0], step)
            if one_pass:
                # the patch centred on (x, y) starts at (x, y) - patch // 2; src.padded at -pad
                start = src.pad - self.patch_size // 2
                grid = predict_dense(self.model, src.padded[start:, start:], step, device)
                return grid[:len(ys), :len(xs)], 0.0, step
        else:
            xs, ys = grid_positions(work.shape, step)
        grid = np.empty((len(ys), len(xs)), dtype=np.float32)
        rows_per_batch = max(1, batch_size // max(len(xs), 1))
        for r0 in range(0, len(ys), rows_per_batch):
            yy, xx = np.meshgrid(ys[r0:r0 + rows_per_batch], xs, indexing="ij")
            centres = np.column_stack([xx.ravel(), yy.ravel()])
            grid[r0:r0 + len(yy)] = predict(self.model, src.extract(centres), device,
                                            batch_size, logits=True).reshape(yy.shape)
        return grid, (0.0 if dense else step / 2.0), step

    def pick(self, image, pixel_size=None, threshold=None, device="cpu", batch_size=256):
        """(N, 3) [x, y, score] in the micrograph's own pixel frame, best first."""
        work, factor = self.prepare_to_pick(image, pixel_size)
        return self.pick_working(work, factor, threshold, device, batch_size)

    def pick_working(self, work, factor, threshold=None, device="cpu", batch_size=256,
                     one_pass=True):
        """pick on an image already binned by ``factor`` and normalised (see prepare); the
        logits averaged over ``self.views`` symmetric views."""
        logit = view_mean(lambda w: self.score_working(w, device, batch_size, logits=True,
                                                       one_pass=one_pass), work, self.views)
        threshold = self.threshold if threshold is None else threshold
        if not 0.0 <= threshold <= 1.0:
            raise CryopickInputError(f"picking threshold must be within [0, 1] (got {threshold})")
        t = float(np.clip(threshold, 1e-7, 1 - 1e-7))
        peaks = find_peaks(_squash(logit), threshold=float(_squash(np.log(t / (1 - t)))),
                           min_distance=self.min_distance_fraction * self.working_diameter)
        if len(peaks):  # report probabilities, not squashed logits
            z = 16.0 * np.log(peaks[:, 2] / (1.0 - peaks[:, 2]))
            peaks[:, 2] = 1.0 / (1.0 + np.exp(-z))
        return to_original(peaks, factor)

    # ------------------------------------------------------------------ files
    def save(self, path):
        return save_torch_atomic(self.state(), path)

    def state(self):
        """What the model file holds: tensors, numbers and strings only."""
        return dict(kind=MODEL_KIND, format_version=FORMAT_VERSION, backbone=self.backbone,
                    dropout=self.dropout,
                    state_dict={k: v.cpu() for k, v in self.model.state_dict().items()},
                    particle_diameter_px=self.particle_diameter_px,
                    working_diameter=self.working_diameter, patch_size=self.patch_size,
                    pixel_size=self.pixel_size, threshold=self.threshold,
                    pick_stride=self.pick_stride,
                    min_distance_fraction=self.min_distance_fraction, extra=self.extra)

    @classmethod
    def from_state(cls, state, path, device="cpu"):
        if state.get("format_version", 0) > FORMAT_VERSION:
            raise CryopickInputError(f"{path}: written by a newer cryopick; please upgrade")
        model = build_classifier(state["backbone"], state["dropout"])
        try:
            model.load_state_dict(state["state_dict"])
        except Exception as exc:
            raise CryopickInputError(f"{path}: corrupt model weights ({exc})") from None
        model.to(device).eval()
        return cls(model, state["backbone"], state["dropout"], state["particle_diameter_px"],
                   state["working_diameter"], state["patch_size"], state.get("pixel_size"),
                   state.get("threshold", 0.5), state.get("pick_stride", 0.25),
                   state.get("min_distance_fraction", 0.5), state.get("extra"))

    @classmethod
    def load(cls, path, device="cpu"):
        state = read_model_state(path, MODEL_KIND, "FixMatch classifier", device)
        return cls.from_state(state, path, device)
