# How this folder's score_rules.jsonl was made (offline; kept as the record, not a tool).
# Usage: python score_rules.py OUT.jsonl SET:REGIME:PCT:SEED ...
"""Without a particle count, can the ensemble's threshold come from its own scores? Its
candidates on unseen micrographs (every peak of the fused map) are particles and background;
if their scores split in two, the split is a threshold needing no count. Rules, each read on
the candidates of the calibration micrographs (a spread sample of the test micrographs, as
`cryopick combine` calibrated in the matrix):
  own    the matrix's threshold (the classifier's count kept x 1.15; reproduces its F1)
  otsu   Otsu's threshold on the scores
  gmm    two Gaussians fitted to the scores (EM): where the upper one's posterior is 0.5
  surplus_S  the own rule keeping S x the count instead of 1.15 x
F1 of each on all test micrographs, against the best F1 (oracle)."""
import numpy as np

from cells import load_cell, main
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import COUNT_SURPLUS

SURPLUSES = (0.85, 0.9, 1.0, 1.05)


def otsu(x, bins=256):
    hist, edges = np.histogram(x, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(edges[1:][int(np.argmax(between))])


def gmm2(x, iters=200):
    x = np.asarray(x, dtype=np.float64)
    lo, hi = np.quantile(x, [0.25, 0.9])
    mu, sd, w = np.array([lo, hi]), np.array([x.std() / 2] * 2) + 1e-3, np.array([0.5, 0.5])
    for _ in range(iters):
        dens = w * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2) / sd
        post = dens / np.maximum(dens.sum(1, keepdims=True), 1e-300)
        n = post.sum(0) + 1e-9
        w, mu = n / len(x), (post * x[:, None]).sum(0) / n
        sd = np.sqrt((post * (x[:, None] - mu) ** 2).sum(0) / n) + 1e-4
    grid = np.linspace(mu.min(), mu.max(), 2001)
    dens = w * np.exp(-0.5 * ((grid[:, None] - mu) / sd) ** 2) / sd
    upper = int(np.argmax(mu))
    post = dens[:, upper] / np.maximum(dens.sum(1), 1e-300)
    return float(grid[int(np.argmax(post >= 0.5))]), [round(float(v), 3) for v in mu]


def run(set_name, regime, pct, seed):
    c = load_cell(set_name, regime, pct, seed)
    ens, picks, truth, radius = c["ens"], c["picks"], c["truth"], c["radius"]
    calibration, test = c["calibration"], c["test"]
    overall = evaluate(picks, truth, radius)["overall"]
    scores = np.concatenate([picks[n][:, 2] for n in calibration])
    t_gmm, means = gmm2(scores)
    rules = dict(own=ens.threshold, otsu=otsu(scores), gmm=t_gmm)
    # the own rule with another surplus than COUNT_SURPLUS (1.15): the k-th best candidate
    # of the calibration micrographs, k scaled from the number the own threshold keeps
    ranked = np.sort(scores)[::-1]
    k_own = int((scores >= ens.threshold).sum())
    for surplus in SURPLUSES:
        k = max(1, int(round(k_own * surplus / COUNT_SURPLUS)))
        rules[f"surplus_{surplus:g}"] = float(ranked[min(k, len(ranked)) - 1])
    n_true = sum(len(truth[n]) for n in test)
    res = dict(best_f1=round(overall["best_f1"], 4), ap=round(overall["ap"], 4),
               n_candidates=int(len(scores)), gmm_means=means)
    for name, t in rules.items():
        kept = {n: p[p[:, 2] >= t] for n, p in picks.items()}
        ev = evaluate(kept, truth, radius)["overall"]
        res[name] = dict(threshold=round(float(t), 4), f1=round(ev["f1"], 4),
                         picks_per_particle=round(sum(len(p) for p in kept.values()) / n_true, 3))
    return res


if __name__ == "__main__":
    main(run, lambda res: f"best {res['best_f1']} " + " ".join(
        f"{k} {res[k]['f1']:.3f} (x{res[k]['picks_per_particle']:.2f})"
        for k in ("own", "otsu", "gmm")))
