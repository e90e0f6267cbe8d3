"""How two pickers' probability maps of one working image become one (engine/ensemble.py)."""
import numpy as np

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
