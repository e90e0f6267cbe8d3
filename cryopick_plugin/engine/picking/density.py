"""What the hand-picked particles look like in density, to tell particles from junk.

Ice contamination, carbon and aggregates are much denser (or emptier) over a particle's area
than any particle the user picked. A model stores the range of the labels' local density,
widened by a margin, and picks outside it are dropped: the network, trained
positive-unlabelled, has never been told that such regions are background. Picks inside that
range but far from the labels' typical density (more than TYPICAL_SIGMAS standard deviations
from their mean) keep a lower score: they rank below the typical ones but are not lost.
So do picks whose centre stands out from its surroundings far more darkly than any label's
(centre_contrast below contrast_floor): a patch of ice contamination, or the dark side of a
carbon edge, whose mean density the range above does not tell from a particle's. Neither
those nor the ones outside the range become the self-training's pseudo-particles.
"""
import cv2
import numpy as np

from .peaks import disc_mean

#: the labels' range is widened by this share of it on each side
MARGIN = 0.5
#: fewer labels than this give no range (no filtering): the extremes of a handful of labels
#: say little about the particles' spread, and a range from 5 dropped good picks in a test
MIN_LABELS = 15
#: picks further than this many standard deviations from the labels' mean density keep
#: ATYPICAL_SCORE share of their score. Measured on the benchmark matrix (saved models
#: re-picked): carbon picks on crowded micrographs at 50% labels sat inside the widened range
#: (AP 0.63); 4 sd with 0.25 gave AP 0.78 there, +0.02 at 20%, and changed the AP of
#: apoferritin, large-carbon and irregular by at most 0.006. Dropping them instead (or 3 sd)
#: lost true particles of the irregular one (AP 0.84 -> 0.80), whose density has a long tail.
TYPICAL_SIGMAS = 4.0
ATYPICAL_SCORE = 0.25


def local_density(work, xy, diameter):
    """(N, 2) means of the working image over discs of radius a third of a particle diameter
    and of one diameter, at each working (x, y): the particle, and the particle with its
    surroundings."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy):
        return np.zeros((0, 2))
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
    return np.column_stack([disc_mean(work, r, clip=False)[iy, ix]
                            for r in (diameter / 3, diameter)])


def density_range(features, margin=MARGIN):
    """[low, high] per feature: the labels' range widened by ``margin`` x its span on each
    side; None with fewer than MIN_LABELS labels."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, 2)
    if len(features) < MIN_LABELS:
        return None
    low, high = features.min(axis=0), features.max(axis=0)
    span = high - low
    return [(low - margin * span).tolist(), (high + margin * span).tolist()]


def typical_range(features, sigmas=TYPICAL_SIGMAS):
    """[low, high] per feature: the labels' mean +- ``sigmas`` standard deviations; None
    with fewer than MIN_LABELS labels."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, 2)
    if len(features) < MIN_LABELS:
        return None
    mean, sd = features.mean(axis=0), features.std(axis=0, ddof=1)
    return [(mean - sigmas * sd).tolist(), (mean + sigmas * sd).tolist()]


def within(features, limits):
    """Boolean per row of ``features``: inside ``limits`` (all True without limits)."""
    if limits is None:
        return np.ones(len(features), dtype=bool)
    low, high = (np.asarray(v) for v in limits)
    return np.all((features >= low) & (features <= high), axis=1)


#: picks whose centre contrast is more than this many standard deviations below the labels'
#: mean keep ATYPICAL_SCORE share of their score (on the dark side only: micrographs as
#: recorded, dense matter dark). Measured on the saved models of 40 matrix cells (usual and
#: fresh micrographs, both label seeds; docs/benchmarks.md "Picks darker than any
#: particle"): the ensemble's AP +0.0065 on average, up in 17 cells and down in none;
#: fresh irregular micrographs +0.025 to +0.030, whose best-scored picks were on ice
#: contamination. Both sides lost up to 0.014 AP (usual irregular 20%); 3 sd up to 0.026.
CONTRAST_SIGMAS = 4.0


def centre_contrast(work, xy, diameter):
    """(N,) the mean, over a disc of radius a third of ``diameter`` (local_density's first
    feature), of the working image less its blur over a particle diameter (a Gaussian of that
    sigma), at each working (x, y): how much darker (negative) or lighter the centre is than
    its surroundings, whatever the ice thickness there."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if not len(xy):
        return np.zeros(0)
    work = np.asarray(work, dtype=np.float32)
    ix = np.clip(np.round(xy[:, 0]).astype(int), 0, work.shape[1] - 1)
    iy = np.clip(np.round(xy[:, 1]).astype(int), 0, work.shape[0] - 1)
    # cv2's blur: 2.5x faster than scipy's on a 4096^2 working image (0.95 s against 2.3 s;
    # the two differ by 3e-6), and it runs on every picked micrograph
    high_pass = work - cv2.GaussianBlur(work, (0, 0), float(diameter),
                                        borderType=cv2.BORDER_REFLECT)
    return disc_mean(high_pass, diameter / 3, clip=False)[iy, ix].astype(np.float64)


def contrast_floor(contrasts, sigmas=CONTRAST_SIGMAS):
    """The labels' mean centre contrast less ``sigmas`` standard deviations; None with fewer
    than MIN_LABELS labels."""
    contrasts = np.asarray(contrasts, dtype=np.float64).ravel()
    if len(contrasts) < MIN_LABELS:
        return None
    return float(contrasts.mean() - sigmas * contrasts.std(ddof=1))
