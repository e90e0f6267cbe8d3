"""Benchmark matrix: cryopick and Topaz side by side on simulated data that look like real data.

    python -m benchmarks.matrix          # 4 regimes x 3 label budgets, ~5 h (make bench-matrix:
                                         # ~76-77 min on 2 cores, Topaz's runs taken
                                         # from docs/results)
    python -m benchmarks.matrix --quick  # a few minutes: one tiny regime, one budget
                                         # (make bench-matrix-quick)
    python -m benchmarks.matrix --out NEW --reuse-from OLD [OLDER ...] [--reuse-groups topaz]
        # every finished piece of OLD with the same settings is taken over: after a change
        # to cryopick, its Topaz runs (about 4 h for 24); OLD is a run's --out, its
        # results.json or its cells.json (written after every piece, so an unfinished run
        # counts too; docs/results holds them). A cryopick piece counts only if made by the
        # same code; --reuse-groups topaz takes Topaz's alone (make bench-matrix does).

Regimes (``benchmarks/regimes.py``): ``crowded`` (27 px particles touching each other, SNR
0.03, like binned real data), ``apoferritin`` (``make bench``'s data), ``large-carbon`` (a
large particle, few per micrograph, carbon and contamination everywhere) and ``irregular``.
Each is simulated once with ``../shared/bench/simulate.py`` into ``--data-root`` (a folder per
regime named by a hash of its settings; an existing complete folder is reused).

Per regime, label budget (``--fractions``) and label seed (``--seeds``) the cryopick methods
are trained on the same training micrographs and labels and scored on the same test
micrographs (``benchmarks.run``: whole ``cryopick`` CLI processes, one-to-one matching within
half a diameter). Topaz runs once per budget and label seed of ``--topaz-seeds`` (default:
cryopick's seeds, so both are measured on the same label sets). cryopick's
label seed is also its training seed (``--seed`` of train-unet, ``training.seed`` of
FixMatch), so the spread over seeds is that of a user's run to run. The rows: U-Net baseline
and each self-training iteration, Selective FixMatch (the compact one-pass classifier), the
two combined (``cryopick combine``: the default pipeline), optionally the U-Net's picks
re-scored by the classifier, Topaz. ``DEFAULT_METHOD`` names the row that is cryopick's default pipeline; each
regime gets a summary line: that row minus Topaz, best F1 and AP per budget.

Pseudo-label quality: when a U-Net training folder holds ``pseudo_positives_iteration_<i>.json``
(``{micrograph: [[x, y], ...]}``, original pixels), its centres are matched one-to-one within
half a diameter to the training micrographs' truth: precision = matched / pseudo-positives,
recall = matched unlabelled particles / unlabelled particles. "n/a" when the files are absent.

Writes ``results.json`` (every row of every run, the aggregates, the summaries, wall times)
and ``results.md`` (the table) into ``--out``.

Sizing: ``PROFILES`` (training sizes) and ``SIZING`` (how the full matrix was sized; in the
ninth run, on 2 Intel cores with AMX, about 77 min for cryopick's 24 cells, inside the 1.5 h
aimed at; Topaz's 24 runs at 1000 updates, one per cell and label seed, about 4 h more
unless reused; 3.4 h for cryopick alone in the eighth run, on 2 AMD EPYC cores).
``results.md`` records the wall time of every method per regime (and its CPU time with
--jobs 1), so the sizes can be re-checked after each full run.
"""
import argparse
import glob
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np

from benchmarks import run, topaz
from benchmarks.datasets import Dataset
from benchmarks.regimes import ALL_REGIMES, EXTRA_REGIMES, QUICK_REGIMES, REGIMES
from cryopick_plugin.engine.io import files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SIMULATOR = os.path.normpath(os.path.join(REPO, "..", "shared", "bench"))
DEFAULT_DATA_ROOT = os.path.normpath(os.path.join(REPO, "..", "bench_data"))

METHODS = ("unet", "fixmatch", "rescore", "ensemble", "topaz")
# re-scoring is left out by default (--methods adds it)
DEFAULT_METHODS = ("unet", "fixmatch", "ensemble", "topaz")
# The row that is "cryopick's default pipeline" in the summaries. Row ids: "unet/baseline",
# "unet/iteration <k>", "unet/final" (the last iteration), "fixmatch", "rescore", "ensemble",
# "topaz". The ensemble (U-Net + classifier) had a higher AP than the U-Net alone in all 8
# cells at 5% and 20% labels (seed 0, 2026-12-03; docs/benchmarks.md)
DEFAULT_METHOD = "ensemble"
REFERENCE_METHOD = "topaz"
FRACTIONS = (0.05, 0.2, 0.5)
SEEDS = (0, 1)
# Topaz's label seeds default to cryopick's (--seeds): a comparison on the same label sets.
# Until 2026-12-04 it ran on seed 0 alone, against cryopick's mean over two seeds, and the
# crowded regime's seeds differ by 0.09 AP (docs/benchmarks.md "Member scores by rank, and
# Topaz on both label seeds")

# Training sizes. "full": benchmarks.run's "cpu" configurations, which are the measured CPU
# training (one home: `python -m benchmarks.run` on a user's own data trains the same), cut
# down so that the whole matrix takes about 1.5 h on 2 free CPU cores (see SIZING). The U-Net
# sees the same number of crops per epoch in every regime (crops_per_epoch split over the
# training micrographs).
PROFILES = {
    "full": dict(
        # base 16, batch 8, 320 updates of phase 1 and 80 per round (2,560 / 640 crops): with
        # a quarter of that (the earlier 20 + 3 x 5 epochs) phase 1 stopped while its loss
        # still fell fast, and irregular / apoferritin reached AP 0.45 / 0.44 instead of
        # 0.83 / 0.96 at 20% labels; twice as long again was no better (irregular 0.80). The
        # third round lost AP in every regime (crowded 0.59 -> 0.44, apoferritin 0.96 ->
        # 0.93, large-carbon 0.55 -> 0.49, irregular 0.835 -> 0.833): two rounds.
        unet_config="cpu",
        unet_args=(),
        crops_per_epoch=run.CROPS_PER_EPOCH,
        # the compact one-pass network, batch 32, 30 epochs of 20 steps (~1-2 min per run
        # alone on 2 cores). The ResNet18 had 5 epochs here (~4 min); the compact network
        # with 5 epochs reached AP 0.51-0.84, with 30 epochs 0.60-0.91 (seed 0, 5% labels)
        fixmatch_config="cpu",
        fixmatch_args=(),
        # 1000 updates, about cryopick's own training time per label set. Until 2026-12-04
        # 200 ("the loss levels off"): it still falls at 1000 (crowded 20%: 2.5 -> 1.9), and
        # crowded 20% / 50% reached AP 0.805 / 0.828 instead of 0.667 / 0.646
        # (docs/benchmarks.md "Topaz's training length")
        topaz=dict(topaz.CONFIGS["cpu"])),
    # minutes: checks the whole chain (numbers mean little)
    "quick": dict(
        unet_config="smoke",
        # a low positive threshold, so that the tiny U-Net makes pseudo-positives and their
        # scoring is exercised too
        unet_args=("--base-features", "8", "--initial-epochs", "4",
                   "--self-training-iterations", "2", "--retrain-epochs", "2",
                   "--positive-threshold", "0.5"),
        crops_per_epoch=8,
        fixmatch_config="smoke",
        fixmatch_args=("--set", "training.epochs=2", "--set", "training.steps_per_epoch=3"),
        topaz=dict(device=-1, num_epochs=1, epoch_size=10, minibatch_size=64, radius=3,
                   model="resnet8", units=32, num_workers=0)),
}


