"""A trained U-Net picker as one self-contained file, and picking with it.

The file holds the weights plus everything needed to use them on other micrographs: the
particle size it was trained for (pixels of the training micrographs, and their pixel size
when known), the working diameter, the picking threshold and minimum distance, and the
local density range of the hand-picked particles (picks outside it are junk) and their
typical range (picks outside it rank lower; see picking/density.py).
"""

import numpy as np

from ..errors import CryopickInputError
from ..io.files import read_model_state, save_torch_atomic
from ..picking.density import ATYPICAL_SCORE, centre_contrast, local_density, within
from ..picking.peaks import find_peaks
from ..picking.scale import WorkingScale, to_original
from ..picking.views import view_mean
from .network import UNet
from .tiling import BORDER, MARGIN, predict_probability_map

MODEL_KIND = "cryopick-unet"
#: a pick's score is the map's mean over a disc whose radius is this share of the working
#: diameter (peaks_working)
DISC_FRACTION = 1 / 3
FORMAT_VERSION = 1


class UNetPicker(WorkingScale):
    """Weights + picking settings. ``particle_diameter_px`` is in training micrograph pixels."""

    default_batch_size = 1  # tiles per forward pass (a micrograph is one or a few tiles)
    border = BORDER  # context added at the image's edges (tiling.py)

    def __init__(self, model, particle_diameter_px, working_diameter, pixel_size=None,
                 threshold=0.5, min_distance_fraction=0.5, extra=None, density_range=None,
                 density_typical=None, contrast_floor=None):
        self.model = model
        self.particle_diameter_px = float(particle_diameter_px)
        self.working_diameter = float(working_diameter)
        self.pixel_size = pixel_size
        self.threshold = float(threshold)
        self.min_distance_fraction = float(min_distance_fraction)
        self.extra = dict(extra or {})
        self.density_range = density_range  # [low, high] per density feature, or None
        self.density_typical = density_typical  # the same, narrower: full score inside
        self.contrast_floor = contrast_floor  # darker picks: lower score, no pseudo-particle

    # ------------------------------------------------------------------ picking
    def probability_map(self, image, pixel_size=None, device="cpu", batch_size=1, tile=None,
                        views=1):
        """Probability map of the working image (tiles: see tiling.py) and the binning;
        ``views`` > 1: the mean of the maps of that many symmetric views (see view_mean)."""
        work, factor = self.prepare(image, pixel_size)
        return self.view_map(work, device, batch_size, tile, views), factor

    def view_map(self, work, device="cpu", batch_size=1, tile=None, views=1):
        """Probability map of a working image, the mean over ``views`` symmetric views."""
        return view_mean(lambda w: self._working_map(w, device, batch_size, tile), work,
                         views)

    def _working_map(self, work, device="cpu", batch_size=1, tile=None):
        return predict_probability_map(self.model, work, tile=tile, margin=MARGIN,
                                       border=self.border, batch_size=batch_size,
                                       device=device)

    def peaks_working(self, prob, threshold=None):
        """(N, 3) [x, y, score] peaks of a working-image probability map, best first."""
        # the score of a pick is the mean probability over a disc a third of the particle
        # diameter across: picks at the centre of the predicted particle even when the map
        # is flat or ring-shaped inside it (see disc_mean). Measured: the mask's full radius
        # (wd / 2) centres best on sparse particles but merges crowded neighbours (demo AP
        # 0.76); a Gaussian of wd / 8 scatters picks over hollow particles (simulated
        # apoferritin AP 0.22 / 0.51 at 5 / 20% labels); wd / 3 is within a few points of
        # the best on both (0.93 demo, 0.24 / 0.55 / 0.98 apoferritin)
        return find_peaks(prob, threshold=self.threshold if threshold is None else threshold,
                          min_distance=self.min_distance_fraction * self.working_diameter,
                          disc_radius=self.disc_radius)

    @property
    def disc_radius(self):
        """Working pixels: the disc over which a pick's score is averaged (peaks_working)."""
        return self.working_diameter * DISC_FRACTION

    def like_labels(self, work, peaks, rescore=False):
        """The working-frame ``peaks`` whose local density in ``work`` is within the
        hand-picked particles' range (all of them when the model has none) and, unless
        ``rescore``, whose centre is not darker than the labels' contrast floor: the
        self-training's pseudo-particles. ``rescore`` (picking): those darker keep
        ATYPICAL_SCORE of their score instead, as do those outside the labels' typical
        range (once per rule), best first again (picking/density.py)."""
        if not len(peaks) or (self.density_range is None and self.contrast_floor is None and
                              (self.density_typical is None or not rescore)):
            return peaks
        density = local_density(work, peaks[:, :2], self.working_diameter)
        keep = within(density, self.density_range)
        peaks, density = peaks[keep], density[keep]
        dark = np.zeros(len(peaks), dtype=bool)
        if self.contrast_floor is not None:
            dark = centre_contrast(work, peaks[:, :2], self.working_diameter) < \
                self.contrast_floor
        if not rescore:
            return peaks[~dark]
        peaks = peaks.copy()
        if self.density_typical is not None:
            peaks[~within(density, self.density_typical), 2] *= ATYPICAL_SCORE
        peaks[dark, 2] *= ATYPICAL_SCORE
        return peaks[np.argsort(-peaks[:, 2], kind="stable")]

    def pick(self, image, pixel_size=None, threshold=None, device="cpu", batch_size=1,
             views=None):
        """(N, 3) [x, y, score] in the micrograph's own pixel frame, best first (the map
        averaged over ``views`` symmetric views; None: ``self.views``)."""
        work, factor = self.prepare_to_pick(image, pixel_size)
        threshold = self.threshold if threshold is None else threshold
        views = self.views if views is None else views
        return self.picks_from_map(work, self.view_map(work, device, batch_size, views=views),
                                   factor, threshold)

    def picks_from_map(self, work, prob, factor, threshold):
        """The picks of a working-image probability map (this model's or an ensemble's):
        peaks, the labels' density rule, ``threshold`` on the final scores; original frame."""
        peaks = self.like_labels(work, self.peaks_working(prob, threshold), rescore=True)
        return to_original(peaks[peaks[:, 2] >= threshold], factor)

    # ------------------------------------------------------------------ files
    def save(self, path):
        return save_torch_atomic(self.state(), path)

    def state(self):
        """What the model file holds: tensors, numbers and strings only."""
        return dict(kind=MODEL_KIND, format_version=FORMAT_VERSION,
                    base_features=self.model.base_features,
                    state_dict={k: v.cpu() for k, v in self.model.state_dict().items()},
                    particle_diameter_px=self.particle_diameter_px,
                    working_diameter=self.working_diameter, pixel_size=self.pixel_size,
                    threshold=self.threshold, min_distance_fraction=self.min_distance_fraction,
                    extra=self.extra, density_range=self.density_range,
                    density_typical=self.density_typical, contrast_floor=self.contrast_floor)

    @classmethod
    def load(cls, path, device="cpu"):
        state = read_model_state(path, MODEL_KIND, "U-Net model", device)
        return cls.from_state(state, path, device)

    @classmethod
    def from_state(cls, state, path, device="cpu"):
        """The picker from a model file's contents (``path`` names it in errors)."""
        if state.get("format_version", 0) > FORMAT_VERSION:
            raise CryopickInputError(f"{path}: written by a newer cryopick; please upgrade")
        model = UNet(base_features=state["base_features"])
        try:
            model.load_state_dict(state["state_dict"])
        except Exception as exc:
            raise CryopickInputError(f"{path}: corrupt model weights ({exc})") from None
        model.to(device).eval()
        return cls(model, state["particle_diameter_px"], state["working_diameter"],
                   state.get("pixel_size"), state.get("threshold", 0.5),
                   state.get("min_distance_fraction", 0.5), state.get("extra"),
                   _density_range(state.get("density_range"), path),
                   _density_range(state.get("density_typical"), path),
                   _contrast_floor(state.get("contrast_floor"), path))


def _density_range(value, path):
    """A model file's density range: None (older files) or two lists of two numbers."""
    if value is None:
        return None
    try:
        low, high = (np.asarray(v, dtype=np.float64) for v in value)
        ok = low.shape == high.shape == (2,) and np.all(np.isfinite(low + high))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise CryopickInputError(f"{path}: corrupt density range {value!r}")
    return [low.tolist(), high.tolist()]


def _contrast_floor(value, path):
    """A model file's contrast floor: None (older files, or too few labels) or a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not np.isfinite(value):
        raise CryopickInputError(f"{path}: corrupt contrast floor {value!r}")
    return float(value)
