"""Benchmark cryopick pickers by label budget: accuracy, time and memory, one table.

    python -m benchmarks.run --data /tmp/sim_apof                 # simulate.py output
    python -m benchmarks.run --data demo_output/data --fractions 0.3
    python -m benchmarks.run --data my_set --micrographs my_set/mics --truth my_set/picks.star \
        --diameter-px 27 --n-train 5 --fractions 0.25              # your own micrographs

The default configuration ("cpu") is the training the benchmark matrix measured as
cryopick's default pipeline (benchmarks/matrix.py, profile "full"), and the default methods
are the matrix's: the U-Net, the classifier, their ensemble (the default pipeline) and Topaz
for 1000 updates.

For each label fraction the first --n-train micrographs (sorted by name) are the training
set, with that seeded fraction of their particles as labels; the others are the test set.
Each method runs as whole processes through the ``cryopick`` command line, so the times and
peak memory are those a user sees (ratios between methods are what to quote; absolute times
vary between machines). Picks are scored with cryopick's evaluation: one-to-one matching
within half the particle diameter; P / R / F1 at the model's own threshold, the best F1 over
thresholds, and AP over the score ranking. Prints a markdown table; writes results.json and
f1_by_fraction.png into --out.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import mrcfile  # at the top: a run without the project's venv stops here, not after training
import numpy as np

from benchmarks.datasets import Dataset
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.io.coordinates import read_coordinates, write_coordinates
from cryopick_plugin.engine.picking.metrics import evaluate

#: pick threshold of every scored run: low, so that the whole ranking counts for AP and best
#: F1; each model's own threshold is applied afterwards for P / R / F1
RANKING_THRESHOLD = 0.02

CONFIGS = {
    # the CPU training the benchmark matrix measured as cryopick's default pipeline
    # (benchmarks/matrix.py, profile "full"; about 4 min per U-Net on 2 cores): 320 updates
    # of phase 1 and 80 per round at CROPS_PER_EPOCH. Until 2026-12-05 this was 30 epochs and
    # 3 rounds of 10, which the matrix found under-trained (docs/benchmarks.md, the second
    # run) and too many rounds (the third lost AP in every regime)
    "cpu": dict(base_features=16, initial_epochs=80, self_training_iterations=2,
                retrain_epochs=20, batch_size=8),
    # seconds: only checks that the harness runs end to end (the test suite's smoke run)
    "smoke": dict(base_features=4, initial_epochs=1, self_training_iterations=1,
                  retrain_epochs=1, crops_per_image=2, batch_size=4, crop_size=64),
    # the seed's defaults, for a GPU machine
    "gpu": dict(base_features=64, initial_epochs=50, self_training_iterations=5,
                retrain_epochs=20, crops_per_image=8, batch_size=4),
}
#: U-Net crops per epoch, split over the training micrographs (--crops-per-image), where a
#: configuration does not set crops_per_image: every dataset gets the same updates per epoch
CROPS_PER_EPOCH = 32


def crops_per_image(n_train, crops_per_epoch=CROPS_PER_EPOCH):
    """train-unet's --crops-per-image for ``n_train`` training micrographs."""
    return max(1, crops_per_epoch // max(n_train, 1))


def unet_settings(config, n_train):
    """train-unet's settings of a configuration for ``n_train`` training micrographs."""
    return dict({"crops_per_image": crops_per_image(n_train)}, **CONFIGS[config])


FIXMATCH_CONFIGS = {
    # the default (compact) network, batch 32, 30 epochs: ~1-2 min of training on 2 CPU
    # cores (64 px patches apply to a ResNet: --set model.backbone=resnet18, ~15 min)
    "cpu": {"dataset.patch_size": 64, "dataset.batch_size": 32, "training.epochs": 30,
            "training.steps_per_epoch": 20, "training.early_stopping_patience": 10},
    "smoke": {"dataset.patch_size": 32, "dataset.batch_size": 8, "training.epochs": 1,
              "training.steps_per_epoch": 1, "loss.rampup_epochs": 1},
    "gpu": {},  # the seed's defaults: 128 px patches, batch 64, 50 epochs
}


def _run(cmd, log_path):
    """Run a command; return (wall seconds, peak resident memory in MB of that process)."""
    import psutil

    start = time.time()
    peak = 0
    with open(log_path, "w") as log:
        proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.1)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({log_path}):\n{' '.join(cmd)}")
    return seconds, peak / 2 ** 20