SIZING = """
2026-12-04, night: Topaz runs on both label seeds (--topaz-seeds). Its 8 seed-1 runs at 20%
and 50% took 88 min two at a time on this machine (1036-1682 s a run, all beside other
work), so Topaz's 24 runs take about 4 h when none is reused (3.4-4.4 h at the rates
measured here, with and without other work beside them).

2026-12-04, ninth run (the whole matrix from a fresh clone, on 2 Intel Xeon cores with AMX,
bfloat16 inference): cryopick's 24 cells took 319-530 s each, two at a time (154 min of run
time, about 77 min of wall time); Topaz at 1000 updates 892-1275 s a run here (8 of its 12
runs reused from the earlier machine). The machine is 2-2.7x faster than the EPYC the
runs below were timed on (20% cells: 319-344 s here, 637-908 s in the eighth run).

2026-12-03, seventh run (apoferritin alone re-ran, now with 12 test micrographs; the other
regimes' cells reused from the sixth): its 6 cryopick cells and 3 Topaz runs took 47 min,
548-687 s per cryopick cell while offline experiments shared the cores. Picking 8 more
1024^2 micrographs costs each cell about 5 x 8 x 1 s; the whole-matrix estimate stays about
2.3 h.

2026-12-03, sixth run (fresh clone; training networks channels-last; Topaz cells reused from
the fifth run): the 24 cryopick cells took 98 min, two at a time, 450-500 s per cell (20 of
24); with the 12 Topaz runs (4,910 s) the whole matrix comes to about 2.3 h on 2 cores.

2026-12-03, fifth run (fresh clone, the default methods: U-Net, classifier, ensemble, Topaz;
large-carbon and irregular with their larger test sets): a cryopick cell (U-Net + classifier
+ combine, 5 pick processes) took 553-605 s beside another run, 773-994 s while tests and
the demo also ran; a Topaz cell 267-607 s. The crowded regime took 53 min, so the whole
matrix comes to about 2.5-3 h on 2 cores: it no longer fits one session's budget, and is
run in parts with --resume (the same clone, so the same code).

The full matrix is 12 cells (4 regimes x 3 budgets), each 2 cryopick runs (U-Net with 3 pick
processes, one per label seed) and 1 Topaz run, two runs at a time on one thread each
(--jobs 2 --threads 1).

2026-12-03: the classifier (compact network, 30 epochs) and the ensemble join the default
methods: a classifier run took 100-150 s alone on 2 cores (~350 s beside two U-Net runs),
combining and picking ~1 min; about 25 min more for the whole matrix (an estimate, it was not
run in one go this time).

2026-12-02, fourth run (--jobs 2 --threads 1): a pair of U-Net runs side by side took
290-390 s when nothing else ran (apoferritin 378-387 s, large-carbon 5% 290 s), against
2 x 213-250 s one after the other on two threads: about 1.2x the throughput (1.3x on a short
crowded run: 69 s against 90 s for two). The whole matrix, Topaz included, comes to about
1.8 h on this machine, still above the 1.5 h aimed at.

2026-12-02, third run (the same profile, on another machine of the same kind): alone on the
machine a U-Net run took 220-250 s (crowded, apoferritin) and a Topaz run 193-216 s, so the
whole matrix (24 + 12 runs) comes to about 2.2 h here, not the 1.5 h aimed at: machines of
this kind differ by up to 1.6x. Run with `--seeds 0` first (1.3 h here) and add seed 1 with
`--resume`, which reuses every finished cell.

2026-12-02, second run (U-Net 80 + 2 x 20 epochs): on the machine alone, a U-Net run took
136-152 s of wall time and a Topaz run 136-145 s (apoferritin and large-carbon at 50%,
crowded at 20%); runs sharing the machine with experiments took up to 3x that. 24 U-Net runs
and 12 Topaz runs at those figures come to about 1.4 h: an estimate, the whole matrix was not
run in one go.

Earlier sizing (morning of 2026-12-02, U-Net 20 + 3 x 5 epochs, with FixMatch):

Measured on 2026-12-02 while the 2 cores were shared with another engineer's jobs (load
7-10: wall times 3-5x, CPU times ~2x those of a free machine, so they were used for the
ratios between pieces only), crowded regime, 20% labels, 1 thread, the earlier profile
(U-Net 20 + 3 x 6 epochs, FixMatch 10 epochs, Topaz 300 updates): U-Net 321 CPU s (its 4
pick processes ~1/3 of it), FixMatch 683 CPU s (training ~60%, dense picking of 4 512^2
micrographs ~40%), Topaz 673 CPU s. Simulation per micrograph (loaded machine): crowded
512^2 4.6 s, apoferritin 1024^2 7.4 s, large-carbon 12.3 s, irregular 14.9 s.

Estimate for a free machine, from docs/benchmarks.md's free-machine times on this hardware
(U-Net ~90 s for 1920 crops including self-training; FixMatch ~10 s per 20-step epoch and
5 s per micrograph at 280^2 working pixels; Topaz ~0.65 s per update, 1.5 s per picked
micrograph; ~3 s to start a cryopick process) scaled by each regime's working image area:
per cell crowded ~500 s, apoferritin / large-carbon / irregular ~460-475 s; 12 cells ~95 min,
plus ~4 min to simulate the data the first time.
"""


# ---------------------------------------------------------------------------- rows

def row_id(r):
    """Stable id of a result row of benchmarks.run (see DEFAULT_METHOD)."""
    method = r["method"]
    if method.startswith("U-Net self-training"):
        return f"unet/{r['model']}"
    if method.startswith("U-Net + FixMatch"):
        return "rescore"
    if method.startswith("Selective FixMatch"):
        return "fixmatch"
    if method.startswith("U-Net + classifier"):
        return "ensemble"
    if method.startswith("Topaz"):
        return "topaz"
    return method


def resolve_row(name, ids):
    """The row id that ``name`` means among ``ids`` ("unet/final": the last iteration,
    or the baseline when there is none); None when absent."""
    ids = list(ids)
    if name in ids:
        return name
    if name.endswith("/final"):
        prefix = name[:-len("final")]
        its = [(int(m.group(1)), i) for i in ids
               for m in [re.fullmatch(re.escape(prefix) + r"iteration (\d+)", i)] if m]
        if its:
            return max(its)[1]
        if prefix + "baseline" in ids:
            return prefix + "baseline"
    return None


def row_label(rid):
    names = {"fixmatch": "Selective FixMatch", "rescore": "U-Net + FixMatch re-scoring",
             "ensemble": "U-Net + classifier ensemble", "topaz": "Topaz"}
    if rid.startswith("unet/"):
        return "U-Net " + rid[len("unet/"):]
    return names.get(rid, rid)


def _order_key(rid):
    m = re.fullmatch(r"unet/iteration (\d+)", rid)
    if rid == "unet/baseline":
        return (0, 0)
    if m:
        return (0, int(m.group(1)))
    return ({"fixmatch": 1, "rescore": 2, "ensemble": 3, "topaz": 4}.get(rid, 5), 0)


# ---------------------------------------------------------------------------- pseudo-labels

def match_one_to_one(points, truth, radius):
    """Optimal one-to-one matching of points to true centres within ``radius`` (the largest
    number of pairs). Returns a list of (point index, truth index)."""
    from scipy.optimize import linear_sum_assignment

    p, t = (np.asarray(a, dtype=np.float64) for a in (points, truth))
    if not p.size or not t.size:
        return []
    p, t = p.reshape(len(p), -1)[:, :2], t.reshape(len(t), -1)[:, :2]
    d = np.hypot(p[:, None, 0] - t[None, :, 0], p[:, None, 1] - t[None, :, 1])
    ok = d <= radius
    if not ok.any():
        return []
    # only rows / columns with a candidate matter; a pair out of range costs more than all
    # in-range pairs together, so the assignment maximises the number of pairs
    rows, cols = np.flatnonzero(ok.any(1)), np.flatnonzero(ok.any(0))
    sub = d[np.ix_(rows, cols)]
    big = radius * (len(rows) + len(cols) + 1) + 1.0
    cost = np.where(sub <= radius, sub, big)
    ri, ci = linear_sum_assignment(cost)
    keep = cost[ri, ci] <= radius
    return [(int(rows[i]), int(cols[j])) for i, j in zip(ri[keep], ci[keep])]


