"""Offline: self-training's rounds again from a finished matrix cell's baseline with a smaller
learning rate for the rounds (fine-tuning: the baseline's weights move less, so what phase 1
learnt about the hard background, ignored in the rounds, is less forgotten), then the
ensemble with the cell's classifier, as the matrix makes it: rest.py's "ignored" arm (the same
start: the baseline's weights, the last checkpoint's random state) at another rate.
Usage: lr.py OUT_DIR RATE CELL DATA [CELL DATA ...]; prints one JSON line per cell."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reliable_negatives_2026-12-06"))
from rest import run  # noqa: E402

if __name__ == "__main__":
    out_root, rate, pairs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    for cell, data in zip(pairs[::2], pairs[1::2]):
        run(out_root, cell, data, arms=[(f"lr_{rate:g}", "ignored", rate)])
