"""Particle-level picking quality: one-to-one matching of picks to true centres.

A pick counts as a true positive when it is matched to a true particle centre within
``radius`` (half the particle diameter by convention), each true particle matched at most
once. Two matchings are used, each where it is the right tool:

* P / R / F1 of a *set* of picks: an optimal (Hungarian) assignment that maximises the
  number of matches and, among those, minimises the total distance.
* Average precision of a *ranked* list of picks: picks are taken in descending score and each
  is matched to the nearest still-unmatched true centre within the radius (the COCO/VOC
  rule), so that the prefix of the ranking at any threshold is scored consistently.
  AP = sum over ranks k of precision(k) * [pick k newly matched] / number of true particles.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from ..errors import CryopickInputError


def _as_table(a):
    """(N, 2) or (N, 3) coordinates, or an empty list, as (N, 3) [x, y, score (NaN if none)]."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return np.zeros((0, 3))
    if a.ndim != 2 or a.shape[1] < 2:
        raise CryopickInputError(f"coordinates must be rows of x, y[, score]; got shape {a.shape}")
    if a.shape[1] == 2:
        a = np.column_stack([a, np.full(len(a), np.nan)])
    return a[:, :3]


def _xy(a):
    return _as_table(a)[:, :2]


def count_matches(picks, truth, radius):
    """Maximum one-to-one matches between picks and truth within radius (Hungarian)."""
    p, t = _xy(picks), _xy(truth)
    if len(p) == 0 or len(t) == 0:
        return 0
    if radius <= 0:
        raise CryopickInputError(f"matching radius must be > 0 (got {radius})")
    # Only pairs within the radius can match: build the cost matrix on the connected
    # pairs so thousands of picks stay cheap (the dense matrix is mostly 'impossible').
    tree = cKDTree(t)
    pairs = tree.query_ball_point(p, r=radius)
    rows = [i for i, js in enumerate(pairs) if js]
    if not rows:
        return 0
    cols = sorted({j for i in rows for j in pairs[i]})
    col_index = {j: k for k, j in enumerate(cols)}
    big = 1e6
    cost = np.full((len(rows), len(cols)), big)
    for r, i in enumerate(rows):
        for j in pairs[i]:
            # a match always beats no match; distance only breaks ties between matchings
            cost[r, col_index[j]] = np.hypot(*(p[i] - t[j])) / (radius * 10.0 * max(len(rows), 1))
    r_ind, c_ind = linear_sum_assignment(cost)
    return int((cost[r_ind, c_ind] < big).sum())


def precision_recall_f1(n_match, n_picks, n_truth):
    """An empty side scores 1 only when the other side is empty too: no picks on a micrograph
    with particles is precision 0, picks on one without any is recall 0 (not a vacuous 1)."""
    precision = n_match / n_picks if n_picks else (1.0 if n_truth == 0 else 0.0)
    recall = n_match / n_truth if n_truth else (1.0 if n_picks == 0 else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def ranked_matches(picks, truth, radius):
    """Match picks in descending score order, greedily to the nearest free true centre.

    Returns (scores sorted descending, boolean 'newly matched' per ranked pick). Picks
    without scores (NaN) keep their order after the scored ones.
    """
    p = _as_table(picks)
    scores = np.where(np.isfinite(p[:, 2]), p[:, 2], -np.inf)
    order = np.argsort(-scores, kind="stable")
    t = _xy(truth)
    hit = np.zeros(len(p), dtype=bool)
    if len(t) and len(p):
        tree = cKDTree(t)
        free = np.ones(len(t), dtype=bool)
        k = min(len(t), 16)
        for rank, i in enumerate(order):
            dist, idx = tree.query(p[i, :2], k=k, distance_upper_bound=radius)
            for d, j in zip(np.atleast_1d(dist), np.atleast_1d(idx)):
                if np.isfinite(d) and free[j]:
                    free[j] = False
                    hit[rank] = True
                    break
    return scores[order], hit


def average_precision(hits, n_truth):
    """AP from 'newly matched' flags in ranked order (see module docstring)."""
    hits = np.asarray(hits, dtype=bool)
    if n_truth == 0:
        return 1.0 if not hits.size else 0.0
    if not hits.size:
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / n_truth)


