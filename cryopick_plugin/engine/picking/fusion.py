"""How two pickers' probability maps of one working image become one, and how a pick on it
is scored (engine/ensemble.py)."""
import numpy as np
from scipy.ndimage import maximum_filter

from .peaks import disc_mean, ring_mean

#: with n hand-picked particles, the classifier's map counts EQUAL_WEIGHT_LABELS / n times the
#: U-Net's: the U-Net learns from the labelled discs alone and needs more of them than the
#: classifier, which also learns from its unlabelled patches. First 100 / n, on the fifth
#: matrix run's saved models (15 cells; AP +0.069 at 5% labels against the fixed weight 2).
#: 50 / n since 2026-12-06: offline on 52 cells of the current pipeline (usual and fresh
#: micrographs, both label seeds, and 250 / 625 labels on the crowded specimen), AP +0.004 /
#: best F1 +0.002 against 100 / n, higher in 38 of the cells and in every set-budget, worst
#: cell -0.025; 25 / n +0.004 (worst -0.115), 75 / n +0.002 (worst -0.009), 200 / n -0.006;
#: never below 1 lost 0.023 / 0.025 AP at 250 / 625 labels (docs/benchmarks.md "The
#: ensemble's constants on fresh micrographs, and hundreds of labels")
EQUAL_WEIGHT_LABELS = 50.0

#: the weight when the number of labels is not known (combine without --coords)
CLASSIFIER_WEIGHT = 2.0


def classifier_weight_for(n_labels):
    """How many times the classifier's map counts against the U-Net's, for members trained on
    ``n_labels`` hand-picked particles (CLASSIFIER_WEIGHT when there are none)."""
    return EQUAL_WEIGHT_LABELS / n_labels if n_labels and n_labels > 0 else CLASSIFIER_WEIGHT


def fuse_maps(unet, classifier, classifier_weight=CLASSIFIER_WEIGHT):
    """The weighted mean of a U-Net probability map and a classifier's (clipped to [0, 1]:
    the cubic interpolation of the classifier's grid may step a little outside)."""
    w = float(classifier_weight)
    return ((np.asarray(unet) + w * np.clip(classifier, 0.0, 1.0)) / (1.0 + w)).astype(np.float32)


#: the classifier's part of a pick's score may also take its highest value within this share
#: of the working diameter of the pick (see pick_scores)
CENTRE_RADIUS_FRACTION = 1 / 6
#: how much of the classifier's part is that peak (the rest: its disc mean; 0: the fused
#: map's own disc-averaged score). 0.5 ranks crowded micrographs better (AP +0.022 to
#: +0.034). It also raises the scores on the micrographs the classifier trained on more than
#: elsewhere: a threshold chosen there was too high (large-carbon 20%: F1 at it 0.113 below
#: the best; `make demo` 0.891 -> 0.819). Chosen on micrographs the models did not see
#: (combine --calibrate-dir, thresholds.threshold_from_unseen), it holds (within 0.026 /
#: 0.023 / 0.036 at 5 / 20 / 50%); docs/benchmarks.md "Scoring the ensemble's picks"
PEAK_SHARE = 0.5
#: the ring, in working diameters, whose mean the classifier's part loses SURROUND_SHARE of:
#: just outside the centre, where its map falls between particles
CLASSIFIER_RING = (1 / 3, 1 / 2)
#: a particle stands out from its surroundings; a carbon edge, an aggregate or a patch of
#: contamination that the classifier calls particle-like is as high around a pick as on it.
#: 0.25 against 0, offline on the eighth matrix run's saved models (24 cells): AP +0.013 /
#: +0.012 / +0.005 at 5 / 20 / 50% labels, no regime down by more than 0.002; 0.5 gained
#: more at 20% and lost irregular and large-carbon at 50%; the same ring subtracted from the
#: U-Net's part (just outside its disc) lost apoferritin and irregular at 50%
#: (docs/benchmarks.md "A pick against its surroundings")
SURROUND_SHARE = 0.25


