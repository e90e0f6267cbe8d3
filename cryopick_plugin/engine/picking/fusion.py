"""How two pickers' probability maps of one working image become one (engine/ensemble.py)."""
import numpy as np

#: the classifier's map counts this many times the U-Net's in the average. Measured on the
#: benchmark matrix (saved models, seed 0, 5% and 20% labels, four regimes; see
#: docs/benchmarks.md): weight 2 gave a higher AP than the plain average (weight 1) in 6 of
#: 8 cells (level or lower in 2) and than the U-Net alone in all 8
CLASSIFIER_WEIGHT = 2.0


def fuse_maps(unet, classifier, classifier_weight=CLASSIFIER_WEIGHT):
    """The weighted mean of a U-Net probability map and a classifier's (clipped to [0, 1]:
    the cubic interpolation of the classifier's grid may step a little outside)."""
    w = float(classifier_weight)
    return ((np.asarray(unet) + w * np.clip(classifier, 0.0, 1.0)) / (1.0 + w)).astype(np.float32)
