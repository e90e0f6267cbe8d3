"""Controlled: the U-Net's phase 1 (baseline) on a saved matrix cell's training set, with the
particle count (hence the PU prior) at SCALE x the true mean; AP of the baseline on the
cell's test micrographs. Usage: prior_probe.py CELL SCALE OUT"""
import json, os, subprocess, sys
import numpy as np
sys.path.insert(0, "/work/main")
from benchmarks import run
from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.picking.metrics import evaluate

cell, scale, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
u = os.path.join(cell, "unet")
train, test = os.path.join(u, "train"), os.path.join(u, "test")
ds = Dataset.from_folder(os.path.dirname(os.path.dirname(os.path.realpath(
    os.path.join(train, sorted(os.listdir(train))[0])))))
names = [os.path.splitext(f)[0] for f in sorted(os.listdir(train))]
true = float(np.mean([len(ds.truth[n]) for n in names]))
cfg = dict(run.unet_settings("cpu", len(names)), self_training_iterations=0)
os.makedirs(out, exist_ok=True)
cmd = [sys.executable, "-m", "cryopick_plugin.cli", "train-unet", "--image-dir", train,
       "--coords-file", os.path.join(u, "labels.json"), "--output-dir", os.path.join(out, "model"),
       "--particle-diameter", str(ds.diameter_px), "--device", "cpu", "--threads", "1",
       "--expected-particles", str(scale * true),
       *sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in cfg.items()), [])]
subprocess.run(cmd, check=True, stdout=open(os.path.join(out, "train.log"), "w"),
               stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH="/work/main"))
picks_file = os.path.join(out, "picks.json")
subprocess.run([sys.executable, "-m", "cryopick_plugin.cli", "pick", "--model",
                os.path.join(out, "model", "baseline_model.pt"), "--image-dir", test,
                "--output", picks_file, "--threshold", "0.02", "--threads", "1"], check=True,
               stdout=open(os.path.join(out, "pick.log"), "w"), stderr=subprocess.STDOUT,
               env=dict(os.environ, PYTHONPATH="/work/main"))
raw = read_coordinates(picks_file)
tests = [os.path.splitext(f)[0] for f in sorted(os.listdir(test))]
picks = {n: np.asarray(raw.get(n, np.zeros((0, 3)))).reshape(-1, 3) for n in tests}
o = evaluate(picks, {n: ds.truth[n] for n in tests}, ds.diameter_px / 2)["overall"]
print(json.dumps(dict(cell=cell, scale=scale, true=true, ap=o["ap"], best_f1=o["best_f1"])),
      flush=True)
