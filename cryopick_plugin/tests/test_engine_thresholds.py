"""Lee & Liu threshold: close to the best-F1 threshold knowing only some particles."""
import numpy as np

from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import label_scores, lee_liu_threshold


def _scene(seed):
    rng = np.random.default_rng(seed)
    truth, picks, labels = {}, {}, {}
    for m in range(4):
        t = rng.uniform(0, 1000, (50, 2))
        junk = rng.uniform(0, 1000, (150, 2))
        # particles mostly score high, junk mostly low, with overlap
        ps = np.column_stack([t + rng.normal(0, 2, t.shape), rng.beta(6, 2, len(t))])
        pj = np.column_stack([junk, rng.beta(2, 5, len(junk))])
        truth[m], picks[m] = t, np.r_[ps, pj]
        labels[m] = t[rng.choice(50, 10, replace=False)]  # 20% labelled
    return truth, picks, labels


def test_label_scores_take_the_best_pick_within_the_radius():
    picks = {"a": np.array([[10, 10, 0.3], [12, 10, 0.8], [100, 100, 0.9]])}
    labels = {"a": np.array([[11, 10], [50, 50]])}
    assert list(label_scores(picks, labels, 5)) == [0.8, 0.0]


def test_threshold_is_near_the_best_f1_without_knowing_the_unlabelled():
    for seed in range(3):
        truth, picks, labels = _scene(seed)
        threshold, recall = lee_liu_threshold(picks, labels, radius=10)
        full = evaluate(picks, truth, 10)["overall"]
        at = evaluate({m: p[p[:, 2] >= threshold] for m, p in picks.items()}, truth, 10)["overall"]
        at_half = evaluate({m: p[p[:, 2] >= 0.2] for m, p in picks.items()}, truth, 10)["overall"]
        assert at["f1"] > full["best_f1"] - 0.06, (seed, threshold, at, full["best_f1"])
        assert at["f1"] > at_half["f1"] + 0.1  # far better than a careless low threshold
        assert 0 < recall <= 1


def test_no_labels_gives_no_threshold():
    assert lee_liu_threshold({"a": np.zeros((0, 3))}, {"a": np.zeros((0, 2))}, 5) == (None, None)
