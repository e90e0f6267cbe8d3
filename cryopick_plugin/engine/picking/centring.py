"""Hand-picked particles moved onto their centres before training.

A user clicks a few pixels off a particle's centre. The U-Net's label disc around such a
click covers part of the gap to the next particle, and with touching particles it learns to
join them (benchmark, crowded specimen at 20% labels with clicks 0.1 diameter off in x and
y: the U-Net's phase-1 AP 0.795 -> 0.470 on one label set). Averaged over many clicks the particle is sharp
again, so each click moves to where the labels' mean particle matches the image best, within
MAX_SHIFT diameters. The mean is averaged over rotations too: particles lie in every
in-plane orientation, and a round template has no orientation to get wrong.

Works on working images (binned and normalised, picking/scale.py) and working coordinates.
"""
import cv2
import numpy as np

#: furthest a click moves, in particle diameters: a click further off than this is rare, and
#: a longer search would reach into a touching neighbour
MAX_SHIFT = 0.25
#: half the side of the template, in diameters: the particle and a ring of its surroundings
TEMPLATE_HALF = 0.75
#: template, match, template again: on simulated clicks 0.1 diameter off, the mean distance
#: to the true centre falls from 0.12-0.14 to 0.027 diameter on round particles
ITERATIONS = 3
#: fewer clicks than this make too noisy a template, and each click's own patch in it holds
#: the click where it was: they stay where they are. Offline on the third simulated set at 5%
#: labels (docs/results/label_jitter_2026-12-07/centring_few_labels.txt), 6-8 clicks 0.1
#: diameter off came no closer (large-carbon 0.12 -> 0.13 and 0.17 -> 0.21 diameter,
#: irregular 0.11 -> 0.14, one apoferritin label set 0.15 -> 0.12), while 16 on crowded did
#: (0.12 -> 0.03, 0.14 -> 0.04)
MIN_LABELS = 15
#: a click moves only where the match (normalised correlation, -1 to 1) is at least this
#: much better than at the click. Offline on the third simulated set (docs/results/
#: centring_gain_2026-12-07/centring_gain_fixed.txt), clicks on the true centres of large or
#: irregular particles moved 0.071-0.124 diameter without it (their best round match is not
#: their centre) and 0.000-0.039 with it, while clicks 0.1 diameter off round particles still
#: came to 0.025-0.039 diameter of their centres
MIN_GAIN = 0.05


def _xy(points):
    """(N, 2) float x, y of (N, 2+) points (an empty list gives (0, 2))."""
    a = np.asarray(points, dtype=np.float64)
    return a.reshape(-1, a.shape[-1])[:, :2] if a.size else np.zeros((0, 2))


def rotational_average(image):
    """``image`` averaged over rotations about its centre (float32, same shape)."""
    h, w = image.shape
    yy, xx = np.mgrid[:h, :w]
    ring = np.round(np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2)).astype(int)
    totals = np.bincount(ring.ravel(), np.asarray(image, dtype=np.float64).ravel())
    return (totals / np.maximum(np.bincount(ring.ravel()), 1))[ring].astype(np.float32)


def centre_labels(works, labels, diameter, max_shift=MAX_SHIFT, iterations=ITERATIONS,
                  min_gain=MIN_GAIN):
    """{name: (N, 2) working (x, y)}: each of ``labels`` ({name: (N, 2+) working x, y}, on
    the working images ``works``) moved to the best normalised match of the labels' mean
    particle, averaged over rotations, within ``max_shift`` x ``diameter`` of where it was
    clicked, if the match there is at least ``min_gain`` better than at the click itself
    (0: always). Unchanged with fewer than MIN_LABELS labels in all."""
    xy = {n: _xy(v) for n, v in labels.items()}
    if sum(len(v) for v in xy.values()) < MIN_LABELS:
        return {n: v.copy() for n, v in xy.items()}
    half = int(np.ceil(TEMPLATE_HALF * diameter))
    reach = int(np.ceil(max_shift * diameter))
    edge = half + reach  # padding: a template around any searched position fits
    padded = {n: cv2.copyMakeBorder(np.asarray(works[n], dtype=np.float32), edge, edge, edge,
                                    edge, cv2.BORDER_REFLECT) for n in xy if len(xy[n])}
    clicked = {n: np.clip(np.round(v), 0, np.array(works[n].shape[::-1]) - 1).astype(int)
               for n, v in xy.items()}
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    outside = dx ** 2 + dy ** 2 > (max_shift * diameter) ** 2
    current = {n: v.copy() for n, v in clicked.items()}
    side = 2 * half + 1
    for _ in range(iterations):
        template = rotational_average(np.mean(
            [padded[n][y + reach:y + reach + side, x + reach:x + reach + side]
             for n, v in current.items() for x, y in v], axis=0))
        for n, v in clicked.items():
            shifts = [_best_shift(padded[n][y:y + side + 2 * reach, x:x + side + 2 * reach],
                                  template, outside, reach, min_gain) for x, y in v]
            current[n] = v + np.array(shifts, dtype=int).reshape(-1, 2)
    # a click that stays keeps its own position, not the pixel it was rounded to
    return {n: np.clip(np.where(np.all(current[n] == clicked[n], axis=1, keepdims=True),
                                xy[n], current[n]),
                       0, np.array(works[n].shape[::-1]) - 1).astype(np.float64) for n in xy}


def _best_shift(region, template, outside, reach, min_gain):
    """(dx, dy) from the centre of ``region`` to the template's best match in it (outside
    the search disc excluded); (0, 0) if the match is flat or less than ``min_gain``
    better than at the centre."""
    score = cv2.matchTemplate(region, template, cv2.TM_CCOEFF_NORMED)
    score[outside | ~np.isfinite(score)] = -np.inf
    if not np.isfinite(score).any():  # a flat template: nothing to match
        return 0, 0
    iy, ix = np.unravel_index(np.argmax(score), score.shape)
    if min_gain > 0 and score[iy, ix] - score[reach, reach] < min_gain:
        return 0, 0  # no sharper match than at the click
    return ix - reach, iy - reach
