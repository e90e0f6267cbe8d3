"""How much phase 1's loss fell in each U-Net run (1 - mean of the last 8 epochs / mean of the
first 8, a tenth of 80 each): the usual matrix without a count (/work/exp/s40/est) and the fresh
micrographs (/work/exp/s40/fresh); the figures quoted for "Phase 1 twice as long"."""
import glob

import numpy as np

for f in sorted(glob.glob("/work/exp/s40/est/*/labels_*/seed_*/unet/train.log")
                + glob.glob("/work/exp/s40/fresh/*/labels_*/seed_*/unet/train.log")):
    losses = []
    for line in open(f):
        if line.startswith("Self-Training"):
            break
        if line.startswith("Epoch "):
            losses.append(float(line.split("Loss:")[1]))
    k = max(1, len(losses) // 10)
    drop = 1 - np.mean(losses[-k:]) / np.mean(losses[:k])
    print(f"{f.split('/unet')[0].replace('/work/exp/s40/', ''):40s} {len(losses)} epochs, "
          f"loss fell {100 * drop:.0f}%")