def _cli(*args):
    return [sys.executable, "-m", "cryopick_plugin.cli", *map(str, args)]


def expected_particles(ds, train):
    """The particles per micrograph a user would tell a picker (Topaz's -n, cryopick's
    --expected-particles): here the true mean count of the training micrographs."""
    return float(np.mean([len(ds.truth[n]) for n in train]))


def _run_folder(ds, train, test, labels, work, expected=None):
    """A method's run folder: train/ and test/ micrograph links and labels.json; with the
    particles per micrograph it is told (None: the training micrographs' true mean)."""
    os.makedirs(work, exist_ok=True)
    if expected is None:
        expected = expected_particles(ds, train)
    return (expected, ds.link(train, os.path.join(work, "train")),
            ds.link(test, os.path.join(work, "test")),
            ds.write_labels(labels, os.path.join(work, "labels.json")))


def run_unet(ds, train, test, labels, work, config, device, threads, extra=(), expected=None):
    """U-Net self-training; ``expected``: particles per micrograph passed to train-unet
    (None: the true mean of the training micrographs, as Topaz gets; 0: cryopick estimates)."""
    expected, train_dir, test_dir, label_file = _run_folder(ds, train, test, labels, work,
                                                            expected)
    model_dir = os.path.join(work, "model")
    cfg = unet_settings(config, len(train))
    train_s, train_mb = _run(_cli(
        "train-unet", "--image-dir", train_dir, "--coords-file", label_file,
        "--output-dir", model_dir, "--particle-diameter", ds.diameter_px,
        "--device", device, "--threads", threads, "--expected-particles", expected,
        *sum(([f"--{k.replace('_', '-')}", v] for k, v in cfg.items()), []), *extra),
        os.path.join(work, "train.log"))
    with open(os.path.join(model_dir, files.UNET_SUMMARY)) as fh:
        summary = json.load(fh)
    n_iter = len(summary["iterations"]) - 1
    rows = []
    models = [files.UNET_BASELINE] + [files.unet_iteration_model(i) for i in range(1, n_iter + 1)]
    for model in models:
        out = os.path.join(work, f"picks_{model[:-3]}.json")
        pick_s, pick_mb = _run(_cli("pick", "--model", os.path.join(model_dir, model),
                                    "--image-dir", test_dir, "--output", out,
                                    "--threshold", RANKING_THRESHOLD, "--device", device,
                                    "--threads", threads),
                               os.path.join(work, f"pick_{model[:-3]}.log"))
        # the threshold chosen at the end of training is stored in final_model.pt (the last
        # round's weights), not in the round's own file, saved before it was chosen
        threshold = summary["pick_threshold"] if model == models[-1] else \
            files.read_torch_file(os.path.join(model_dir, model))["threshold"]
        picks = read_coordinates(out)
        rows.append(dict(method="U-Net self-training",
                         model="baseline" if model.startswith("baseline") else
                         f"iteration {model.split('_')[-1][:-3]}",
                         threshold=threshold, picks=picks, train_s=train_s,
                         pick_s_per_mic=pick_s / max(len(test), 1),
                         peak_mb=max(train_mb, pick_mb)))
    return rows