def _stem(name):
    return os.path.splitext(os.path.basename(str(name)))[0]


def _match_name(key, names):
    """Micrograph name a coordinate key means (same stem, or one extends the other at a
    separator, as cryopick matches them); None when none."""
    s = _stem(key)
    if s in names:
        return s
    for n in names:
        if (s.startswith(n) and s[len(n):len(n) + 1] in ("_", "-", ".")) or \
                (n.startswith(s) and n[len(s):len(s) + 1] in ("_", "-", ".")):
            return n
    return None


def _xy(pts):
    arr = np.asarray(pts, dtype=np.float64)
    return arr.reshape(len(arr), -1)[:, :2] if arr.size else np.zeros((0, 2))


def read_pseudo_positives(path):
    """{micrograph key: (N, 2) x, y} from a seed-format JSON ``{key: [[x, y(, score)], ...]}``."""
    with open(path) as fh:
        return {key: _xy(pts) for key, pts in json.load(fh).items()}


def pseudo_label_quality(pseudo, truth, labels, radius):
    """Quality of one iteration's pseudo-positives on the training micrographs.

    ``pseudo``: {micrograph key: (N, 2+)}; ``truth``: {name: (M, 2+)} of the training
    micrographs; ``labels``: {name: (K, 2+)}, the labelled particles of ``truth``, on their
    centres or near them (--label-jitter; matched within ``radius``).
    Precision: share of pseudo-positives matched (one-to-one, within ``radius``) to a true
    particle, labelled or not. Recall: share of the unlabelled true particles matched.
    Pseudo-positives on micrographs without truth count as unmatched.
    """
    n_pseudo = n_matched = n_unlabelled = n_found = 0
    by_name = {}
    for key, pts in pseudo.items():
        name = _match_name(key, truth)
        by_name.setdefault(name, []).append(_xy(pts))
    for name, chunks in by_name.items():
        if name is None:
            n_pseudo += sum(len(c) for c in chunks)
    for name, t in truth.items():
        t = _xy(t)
        p = np.concatenate(by_name.get(name, [np.zeros((0, 2))]))
        lab = _xy(labels.get(name, np.zeros((0, 2))))
        labelled = np.zeros(len(t), dtype=bool)
        if len(lab) and len(t):  # labels may sit off their particle's centre (--label-jitter)
            labelled[[j for _, j in match_one_to_one(lab, t, radius)]] = True
        pairs = match_one_to_one(p, t, radius)
        n_pseudo += len(p)
        n_matched += len(pairs)
        n_unlabelled += int((~labelled).sum())
        n_found += sum(1 for _, j in pairs if not labelled[j])
    return dict(n_pseudo=n_pseudo, n_matched=n_matched, n_unlabelled=n_unlabelled,
                n_unlabelled_found=n_found,
                precision=n_matched / n_pseudo if n_pseudo else None,
                recall=n_found / n_unlabelled if n_unlabelled else None)


def find_pseudo_files(folder):
    """{iteration: path} of pseudo_positives_iteration_<i>.json anywhere under ``folder``."""
    out = {}
    for root, _, names in os.walk(folder):
        for n in names:
            m = re.fullmatch(r"pseudo_positives_iteration_(\d+)\.json", n)
            if m:
                out[int(m.group(1))] = os.path.join(root, n)
    return dict(sorted(out.items()))


def score_pseudo_labels(folder, ds, train, labels):
    """{iteration: quality dict} for the pseudo-positive files under ``folder`` ({} if none)."""
    truth = {n: ds.truth[n] for n in train}
    out = {}
    for it, path in find_pseudo_files(folder).items():
        try:
            out[it] = pseudo_label_quality(read_pseudo_positives(path), truth, labels,
                                           ds.diameter_px / 2)
        except (ValueError, OSError) as exc:
            out[it] = dict(error=f"{path}: {exc}")
    return out


# ---------------------------------------------------------------------------- aggregation

def _stats(values):
    v = [float(x) for x in values if x is not None and not
         (isinstance(x, float) and math.isnan(x))]
    if not v:
        return None
    return dict(mean=float(np.mean(v)), min=float(min(v)), max=float(max(v)), n=len(v))


def aggregate(records):
    """Per (regime, fraction, row): mean / min / max over runs of best F1, AP, F1 at the
    model's threshold, and pseudo-label precision / recall (None when never measured)."""
    groups = {}
    for r in records:
        groups.setdefault((r["regime"], r["fraction"], r["row"]), []).append(r)
    regimes = list(dict.fromkeys(r["regime"] for r in records))
    out = []
    for (regime, fraction, rid), rs in sorted(
            groups.items(), key=lambda kv: (regimes.index(kv[0][0]), kv[0][1],
                                            _order_key(kv[0][2]))):
        out.append(dict(
            regime=regime, fraction=fraction, row=rid, label=row_label(rid),
            n_runs=len(rs), seeds=sorted(r["seed"] for r in rs),
            n_labels=rs[0].get("n_labels"),
            best_f1=_stats(r.get("best_f1") for r in rs), ap=_stats(r.get("ap") for r in rs),
            f1=_stats(r.get("f1") for r in rs),
            pseudo_n=_stats(r.get("pseudo_n") for r in rs),
            pseudo_precision=_stats(r.get("pseudo_precision") for r in rs),
            pseudo_recall=_stats(r.get("pseudo_recall") for r in rs),
            train_s=_stats(r.get("train_s") for r in rs),
            pick_s_per_mic=_stats(r.get("pick_s_per_mic") for r in rs)))
    return out


def summarize(agg, default=DEFAULT_METHOD, reference=REFERENCE_METHOD):
    """Per regime: the default row minus the reference row (means over seeds) of best F1 and
    AP at each budget, and the mean of those differences over the budgets."""
    out = []
    for regime in dict.fromkeys(a["regime"] for a in agg):
        rows = [a for a in agg if a["regime"] == regime]
        per = []
        for fraction in sorted({a["fraction"] for a in rows}):
            here = {a["row"]: a for a in rows if a["fraction"] == fraction}
            d, ref = resolve_row(default, here), resolve_row(reference, here)
            entry = dict(fraction=fraction, default_row=d, reference_row=ref)
            for key in ("best_f1", "ap"):
                a = here[d][key] if d else None
                b = here[ref][key] if ref else None
                entry[key] = a["mean"] - b["mean"] if a and b else None
            per.append(entry)
        mean = {k: (float(np.mean([p[k] for p in per if p[k] is not None]))
                    if any(p[k] is not None for p in per) else None) for k in ("best_f1", "ap")}
        out.append(dict(regime=regime, default=default, reference=reference,
                        per_fraction=per, mean=mean))
    return out


# ---------------------------------------------------------------------------- text

def _fmt(s, digits=3):
    """'0.812 (0.800-0.824)': mean (min-max) over runs; '0.812' for one run or no spread;
    'n/a' for none."""
    if s is None:
        return "n/a"
    lo, hi = f"{s['min']:.{digits}f}", f"{s['max']:.{digits}f}"
    if s["n"] > 1 and lo != hi:
        return f"{s['mean']:.{digits}f} ({lo}-{hi})"
    return f"{s['mean']:.{digits}f}"


def _signed(v):
    return "n/a" if v is None else f"{v:+.3f}"


def _pct(f):
    return f"{100 * f:.0f}%"


def summary_line(s):
    per = s["per_fraction"]
    d = next((p["default_row"] for p in per if p["default_row"]), None)
    budgets = " / ".join(_pct(p["fraction"]) for p in per)
    return (f"{s['regime']}: cryopick default ({row_label(d) if d else s['default']}) minus "
            f"{row_label(s['reference'])}: best F1 {' / '.join(_signed(p['best_f1']) for p in per)}"
            f", AP {' / '.join(_signed(p['ap']) for p in per)} at {budgets} labels "
            f"(mean best F1 {_signed(s['mean']['best_f1'])}, AP {_signed(s['mean']['ap'])})")


