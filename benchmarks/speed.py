"""Picking speed and memory side by side: cryopick's U-Net, its classifier and Topaz.

    python -m benchmarks.speed [--out benchmark_output/speed] [--threads 2] [--quick]

The same synthetic micrographs for every picker, at two samplings of one specimen: 1k x 1k
with a 27 px particle (the binned real set of issue 11: EMPIAR-10017 at 7.08 A/px) and
4k x 4k with the same particle at 108 px (the unbinned micrograph). Each picker runs as a
whole process over all micrographs of a size, as a user would run it, so start-up, reading,
binning and writing are counted: seconds per micrograph (wall and CPU), how many times as
many micrographs per second as Topaz, and the peak resident memory of the process tree.

- cryopick U-Net: base 16 (the CPU default), `cryopick pick`.
- cryopick classifier, compact network: `cryopick pick`, the whole micrograph in one pass
  (the same scores as patch by patch on its 4 px grid).
- cryopick ensemble: both maps of the two above, averaged (the default pipeline).
- cryopick classifier, ResNet18 on 64 px patches (the seed's network at the CPU patch size),
  patch by patch on a grid: minutes per micrograph, so only with ``--resnet18`` and at 1k.
- Topaz 0.3.20: `topaz preprocess` (binning to ~14 px per particle + its normalisation) and
  `topaz extract` with a resnet8 (units 32: the architecture `topaz train` makes by default),
  trained for a few updates first (the weights do not change the cost).

Weights are untrained for cryopick too: the cost of a pass does not depend on them. With a
GPU visible, every picker is timed on it as well.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from benchmarks import topaz
from cryopick_plugin.engine.picking.views import PICK_VIEWS

#: (micrograph side px, particle diameter px, micrographs): one specimen at two samplings.
#: Twelve 1k micrographs: each process's start-up (importing torch, ~2-3 s for every picker)
#: weighs on a short run as it does not on the thousands a user picks; with four it was a
#: third of the U-Net's time (2.1 s per micrograph, of which 0.9 s picking)
SIZES = ((1024, 27.0, 12), (4096, 108.0, 2))
QUICK_SIZES = ((1024, 27.0, 2), (4096, 108.0, 1))
UNET = "cryopick U-Net (base 16)"
CLASSIFIER = "cryopick classifier (compact, one pass)"
ENSEMBLE = "cryopick ensemble (U-Net + compact classifier)"
RESNET_CLASSIFIER = "cryopick classifier (ResNet18, 64 px patches)"
TOPAZ = "Topaz (preprocess + extract, resnet8)"


def write_micrographs(folder, size, diameter_px, count, seed=0):
    """{name: path} of noisy micrographs holding dark particle-sized blobs (~20% of the area),
    and {name: (N, 2) centres}."""
    from cryopick_plugin.engine.io.images import write_mrc

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    r = int(diameter_px)
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    blob = np.exp(-(xx ** 2 + yy ** 2) / (2 * (diameter_px / 4) ** 2)).astype(np.float32)
    n = int(0.2 * size ** 2 / (np.pi * diameter_px ** 2 / 4))
    paths, centres = {}, {}
    for i in range(count):
        img = rng.normal(0, 1, (size, size)).astype(np.float32)
        xy = rng.uniform(r, size - r - 1, (n, 2)).astype(int)
        for x, y in xy:
            img[y - r:y + r + 1, x - r:x + r + 1] -= blob
        name = f"mic_{i:03d}"
        paths[name] = os.path.join(folder, f"{name}.mrc")
        write_mrc(paths[name], img, 1.0)
        centres[name] = xy.astype(np.float64)
    return paths, centres


def cryopick_models(folder, diameter_px):
    """{picker label: model file} of untrained cryopick models for this particle size."""
    import torch

    from cryopick_plugin.engine.ensemble import EnsemblePicker
    from cryopick_plugin.engine.fixmatch.network import CompactNet, build_classifier
    from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
    from cryopick_plugin.engine.picking.scale import DEFAULT_WORKING_DIAMETER
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    torch.manual_seed(0)
    os.makedirs(folder, exist_ok=True)
    unet = os.path.join(folder, "unet_base16.pt")
    UNetPicker(UNet(base_features=16), diameter_px, DEFAULT_WORKING_DIAMETER).save(unet)
    paths = {UNET: unet}
    for label, backbone, patch in ((CLASSIFIER, "compact", CompactNet.WINDOW),
                                   (RESNET_CLASSIFIER, "resnet18", 64)):
        paths[label] = os.path.join(folder, f"classifier_{backbone}.pt")
        PatchClassifier(build_classifier(backbone), backbone, 0.3, diameter_px,
                        DEFAULT_WORKING_DIAMETER, patch).save(paths[label])
    paths[ENSEMBLE] = os.path.join(folder, "ensemble.pt")
    EnsemblePicker(UNetPicker.load(unet), PatchClassifier.load(paths[CLASSIFIER])).save(
        paths[ENSEMBLE])
    return paths


def time_cryopick(model, mic_dir, work, count, threads, device, views=PICK_VIEWS):
    """One `cryopick pick` process over the folder: per-micrograph wall and CPU s, peak MB."""
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "picks.json")
    cmd = [sys.executable, "-m", "cryopick_plugin.cli", "pick", "--model", model,
           "--image-dir", mic_dir, "--output", out, "--threads", threads, "--device", device,
           "--views", views]
    seconds, mb = topaz._run(cmd, os.path.join(work, "pick.log"), topaz._env(threads))
    return dict(s=seconds / count, cpu_s=topaz._run.last_cpu_s / count, peak_mb=mb)


def time_topaz(exe, train, labels, mics, diameter_px, work, threads, device):
    """Topaz trained for a few updates on ``train``, then preprocess + extract on ``mics``."""
    config = dict(topaz.CONFIGS["smoke"], device=0 if device == "cuda" else -1)
    expected = float(np.mean([len(v) for v in labels.values()])) * 2
    res = topaz.run_topaz(exe, train, labels, mics, diameter_px, work, expected,
                          config=config, threads=threads)
    return dict(s=res["pick_s_per_mic"], cpu_s=res["pick_cpu_s_per_mic"],
                peak_mb=res["pick_peak_mb"])


def measure(out, sizes, threads, devices, resnet18, topaz_exe, views=(1, PICK_VIEWS)):
    rows = []
    for size, diameter, count in sizes:
        base = os.path.join(out, f"{size}px")
        mics, centres = write_micrographs(os.path.join(base, "micrographs"), size, diameter,
                                          count)
        models = cryopick_models(os.path.join(base, "models"), diameter)
        # Topaz's training set: two 1k-like micrographs of the same particle, half labelled
        train, train_centres = write_micrographs(os.path.join(base, "topaz_train"), 1024,
                                                 diameter, 2, seed=1)
        labels = {n: c[::2] for n, c in train_centres.items()}
        for device in devices:
            for label in (UNET, CLASSIFIER, ENSEMBLE, RESNET_CLASSIFIER, TOPAZ):
                row = dict(size=size, diameter_px=diameter, micrographs=count, device=device,
                           picker=label)
                work = os.path.join(base, device, label.split(" (")[0].replace(" ", "_"))
                os.makedirs(work, exist_ok=True)
                if label == RESNET_CLASSIFIER and (size > 2048 or not resnet18):
                    rows.append(dict(row, skipped="not run (minutes per micrograph; "
                                                  "--resnet18 times it at 1k)"))
                    continue
                start = time.time()
                if label == TOPAZ:
                    row.update(time_topaz(topaz_exe, train, labels, mics, diameter, work,
                                          threads, device))
                    done = [row]
                else:  # once per number of views (cryopick pick --views)
                    done = []
                    for v in views:
                        one = dict(row, picker=f"{label}, {v} view{'s' if v > 1 else ''}")
                        one.update(time_cryopick(models[label],
                                                 os.path.dirname(mics["mic_000"]),
                                                 os.path.join(work, f"views_{v}"), count,
                                                 threads, device, v))
                        done.append(one)
                for one in done:
                    print(f"{size} px, {device}, {one['picker']}: {one['s']:.1f} s per "
                          f"micrograph, {one['peak_mb']:.0f} MB ({time.time() - start:.0f} s)",
                          flush=True)
                rows += done
    return rows


def table(rows):
    """Markdown: one line per picker, size and device, with the speed ratio to Topaz."""
    ref = {(r["size"], r["device"]): r["s"] for r in rows
           if r["picker"] == TOPAZ and "s" in r}
    lines = ["| micrograph | particle | device | picker | s / micrograph | CPU s / micrograph "
             "| micrographs per s vs Topaz | peak MB |", "|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        head = (f"| {r['size']}^2 ({r['micrographs']}) | {r['diameter_px']:.0f} px | "
                f"{r['device']} | {r['picker']} |")
        if "s" not in r:
            lines.append(f"{head} {r['skipped']} | | | |")
            continue
        topaz_s = ref.get((r["size"], r["device"]))
        ratio = f"{topaz_s / r['s']:.1f}x" if topaz_s else "-"
        lines.append(f"{head} {r['s']:.1f} | {r['cpu_s']:.1f} | {ratio} | "
                     f"{r['peak_mb']:.0f} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join("benchmark_output", "speed"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true",
                   help="fewer micrographs per size (2 at 1k, 1 at 4k)")
    p.add_argument("--resnet18", action="store_true",
                   help="also time the ResNet18 classifier on the 1k micrographs (minutes each)")
    p.add_argument("--topaz-venv", default=topaz.DEFAULT_VENV,
                   help="virtual environment for Topaz, created on first use")
    p.add_argument("--views", type=int, nargs="+", default=sorted({1, PICK_VIEWS}),
                   help="time cryopick's pickers at these numbers of views (cryopick pick "
                        "--views; default: one pass and the default)")
    args = p.parse_args(argv)

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    exe = topaz.ensure_topaz_env(args.topaz_venv)
    start, load = time.time(), os.getloadavg()[0]
    rows = measure(args.out, QUICK_SIZES if args.quick else SIZES, args.threads, devices,
                   args.resnet18, exe, args.views)
    views = " --views " + " ".join(map(str, args.views))
    md = (f"`python -m benchmarks.speed{' --quick' if args.quick else ''}{views}` on "
          f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, {args.threads} threads, "
          f"wall time {(time.time() - start) / 60:.1f} min, load average {load:.1f} before and "
          f"{os.getloadavg()[0]:.1f} after (above 2, other jobs shared the cores: compare "
          f"the CPU seconds)\n\n{table(rows)}\n")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "speed.md"), "w") as fh:
        fh.write(md)
    with open(os.path.join(args.out, "speed.json"), "w") as fh:
        json.dump(rows, fh, indent=1)
    print("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
