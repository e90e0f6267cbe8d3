"""The ``cryopick`` command line, on the same engine as the Scipion protocols.

    cryopick demo-data OUT             write the built-in synthetic demo dataset
    cryopick evaluate --picks P --truth T --radius R
                                       precision / recall / F1 / AP of picks against truth
    cryopick train-unet --image-dir D --coords-file C --output-dir O [seed flags]
                                       U-Net self-training (seed 000)
    cryopick train-fixmatch --config C --exp-name N --device DEV
                                       Selective FixMatch patch classifier (seed 001)
    cryopick fixmatch-config OUT.yaml  write the default FixMatch configuration
    cryopick pick --model M --image-dir D --output picks.star
                                       pick particles with a trained model (either kind)
    cryopick rescore --model M --image-dir D --coords C --output O
                                       score another picker's coordinates with the classifier
                                       and keep those above the threshold

Bad input ends with one line ``cryopick: error: <file>: <problem>`` and exit status 2.
"""
import argparse
import json
import sys

import numpy as np

from .engine.errors import CryopickInputError


def _cmd_demo_data(args):
    from .engine.demo_data import make_demo_dataset

    manifest = make_demo_dataset(args.out, n_micrographs=args.n_micrographs,
                                 size=(args.height, args.width), seed=args.seed,
                                 label_fraction=args.label_fraction)
    print(f"Wrote {len(manifest['micrographs'])} micrographs with {manifest['n_true']} true "
          f"particles ({manifest['n_labelled']} labelled) to {args.out}")
    return 0


def _cmd_evaluate(args):
    from .engine.io.coordinates import read_coordinates
    from .engine.io.plots import plot_precision_recall
    from .engine.picking.metrics import evaluate, format_table

    if (args.radius is None) == (args.diameter is None):
        raise CryopickInputError("give exactly one of --radius or --diameter (pixels)")
    radius = args.radius if args.radius is not None else args.diameter / 2.0
    truth = read_coordinates(args.truth, args.truth_format)
    picks = read_coordinates(args.picks, args.picks_format)
    unknown = sorted(set(picks) - set(truth))
    if unknown and not args.allow_extra:
        raise CryopickInputError(
            f"{args.picks}: picks for micrographs absent from the truth {unknown[:5]}; "
            "pass --allow-extra to ignore them")
    picks = {k: v for k, v in picks.items() if k in truth}
    result = evaluate(picks, truth, radius)
    print(format_table(result, title="cryopick evaluate"))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=1)
    if args.plot:
        plot_precision_recall(result, args.plot)
    return 0


def _load_images(folder, pattern=None):
    from .engine.io.images import list_images, micrograph_name, read_micrograph

    return {micrograph_name(p): read_micrograph(p) for p in list_images(folder, pattern)}


def _load_labels(path, fmt, shapes, what="coordinates"):
    from .engine.io.coordinates import assign_to_micrographs, format_report, read_coordinates

    tables = read_coordinates(path, fmt)
    assigned, report = assign_to_micrographs(
        tables, shapes, source=path)
    for line in format_report(report):
        print(f"{what}: {line}")
    return {k: v for k, v in assigned.items() if len(v)}


def _cmd_train_unet(args):
    from .engine.device import resolve_device, set_threads
    from .engine.unet.config import from_args
    from .engine.unet.training import train_unet

    cfg = from_args(args)
    cfg.device = resolve_device(cfg.device)
    cfg.validate()  # before reading thousands of micrographs
    images = _load_images(args.image_dir, args.pattern)
    labels = _load_labels(args.coords_file, args.coords_format,
                          {k: v.shape for k, v in images.items()})
    val_images = val_labels = None
    if args.val_image_dir or args.val_coords_file:
        if not (args.val_image_dir and args.val_coords_file):
            raise CryopickInputError("give both --val-image-dir and --val-coords-file")
        val_images = _load_images(args.val_image_dir)
        val_labels = _load_labels(args.val_coords_file, "auto",
                                  {k: v.shape for k, v in val_images.items()}, "validation")
    print(f"{len(images)} micrographs, {sum(len(v) for v in labels.values())} labelled "
          f"particles on {len(labels)} of them", flush=True)
    set_threads(args.threads)
    train_unet(images, labels, args.output_dir, cfg, val_images, val_labels, resume=args.resume)
    return 0


