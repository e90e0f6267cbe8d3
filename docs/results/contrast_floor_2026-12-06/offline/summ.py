import json, sys, collections, numpy as np
rows = [json.loads(l) for f in sys.argv[1:] for l in open(f)]
groups = collections.defaultdict(list)
for r in rows:
    c = r["cell"].split("/exp/")[1].split("/")
    set_ = "usual" if "est_se" in c[1] else "fresh"
    groups[(set_, c[3][-2:])].append(r)
variants = [k for k in rows[0] if k != "cell"]
print("set budget n | " + " | ".join(variants[1:]) + "   (mean dAP/dbF1 vs base, worst dAP)")
for k, rs in sorted(groups.items()):
    out = []
    for v in variants[1:]:
        da = [r[v][0] - r["base"][0] for r in rs]; db = [r[v][1] - r["base"][1] for r in rs]
        out.append(f"{np.mean(da):+.3f}/{np.mean(db):+.3f} ({min(da):+.3f})")
    print(k, len(rs), " | ".join(out))
for v in variants[1:]:
    da = [r[v][0] - r["base"][0] for r in rows]; db = [r[v][1] - r["base"][1] for r in rows]
    print(v, f"all {len(rows)}: dAP {np.mean(da):+.4f} dbF1 {np.mean(db):+.4f} worst {min(da):+.3f}/{min(db):+.3f} up {sum(x > 0.001 for x in da)} down {sum(x < -0.001 for x in da)}")
