# How docs/results/fusion_rules_eighth_run_20pct_2026-12-03.jsonl was made (offline, one cell per call; kept as the record, not a tool)
"""Per matrix cell: AP / best F1 of fusion rules on the cell's saved members, 4 views.
usage: fusion.py DATA N_TRAIN CELL_DIR [MAX_TEST]"""
import sys, os, json, time
sys.path.insert(0, os.environ.get("CRYOPICK_SRC", "/work/main"))
import numpy as np, mrcfile
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.picking.views import view_mean
from cryopick_plugin.engine.picking.metrics import evaluate

ds = Dataset.from_folder(sys.argv[1]); train, test = ds.split(int(sys.argv[2])); cell = sys.argv[3]
if len(sys.argv) > 4:
    test = test[:int(sys.argv[4])]
ens = EnsemblePicker.load(os.path.join(cell, "ensemble", "ensemble_model.pt"))
u, c = ens.unet, ens.classifier
w0 = ens.classifier_weight
truth = {n: ds.truth[n] for n in test}


def ev(picks):
    r = evaluate(picks, truth, ds.diameter_px / 2)["overall"]
    return [round(r["ap"], 4), round(r["best_f1"], 4)]


def logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def sig(x):
    return 1 / (1 + np.exp(-x))


rules = {
    "unet": lambda a, b: a,
    "w0.5": lambda a, b: (a + 0.5 * b) / 1.5,
    "w1": lambda a, b: (a + b) / 2,
    "w2": lambda a, b: (a + 2 * b) / 3,
    "wcur": lambda a, b: (a + w0 * b) / (1 + w0),
    "w4": lambda a, b: (a + 4 * b) / 5,
    "w8": lambda a, b: (a + 8 * b) / 9,
    "clfmap": lambda a, b: b,
    "logit1": lambda a, b: sig((logit(a) + logit(b)) / 2),
    "logitcur": lambda a, b: sig((logit(a) + w0 * logit(b)) / (1 + w0)),
    "geo": lambda a, b: np.sqrt(a * b),
    "min": lambda a, b: np.minimum(a, b),
}
picks = {k: {} for k in rules}
picks["clf_own"] = {}
t0 = time.time()
for n in test:
    work, f = u.prepare(mrcfile.read(ds.micrographs[n]).astype(np.float32))
    mu = view_mean(u._working_map, work, 4)
    mc = np.clip(view_mean(c.score_working, work, 4), 0, 1)
    for k, rule in rules.items():
        picks[k][n] = u.picks_from_map(work, rule(mu, mc).astype(np.float32), f, 0.0)
    c.views = 4
    picks["clf_own"][n] = c.pick_working(work, f, 0.0)
res = dict(cell=cell, w=round(w0, 3), s=round(time.time() - t0, 1))
res.update({k: ev(v) for k, v in picks.items()})
print(json.dumps(res), flush=True)
