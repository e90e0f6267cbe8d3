"""A U-Net picker and a patch classifier trained on the same labels, picking as one.

Both score the same working image (same particle size, same binning): the U-Net a
probability per pixel, the classifier the probability of a particle centred at each pixel.
The ensemble averages the two maps, the classifier's counted more the fewer the labels
(picking/fusion.py; `cryopick combine` sets the weight), and finds its picks on the average
with the U-Net's peak finder. Each pick is then scored from the members' maps
(fusion.pick_scores: each member as it scores a centre, against the pick's surroundings,
counted partly by its rank among the candidates of the micrographs `cryopick combine`
calibrated on), kept by the U-Net's labels' density range, and lowered where two overlap
(peaks.lower_overlapping: a clump, or a particle picked twice). The file holds both members
whole, so either can be taken out again, the members' calibration and its own threshold
(`cryopick combine`: on micrographs the members did not train on when given, else on the
training micrographs by its members' rule).
"""
import numpy as np

from .errors import CryopickInputError
from .fixmatch.picker import MODEL_KIND as CLASSIFIER_KIND, PatchClassifier
from .io.files import read_model_state, save_torch_atomic
from .picking.fusion import (CLASSIFIER_WEIGHT, fuse_maps, member_parts, part_quantiles,
                             pick_scores)
from .picking.peaks import lower_overlapping
from .picking.scale import WorkingScale, to_original
from .picking.views import view_mean
from .unet.picker import MODEL_KIND as UNET_KIND, UNetPicker

MODEL_KIND = "cryopick-ensemble"
#: 2: the members' part quantiles (calibrate_parts); files of version 1 have none and score
#: picks by the members' parts alone
FORMAT_VERSION = 2
MEMBERS = ("unet", "classifier")