def unique_positions(truth):
    """(N, 2) true centres with repeated identical positions kept once (one particle cannot
    be counted twice), and the number dropped."""
    xy = _xy(truth)
    if len(xy) < 2:
        return xy, 0
    kept = np.unique(xy, axis=0)
    return kept, len(xy) - len(kept)


def evaluate(picks_by_mic, truth_by_mic, radius):
    """Evaluate picks against truth, per micrograph and overall.

    Both inputs are ``{micrograph name: (N, 2 or 3) array}``. Micrographs present in only one
    of them count with zero picks / zero true particles. Identical true positions count once
    (``truth_duplicates`` says how many were dropped). Returns a dict with ``overall``
    (precision, recall, f1, ap, counts), ``per_micrograph`` and the overall precision-recall
    curve (``curve``: score thresholds with precision and recall at each).
    """
    if radius is None or not np.isfinite(radius) or radius <= 0:
        raise CryopickInputError(f"matching radius must be > 0 (got {radius})")
    names = sorted(set(picks_by_mic) | set(truth_by_mic))
    per_mic, all_scores, all_hits = {}, [], []
    tot_match = tot_picks = tot_truth = duplicates = 0
    empty = np.zeros((0, 3))
    for name in names:
        picks = np.asarray(picks_by_mic.get(name, empty), dtype=np.float64)
        truth, dropped = unique_positions(truth_by_mic.get(name, empty))
        duplicates += dropped
        n_p, n_t = len(_xy(picks)), len(_xy(truth))
        n_m = count_matches(picks, truth, radius)
        scores, hits = ranked_matches(picks, truth, radius)
        precision, recall, f1 = precision_recall_f1(n_m, n_p, n_t)
        per_mic[name] = dict(n_picks=n_p, n_truth=n_t, n_matched=n_m, precision=precision,
                             recall=recall, f1=f1, ap=average_precision(hits, n_t))
        tot_match, tot_picks, tot_truth = tot_match + n_m, tot_picks + n_p, tot_truth + n_t
        all_scores.append(scores)
        all_hits.append(hits)
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    hits = np.concatenate(all_hits) if all_hits else np.zeros(0, dtype=bool)
    order = np.argsort(-scores, kind="stable")
    scores, hits = scores[order], hits[order]
    precision, recall, f1 = precision_recall_f1(tot_match, tot_picks, tot_truth)
    tp = np.cumsum(hits)
    ranks = np.arange(1, len(hits) + 1)
    curve = dict(threshold=[float(v) if np.isfinite(v) else None for v in scores],
                 precision=(tp / ranks).tolist() if len(ranks) else [],
                 recall=(tp / tot_truth).tolist() if tot_truth else [0.0] * len(ranks))
    overall = dict(n_micrographs=len(names), n_picks=tot_picks, n_truth=tot_truth,
                   n_matched=tot_match, precision=precision, recall=recall, f1=f1,
                   ap=average_precision(hits, tot_truth), radius=float(radius),
                   truth_duplicates=duplicates)
    if len(ranks):
        f1s = 2 * tp / (ranks + tot_truth)
        best = int(np.argmax(f1s))
        overall.update(best_f1=float(f1s[best]),
                       best_threshold=float(scores[best]) if np.isfinite(scores[best]) else None)
    return dict(overall=overall, per_micrograph=per_mic, curve=curve)


def format_table(result, title="cryopick evaluation"):
    """A markdown table of an evaluate() result, one row per micrograph plus the total."""
    head = "| micrograph | picks | true | matched | precision | recall | F1 | AP |"
    lines = [f"### {title} (match radius {result['overall']['radius']:.1f} px)", "", head,
             "|---|---:|---:|---:|---:|---:|---:|---:|"]

    def row(name, m):
        return (f"| {name} | {m['n_picks']} | {m['n_truth']} | {m['n_matched']} | "
                f"{m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['ap']:.3f} |")

    for name, m in result["per_micrograph"].items():
        lines.append(row(name, m))
    lines.append(row("**all**", result["overall"]))
    return "\n".join(lines)


def roc_auc(scores, labels):
    """Area under the ROC curve (probability a positive outranks a negative; ties count
    half). NaN when one class is absent."""
    from scipy.stats import rankdata

    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
