"""How two pickers' probability maps of one working image become one, and how a pick on it
is scored (engine/ensemble.py)."""
import numpy as np
from scipy.ndimage import maximum_filter

from .peaks import disc_mean

#: with n hand-picked particles, the classifier's map counts EQUAL_WEIGHT_LABELS / n times the
#: U-Net's: the U-Net learns from the labelled discs alone and needs more of them than the
#: classifier, which also learns from its unlabelled patches. Measured on the fifth benchmark
#: matrix run's saved models (15 cells: crowded, apoferritin and large-carbon at 5-50% labels,
#: docs/benchmarks.md "How much the classifier counts"): 100 / n against the fixed weight 2,
#: AP +0.069 at 5% labels (6 cells) and +0.003 at 20-50% (9 cells); 60 / n and 250 / n gave
#: +0.061 and +0.075 at 5%, -0.001 / +0.004 at 20-50%
EQUAL_WEIGHT_LABELS = 100.0

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


def pick_scores(xy, unet, classifier, classifier_weight, disc_radius, centre_radius,
                peak_share=PEAK_SHARE):
    """Scores of picks at working (x, y) ``xy`` found on the fused map: the weighted mean of
    the U-Net's map averaged over the pick's disc and the classifier's (1 - ``peak_share``)
    x (its map averaged over that disc) + ``peak_share`` x (its highest value within
    ``centre_radius``).

    The disc tells a whole particle from a speck: large particles, whose classifier map is
    ragged, need it. But the classifier scores centres, and averaged over a disc the sharp
    peaks of touching particles sink below the broad response along a carbon edge. Measured
    on the eighth matrix run's saved models (24 cells, docs/benchmarks.md "Scoring the
    ensemble's picks"): share 0.5 against 0, AP +0.010 / +0.006 / +0.007 at 5 / 20 / 50%
    labels, crowded +0.011 to +0.039 in every cell; the peak alone lost large-carbon (AP
    -0.16 on one cell)."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    unet, classifier = np.asarray(unet, np.float32), np.clip(classifier, 0.0, 1.0)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, unet.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, unet.shape[0] - 1)
    clf = disc_mean(classifier, disc_radius)[iy, ix]
    if peak_share:
        r = int(np.ceil(centre_radius))
        yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
        peak = maximum_filter(classifier, footprint=xx ** 2 + yy ** 2 <= centre_radius ** 2,
                              mode="nearest")[iy, ix]
        clf = (1.0 - peak_share) * clf + peak_share * peak
    w = float(classifier_weight)
    return (disc_mean(unet, disc_radius)[iy, ix] + w * clf) / (1.0 + w)