def run_fixmatch(ds, train, test, labels, work, config, device, threads, extra=(),
                 expected=None):
    """Selective FixMatch: train, then pick the test micrographs with the EMA teacher.
    ``expected``: particles per micrograph (None: the true mean, as Topaz gets); used by
    ``--set loss.negatives=pu``."""
    expected, train_dir, test_dir, label_file = _run_folder(ds, train, test, labels, work,
                                                            expected)
    values = dict(FIXMATCH_CONFIGS[config], **{"dataset.expected_particles": expected})
    sets = sum((["--set", f"{k}={v}"] for k, v in values.items()), [])
    train_s, train_mb = _run(_cli(
        "train-fixmatch", "--image-dir", train_dir, "--coords-file", label_file,
        "--output-dir", work, "--exp-name", "model", "--particle-diameter", ds.diameter_px,
        "--device", device, "--threads", threads, *sets, *extra),
        os.path.join(work, "train.log"))
    model = os.path.join(work, "model", files.FIXMATCH_BEST_EMA)
    out = os.path.join(work, "picks.json")
    pick_s, pick_mb = _run(_cli("pick", "--model", model, "--image-dir", test_dir,
                                "--output", out, "--threshold", RANKING_THRESHOLD,
                                "--device", device, "--threads", threads),
                            os.path.join(work, "pick.log"))
    with open(os.path.join(work, "model", files.FIXMATCH_RESULTS)) as fh:
        res = json.load(fh)
    threshold = files.read_torch_file(model)["threshold"]
    return [dict(method="Selective FixMatch", model="EMA teacher", threshold=threshold,
                 picks=read_coordinates(out), train_s=train_s,
                 pick_s_per_mic=pick_s / max(len(test), 1), peak_mb=max(train_mb, pick_mb),
                 patch_auc=res["test"]["ema"]["auc"],
                 mask_rate=res["history"][-1]["mask"] if res["history"] else 0.0)], model


def run_rescore(ds, test, unet_row, model, work, device, threads):
    """U-Net picks (at the U-Net's own threshold, as a user would pass them on) re-scored by
    the FixMatch classifier: P / R / F1 at the classifier's threshold, AP over its scores."""
    os.makedirs(work, exist_ok=True)
    test_dir = ds.link(test, os.path.join(work, "test"))
    picks = {n: p[p[:, 2] >= unet_row["threshold"]] for n, p in unet_row["picks"].items()}
    src = ds.write_labels(picks, os.path.join(work, "unet_picks.json"))
    out = os.path.join(work, "rescored.json")
    s, mb = _run(_cli("rescore", "--model", model, "--image-dir", test_dir, "--coords", src,
                      "--output", out, "--keep-all", "--device", device, "--threads", threads),
                 os.path.join(work, "rescore.log"))
    threshold = files.read_torch_file(model)["threshold"]
    return dict(method="U-Net + FixMatch re-scoring", model="final + EMA teacher",
                threshold=threshold, picks=read_coordinates(out),
                train_s=unet_row["train_s"], pick_s_per_mic=unet_row["pick_s_per_mic"] +
                s / max(len(test), 1), peak_mb=max(unet_row["peak_mb"], mb))


def run_ensemble(ds, train, test, labels, work, unet_model, classifier_model, device,
                 threads, expected=None):
    """`cryopick combine` of the U-Net and the classifier, then picking the test micrographs.
    The threshold keeps the count (1.15 x the particles per micrograph) on the test
    micrographs, as a user's combine does on some of the micrographs to pick
    (--calibrate-dir): their picks, not their labels."""
    expected, train_dir, test_dir, label_file = _run_folder(ds, train, test, labels, work,
                                                            expected)
    model = os.path.join(work, "ensemble_model.pt")
    train_s, train_mb = _run(_cli("combine", "--unet", unet_model, "--classifier",
                                  classifier_model, "--image-dir", train_dir, "--coords",
                                  label_file, "--calibrate-dir", test_dir,
                                  "--expected-particles", expected, "--output",
                                  model, "--device", device, "--threads", threads),
                             os.path.join(work, "combine.log"))
    out = os.path.join(work, "picks.json")
    pick_s, pick_mb = _run(_cli("pick", "--model", model, "--image-dir", test_dir,
                                "--output", out, "--threshold", RANKING_THRESHOLD,
                                "--device", device, "--threads", threads),
                            os.path.join(work, "pick.log"))
    return dict(method="U-Net + classifier ensemble", model="final + EMA teacher",
                threshold=files.read_torch_file(model)["threshold"],
                picks=read_coordinates(out), train_s=train_s,
                pick_s_per_mic=pick_s / max(len(test), 1), peak_mb=max(train_mb, pick_mb))