#: how close a threshold's F1 must be to the best F1, and how precise pseudo-positives must
#: be, to count as holding up in the scorecard (the aims of the matrix's issue)
THRESHOLD_GAP = 0.03
PSEUDO_PRECISION = 0.9


def scorecard(agg, summaries, default=DEFAULT_METHOD):
    """Lines checking the matrix against its aims: the default against the reference per
    budget (ahead in both best F1 and AP, and the mean difference over regimes), the
    default's own threshold against its best F1, and the U-Net's self-training against its
    baseline with the precision of its pseudo-positives."""
    lines = []
    for fraction in sorted({p["fraction"] for s in summaries for p in s["per_fraction"]}):
        per = [(s["regime"], p) for s in summaries for p in s["per_fraction"]
               if p["fraction"] == fraction and p["best_f1"] is not None and
               p["ap"] is not None]
        if not per:
            continue
        behind = [r for r, p in per if p["best_f1"] <= 0 or p["ap"] <= 0]
        mean_f1 = float(np.mean([p["best_f1"] for _, p in per]))
        mean_ap = float(np.mean([p["ap"] for _, p in per]))
        lines.append(f"- {_pct(fraction)} labels: ahead of the reference in best F1 and AP in "
                     f"{len(per) - len(behind)} of {len(per)} regimes"
                     + (f" (not: {', '.join(behind)})" if behind else "")
                     + f"; mean difference best F1 {_signed(mean_f1)}, AP {_signed(mean_ap)}")
    cells = list(dict.fromkeys((a["regime"], a["fraction"]) for a in agg))
    gaps, misses, self_training, imprecise = [], [], [], []
    for regime, fraction in cells:
        here = {a["row"]: a for a in agg if (a["regime"], a["fraction"]) == (regime, fraction)}
        name = f"{regime} {_pct(fraction)}"
        d = resolve_row(default, here)
        if d and here[d]["f1"] and here[d]["best_f1"]:
            gap = here[d]["best_f1"]["mean"] - here[d]["f1"]["mean"]
            gaps.append(gap)
            if gap > THRESHOLD_GAP:
                misses.append(f"{name} {gap:.3f}")
        rounds = sorted((r for r in here if r.startswith("unet/iteration")),
                        key=lambda r: int(r.split()[-1]))
        if rounds and "unet/baseline" in here:
            last, base = here[rounds[-1]], here["unet/baseline"]
            self_training.append((name, last["ap"]["mean"] - base["ap"]["mean"]))
            precision = last["pseudo_precision"]
            if precision is None or precision["mean"] < PSEUDO_PRECISION:
                imprecise.append(f"{name} " + ("none" if precision is None else
                                               f"{precision['mean']:.2f}"))
    if gaps:
        lines.append(f"- F1 at the default's own threshold within {THRESHOLD_GAP} of its best "
                     f"F1 in {len(gaps) - len(misses)} of {len(gaps)} regime-budgets"
                     + (f" (not: {', '.join(misses)})" if misses else ""))
    if self_training:
        worse = [f"{n} {d:+.3f}" for n, d in self_training if d <= 0]
        lines.append(f"- U-Net self-training (last round against its baseline, AP): ahead in "
                     f"{len(self_training) - len(worse)} of {len(self_training)}"
                     + (f" (not: {', '.join(worse)})" if worse else "")
                     + f"; pseudo-positive precision >= {PSEUDO_PRECISION} in "
                     f"{len(self_training) - len(imprecise)} of {len(self_training)}"
                     + (f" (not: {', '.join(imprecise)})" if imprecise else ""))
    return lines


