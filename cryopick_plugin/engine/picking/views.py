"""The square's 8 symmetries of a micrograph, and a map averaged over them.

A particle seen turned by 90 degrees or mirrored is still a particle; noise, and a network's
response to it, is not the same pattern in every view. Averaging a picker's map over views
(test-time augmentation) steadies the ranking; for the patch classifier it also fills in
between the nodes of its scoring grid, which fall elsewhere on the image in each view.
"""
import numpy as np

from ..errors import CryopickInputError

#: the numbers of views a map may be averaged over: the first 1, 2, 4 or 8 of the symmetries
VIEWS = (1, 2, 4, 8)
#: views every picker averages its map over when picking (``cryopick pick --views``).
#: Measured offline on five 20% cells of the benchmark matrix (docs/benchmarks.md, "Picking
#: on symmetric views"): the ensemble's AP rose by 0.017 on average with 4 views and 0.022
#: with 8, in every cell; each view is one more inference pass, so 4 takes about half the
#: time of 8 for most of the gain
PICK_VIEWS = 4


def check_views(views, what="views"):
    if views not in VIEWS:
        raise CryopickInputError(f"{what} must be one of {', '.join(map(str, VIEWS))} "
                                 f"(got {views})")
    return int(views)


def view(image, k):
    """The k-th of the square's 8 symmetries: k // 2 quarter turns, mirrored when k is odd."""
    image = np.rot90(image, k // 2)
    return image[:, ::-1] if k % 2 else image


def unview(image, k):
    """The inverse of view(., k)."""
    image = image[:, ::-1] if k % 2 else image
    return np.rot90(image, -(k // 2))


def view_mean(predict, image, views):
    """The mean of ``predict`` over the first ``views`` symmetries of ``image`` (2: and its
    mirror image, 4: also turned by 90 degrees, 8: all), each map turned back."""
    if views == 1:
        return predict(image)
    total = np.zeros(image.shape, dtype=np.float64)
    for k in range(views):
        total += unview(predict(np.ascontiguousarray(view(image, k))), k)
    return (total / views).astype(np.float32)