def run_topaz_row(ds, train, test, labels, work, config, threads, venv=None):
    """Topaz (benchmarks/topaz.py: own venv, pinned versions, corrected class prior)."""
    from benchmarks import topaz

    exe = topaz.ensure_topaz_env(venv or topaz.DEFAULT_VENV)
    expected = expected_particles(ds, train)
    r = topaz.run_topaz(exe, {n: ds.micrographs[n] for n in train}, labels,
                        {n: ds.micrographs[n] for n in test}, ds.diameter_px, work, expected,
                        config, threads)
    # kept like the U-Net's picks files, for benchmarks/diagnose.py (scores are logits)
    write_coordinates(os.path.join(work, "picks_topaz.json"), r["picks"], fmt="json")
    return dict(method="Topaz", model=f"{r['config']['model']} ({topaz.TOPAZ_VERSION})",
                threshold=r["threshold"], picks=r["picks"], train_s=r["train_s"],
                pick_s_per_mic=r["pick_s_per_mic"], peak_mb=r["peak_mb"])


def distractor_share(picks, ds):
    """Share of picks landing on the simulator's carbon, contamination, aggregate or fragment
    label (None when the dataset has no label masks)."""
    hits = total = 0
    for name, p in picks.items():
        if name not in ds.label_masks or not len(p):
            continue
        with mrcfile.open(ds.label_masks[name], permissive=True) as m:
            lab = np.asarray(m.data)
        x = np.clip(np.rint(p[:, 0]).astype(int), 0, lab.shape[1] - 1)
        y = np.clip(np.rint(p[:, 1]).astype(int), 0, lab.shape[0] - 1)
        hits += int((lab[y, x] > 0).sum())
        total += len(p)
    return hits / total if total else None


def score(rows, ds, test):
    truth = {n: ds.truth[n] for n in test}
    radius = ds.diameter_px / 2
    for r in rows:
        picks = {n: r["picks"].get(n, np.zeros((0, 3))) for n in test}
        full = evaluate(picks, truth, radius)["overall"]
        at = evaluate({n: p[p[:, 2] >= r["threshold"]] for n, p in picks.items()},
                      truth, radius)["overall"]
        r.update(precision=at["precision"], recall=at["recall"], f1=at["f1"], ap=full["ap"],
                 best_f1=full.get("best_f1", 0.0), best_threshold=full.get("best_threshold"),
                 on_distractors=distractor_share(
                     {n: p[p[:, 2] >= r["threshold"]] for n, p in picks.items()}, ds))
        del r["picks"]
    return rows


