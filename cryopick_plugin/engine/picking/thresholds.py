"""Choosing a picking threshold from positive-unlabelled labels alone.

With only some particles labelled, precision cannot be measured directly. Recall R(t) can:
the labelled particles are a random subset of all particles, so the share of them recovered
by picks scoring >= t estimates it. Lee & Liu's criterion (ICML 2003), R^2 / number of picks,
is proportional to precision x recall and needs nothing else; at its optimum the picks are
nearly all particles, so n(t) / R(t) there estimates the number of particles N. With N, F1
itself can be estimated for every threshold: F1(t) = 2 R(t) N / (n(t) + N); its maximum is
the threshold returned, a stand-in for the best-F1 threshold when no micrograph is fully
labelled. To count the particles, count_from_labels reads n(t) / R(t) where it is smallest
instead: every false pick makes it larger.

The recall it reads is that of particles the model was trained on: they score higher than
the unlabelled ones, so after self-training it overestimates recall and keeps too few picks.
When the particle count is known, threshold_from_count does without the labels.

Any threshold chosen on the labelled micrographs is too high for the others: the models have
trained hardest on those micrographs' particles, labelled and unlabelled (the labels' discs
and patches, self-training, the consistency loss), and score them higher. threshold_from_unseen
therefore keeps the expected count of picks on micrographs without labels, best ones the
models did not train on (the count given, or count_from_labels, from the classifier's picks
where there is one); the ensemble chooses so when it is given such micrographs.
"""
import numpy as np
from scipy.spatial import cKDTree


