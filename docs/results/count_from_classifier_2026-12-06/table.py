"""The offline count study as a table: per cell of the --count estimated matrix run of
2026-12-05 (saved models), the count of each estimator over the true mean count of the
labelled training micrographs. Usage: table.py a.json b.json (count_study.py's output)."""
import json, re, sys
import numpy as np
sys.path.insert(0, "/work/main")
from cryopick_plugin.engine.picking.thresholds import count_from_labels, lee_liu_estimate
d = {}
for f in sys.argv[1:]:
    d.update(json.load(open(f)))
halfway = {}
for line in open("/work/main/docs/results/count_estimated_2026-12-05/counts.md"):
    c = [x.strip() for x in line.split("|")[1:-1]]
    if len(c) > 4 and c[0] not in ("regime", "---"):
        halfway[f"{c[0]}/labels_{c[1].rstrip('%')}/seed_{c[2]}"] = float(c[4]) if c[4][0].isdigit() else np.nan
RAD = json.load(open(sys.argv[1].replace("a.json", "radius.json")))
rows, ratios = [], {k: [] for k in ("half", "c_ll", "c_min", "u_min", "e_ll", "e_min")}
print("| regime | labels | seed | labels (mics) | true per mic | U-Net halfway, Lee & Liu (the run) | classifier, Lee & Liu | **classifier, smallest n/R** | U-Net final, smallest n/R | ensemble, Lee & Liu | ensemble, smallest n/R |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for key, c in sorted(d.items()):
    lab = json.load(open(f"/work/exp/s37/est/{key}/fixmatch/labels.json"))
    mics = list(c["picks"]["classifier"])
    lab = {n: np.asarray(lab[n])[:, :2] for n in mics}
    r, m, true = RAD[key], c["micrographs"], c["true"]
    p = {k: {n: np.asarray(v).reshape(-1, 3) for n, v in c["picks"][k].items()} for k in c["picks"]}
    ll = lambda k: lee_liu_estimate(p[k], lab, r)["n_particles"] / m / true
    mn = lambda k: (count_from_labels(p[k].get, lab, r) or np.nan) / true
    vals = dict(half=halfway[key] / true, c_ll=ll("classifier"), c_min=mn("classifier"), u_min=mn("unet"),
                e_ll=ll("ensemble"), e_min=mn("ensemble"))
    for k, v in vals.items():
        ratios[k].append(v)
    reg, l, s = key.split("/")
    f = lambda v: "-" if np.isnan(v) else f"{v:.2f}"
    print(f"| {reg} | {l[7:]}% | {s[5:]} | {c['n_labels']} ({m}) | {true:.1f} | {f(vals['half'])} | {f(vals['c_ll'])} | **{f(vals['c_min'])}** | {f(vals['u_min'])} | {f(vals['e_ll'])} | {f(vals['e_min'])} |")
print()
print("| estimator | range (x true) | within 25% | median abs log ratio |")
print("|---|---|---:|---:|")
names = dict(half="U-Net halfway, Lee & Liu (what the run used)", c_ll="classifier, Lee & Liu", c_min="classifier, smallest n/R (shipped)", u_min="U-Net final, smallest n/R", e_ll="ensemble, Lee & Liu (combine before)", e_min="ensemble, smallest n/R")
for k, v in ratios.items():
    v = np.array(v); lr = np.abs(np.log(v)); none = int(np.isnan(v).sum())
    print(f"| {names[k]} | {np.nanmin(v):.2f}-{np.nanmax(v):.2f}{f' (none in {none})' if none else ''} | {int((lr < np.log(1.25)).sum())} of {len(v)} | {np.nanmedian(lr):.2f} |")
