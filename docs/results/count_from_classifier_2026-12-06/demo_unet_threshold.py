"""Usage: demo_unet_threshold.py DEMO_OUTPUT. The demo's U-Net alone: F1 at its threshold (the classifier's count kept on the
micrographs without labels) against the old rule's (its own count on its final picks)."""
import glob, json, os, sys
import numpy as np
sys.path.insert(0, "/work/main")
import torch
torch.set_num_threads(1)
from cryopick_plugin.engine.io.coordinates import read_coordinates, without_labels
from cryopick_plugin.engine.io.images import read_micrograph
from cryopick_plugin.engine.picking.metrics import evaluate
from cryopick_plugin.engine.picking.thresholds import (count_from_labels, spread_sample,
                                                     threshold_from_count)
from cryopick_plugin.engine.unet.picker import UNetPicker

demo = sys.argv[1] if len(sys.argv) > 1 else "demo_output"
run = glob.glob(f"{demo}/ScipionUserData/projects/cryopick_demo/Runs/*TrainUNet")[0]
model = glob.glob(f"{run}/extra/**/final_model.pt", recursive=True)[0]
summary = json.load(open(glob.glob(f"{run}/extra/**/training_summary.json", recursive=True)[0]))
picker = UNetPicker.load(model)
data = f"{demo}/data"
names = sorted(os.path.splitext(f)[0] for f in os.listdir(f"{data}/micrographs"))
images = {n: read_micrograph(f"{data}/micrographs/{n}.mrc") for n in names}
labels = read_coordinates(f"{data}/labels/coordinates.json")
truth = read_coordinates(f"{data}/truth/coordinates.json")
picks = {n: picker.pick(images[n], threshold=0.05) for n in names}
radius = 37.5  # the demo's match radius (half the diameter in pixels)
unseen = spread_sample(without_labels(names, labels), 8)
old_count = count_from_labels(picks.get, {n: labels[n] for n in labels}, radius)
old = threshold_from_count(picks.get, unseen, old_count, print)
new = summary["pick_threshold"]
f1 = lambda t: evaluate({n: p[p[:, 2] >= t] for n, p in picks.items()}, truth, radius)["overall"]
full = evaluate(picks, truth, radius)["overall"]
print(f"classifier's count {summary['expected_particles']:.1f} ({summary.get('threshold_origin')}): "
      f"threshold {new:.3f} F1 {f1(new)['f1']:.3f}; own count {old_count:.1f}: threshold "
      f"{old:.3f} F1 {f1(old)['f1']:.3f}; best F1 {full['best_f1']:.3f} AP {full['ap']:.3f}; true 56")
