"""Per run of a matrix --count estimated: the count the U-Net and combine estimated against
the true mean of the training micrographs, and whether a round kept the rest unlabelled."""
import glob, json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.datasets import Dataset
root = sys.argv[1]
cells = json.load(open(os.path.join(root, "cells.json")))
print("| regime | labels | seed | true per mic (train) | U-Net estimate | ratio | rounds with the rest unlabelled | negative px % per round | combine's count |")
print("|---|---:|---:|---:|---:|---:|---|---|---|")
for log in sorted(glob.glob(os.path.join(root, "*", "labels_*", "seed_*", "unet", "train.log"))):
    cell = os.path.dirname(os.path.dirname(log))
    regime, lab, seed = cell.split(os.sep)[-3:]
    text = open(log).read()
    m = re.search(r"Estimated particles per micrograph: (\d+)", text)
    est = int(m.group(1)) if m else None
    pu = re.search(r"PU objective: [\d.]+% of the unlabelled pixels are particle \((\d+) particles", text)
    fired = len(re.findall(r"Reliable background \(", text))
    neg = re.findall(r"Negative pixels: ([\d.]+)%", text)
    train = sorted(os.listdir(os.path.join(cell, "unet", "train")))
    data = os.path.dirname(os.path.dirname(os.path.realpath(os.path.join(cell, "unet", "train", train[0]))))
    ds = Dataset.from_folder(data)
    true = sum(len(ds.truth[os.path.splitext(n)[0]]) for n in train) / len(train)
    comb = os.path.join(cell, "ensemble", "combine.log")
    cc = ""
    if os.path.exists(comb):
        m2 = re.search(r"(\d+(?:\.\d+)?) (?:particles )?per micrograph", open(comb).read())
        cc = m2.group(1) if m2 else ""
    ratio = f"{est / true:.2f}" if est and true else "-"
    print(f"| {regime} | {lab[7:]}% | {seed[5:]} | {true if true is None else round(true, 1)} | {est if est else ('(not estimated)' if not pu else pu.group(1))} | {ratio} | {fired} | {', '.join(neg)} | {cc} |")