def table(agg, default=DEFAULT_METHOD):
    lines = ["| regime | labels | method | runs | best F1 | AP | F1 at own threshold | "
             "pseudo-positives | pseudo-label P | pseudo-label R (unlabelled) | train s |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for regime, fraction in dict.fromkeys((a["regime"], a["fraction"]) for a in agg):
        here = [a for a in agg if (a["regime"], a["fraction"]) == (regime, fraction)]
        d = resolve_row(default, [a["row"] for a in here])
        for a in here:
            pseudo = a["row"].startswith("unet/iteration")
            label = a["label"] + (" (default)" if a["row"] == d else "")
            n_labels = f" ({a['n_labels']})" if a.get("n_labels") is not None else ""
            lines.append(
                f"| {regime} | {_pct(fraction)}{n_labels} | {label} | {a['n_runs']} | "
                f"{_fmt(a['best_f1'])} | {_fmt(a['ap'])} | {_fmt(a['f1'])} | "
                f"{_fmt(a['pseudo_n'], 0) if pseudo else '-'} | "
                f"{_fmt(a['pseudo_precision']) if pseudo else '-'} | "
                f"{_fmt(a['pseudo_recall']) if pseudo else '-'} | "
                f"{_fmt(a['train_s'], 0) if a['train_s'] else '-'} |")
    return "\n".join(lines)


def regime_table(meta_regimes):
    lines = ["| regime | model | A/px | diameter px | micrographs | train / test | "
             "particles per micrograph (train / test) | SNR | simulation s per micrograph |",
             "|---|---|---:|---:|---|---|---:|---:|---:|"]
    for m in meta_regimes:
        sim = m.get("simulation_s_per_micrograph")
        lines.append(
            f"| {m['name']} | {os.path.basename(m['model'])} | {m['apix']} | "
            f"{m['diameter_px']:.1f} | {m['n_micrographs']} x {m['size']}^2 | "
            f"{m['n_train']} / {m['n_test']} | {m['particles_train']:.0f} / "
            f"{m['particles_test']:.0f} | {m['snr']} | "
            f"{'cached' if sim is None else f'{sim:.1f}'} |")
    return "\n".join(lines)


def timing_table(cells, meta_regimes=()):
    """Wall and CPU seconds per run of each method (training and picking, every process),
    mean over the runs, and each regime's total (simulation included)."""
    groups, totals = {}, {}
    for c in cells:
        totals[c["regime"]] = totals.get(c["regime"], 0.0) + c["wall_s"]
        for method, t in (c.get("timings") or {}).items():
            groups.setdefault((c["regime"], method), []).append(t)
    sim = {m["name"]: (m["simulation_s_per_micrograph"] or 0) * m["n_micrographs"]
           for m in meta_regimes}
    lines = ["| regime | method | runs | wall s per run | CPU s per run |",
             "|---|---|---:|---:|---:|"]
    for (regime, method), ts in groups.items():
        cpu = [t["cpu_s"] for t in ts if t.get("cpu_s") is not None]
        lines.append(f"| {regime} | {method} | {len(ts)} | "
                     f"{np.mean([t['wall_s'] for t in ts]):.0f} | "
                     f"{f'{np.mean(cpu):.0f}' if cpu else 'n/a'} |")
    for regime, total in totals.items():
        lines.append(f"| {regime} | all (simulation {sim.get(regime, 0):.0f} s) | | "
                     f"{total + sim.get(regime, 0):.0f} | |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- running

def simulate(regime, simulator, data_root, python=None, log=print):
    """Simulate a regime into its cache folder unless a complete one exists.
    Returns (folder, seconds per micrograph or None when cached)."""
    folder = os.path.abspath(regime.folder(data_root))
    done = os.path.exists(os.path.join(folder, "particles_truth.star")) and len(
        glob.glob(os.path.join(folder, "micrographs", "*.mrc"))) >= regime.n_micrographs
    if done:
        log(f"{regime.name}: simulated data in {folder} (cached)")
        return folder, None
    os.makedirs(folder, exist_ok=True)
    script = os.path.join(simulator, "simulate.py")
    cmd = [python or sys.executable, script, *regime.simulate_args(simulator, folder)]
    start = time.time()
    with open(os.path.join(folder, "simulate.log"), "w") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"simulation of {regime.name} failed (log {folder}/simulate.log; "
                         "mmCIF models need gemmi: pip install gemmi)")
    per = seconds / regime.n_micrographs
    log(f"{regime.name}: simulated {regime.n_micrographs} micrographs in {seconds:.0f} s "
        f"({per:.1f} s each) -> {folder}")
    return folder, per


def _children_cpu_s():
    """CPU seconds (user + system) of the finished child processes so far: less changed than
    wall time by other jobs sharing the cores (about 2x, against 3-5x, when measured)."""
    import resource

    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def _jsonable(o):
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _attempt(what, fn, errors, log, timings=None):
    """Run one method; a failure is recorded and the matrix goes on. Its wall and CPU
    seconds (training and picking, all processes) go into ``timings[what]``."""
    t0, cpu0 = time.time(), _children_cpu_s()
    try:
        return fn()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - one method must not end the run
        msg = f"{what}: {type(exc).__name__}: {exc}"
        errors.append(msg)
        log("   FAILED " + msg)
        return None
    finally:
        if timings is not None:
            timings[what] = dict(wall_s=time.time() - t0, cpu_s=_children_cpu_s() - cpu0)


def run_cryopick(ds, train, test, labels, work, methods, profile, seed, args, errors, log,
                 timings=None, unet_model=None):
    """U-Net rows, FixMatch and re-scoring for one label set. Returns (rows, pseudo quality).
    With ``unet_model`` (--unet-from) no U-Net is trained: the ensemble takes that one."""
    rows, unet_rows, fm_rows, fm_model, pseudo = [], [], [], None, {}
    n_train = max(len(train), 1)
    expected = told_count(args)
    unet_extra = [*profile["unet_args"],
                  "--crops-per-image", str(run.crops_per_image(n_train, profile["crops_per_epoch"])),
                  "--seed", str(seed), *args.unet_args.split()]
    fm_extra = [*profile["fixmatch_args"], "--set", f"training.seed={seed}",
                *args.fixmatch_args.split()]
    pair = "rescore" in methods or "ensemble" in methods  # needs both models
    if args.unet_teacher or "fixmatch" in methods or pair:
        # first, so that train-unet --teacher / --count-classifier can take the classifier
        # of the same labels
        res = _attempt("FixMatch", lambda: run.run_fixmatch(
            ds, train, test, labels, os.path.join(work, "fixmatch"),
            profile["fixmatch_config"], args.device, args.threads, fm_extra,
            expected=expected), errors, log, timings)
        if res:
            fm_rows, fm_model = (res[0] if "fixmatch" in methods else []), res[1]
    if expected == 0 and fm_model:
        unet_extra += ["--count-classifier", fm_model]  # as the forms' pipeline counts
    if args.unet_teacher:
        if fm_model is None:
            errors.append("U-Net: no classifier to teach it (FixMatch failed)")
            return fm_rows, pseudo
        unet_extra += ["--teacher", fm_model]
    if not unet_model and ("unet" in methods or pair):
        unet_dir = os.path.join(work, "unet")
        for stale in find_pseudo_files(unet_dir).values():  # of an earlier run in this folder
            os.remove(stale)
        unet_rows = _attempt("U-Net", lambda: run.run_unet(
            ds, train, test, labels, unet_dir, profile["unet_config"], args.device,
            args.threads, unet_extra, expected=expected), errors, log, timings) or []
        if "unet" in methods:
            rows += unet_rows
        if os.path.isdir(unet_dir):
            pseudo = score_pseudo_labels(unet_dir, ds, train, labels)
    rows += fm_rows  # after the U-Net's, as in earlier runs
    if "rescore" in methods and unet_rows and fm_model:
        r = _attempt("re-scoring", lambda: run.run_rescore(
            ds, test, unet_rows[-1], fm_model, os.path.join(work, "rescore"), args.device,
            args.threads), errors, log, timings)
        if r:
            rows.append(r)
    if "ensemble" in methods and (unet_rows or unet_model) and fm_model:
        r = _attempt("ensemble", lambda: run.run_ensemble(
            ds, train, test, labels, os.path.join(work, "ensemble"),
            unet_model or os.path.join(work, "unet", "model", files.UNET_FINAL), fm_model,
            args.device, args.threads, expected=expected), errors, log, timings)
        if r:
            rows.append(r)
    return rows, pseudo


def told_count(args):
    """The particles per micrograph cryopick is told: None, the training micrographs' true
    mean (as Topaz's -n always gets); 0 with --count estimated, as a user who leaves the
    field empty: cryopick estimates it from the labels (the U-Net with the classifier of the
    same labels, --count-classifier, as the combine pipeline's forms have it)."""
    return 0 if args.count == "estimated" else None


def rerun_ensemble(cell, ds, train, test, labels, work, key, args, log):
    """A finished cryopick cell with its ensemble row made again (``cryopick combine`` and
    ``pick`` with the current code) from the cell's saved U-Net and classifier: after a
    change to how the two are combined, seconds per cell instead of a retraining."""
    errors, timings = [], {}
    row = _attempt("ensemble", lambda: run.run_ensemble(
        ds, train, test, labels, os.path.join(work, "ensemble"),
        os.path.join(work, "unet", "model", files.UNET_FINAL),
        os.path.join(work, "fixmatch", "model", files.FIXMATCH_BEST_EMA), args.device,
        args.threads, expected=told_count(args)), errors, log, timings)
    if row is None:
        return dict(cell, errors=cell["errors"] + errors)
    records = [r for r in cell["records"] if r["row"] != "ensemble"]
    return dict(cell, records=records + _records([row], ds, test, key, {}),
                timings=dict(cell.get("timings", {}), **timings))


def run_topaz(ds, train, test, labels, work, profile, args, errors, log, timings=None):
    r = _attempt("Topaz", lambda: run.run_topaz_row(
        ds, train, test, labels, work, dict(profile["topaz"]), args.threads,
        args.topaz_venv), errors, log, timings)
    return [r] if r else []


def run_group(group, methods, ds, train, test, labels, work, key, profile, args, log,
              unet=None):
    """One label set of one regime: the cryopick methods ("cryopick") or Topaz ("topaz").
    Returns records (scored rows with ``key``), pseudo-label quality, errors and times.
    ``unet``: the cell's U-Net from an earlier run (earlier_unet), not trained again."""
    errors, timings = [], {}
    t0, cpu0 = time.time(), _children_cpu_s()
    if group == "topaz":
        rows, pseudo = run_topaz(ds, train, test, labels, os.path.join(work, "topaz"), profile,
                                 args, errors, log, timings), {}
    else:
        rows, pseudo = run_cryopick(ds, train, test, labels, work, methods, profile,
                                    key["seed"], args, errors, log, timings,
                                    unet_model=unet and unet["model"])
    cpu_s = _children_cpu_s() - cpu0
    if args.jobs > 1:  # the children of concurrent runs are counted together: unknown
        cpu_s = None
        for t in timings.values():
            t["cpu_s"] = None
    records = _records(rows, ds, test, key, pseudo)
    if unet:  # its rows first, as when it is trained in the cell
        records = (unet["records"] if "unet" in methods else []) + records
        pseudo = unet["pseudo"]
    return dict(records=records, pseudo=pseudo, errors=errors, timings=timings,
                wall_s=time.time() - t0, cpu_s=cpu_s,
                **({"unet_from": dict(cell=unet["cell"], code=unet["code"])} if unet else {}))


#: what a cell's U-Net depends on: --unet-from takes an earlier cell's only if these match
UNET_SETTINGS = ("data", "fraction", "seed", "device", "label_jitter", "unet_args", "count",
                 "unet_teacher")
UNET_PROFILE = ("unet_config", "unet_args", "crops_per_epoch")


def earlier_unet(args, work, signature):
    """The U-Net of the same cell in --unet-from's run: its records, pseudo-particle scores,
    model file, cell file and code. SystemExit, naming the cell, if there is none or it was
    made with other micrographs, labels or U-Net settings."""
    folder = os.path.join(args.unet_from, os.path.relpath(work, args.out))
    cell = os.path.join(folder, "cryopick.json")
    model = os.path.join(folder, "unet", "model", files.UNET_FINAL)
    for path in (cell, model):
        if not os.path.isfile(path):
            raise SystemExit(f"--unet-from: {path} does not exist")
    with open(cell) as fh:
        saved = json.load(fh)
    theirs, ours = saved.get("signature", {}), _as_saved(signature)
    differ = [k for k in UNET_SETTINGS if theirs.get(k) != ours.get(k)]
    differ += [f"profile.{k}" for k in UNET_PROFILE
               if theirs.get("profile", {}).get(k) != ours["profile"].get(k)]
    records = [r for r in saved.get("records", []) if r["row"].startswith("unet/")]
    if differ:
        raise SystemExit(f"--unet-from: {cell} was made with other settings "
                         f"({', '.join(differ)})")
    if saved.get("errors") or not records:
        raise SystemExit(f"--unet-from: {cell} has no finished U-Net")
    return dict(records=records, pseudo={int(k): v for k, v in saved.get("pseudo", {}).items()},
                model=os.path.abspath(model), cell=os.path.abspath(cell),
                code=saved.get("unet_from", {}).get("code", theirs.get("code")))


def _records(rows, ds, test, key, pseudo):
    out = []
    for r in run.score(rows, ds, test):
        rid = row_id(r)
        rec = dict(key, row=rid, **r)
        m = re.fullmatch(r"unet/iteration (\d+)", rid)
        q = pseudo.get(int(m.group(1))) if m else None
        if m:
            rec["pseudo_n"] = q.get("n_pseudo") if q else None
            rec["pseudo_precision"] = q.get("precision") if q else None
            rec["pseudo_recall"] = q.get("recall") if q else None
        out.append(rec)
    return out


def _as_saved(signature):
    return json.loads(json.dumps(signature, default=_jsonable))  # as saved: no tuples


def _saved_cells(results_json):
    """The finished pieces a results.json holds (its ``cells``' ``saved`` copies), by their
    settings: what --reuse-from takes from a run whose --out folder is gone."""
    with open(results_json) as fh:
        cells = json.load(fh).get("cells", [])
    return {json.dumps(c["saved"]["signature"], sort_keys=True): c["saved"]
            for c in cells if c.get("saved", {}).get("signature")}


def _cell(path, signature, compute, resume, earlier=None, ignore=()):
    """A finished piece of the matrix, reused with --resume when its settings match (but
    for the keys in ``ignore``), or taken from ``earlier`` (the same piece in another run's
    --out, --reuse-from; or the piece itself, from a results.json; or a list of those, first
    match wins) and saved at ``path`` as this run's."""
    signature = _as_saved(signature)

    def same(saved):
        return ({k: v for k, v in saved.items() if k not in ignore} ==
                {k: v for k, v in signature.items() if k not in ignore})

    earlier = earlier if isinstance(earlier, list) else [earlier] if earlier else []
    for source in ([path] if resume else []) + earlier:
        if isinstance(source, dict):
            saved = json.loads(json.dumps(source))
        elif os.path.exists(source):
            with open(source) as fh:
                saved = json.load(fh)
        else:
            continue
        if isinstance(saved.get("signature"), dict) and same(saved["signature"]) and \
                not saved.get("errors"):
            if source != path:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as fh:
                    json.dump(saved, fh, indent=1)
            saved["pseudo"] = {int(k): v for k, v in saved.get("pseudo", {}).items()}
            return saved, True
    result = compute()
    result["signature"] = signature
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1, default=_jsonable)
    return json.loads(json.dumps(result, default=_jsonable)), False