def _cmd_train_fixmatch(args):
    import os

    from .engine.device import resolve_device, set_threads
    from .engine.fixmatch.config import FixMatchConfig, load_config, set_value
    from .engine.fixmatch.training import train_fixmatch

    cfg = load_config(args.config) if args.config else FixMatchConfig()
    d = cfg.dataset
    for flag in ("image_dir", "coords_file", "val_image_dir", "val_coords_file",
                 "test_image_dir", "test_coords_file", "particle_diameter", "pixel_size"):
        if getattr(args, flag) is not None:
            setattr(d, flag, getattr(args, flag))
    for item in args.set or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise CryopickInputError(f"--set {item}: expected section.key=value")
        cfg = set_value(cfg, key, value)
    if args.device:
        cfg.training.device = args.device
    if args.threads is not None:
        cfg.training.threads = args.threads
    cfg.training.device = resolve_device(cfg.training.device)
    if not (d.image_dir and d.coords_file):
        raise CryopickInputError("no training data: set dataset.image_dir and dataset.coords_file "
                                 "in the config or pass --image-dir and --coords-file")
    cfg.validate()  # before reading thousands of micrographs
    paths = _image_paths(d.image_dir, d.pattern or None)
    labels = _load_labels(d.coords_file, d.coords_format, _shapes(paths))
    val = test = (None, None)
    if d.val_image_dir or d.val_coords_file:
        val = _labelled_set(d.val_image_dir, d.val_coords_file, "validation")
    if d.test_image_dir or d.test_coords_file:
        test = _labelled_set(d.test_image_dir, d.test_coords_file, "test")
    print(f"{len(paths)} micrographs, {sum(len(v) for v in labels.values())} labelled "
          f"particles on {len(labels)} of them", flush=True)
    set_threads(cfg.training.threads)
    out = os.path.join(args.output_dir, args.exp_name)
    train_fixmatch(paths, labels, out, cfg, val[0], val[1], test[0], test[1],
                   resume=args.resume)
    return 0


def _image_paths(folder, pattern=None):
    from .engine.io.images import list_images, micrograph_name

    return {micrograph_name(p): p for p in list_images(folder, pattern)}


def _shapes(paths):
    from .engine.io.images import micrograph_shape

    return {n: micrograph_shape(p) for n, p in paths.items()}


def _labelled_set(image_dir, coords_file, what):
    if not (image_dir and coords_file):
        raise CryopickInputError(f"give both the {what} micrograph folder and its coordinates")
    paths = _image_paths(image_dir)
    return paths, _load_labels(coords_file, "auto", _shapes(paths), what)


def _cmd_fixmatch_config(args):
    import shutil

    shutil.copyfile(_default_config_path(), args.out)
    print(f"Wrote the default FixMatch configuration to {args.out}")
    return 0


def _default_config_path():
    import os

    return os.path.join(os.path.dirname(__file__), "configs", "selective_fixmatch.yaml")