def label_scores(picks, labels, radius):
    """For each labelled particle, the best score of a pick within ``radius`` (0 if none)."""
    out = []
    for name, lab in labels.items():
        lab = np.asarray(lab, dtype=np.float64).reshape(-1, np.shape(lab)[-1] if np.size(lab) else 2)
        p = np.asarray(picks.get(name, np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)
        if not len(lab):
            continue
        if not len(p):
            out.extend([0.0] * len(lab))
            continue
        near = cKDTree(p[:, :2]).query_ball_point(lab[:, :2], r=radius)
        out.extend(float(p[idx, 2].max()) if idx else 0.0 for idx in near)
    return np.array(out)


def _scored(picks):
    p = np.asarray(picks, dtype=np.float64).reshape(-1, 3)
    return p[np.isfinite(p[:, 2])]


def lee_liu_threshold(picks, labels, radius, n_candidates=200):
    """(threshold, estimated recall at it) maximising the estimated F1 (see above).

    ``picks``: {micrograph: (N, 3) [x, y, score]} picked with a low threshold on micrographs
    that carry ``labels`` ({micrograph: (M, 2+)}). (None, None) when lee_liu_estimate is None.
    """
    found = lee_liu_estimate(picks, labels, radius, n_candidates)
    return (None, None) if found is None else (found["threshold"], found["recall"])


def recall_curve(picks, labels, radius, n_candidates=200):
    """(candidate thresholds, recall of the labels R(t), picks kept n(t), whether R(t) rests
    on at least 3 labels) over quantiles of the pick scores, or None without labels or
    scored picks. n / R estimates the number of particles only where R rests on a few
    labels: with 8 labels, one recovered label at a high threshold would say "N = 8 x the
    top picks"."""
    # a pick without a score (NaN) cannot be kept or dropped by a threshold: ignore it
    # (a NaN quantile made the threshold NaN, and a NaN neighbour hid a recovered label)
    picks = {n: _scored(p) for n, p in picks.items()}
    scores = np.concatenate([p[:, 2] for p in picks.values()] or [np.zeros(0)])
    best = label_scores(picks, labels, radius)
    if not len(scores) or not len(best):
        return None
    candidates = np.unique(np.quantile(scores, np.linspace(0.0, 0.995, n_candidates)))
    recall = np.array([(best >= c).mean() for c in candidates])
    n_picks = np.array([(scores >= c).sum() for c in candidates])
    return candidates, recall, n_picks, recall * len(best) >= min(3, len(best))


def lee_liu_estimate(picks, labels, radius, n_candidates=200, n_particles=None):
    """dict(threshold, recall, n_particles) of the Lee & Liu criterion (see above); the
    number of particles is over all the micrographs of ``picks`` (given: used as it is, only
    the best estimated F1 is searched). None without labels or scored picks, or when no
    pick is near any label (nothing to estimate from: the caller's fixed threshold holds)."""
    curve = recall_curve(picks, labels, radius, n_candidates)
    if curve is None or curve[1].max() <= 0:
        return None
    candidates, recall, n_picks, enough = curve
    criterion = recall ** 2 / np.maximum(n_picks, 1)
    criterion[~enough] = -1.0
    i = int(np.argmax(criterion))
    if n_particles is None:
        n_particles = n_picks[i] / recall[i]
    f1 = 2 * recall * n_particles / (n_picks + n_particles)
    j = int(np.argmax(f1))
    return dict(threshold=float(candidates[j]), recall=float(recall[j]),
                n_particles=float(n_particles))


def threshold_from_validation(overall, log):
    """The best-F1 threshold of an evaluation on fully labelled micrographs (or None)."""
    threshold = overall.get("best_threshold")
    if threshold is not None:
        threshold = float(threshold)
        log(f"Picking threshold from validation (best F1 {overall['best_f1']:.3f}): "
            f"{threshold:.3f}")
    return threshold


def threshold_from_labels(pick, witnesses, radius, log, kind, max_micrographs=8,
                          per_micrograph=None):
    """The threshold of best estimated F1 from ``pick(name)`` on the micrographs with the
    most ``witnesses`` (labelled particles: {name: (N, 2+)}); the number of particles is
    ``per_micrograph`` x micrographs when known, else Lee & Liu's estimate. None if it finds
    none."""
    names = sorted(witnesses, key=lambda n: -len(witnesses[n]))[:max_micrographs]
    picks = {n: pick(n) for n in names}
    known = per_micrograph * len(names) if per_micrograph else None
    found = lee_liu_estimate(picks, {n: witnesses[n] for n in names}, radius,
                             n_particles=known)
    if found is None:
        return None
    how = (f"{per_micrograph:.0f} particles per micrograph" if known else
           "Lee & Liu criterion")
    log(f"Picking threshold from the labels (best estimated F1, {how}, on {kind}, "
        f"{len(names)} micrographs): {found['threshold']:.3f}, estimated recall "
        f"{found['recall']:.2f}")
    return found["threshold"]


#: picks kept per expected particle by threshold_from_count, when the count is given
COUNT_SURPLUS = 1.15
#: the same for a count made from the labels (count_from_labels): n / R there is already
#: N / precision, the picks to keep, not the particles. Measured on 52 matrix cells with the
#: classifier's count (docs/benchmarks.md "A threshold without the count"): the ensemble's
#: F1 at its threshold 0.031 below its best on average with 1.0, 0.056 with 1.15.
COUNTED_SURPLUS = 1.0


def threshold_from_count(pick, names, per_micrograph, log, surplus=COUNT_SURPLUS,
                         max_micrographs=8, where="training micrographs"):
    """The score of the k-th best pick of ``pick(name)`` over up to ``max_micrographs`` of
    ``names``, k = ``surplus`` x ``per_micrograph`` x micrographs. None without picks.

    Near its best F1 a picker's precision is a little below its recall, so it keeps a few
    more picks than there are particles. Measured on the benchmark matrix's four regimes
    (U-Net after two rounds, 20% labels): 1.15 x the true count gave F1 within 0.007-0.018 of
    the best F1 on the test micrographs; 1.0 x within 0.03-0.06; the labels' rule (best
    estimated F1) 0.06-0.18 below, with recall estimated at 0.69-0.90 against 0.29-0.71.
    """
    names = list(names)[:max_micrographs]
    picks = [np.asarray(pick(n), dtype=np.float64).reshape(-1, 3) for n in names]
    scores = np.sort(np.concatenate([_scored(p)[:, 2] for p in picks] or [np.zeros(0)]))[::-1]
    k = int(round(surplus * per_micrograph * len(names)))
    if not len(scores) or k < 1:
        return None
    threshold = float(scores[min(k, len(scores)) - 1])
    log(f"Picking threshold from the particle count ({per_micrograph:.0f} per micrograph, "
        f"keeping {surplus:g} x as many picks on {len(names)} {where}): {threshold:.3f}")
    return threshold


#: count_from_labels reads n(t) / R(t) only at thresholds keeping at least this share of
#: the labels (and 3 of them): above it, recall rests on too few labels to divide by
COUNT_MIN_RECALL = 0.5


def count_from_labels(pick, witnesses, radius, max_micrographs=8):
    """Particles per micrograph from ``pick(name)`` on the micrographs with the most
    ``witnesses`` (labels), or None: the smallest n(t) / R_low(t) over the thresholds t that
    keep at least COUNT_MIN_RECALL of the labels, R_low being the labels' recall less one
    standard error (sqrt(R (1 - R) / labels)).

    With labels a random sample of the particles, n(t) / R(t) = N / precision(t) >= N at
    every threshold, so the smallest value is the closest; Lee & Liu's optimum (lee_liu_
    estimate) sits at a lower threshold, where an imprecise model counts its false picks.
    The smallest of many noisy ratios is where the labels happened to be found more often
    than the particles: it undercounts, the more so the fewer the labels, and R_low takes
    that back. Measured on the saved models of 52 matrix cells (usual, fresh and
    many-labels micrographs; docs/benchmarks.md "A threshold without the count"): the
    count / true count went from 0.69 to 0.96 (medians) at 5% labels on fresh micrographs,
    and the ensemble's F1 at its threshold from 0.045 to 0.031 below its best F1 on average
    (with COUNTED_SURPLUS). Without the standard error, on the usual matrix: 0.68-1.56 x
    the true count with the classifier's picks (Lee & Liu: 0.29-1.84 x); with the U-Net's,
    0.58-3.28 x (Lee & Liu: 0.41-11.5 x)."""
    names = sorted(witnesses, key=lambda n: -len(witnesses[n]))[:max_micrographs]
    curve = recall_curve({n: pick(n) for n in names}, {n: witnesses[n] for n in names},
                         radius)
    if curve is None:
        return None
    _, recall, n_picks, enough = curve
    enough &= recall >= COUNT_MIN_RECALL
    if not enough.any():
        return None
    n_labels = sum(np.size(witnesses[n]) // np.shape(witnesses[n])[-1] for n in names
                   if np.size(witnesses[n]))  # rows, as label_scores reads them
    low = recall - np.sqrt(recall * (1.0 - recall) / n_labels)
    return float((n_picks[enough] / low[enough]).min()) / len(names)


def spread_sample(names, n):
    """Up to ``n`` of ``names`` (sorted), evenly spaced: a sample across the whole session
    rather than its first micrographs."""
    names = sorted(names)
    if len(names) <= n:
        return names
    return [names[int(i)] for i in np.linspace(0, len(names) - 1, n).round()]


#: micrographs picked to choose a threshold on (each costs a full pick)
CALIBRATION_MICROGRAPHS = 8


def _log_counted(log, per_micrograph):
    log(f"Particles per micrograph counted by the classifier: {per_micrograph:.1f}")


def threshold_from_unseen(pick, unseen, witnesses, radius, log, expected=None,
                          max_micrographs=CALIBRATION_MICROGRAPHS, kind="the labels",
                          count_pick=None, counted=None):
    """(threshold, origin): threshold_from_count on up to ``max_micrographs`` of ``unseen``
    (micrographs without labels, best ones the models did not train on), with ``expected``
    particles per micrograph or, without it, the classifier's count ``counted`` (the U-Net's
    --count-classifier, already made) or else count_from_labels on the labelled micrographs
    with the picks of ``count_pick`` (default ``pick``; the ensemble counts with its
    classifier's). (None, None) when there is none of these.

    Measured on the benchmark matrix's saved models (24 cells, docs/benchmarks.md
    "Calibrating on micrographs the models did not see"): with the true count, F1 at the
    threshold within 0.026 / 0.023 / 0.036 of the best F1 at 5 / 20 / 50% labels (on the
    training micrographs: 0.028 / 0.113 / 0.036, with the ensemble's peak scores)."""
    per, origin = expected, "count"
    surplus = COUNT_SURPLUS if per else COUNTED_SURPLUS
    if not per and counted:
        per, origin = counted, "classifier's count"
        _log_counted(log, per)
    if not per:
        per, origin = count_from_labels(count_pick or pick, witnesses, radius,
                                        max_micrographs), "labels' count"
        if not per:
            return None, None
        log(f"Particles per micrograph estimated from {kind}"
            f"{' by the classifier' if count_pick else ''}: {per:.1f}")
    sample = spread_sample(unseen, max_micrographs)
    where = "micrographs without hand-picked particles"
    log(f"Calibrating on {len(sample)} {where}")
    return threshold_from_count(pick, sample, per, log, surplus=surplus,
                                max_micrographs=max_micrographs, where=where), \
        f"{origin} on unseen micrographs"


def threshold_from_training(pick, names, witnesses, radius, log, kind, expected=None,
                            estimated=None, unlabelled=(), counted=None):
    """(threshold, origin) chosen on the training micrographs. With ``unlabelled`` ones
    (training micrographs without labels): threshold_from_unseen on them, which the models
    score less high than the labelled ones (`make demo`'s classifier: F1 0.50 at the
    threshold chosen on the labelled micrographs, 0.93 on the unlabelled ones), with the
    count given, else the classifier's (``counted``), else counted there. Else from the
    particle count when the user gave one (``expected`` per micrograph: threshold_from_count
    over ``names``) or the classifier counted one (``counted``, with COUNTED_SURPLUS), else the
    best estimated F1 on the micrographs with ``witnesses`` (labels), with the count
    ``estimated`` from them if any. The U-Net and the classifier both choose so.

    The classifier's count kept as a given one, against the best estimated F1 (benchmark
    matrix without a count, all training micrographs labelled, 24 runs; docs/benchmarks.md
    "Both thresholds on the matrix"): F1 at the threshold 0.045 below the best on average
    against 0.157 for the U-Net after self-training, 0.029 against 0.083 for the
    classifier with its own count. The labels' recall, of particles trained on, is too
    high."""
    if unlabelled:
        return threshold_from_unseen(pick, unlabelled, witnesses, radius, log,
                                     expected=expected, kind=kind, counted=counted)
    if expected:
        return threshold_from_count(pick, names, expected, log), "count"
    if counted:
        _log_counted(log, counted)
        return (threshold_from_count(pick, names, counted, log, surplus=COUNTED_SURPLUS),
                "classifier's count")
    return (threshold_from_labels(pick, witnesses, radius, log, kind, per_micrograph=estimated),
            "labels")


#: what each threshold origin (a summary's or model's threshold_origin) means, for
#: summaries and views
THRESHOLD_ORIGINS = {
    "validation": "best F1 on the validation coordinates",
    "count": "from the particle count given (15% more picks than particles)",
    "classifier's count":
        "from the classifier's count of the particles (as many picks as it counts)",
    "labels": "estimated from the hand-picked labels (Lee & Liu's criterion)",
    "count on unseen micrographs":
        "from the particle count, on micrographs without hand-picked particles",
    "classifier's count on unseen micrographs":
        "from the classifier's count of the particles, on micrographs without hand-picked "
        "particles",
    "labels' count on unseen micrographs":
        "from the count estimated from the labels, on micrographs without hand-picked "
        "particles",
}