def _saved_copy(cell):
    """The cell as its JSON file holds it, for results.json (see _saved_cells)."""
    return dict(cell, pseudo={str(k): v for k, v in cell.get("pseudo", {}).items()})


def _regime_meta(regime, ds, train, test, folder, sim_per_mic):
    return dict(name=regime.name, description=regime.description, model=regime.model,
                apix=regime.apix, size=regime.size, n_micrographs=len(ds.micrographs),
                n_train=len(train), n_test=len(test), diameter_px=ds.diameter_px,
                snr=regime.snr, density=regime.density, n_particles=regime.n_particles,
                simulate_args=regime.simulate_args("SIMULATOR", folder), data=folder,
                particles_train=float(np.mean([len(ds.truth[n]) for n in train])),
                particles_test=float(np.mean([len(ds.truth[n]) for n in test])),
                n_test_particles=int(sum(len(ds.truth[n]) for n in test)),
                simulation_s_per_micrograph=sim_per_mic)


def with_topaz_updates(profile, updates):
    """``profile`` with Topaz trained for about ``updates`` updates (None: as it is), in
    whole epochs of the profile's epoch size."""
    if updates is None:
        return profile
    topaz = dict(profile["topaz"])
    topaz["num_epochs"] = max(1, int(round(updates / topaz["epoch_size"])))
    return dict(profile, topaz=topaz)


def _topaz_updates(profile):
    return profile["topaz"]["num_epochs"] * profile["topaz"]["epoch_size"]


def cell_signature(group, folder, fraction, seed, methods, profile, args):
    """What a finished cell's results depend on (``--resume`` reuses a cell only when it is
    the same): a Topaz cell on its own settings only, so that changing cryopick's does not
    rerun Topaz."""
    sig = dict(data=folder, fraction=fraction, seed=seed, methods=methods, device=args.device,
               **({"label_jitter": args.label_jitter} if args.label_jitter else {}))
    if group == "topaz":
        return dict(sig, topaz=profile["topaz"])
    return dict(sig, profile={k: v for k, v in profile.items() if k != "topaz"},
                unet_args=args.unet_args, fixmatch_args=args.fixmatch_args,
                code=args.code_hash, **({"unet_teacher": True} if args.unet_teacher else {}),
                **({"count": args.count} if args.count != "true" else {}),
                **({"unet_from": os.path.abspath(args.unet_from)} if args.unet_from else {}))


# what a cryopick piece's numbers come from besides its settings: the engine, the command
# line and its presets, and how benchmarks.run drives them
CODE_GLOBS = ("cryopick_plugin/engine/**/*.py", "cryopick_plugin/cli.py",
              "cryopick_plugin/configs/*", "benchmarks/run.py", "benchmarks/datasets.py")


def cryopick_code_hash(root=REPO):
    """A short hash of the code in CODE_GLOBS, so that a piece made by other code (a changed
    default, a fix) is never taken for this code's (--resume, --reuse-from)."""
    digest = hashlib.sha256()
    paths = sorted({p for pattern in CODE_GLOBS
                    for p in glob.glob(os.path.join(root, pattern), recursive=True)
                    if os.path.isfile(p) and "__pycache__" not in p})
    for path in paths:
        digest.update(os.path.relpath(path, root).encode())
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:16]