def _cmd_rescore(args):
    from .engine.device import resolve_device, set_threads
    from .engine.fixmatch.picker import PatchClassifier
    from .engine.picking.scale import box_size_for
    from .engine.io.coordinates import write_coordinates
    from .engine.io.images import read_micrograph

    device = resolve_device(args.device)
    model = PatchClassifier.load(args.model, device)
    threshold = model.threshold if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1:
        raise CryopickInputError(f"--threshold must be within [0, 1] (got {threshold})")
    paths = _image_paths(args.image_dir, args.pattern)
    tables = _load_labels(args.coords, args.coords_format, _shapes(paths), "input")
    set_threads(args.threads)
    kept, n_in = {}, 0
    for i, (name, coords) in enumerate(sorted(tables.items()), start=1):
        scores = model.score_coordinates(read_micrograph(paths[name]), coords,
                                         args.pixel_size or None, device, args.batch_size)
        rows = np.column_stack([coords[:, :2], scores])
        keep = rows[:, 2] >= threshold
        kept[name] = rows if args.keep_all else rows[keep]
        n_in += len(rows)
        print(f"[{i}/{len(tables)}] {name}: {int(keep.sum())} of {len(rows)} kept", flush=True)
    write_coordinates(args.output, kept, fmt=args.format,
                      box_size=args.box_size or box_size_for(model.diameter_for(args.pixel_size or None)))
    print(f"{sum(len(v) for v in kept.values())} of {n_in} coordinates written to {args.output}")
    return 0


def _cmd_pick(args):
    import time

    from .engine.io.coordinates import write_coordinates
    from .engine.io.images import list_images, micrograph_name, read_micrograph
    from .engine.device import resolve_device, set_threads
    from .engine.pickers import load_picker
    from .engine.picking.scale import box_size_for

    device = resolve_device(args.device)
    picker = load_picker(args.model, device)
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise CryopickInputError(f"--threshold must be within [0, 1] (got {args.threshold})")
    files = list_images(args.image_dir, args.pattern)
    set_threads(args.threads)
    batch_size = args.batch_size or (256 if hasattr(picker, "patch_size") else 4)
    picks = {}
    for i, path in enumerate(files, start=1):
        start = time.time()
        name = micrograph_name(path)
        picks[name] = picker.pick(read_micrograph(path), args.pixel_size or None,
                                  args.threshold, device, batch_size)
        print(f"[{i}/{len(files)}] {name}: {len(picks[name])} particles "
              f"({time.time() - start:.1f} s)", flush=True)
    written = write_coordinates(args.output, picks, fmt=args.format,
                                box_size=args.box_size or box_size_for(picker.diameter_for(args.pixel_size or None)))
    print(f"{sum(len(v) for v in picks.values())} particles written to "
          f"{args.output if len(written) != 1 else written[0]}")
    return 0


