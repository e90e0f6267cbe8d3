import json, sys, os, numpy as np
M, truth, r = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3])
for it in (1, 2, 3):
    f = os.path.join(M, f"pseudo_positives_iteration_{it}.json")
    if not os.path.exists(f): continue
    pp = json.load(open(f)); n = ok = 0
    for name, cs in pp.items():
        k = [x for x in truth if os.path.splitext(x)[0] == os.path.splitext(os.path.basename(name))[0]][0]; t = np.array(truth[k])[:, :2]
        used = np.zeros(len(t), bool)
        for c in cs:
            d = np.hypot(*(t - np.array(c[:2])).T); d[used] = 1e9; j = d.argmin(); n += 1
            if d[j] <= r: used[j] = True; ok += 1
    print(f"iteration {it}: {n} pseudo-particles, {ok} right ({ok/max(n,1):.3f})")