class EnsemblePicker(WorkingScale):
    default_batch_size = PatchClassifier.default_batch_size  # the classifier's patches

    def __init__(self, unet, classifier, classifier_weight=CLASSIFIER_WEIGHT, threshold=0.5,
                 extra=None, part_quantiles=None):
        _check_same_geometry(unet, classifier)
        if not classifier_weight >= 0:
            raise CryopickInputError(f"classifier weight must be >= 0 (got {classifier_weight})")
        self.unet, self.classifier = unet, classifier
        self.classifier_weight = float(classifier_weight)
        self.threshold = float(threshold)
        self.extra = dict(extra or {})
        # {"unet": ..., "classifier": ...}: how each member's parts spread over the
        # candidates of the calibration micrographs (None: not calibrated)
        self.part_quantiles = part_quantiles
        self.particle_diameter_px = unet.particle_diameter_px
        self.working_diameter = unet.working_diameter
        self.pixel_size = unet.pixel_size or classifier.pixel_size

    # ------------------------------------------------------------------ picking
    def member_maps(self, work, device="cpu", batch_size=256):
        """The U-Net's and the classifier's probability maps of a working image, each the
        mean over ``self.views`` symmetric views."""
        return (self.unet.view_map(work, device, views=self.views),
                view_mean(lambda w: self.classifier.score_working(w, device, batch_size),
                          work, self.views))

    def score_working(self, work, device="cpu", batch_size=256):
        """The weighted mean of the two probability maps of a working image."""
        return fuse_maps(*self.member_maps(work, device, batch_size), self.classifier_weight)

    def candidates(self, unet_map, classifier_map):
        """(N, 2) working (x, y) of the peaks of the fused map: the picks before scoring."""
        return self.unet.peaks_working(
            fuse_maps(unet_map, classifier_map, self.classifier_weight), 0.0)[:, :2]

    def calibrate_parts(self, maps):
        """Learn how each member's parts spread over the candidates of ``maps`` (a list of
        (U-Net map, classifier map) of calibration micrographs): picks are then scored
        partly by rank (fusion.fuse_parts). Returns the number of candidates; with none, the
        ensemble stays uncalibrated (scores from the parts alone)."""
        parts = [member_parts(self.candidates(u, c), u, c, self.unet.disc_radius,
                              self.working_diameter) for u, c in maps]
        n = sum(len(p[0]) for p in parts)
        if not n:
            self.part_quantiles = None
            return 0
        self.part_quantiles = {name: part_quantiles(np.concatenate([p[i] for p in parts]))
                               for i, name in enumerate(MEMBERS)}
        return n

    def pick(self, image, pixel_size=None, threshold=None, device="cpu", batch_size=256):
        """(N, 3) [x, y, score] in the micrograph's own pixel frame, best first."""
        work, factor = self.prepare_to_pick(image, pixel_size)
        return self.picks_from_maps(work, factor, *self.member_maps(work, device, batch_size),
                                    threshold)

    def picks_from_maps(self, work, factor, unet_map, classifier_map, threshold=None):
        """The picks of a working image from its members' maps (pick)."""
        threshold = self.threshold if threshold is None else threshold
        xy = self.candidates(unet_map, classifier_map)
        scores = pick_scores(xy, unet_map, classifier_map, self.classifier_weight,
                             self.unet.disc_radius, self.working_diameter,
                             quantiles=self.part_quantiles)
        peaks = np.column_stack([xy, scores]) if len(xy) else np.zeros((0, 3))
        peaks = self.unet.like_labels(work, peaks[np.argsort(-peaks[:, 2], kind="stable")],
                                      rescore=True)
        peaks = lower_overlapping(peaks, self.working_diameter)
        return to_original(peaks[peaks[:, 2] >= threshold], factor)

    # ------------------------------------------------------------------ files
    def state(self):
        return dict(kind=MODEL_KIND, format_version=FORMAT_VERSION, unet=self.unet.state(),
                    classifier=self.classifier.state(),
                    classifier_weight=self.classifier_weight, threshold=self.threshold,
                    extra=self.extra,
                    part_quantiles=None if self.part_quantiles is None else
                    {k: [float(v) for v in q] for k, q in self.part_quantiles.items()})

    def save(self, path):
        return save_torch_atomic(self.state(), path)

    @classmethod
    def from_state(cls, state, path, device="cpu"):
        if state.get("format_version", 0) > FORMAT_VERSION:
            raise CryopickInputError(f"{path}: written by a newer cryopick; please upgrade")
        members = []
        for key, kind, member in (("unet", UNET_KIND, UNetPicker),
                                  ("classifier", CLASSIFIER_KIND, PatchClassifier)):
            inner = state.get(key)
            if not isinstance(inner, dict) or inner.get("kind") != kind:
                raise CryopickInputError(f"{path}: corrupt ensemble (no {key} model inside)")
            members.append(member.from_state(inner, f"{path} ({key})", device))
        return cls(*members, state.get("classifier_weight", CLASSIFIER_WEIGHT),
                   state.get("threshold", 0.5), state.get("extra"),
                   _read_quantiles(state.get("part_quantiles"), path))

    @classmethod
    def load(cls, path, device="cpu"):
        state = read_model_state(path, MODEL_KIND, "ensemble model", device)
        return cls.from_state(state, path, device)


def _read_quantiles(saved, path):
    """The members' part quantiles of a file (None when it has none), checked."""
    if saved is None:
        return None
    try:
        quantiles = {k: np.asarray(saved[k], dtype=np.float32) for k in MEMBERS}
    except (KeyError, TypeError, ValueError):
        quantiles = None
    if quantiles is None or not all(
            q.ndim == 1 and len(q) > 1 and np.isfinite(q).all() and (np.diff(q) >= 0).all()
            for q in quantiles.values()):
        raise CryopickInputError(f"{path}: corrupt ensemble (its members' score quantiles)")
    return quantiles


def _check_same_geometry(unet, classifier):
    """Both members must see the same working image: same particle, same binning."""
    a = (unet.particle_diameter_px, unet.working_diameter)
    b = (classifier.particle_diameter_px, classifier.working_diameter)
    same_size = np.allclose(a, b, rtol=1e-3)
    pixels = [p for p in (unet.pixel_size, classifier.pixel_size) if p]
    same_pixels = len(pixels) < 2 or abs(pixels[0] - pixels[1]) <= 1e-3 * pixels[0]
    if not (same_size and same_pixels):
        raise CryopickInputError(
            "the U-Net and the classifier were trained for different particles or pixel sizes "
            f"(diameter / working diameter {a[0]:.4g} / {a[1]:.4g} px against {b[0]:.4g} / "
            f"{b[1]:.4g} px, pixel size {unet.pixel_size} against {classifier.pixel_size} A): "
            "train both on the same micrographs with the same particle diameter")