def build_parser():
    from .engine.unet import config as unet_config

    parser = argparse.ArgumentParser(prog="cryopick", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write the synthetic demo dataset")
    p.add_argument("out", help="output folder")
    p.add_argument("--n-micrographs", type=int, default=6)
    p.add_argument("--height", type=int, default=768)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--label-fraction", type=float, default=0.3,
                   help="fraction of the particles of the labelled micrographs kept as labels")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo_data)

    p = sub.add_parser("evaluate", help="particle-level precision / recall / F1 / AP")
    p.add_argument("--picks", required=True, help="picked coordinates (file or folder)")
    p.add_argument("--truth", required=True, help="true coordinates (file or folder)")
    p.add_argument("--radius", type=float, help="match radius in pixels")
    p.add_argument("--diameter", type=float,
                   help="particle diameter in pixels (radius = diameter / 2)")
    p.add_argument("--picks-format", default="auto")
    p.add_argument("--truth-format", default="auto")
    p.add_argument("--allow-extra", action="store_true",
                   help="ignore picks on micrographs that have no truth")
    p.add_argument("--out", help="write the full result as JSON")
    p.add_argument("--plot", help="write a precision-recall plot (PNG)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("train-unet", help="U-Net self-training picker (seed 000)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--image-dir", required=True, help="training micrographs (labelled and unlabelled)")
    p.add_argument("--coords-file", required=True, help="hand-picked coordinates (file or folder)")
    p.add_argument("--output-dir", required=True)
    unet_config.add_flags(p)  # every setting of UNetTrainConfig, with its default
    p.add_argument("--fixed-threshold", dest="auto_threshold", action="store_false",
                   help="same as --no-auto-threshold: keep --pick-threshold")
    p.add_argument("--val-image-dir", help="validation micrographs (fully labelled)")
    p.add_argument("--val-coords-file", help="all particles of the validation micrographs")
    p.add_argument("--coords-format", default="auto")
    p.add_argument("--pattern", help="glob on image file names")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    p.add_argument("--resume", action="store_true",
                   help="continue after the last finished phase in --output-dir "
                        "(last_checkpoint.pt; same settings required)")
    p.set_defaults(func=_cmd_train_unet)

    p = sub.add_parser("pick", help="pick particles with a trained model",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="final_model.pt of train-unet")
    p.add_argument("--image-dir", required=True)
    p.add_argument("--output", required=True,
                   help="picks.star or picks.json (one file), or a folder for csv/box/txt")
    p.add_argument("--format", choices=["star", "json", "csv", "box", "txt"],
                   help="output format (default: from the --output extension)")
    p.add_argument("--threshold", type=float, help="score threshold (default: the model's)")
    p.add_argument("--pixel-size", type=float, default=0.0, help="A/px of these micrographs")
    p.add_argument("--box-size", type=int, default=0, help="for .box/.csv output (0: 1.5 diameters)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=0,
                   help="tiles (U-Net) or patches (classifier) per inference batch (0: 4 / 256)")
    p.add_argument("--pattern", help="glob on image file names")
    p.add_argument("--threads", type=int, default=0)
    p.set_defaults(func=_cmd_pick)

    p = sub.add_parser("train-fixmatch", help="Selective FixMatch patch classifier (seed 001)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--config", help="YAML configuration (default: the built-in one; see "
                                    "cryopick fixmatch-config)")
    p.add_argument("--exp-name", default="selective_fixmatch",
                   help="run name: outputs go to OUTPUT_DIR/EXP_NAME")
    p.add_argument("--device", help="cpu, cuda:0, ... or auto (default: training.device)")
    p.add_argument("--output-dir", default="experiments")
    p.add_argument("--image-dir", help="overrides dataset.image_dir")
    p.add_argument("--coords-file", help="overrides dataset.coords_file")
    p.add_argument("--val-image-dir")
    p.add_argument("--val-coords-file")
    p.add_argument("--test-image-dir")
    p.add_argument("--test-coords-file")
    p.add_argument("--particle-diameter", type=float, help="px; overrides dataset.particle_diameter")
    p.add_argument("--pixel-size", type=float)
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one configuration key (repeatable)")
    p.add_argument("--threads", type=int, help="CPU threads; overrides training.threads")
    p.add_argument("--resume", action="store_true",
                   help="continue from last_checkpoint.pt of the same run")
    p.set_defaults(func=_cmd_train_fixmatch)

    p = sub.add_parser("fixmatch-config", help="write the default FixMatch configuration")
    p.add_argument("out", help="YAML file to write")
    p.set_defaults(func=_cmd_fixmatch_config)

    p = sub.add_parser("rescore", help="score coordinates with a FixMatch classifier, keep the good",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", required=True, help="best_model_ema.pt of train-fixmatch")
    p.add_argument("--image-dir", required=True)
    p.add_argument("--coords", required=True, help="coordinates to score (file or folder)")
    p.add_argument("--coords-format", default="auto")
    p.add_argument("--output", required=True)
    p.add_argument("--format", choices=["star", "json", "csv", "box", "txt"])
    p.add_argument("--threshold", type=float, help="keep scores >= this (default: the model's)")
    p.add_argument("--keep-all", action="store_true", help="write every coordinate with its score")
    p.add_argument("--pixel-size", type=float, default=0.0)
    p.add_argument("--box-size", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--pattern", help="glob on image file names")
    p.add_argument("--threads", type=int, default=0)
    p.set_defaults(func=_cmd_rescore)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except CryopickInputError as exc:
        print(f"cryopick: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