#: each member's part of a pick's score counts RANK_SHARE as its rank: the share of the
#: candidates on the micrographs `cryopick combine` calibrated on whose part is not above it
#: (the rest: the part itself). A member saturated near 1 on particles and junk alike (the
#: U-Net with many labels: 0.95-0.999 on apoferritin aggregates and particles) still orders
#: them, and each member counts by its order, not by how far its probabilities spread.
#: Offline on the ninth matrix run's saved members (24 cells, docs/benchmarks.md "Member
#: scores by rank"): 0.5 against 0, AP +0.001 / +0.009 / +0.010 at 5 / 20 / 50% labels
#: (crowded 50% +0.030, large-carbon 20% +0.025), no regime-budget down by more than 0.002
#: AP or 0.007 best F1; ranks alone (1.0) +0.008 AP at 20-50% but best F1 -0.009 on
#: apoferritin 20% and 50%
RANK_SHARE = 0.5
#: how many quantiles of each member's parts a calibrated ensemble keeps
N_QUANTILES = 1001


def member_parts(xy, unet, classifier, disc_radius, working_diameter, peak_share=PEAK_SHARE,
                 surround_share=SURROUND_SHARE):
    """(U-Net's parts, classifier's parts) of the scores of picks at working (x, y) ``xy``:
    the U-Net's map averaged over the pick's disc; the classifier's: (1 - ``peak_share``) x
    its map averaged over that disc + ``peak_share`` x its highest value within
    CENTRE_RADIUS_FRACTION of the pick, less ``surround_share`` x its mean over the ring
    CLASSIFIER_RING around the pick.

    The disc tells a whole particle from a speck: large particles, whose classifier map is
    ragged, need it. But the classifier scores centres, and averaged over a disc the sharp
    peaks of touching particles sink below the broad response along a carbon edge; the peak
    and the surround keep them apart. Measured on the eighth matrix run's saved models
    (24 cells, docs/benchmarks.md "Scoring the ensemble's picks" and "A pick against its
    surroundings")."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    unet, classifier = np.asarray(unet, np.float32), np.clip(classifier, 0.0, 1.0)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, unet.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, unet.shape[0] - 1)
    clf = disc_mean(classifier, disc_radius)[iy, ix]
    if peak_share:
        radius = CENTRE_RADIUS_FRACTION * working_diameter
        r = int(np.ceil(radius))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        peak = maximum_filter(classifier, footprint=xx ** 2 + yy ** 2 <= radius ** 2,
                              mode="nearest")[iy, ix]
        clf = (1.0 - peak_share) * clf + peak_share * peak
    if surround_share:
        clf = clf - surround_share * ring_mean(
            classifier, *(f * working_diameter for f in CLASSIFIER_RING))[iy, ix]
    return disc_mean(unet, disc_radius)[iy, ix], clf


def part_quantiles(parts, n=N_QUANTILES):
    """``n`` evenly spaced quantiles of one member's parts (float32): how they spread over
    the candidates of the calibration micrographs."""
    parts = np.asarray(parts, dtype=np.float64).ravel()
    if not parts.size:
        raise ValueError("no candidates to take quantiles of")
    return np.quantile(parts, np.linspace(0.0, 1.0, n)).astype(np.float32)


def with_rank(parts, quantiles, rank_share=RANK_SHARE):
    """One member's ``parts`` with ``rank_share`` of each replaced by its rank among the
    calibration candidates (``quantiles``, from part_quantiles): the share of them not above
    it. Unchanged without quantiles."""
    parts = np.asarray(parts, dtype=np.float64)
    if quantiles is None:
        return parts
    quantiles = np.asarray(quantiles, dtype=np.float64)
    rank = np.searchsorted(quantiles, parts, side="right") / len(quantiles)
    return (1.0 - rank_share) * parts + rank_share * rank


def fuse_parts(unet_parts, classifier_parts, classifier_weight, quantiles=None):
    """The weighted mean of the members' parts; with ``quantiles`` ({"unet": ...,
    "classifier": ...}), each part counts RANK_SHARE as its rank first (with_rank)."""
    if quantiles is not None:
        unet_parts = with_rank(unet_parts, quantiles["unet"])
        classifier_parts = with_rank(classifier_parts, quantiles["classifier"])
    w = float(classifier_weight)
    return (np.asarray(unet_parts) + w * np.asarray(classifier_parts)) / (1.0 + w)


def pick_scores(xy, unet, classifier, classifier_weight, disc_radius, working_diameter,
                peak_share=PEAK_SHARE, surround_share=SURROUND_SHARE, quantiles=None):
    """Scores of picks at working (x, y) ``xy`` found on the fused map: the weighted mean of
    the members' parts (member_parts), each counted partly by its rank when the ensemble was
    calibrated (``quantiles``, fuse_parts)."""
    return fuse_parts(*member_parts(xy, unet, classifier, disc_radius, working_diameter,
                                    peak_share, surround_share), classifier_weight, quantiles)
