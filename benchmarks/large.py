"""Picking time and peak memory on a 4k x 4k micrograph, per method and model size.

    python -m benchmarks.large --out benchmark_output/large [--size 4096] [--diameter-px 160]

Writes one synthetic micrograph of the given size (noise plus particle-sized blobs: the
content does not change the cost), makes untrained models of each kind (the weights do not
change the cost either: U-Net base 16 and base 64, the FixMatch ResNet18 at 64 and 128 px
patches) and times ``cryopick pick`` on it as a whole process, with its peak resident memory.
Prints a markdown table.
"""
import argparse
import os
import sys

import numpy as np

from benchmarks.run import _cli, _run


def _micrograph(path, size, diameter_px, seed=0):
    from cryopick_plugin.engine.io.images import write_mrc

    rng = np.random.default_rng(seed)
    img = rng.normal(0, 1, (size, size)).astype(np.float32)
    yy, xx = np.mgrid[-diameter_px:diameter_px + 1, -diameter_px:diameter_px + 1]
    blob = np.exp(-(xx ** 2 + yy ** 2) / (2 * (diameter_px / 4) ** 2)).astype(np.float32)
    for x, y in rng.uniform(diameter_px, size - diameter_px - 1, (300, 2)).astype(int):
        img[y - diameter_px:y + diameter_px + 1, x - diameter_px:x + diameter_px + 1] -= blob
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_mrc(path, img, 1.0)


def _models(folder, diameter_px):
    import torch

    from cryopick_plugin.engine.fixmatch.network import build_classifier
    from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
    from cryopick_plugin.engine.picking.scale import DEFAULT_WORKING_DIAMETER
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    torch.manual_seed(0)
    out = {}
    for base in (16, 64):
        path = os.path.join(folder, f"unet_base{base}.pt")
        UNetPicker(UNet(base_features=base), diameter_px, DEFAULT_WORKING_DIAMETER).save(path)
        out[f"U-Net base {base}"] = path
    for patch in (64, 128):
        path = os.path.join(folder, f"fixmatch_patch{patch}.pt")
        PatchClassifier(build_classifier(), "resnet18", 0.3, diameter_px,
                        DEFAULT_WORKING_DIAMETER, patch).save(path)
        out[f"FixMatch ResNet18, {patch} px patches"] = path
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join("benchmark_output", "large"))
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--diameter-px", type=float, default=160.0,
                   help="particle diameter in pixels (160: a 160 A particle at 1 A/px)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    mic_dir = os.path.join(args.out, "micrographs")
    _micrograph(os.path.join(mic_dir, "large.mrc"), args.size, int(args.diameter_px))
    rows = []
    for name, model in _models(args.out, args.diameter_px).items():
        tag = os.path.basename(model)[:-3]
        s, mb = _run(_cli("pick", "--model", model, "--image-dir", mic_dir, "--output",
                          os.path.join(args.out, f"{tag}.json"), "--threshold", 0.5,
                          "--threads", args.threads), os.path.join(args.out, f"{tag}.log"))
        rows.append((name, s, mb))
        print(f"{name}: {s:.1f} s, {mb:.0f} MB", flush=True)
    print(f"\n{args.size} x {args.size} micrograph, particle {args.diameter_px:.0f} px "
          f"(binned to 24 px), {args.threads} threads\n")
    print("| model | pick s / micrograph | peak MB |\n|---|---:|---:|")
    for name, s, mb in rows:
        print(f"| {name} | {s:.1f} | {mb:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