def table(results, meta):
    lines = [f"Dataset: {meta['data']} ({meta['n_train']} training, {meta['n_test']} test "
             f"micrographs, particle diameter {meta['diameter_px']:.1f} px, "
             f"{meta['n_test_particles']} test particles); config {meta['config']} "
             f"(U-Net {meta['config_values']} {meta['unet_args']}; FixMatch "
             f"{meta.get('fixmatch_values')} {meta.get('fixmatch_args', '')}), device "
             f"{meta['device']}", "",
             "| labels | method | model | P | R | F1 | AP | best F1 | on junk | patch AUC | "
             "mask | train s | pick s/mic | peak MB |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def opt(v, fmt):
        return "-" if v is None else format(v, fmt)

    for r in results:
        lines.append(
            f"| {100 * r['fraction']:.0f}% ({r['n_labels']}) | {r['method']} | {r['model']} | "
            f"{r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['ap']:.3f} | "
            f"{r['best_f1']:.3f} | {opt(r.get('on_distractors'), '.1%')} | "
            f"{opt(r.get('patch_auc'), '.3f')} | {opt(r.get('mask_rate'), '.0%')} | "
            f"{r['train_s']:.0f} | {r['pick_s_per_mic']:.2f} | {r['peak_mb']:.0f} |")
    return "\n".join(lines)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    models = sorted({(r["method"], r["model"]) for r in results})
    for method, model in models:
        rs = sorted((r for r in results if (r["method"], r["model"]) == (method, model)),
                    key=lambda r: r["fraction"])
        ax.plot([r["fraction"] for r in rs], [r["f1"] for r in rs], "o-", label=f"{model}")
    ax.set(xlabel="fraction of training particles labelled", ylabel="F1 (model threshold)",
           ylim=(0, 1), title="F1 by label budget")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="dataset folder (simulate.py or demo data)")
    p.add_argument("--micrographs", help="micrograph folder (default DATA/micrographs)")
    p.add_argument("--truth", help="truth coordinates (default: found in DATA)")
    p.add_argument("--diameter-px", type=float, help="particle diameter (default: from DATA)")
    p.add_argument("--n-train", type=int, default=4)
    p.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.2, 0.5])
    p.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="benchmark_output")
    p.add_argument("--methods", nargs="+", default=["unet", "fixmatch", "ensemble", "topaz"],
                   choices=["unet", "fixmatch", "rescore", "ensemble", "topaz"],
                   help="what to run (default: both members, the ensemble of the two, which is "
                        "cryopick's default pipeline, and Topaz); rescore: the U-Net's picks "
                        "re-scored by the classifier")
    p.add_argument("--fixmatch-args", default="",
                   help="extra train-fixmatch flags, e.g. '--set loss.negatives=none'")
    p.add_argument("--topaz-venv",
                   help="virtual environment for Topaz, created on first use (default "
                        "~/.cache/cryopick/topaz-<version>-venv or $CRYOPICK_TOPAZ_VENV)")
    p.add_argument("--unet-args", default="",
                   help="extra train-unet flags, e.g. '--negative-quantile 0' for the seed's rule")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    ds = Dataset.from_folder(args.data, args.micrographs, args.truth, args.diameter_px)
    train, test = ds.split(args.n_train)
    if not test:
        raise SystemExit("no test micrographs: lower --n-train")
    results = []
    for fraction in args.fractions:
        labels = ds.labels(train, fraction, args.seed)
        n_labels = sum(len(v) for v in labels.values())
        print(f"label fraction {fraction}: {n_labels} labels on {len(labels)} micrographs",
              flush=True)
        work = os.path.join(args.out, f"labels_{int(round(100 * fraction)):02d}")
        rows = unet_rows = []
        pair = "rescore" in args.methods or "ensemble" in args.methods  # both models
        if "unet" in args.methods or pair:
            unet_rows = run_unet(ds, train, test, labels, os.path.join(work, "unet"),
                                 args.config, args.device, args.threads, args.unet_args.split())
            rows = list(unet_rows) if "unet" in args.methods else []
        if "fixmatch" in args.methods or pair:
            fm_rows, fm_model = run_fixmatch(ds, train, test, labels,
                                             os.path.join(work, "fixmatch"), args.config,
                                             args.device, args.threads,
                                             args.fixmatch_args.split())
            rows += fm_rows if "fixmatch" in args.methods else []
            if "rescore" in args.methods:
                rows.append(run_rescore(ds, test, unet_rows[-1], fm_model,
                                        os.path.join(work, "rescore"), args.device,
                                        args.threads))
            if "ensemble" in args.methods:
                rows.append(run_ensemble(ds, train, test, labels, os.path.join(work, "ensemble"),
                                         os.path.join(work, "unet", "model", files.UNET_FINAL),
                                         fm_model, args.device, args.threads))
        if "topaz" in args.methods:
            rows.append(run_topaz_row(ds, train, test, labels, os.path.join(work, "topaz"),
                                      args.config, args.threads, args.topaz_venv))
        for r in score(rows, ds, test):
            r.update(fraction=fraction, n_labels=n_labels)
            results.append(r)
            print(f"   {r['model']}: F1 {r['f1']:.3f} AP {r['ap']:.3f}", flush=True)
    meta = dict(data=os.path.abspath(args.data), n_train=len(train), n_test=len(test),
                diameter_px=ds.diameter_px, config=args.config, device=args.device,
                n_test_particles=int(sum(len(ds.truth[n]) for n in test)),
                config_values=unet_settings(args.config, len(train)),
                unet_args=args.unet_args,
                fixmatch_values=FIXMATCH_CONFIGS[args.config], fixmatch_args=args.fixmatch_args,
                methods=args.methods)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(dict(meta=meta, results=results), fh, indent=1)
    plot(results, os.path.join(args.out, "f1_by_fraction.png"))
    print("\n" + table(results, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