def _reuse_sources(paths):
    """--reuse-from's arguments: the finished pieces of the results.json / cells.json files
    among them (by settings; the earlier file wins) and the --out folders among them."""
    saved, folders = {}, []
    for path in paths or []:
        if os.path.isfile(path):
            saved = dict(_saved_cells(path), **saved)
        elif os.path.isdir(path):
            folders.append(path)
        else:
            raise SystemExit(f"--reuse-from {path}: no such file or folder")
    return saved, folders


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="a few minutes: the crowded regime on four 256^2 micrographs, one "
                        "budget (20%%), tiny training sizes; checks the whole chain")
    p.add_argument("--regimes", nargs="+", help=f"of {', '.join(REGIMES)} (default: all; "
                   f"--quick: {', '.join(QUICK_REGIMES)}; also {', '.join(EXTRA_REGIMES)})")
    p.add_argument("--fractions", type=float, nargs="+",
                   help=f"label budgets (default {' '.join(map(str, FRACTIONS))}; --quick 0.2)")
    p.add_argument("--seeds", type=int, nargs="+",
                   help="label (and training) seeds of cryopick's methods (default "
                        f"{' '.join(map(str, SEEDS))}; --quick: 0)")
    p.add_argument("--topaz-seeds", type=int, nargs="+",
                   help="label seeds of Topaz's runs, one run each per budget (default: "
                        "--seeds; Topaz itself has no training seed)")
    p.add_argument("--topaz-updates", type=int, metavar="N",
                   help="Topaz's training length in updates, in epochs of the profile's "
                        "epoch size (default: the profile's, full: 1000; topaz's own default "
                        "is 10,000); part of a Topaz piece's settings")
    p.add_argument("--methods", nargs="+", choices=METHODS, default=list(DEFAULT_METHODS))
    p.add_argument("--default-method", default=DEFAULT_METHOD,
                   help="row compared with Topaz in the summaries (unet/final, unet/baseline, "
                        "unet/iteration K, fixmatch, rescore)")
    p.add_argument("--profile", choices=sorted(PROFILES),
                   help="training sizes (default full; --quick: quick)")
    p.add_argument("--data-seed", type=int, default=0,
                   help="simulator seed of every regime's micrographs (default 0: the ones "
                        "every earlier run measured, and tuned on); another seed simulates "
                        "fresh micrographs of the same regimes, a check that nothing was "
                        "tuned to the usual ones")
    p.add_argument("--data-root", default=DEFAULT_DATA_ROOT,
                   help="simulated data cache (default: ../bench_data next to the checkout)")
    p.add_argument("--simulator", default=DEFAULT_SIMULATOR,
                   help="folder of simulate.py and its models (default ../shared/bench)")
    p.add_argument("--out", help="default benchmark_output/matrix (--quick: .../matrix_quick)")
    p.add_argument("--device", default="cpu")
    # two single-threaded runs side by side did 1.3x the work of one two-threaded run at a
    # time on 2 cores (SIZING)
    p.add_argument("--threads", type=int, default=1, help="threads of each process")
    p.add_argument("--jobs", type=int, default=2,
                   help="runs at the same time (each with --threads threads); with more "
                        "than one, CPU times per run are not recorded")
    p.add_argument("--topaz-venv", help="Topaz's virtual environment (default: that of "
                                        "benchmarks.topaz, created on first use)")
    p.add_argument("--unet-args", default="", help="extra train-unet flags for every run")
    p.add_argument("--fixmatch-args", default="", help="extra train-fixmatch flags")
    p.add_argument("--unet-teacher", action="store_true",
                   help="train each label set's classifier first and give it to train-unet "
                        "as --teacher (experimental)")
    p.add_argument("--count", choices=("true", "estimated"), default="true",
                   help="particles per micrograph given to cryopick: true (the training "
                        "micrographs' mean, as Topaz always gets) or estimated (none given, "
                        "as a user who leaves the field empty: cryopick estimates it)")
    p.add_argument("--label-jitter", type=float, default=0.0, metavar="FRACTION",
                   help="move every label off its particle's centre by a normal offset of "
                        "this share of the particle diameter (standard deviation, in x and in "
                        "y), as hand-picked labels are; the same particles stay labelled "
                        "(default 0: labels on the true centres)")
    p.add_argument("--unet-from", metavar="EARLIER_OUT",
                   help="take each cell's U-Net (its rows, pseudo-particles and model) from "
                        "the same cell of an earlier run's --out, made with the same "
                        "micrographs, labels and U-Net settings, and make only the "
                        "classifier and the ensemble: a change to the classifier measured on "
                        "the same U-Nets in under half the time (count given only: without "
                        "it the U-Net's count comes from the classifier)")
    p.add_argument("--resume", action="store_true",
                   help="reuse the finished pieces of an interrupted run in --out")
    p.add_argument("--reuse-from", metavar="EARLIER_OUT", nargs="+",
                   help="take every finished piece of earlier runs' --out folders (or of "
                        "their results.json or cells.json, e.g. ones kept in docs/results) "
                        "whose settings match (e.g. their Topaz runs after a change to "
                        "cryopick: about 40 min of the full matrix; cryopick's own only if "
                        "made by the same code) instead of running it again; only the results "
                        "are copied, the models stay where they were")
    p.add_argument("--reuse-groups", nargs="+", choices=("cryopick", "topaz"),
                   default=["cryopick", "topaz"],
                   help="which pieces --reuse-from takes (default both; topaz: measure "
                        "cryopick afresh beside the stored Topaz runs)")
    p.add_argument("--rerun-ensemble", action="store_true",
                   help="with --resume: make the ensemble row of every finished cell again "
                        "from the cell's saved U-Net and classifier (after a change to how "
                        "they are combined; seconds per cell). Cells whose members were made "
                        "by other code are taken too (their signature's code becomes this "
                        "run's, the members' is kept as members_code): use it only after a "
                        "change that leaves the members' training as it was")
    args = p.parse_args(argv)
    if args.rerun_ensemble and not args.resume:
        p.error("--rerun-ensemble works on a finished run: add --resume")
    if args.unet_from and (args.count != "true" or args.unet_teacher or
                           "rescore" in args.methods or args.rerun_ensemble):
        p.error("--unet-from needs the count given and no --unet-teacher, rescore or "
                "--rerun-ensemble: each makes the U-Net depend on this run's classifier or "
                "needs its picks")
    if args.regimes is None:
        args.regimes = list(QUICK_REGIMES if args.quick else REGIMES)
    bad = [r for r in args.regimes if r not in ALL_REGIMES]
    if bad:
        p.error(f"unknown regime(s) {', '.join(bad)}; known: {', '.join(ALL_REGIMES)}")
    args.fractions = args.fractions or ([0.2] if args.quick else list(FRACTIONS))
    args.seeds = args.seeds if args.seeds is not None else ([0] if args.quick else list(SEEDS))
    args.topaz_seeds = sorted(set(args.topaz_seeds if args.topaz_seeds is not None
                                  else args.seeds))
    args.profile = args.profile or ("quick" if args.quick else "full")
    if args.topaz_updates is not None and args.topaz_updates < 1:
        p.error("--topaz-updates must be at least 1")
    if not 0 <= args.label_jitter <= 0.5:
        p.error(f"--label-jitter must be within [0, 0.5] (got {args.label_jitter})")
    args.code_hash = cryopick_code_hash()  # once: every cryopick piece of the run shares it
    args.out = args.out or os.path.join("benchmark_output",
                                        "matrix_quick" if args.quick else "matrix")
    return args


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    profile = with_topaz_updates(PROFILES[args.profile], args.topaz_updates)
    os.makedirs(args.out, exist_ok=True)

    def log(msg):
        print(f"[{time.time() - start:7.0f} s] {msg}", flush=True)

    log(f"matrix: regimes {', '.join(args.regimes)}; budgets "
        f"{', '.join(_pct(f) for f in args.fractions)}; cryopick seeds {args.seeds}, Topaz "
        f"seeds {args.topaz_seeds}; methods {' '.join(args.methods)}; profile {args.profile}")
    records, errors, pseudo_all, meta_regimes, cells, tasks = [], [], [], [], [], []
    reusable, reuse_folders = _reuse_sources(args.reuse_from)
    for name in args.regimes:
        regime = replace(ALL_REGIMES[name], seed=args.data_seed)
        folder, sim_per_mic = simulate(regime, args.simulator, args.data_root, log=log)
        ds = Dataset.from_folder(folder)
        train, test = ds.split(regime.n_train)
        if not test:
            raise SystemExit(f"{name}: no test micrographs")
        meta_regimes.append(_regime_meta(regime, ds, train, test, folder, sim_per_mic))
        log(f"{name}: diameter {ds.diameter_px:.1f} px, {len(train)} training / {len(test)} "
            f"test micrographs, {meta_regimes[-1]['n_test_particles']} test particles")
        cryo = [m for m in args.methods if m != "topaz"]
        seeds = sorted(set(args.seeds) | (set(args.topaz_seeds) if "topaz" in args.methods
                                          else set()))
        for fraction in args.fractions:
            for seed in seeds:
                labels = ds.labels(train, fraction, seed, args.label_jitter)
                n_labels = int(sum(len(v) for v in labels.values()))
                work = os.path.join(args.out, name, f"labels_{int(round(100 * fraction)):02d}",
                                    f"seed_{seed}")
                groups = []
                if cryo and seed in args.seeds:
                    groups.append(("cryopick", cryo))
                if "topaz" in args.methods and seed in args.topaz_seeds:
                    groups.append(("topaz", ["topaz"]))
                for group, methods in groups:
                    if not n_labels:
                        msg = f"{name} {_pct(fraction)} seed {seed}: no labels, skipped"
                        errors.append(msg)
                        log(msg)
                        continue
                    signature = cell_signature(group, folder, fraction, seed, methods,
                                               profile, args)
                    key = dict(regime=name, fraction=fraction, seed=seed, n_labels=n_labels)

                    # checked here, for every cell, before any work starts
                    unet = (earlier_unet(args, work, signature)
                            if args.unet_from and group == "cryopick" else None)

                    def compute(group=group, methods=methods, work=work, labels=labels,
                                key=key, ds=ds, train=train, test=test, unet=unet):
                        return run_group(group, methods, ds, train, test, labels, work, key,
                                         profile, args, log, unet=unet)

                    def rerun(cell, work=work, labels=labels, key=key, ds=ds, train=train,
                              test=test):
                        return rerun_ensemble(cell, ds, train, test, labels, work, key, args,
                                              log)

                    path = os.path.join(work, f"{group}.json")
                    key_json = json.dumps(_as_saved(signature), sort_keys=True)
                    earlier = ([reusable[key_json]] if key_json in reusable else []) + [
                        os.path.join(folder, os.path.relpath(path, args.out))
                        for folder in reuse_folders] if group in args.reuse_groups else []
                    tasks.append(dict(key=key, group=group, signature=signature, path=path,
                                      earlier=earlier, compute=compute, rerun=rerun))

    def run_task(task):
        key = task["key"]
        log(f"{key['regime']} {_pct(key['fraction'])} ({key['n_labels']} labels) seed "
            f"{key['seed']}: {task['group']}")
        rerun = args.rerun_ensemble and task["group"] == "cryopick" and \
            "ensemble" in args.methods
        # the members of a cell made by other code are taken as they are when only the
        # ensemble is made again: the change must be one to how they are combined
        cell, reused = _cell(task["path"], task["signature"], task["compute"], args.resume,
                             task["earlier"], ignore=("code",) if rerun else ())
        if reused and rerun:
            members_code = cell.get("members_code", cell["signature"].get("code"))
            cell = task["rerun"](cell)
            cell["signature"] = _as_saved(task["signature"])
            if members_code != args.code_hash:
                cell["members_code"] = members_code
            with open(task["path"], "w") as fh:
                json.dump(cell, fh, indent=1, default=_jsonable)
            cell["pseudo"] = {int(k): v for k, v in cell.get("pseudo", {}).items()}
        for r in cell["records"]:
            log(f"   {key['regime']} {_pct(key['fraction'])} seed {key['seed']} "
                f"{row_label(r['row'])}: best F1 {r['best_f1']:.3f} AP {r['ap']:.3f} "
                f"F1 {r['f1']:.3f}")
        log(f"   {key['regime']} {_pct(key['fraction'])} seed {key['seed']}: {task['group']} "
            f"took {cell['wall_s']:.0f} s" + (" (reused)" if reused else ""))
        with finished_lock:  # what --reuse-from takes even if this run never ends
            finished.append(dict(regime=key["regime"], fraction=key["fraction"],
                                 seed=key["seed"], group=task["group"], reused=reused,
                                 saved=_saved_copy(cell)))
            files.write_json_atomic(os.path.join(args.out, "cells.json"),
                                    json.loads(json.dumps(dict(cells=finished),
                                                          default=_jsonable)))
        return cell, reused

    finished, finished_lock = [], threading.Lock()

    if args.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            done = list(pool.map(run_task, tasks))
    else:
        done = [run_task(t) for t in tasks]
    for task, (cell, reused) in zip(tasks, done):
        key = task["key"]
        name, fraction, seed = key["regime"], key["fraction"], key["seed"]
        records += cell["records"]
        errors += [f"{name} {_pct(fraction)} seed {seed}: {e}" for e in cell["errors"]]
        cells.append(dict(regime=name, fraction=fraction, seed=seed, group=task["group"],
                          wall_s=cell["wall_s"], cpu_s=cell.get("cpu_s"),
                          timings=cell.get("timings", {}), reused=reused,
                          saved=_saved_copy(cell)))
        for it, q in sorted(cell["pseudo"].items()):
            pseudo_all.append(dict(regime=name, fraction=fraction, seed=seed,
                                   iteration=int(it), **q))

    agg = aggregate(records)
    summaries = summarize(agg, args.default_method)
    wall_s = time.time() - start
    meta = dict(
        command="python -m benchmarks.matrix " + " ".join(sys.argv[1:] if argv is None
                                                         else argv),
        date=time.strftime("%Y-%m-%d %H:%M:%S"), host=platform.node(),
        cpu_count=os.cpu_count(), threads=args.threads, jobs=args.jobs, device=args.device,
        profile=args.profile, profile_values=profile, methods=args.methods,
        default_method=args.default_method, reference_method=REFERENCE_METHOD,
        fractions=args.fractions, seeds=args.seeds, topaz_seeds=args.topaz_seeds,
        label_jitter=args.label_jitter, regimes=meta_regimes, wall_s=wall_s,
        simulation_s=sum((m["simulation_s_per_micrograph"] or 0) * m["n_micrographs"]
                         for m in meta_regimes),
        method_wall_s=sum(c["wall_s"] for c in cells if not c["reused"]),
        method_cpu_s=sum(c["cpu_s"] or 0 for c in cells if not c["reused"]))
    text = "\n".join([
        f"# cryopick benchmark matrix ({args.profile})", "",
        f"`{meta['command']}` on {meta['date']}, {meta['cpu_count']} CPUs, "
        f"{args.threads} threads, device {args.device}; wall time {wall_s / 60:.1f} min "
        f"(simulation {meta['simulation_s']:.0f} s)" + (
            f"; {sum(c['reused'] for c in cells)} of {len(cells)} runs reused from an earlier "
            "run (--resume, --reuse-from; the times below are theirs)"
            if any(c["reused"] for c in cells)
            else "") + ". cryopick: label seeds "
        f"{', '.join(map(str, args.seeds))} (mean, min-max); Topaz: label seeds "
        f"{', '.join(map(str, args.topaz_seeds))}, one run of {_topaz_updates(profile)} updates "
        "each. best F1 is over thresholds (oracle), AP over the score ranking, "
        "F1 at the threshold each model chose. Pseudo-label P / R: the U-Net's "
        "pseudo-positives of that iteration on the training micrographs (R over the "
        "unlabelled particles).", "",
        regime_table(meta_regimes), "",
        table(agg, args.default_method), "",
        *[summary_line(s) for s in summaries], "",
        "Against the aims (means over seeds):", "", *scorecard(agg, summaries,
                                                              args.default_method), "",
        f"Times ({args.threads} threads; per run of a method: training and picking, whole "
        "processes; CPU: user + system of those processes" + (
            f"; {args.jobs} runs at a time, so a run's wall time includes the sharing and a "
            "regime's total adds up overlapping runs" if args.jobs > 1 else "") + "):", "",
        timing_table(cells, meta_regimes),
        *(["", "Errors:", *[f"- {e}" for e in errors]] if errors else [])])
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(dict(meta=meta, results=records, aggregate=agg, summary=summaries,
                       pseudo_labels=pseudo_all, cells=cells, errors=errors), fh, indent=1,
                  default=_jsonable)
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write(text + "\n")
    print("\n" + text)
    print(f"\nwrote {os.path.join(args.out, 'results.json')} and results.md; wall time "
          f"{wall_s / 60:.1f} min")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
