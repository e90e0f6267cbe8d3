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
    cryopick combine --unet U --classifier C --image-dir D --coords L --output E
                                       one model from a U-Net and a classifier (both maps)

Bad input ends with one line ``cryopick: error: <file or argument>: <problem>`` and exit
status 2. Numeric arguments and output locations are checked before anything is read,
trained or written.
"""
import argparse
import math
import os
import sys
import tempfile

import numpy as np

from .engine.errors import CryopickInputError

# ------------------------------------------------------------------ up-front checks


def _rule(flag, low=None, high=None, above=False):
    """A numeric argument's range: >= low (> low with ``above``) and <= high."""
    return flag, low, high, above


def _check_value(name, value, low=None, high=None, above=False):
    """``name``'s value (a flag or a config key) is a finite number within the range; None
    (not given) passes."""
    if value is None:
        return
    ok = isinstance(value, (int, float)) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if above else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        if low is not None and high is not None:
            bounds = f"within {'(' if above else '['}{low:g}, {high:g}]"
        elif low is not None:
            bounds = f"{'>' if above else '>='} {low:g}"
        else:
            bounds = f"<= {high:g}"
        raise CryopickInputError(f"{name}: must be a number {bounds} (got {value})")


def _check_ranges(args):
    """Every numeric flag of the command against the rules its parser declared."""
    for flag, low, high, above in getattr(args, "ranges", ()):
        _check_value(flag, getattr(args, flag[2:].replace("-", "_")), low, high, above)


def _probe_writable(folder, path):
    """Create and remove a file in ``folder``: the one test that holds for root, read-only
    mounts and ACLs alike (permission bits alone do not)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cryopick-write-test-", dir=folder)
        os.close(fd)
        os.remove(tmp)
    except OSError as exc:
        where = "this folder" if os.path.abspath(folder) == os.path.abspath(path) else folder
        raise CryopickInputError(f"{path}: cannot write to {where} "
                                 f"({exc.strerror or exc})") from None


def _check_output(path, flag, folder=False):
    """Up front, writing nothing: ``path`` can be written. A file (``folder=False``) needs an
    existing, writable folder and must not be a folder itself; an output folder may not exist
    yet (it is created with its parents) but must not be a file."""
    if not path:
        raise CryopickInputError(f"{flag}: empty path")
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            raise CryopickInputError(f"{path}: is a file; {flag} needs a folder")
        existing = os.path.abspath(path)
        while not os.path.exists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise CryopickInputError(f"{path}: cannot create this folder: {existing} is a file")
        _probe_writable(existing, path)
        return
    if os.path.isdir(path):
        raise CryopickInputError(f"{path}: is a folder; {flag} needs a file name")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CryopickInputError(f"{path}: folder {parent} does not exist")
    _probe_writable(parent, path)


def _check_scale(model, pixel_size):
    """The particle, at the micrographs' pixel size, must not be much smaller than the model
    was trained to see it: micrographs are binned down to the model's scale, never enlarged,
    so a wrong --pixel-size would feed the network particles of the wrong size."""
    trained = min(model.particle_diameter_px, model.working_diameter)
    here = model.diameter_for(pixel_size or None)
    if min(here, model.working_diameter) < trained / 2:
        raise CryopickInputError(
            f"--pixel-size: at {pixel_size:g} A/px the particle is {here:.3g} px across, less "
            f"than half the {trained:.0f} px this model was trained at (micrographs are binned, "
            "never enlarged); give the micrographs' pixel size")


def _check_fits(shape, diameter, path, hint="check --pixel-size"):
    """A micrograph at least one particle across (smaller ones cannot hold a particle and
    break binning)."""
    h, w = shape
    if min(h, w) < diameter:
        raise CryopickInputError(f"{path}: micrograph {w}x{h} px is smaller than one particle "
                                 f"({diameter:.3g} px across); {hint}")


def _image_shapes(paths, diameter, hint="check --pixel-size", skip=None):
    """{name: shape} from the files' headers (MRC: no pixel read), each checked to hold a
    particle: unreadable and too small micrographs are found before any work starts. They
    raise, or with ``skip`` (see _skipper) are handed to it and left out."""
    from .engine.io.images import micrograph_shape

    shapes = {}
    for name, path in paths.items():
        try:
            shape = micrograph_shape(path)
            _check_fits(shape, diameter, path, hint)
            shapes[name] = shape
        except CryopickInputError as exc:
            if skip is None:
                raise
            skip(name, exc)
    return shapes


# ------------------------------------------------------------------ commands


def _cmd_demo_data(args):
    from .engine.demo_data import make_demo_dataset

    _check_output(args.out, "OUT", folder=True)
    manifest = make_demo_dataset(args.out, n_micrographs=args.n_micrographs,
                                 size=(args.height, args.width), seed=args.seed,
                                 label_fraction=args.label_fraction)
    print(f"Wrote {len(manifest['micrographs'])} micrographs with {manifest['n_true']} true "
          f"particles ({manifest['n_labelled']} labelled) to {args.out}")
    return 0


def _cmd_evaluate(args):
    from .engine.io.coordinates import read_coordinates
    from .engine.io.files import write_json_atomic
    from .engine.io.plots import plot_precision_recall
    from .engine.picking.metrics import evaluate, format_table

    if (args.radius is None) == (args.diameter is None):
        raise CryopickInputError("--radius: give exactly one of --radius or --diameter (pixels)")
    for path, flag in ((args.out, "--out"), (args.plot, "--plot")):
        if path:
            _check_output(path, flag)
    radius = args.radius if args.radius is not None else args.diameter / 2.0
    truth = read_coordinates(args.truth, args.truth_format)
    if not sum(len(v) for v in truth.values()):
        # recall and AP divide by the number of true particles: there is nothing to score
        # against, and an empty truth is almost always the wrong file or format
        raise CryopickInputError(f"{args.truth}: holds no true particle coordinates; recall "
                                 "and AP are undefined")
    picks = read_coordinates(args.picks, args.picks_format)
    unknown = sorted(set(picks) - set(truth))
    if unknown and not args.allow_extra:
        raise CryopickInputError(
            f"{args.picks}: picks for micrographs absent from the truth {unknown[:5]}; "
            "pass --allow-extra to ignore them")
    picks = {k: v for k, v in picks.items() if k in truth}
    result = evaluate(picks, truth, radius)
    duplicates = result["overall"].get("truth_duplicates", 0)
    if duplicates:
        print(f"{args.truth}: {duplicates} repeated true positions counted once")
    print(format_table(result, title="cryopick evaluate"))
    if args.out:
        write_json_atomic(args.out, result)
    if args.plot:
        plot_precision_recall(result, args.plot)
    return 0


def _load_labels(path, fmt, shapes, what="coordinates"):
    from .engine.io.coordinates import assign_to_micrographs, format_report, read_coordinates

    tables = read_coordinates(path, fmt)
    assigned, report = assign_to_micrographs(
        tables, shapes, source=path)
    for line in format_report(report):
        print(f"{what}: {line}")
    return {k: v for k, v in assigned.items() if len(v)}


def _read_images(paths):
    from .engine.io.images import read_micrograph

    return {n: read_micrograph(p) for n, p in paths.items()}


def _cmd_train_unet(args):
    from .engine.device import resolve_device, set_threads
    from .engine.fixmatch.picker import PatchClassifier
    from .engine.unet.config import from_args
    from .engine.unet.training import train_unet

    cfg = from_args(args)
    cfg.validate()  # before reading thousands of micrographs
    _check_output(args.output_dir, "--output-dir", folder=True)
    cfg.device = resolve_device(cfg.device)
    # loaded (and checked) before reading the micrographs
    teacher, counter = (PatchClassifier.load(path, cfg.device) if path else None
                        for path in (cfg.teacher, cfg.count_classifier))
    hint = "check --particle-diameter / --particle-radius"
    paths = _image_paths(args.image_dir, args.pattern)
    shapes = _image_shapes(paths, cfg.diameter(), hint)
    labels = _load_labels(args.coords_file, args.coords_format, shapes)
    val_images = val_labels = None
    if args.val_image_dir or args.val_coords_file:
        if not (args.val_image_dir and args.val_coords_file):
            raise CryopickInputError("--val-image-dir: give both --val-image-dir and "
                                     "--val-coords-file")
        val_paths = _image_paths(args.val_image_dir)
        val_shapes = _image_shapes(val_paths, cfg.diameter(), hint)
        val_labels = _load_labels(args.val_coords_file, "auto", val_shapes, "validation")
        val_images = _read_images(val_paths)
    images = _read_images(paths)
    print(f"{len(images)} micrographs, {sum(len(v) for v in labels.values())} labelled "
          f"particles on {len(labels)} of them", flush=True)
    set_threads(args.threads)
    train_unet(images, labels, args.output_dir, cfg, val_images, val_labels, resume=args.resume,
               teacher=teacher, counter=counter)
    return 0


def _cmd_train_fixmatch(args):
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
    if not (d.image_dir and d.coords_file):
        raise CryopickInputError("no training data: set dataset.image_dir and dataset.coords_file "
                                 "in the config or pass --image-dir and --coords-file")
    cfg.validate()  # before reading thousands of micrographs
    for key in ("particle_diameter", "pixel_size", "working_diameter"):
        _check_value(f"dataset.{key}", getattr(d, key), 0, above=key != "pixel_size")
    _check_value("training.threads", cfg.training.threads, 0)
    out = os.path.join(args.output_dir, args.exp_name)
    _check_output(out, "--output-dir/--exp-name", folder=True)
    cfg.training.device = resolve_device(cfg.training.device)
    hint = "check --particle-diameter (dataset.particle_diameter)"
    paths = _image_paths(d.image_dir, d.pattern or None)
    labels = _load_labels(d.coords_file, d.coords_format,
                          _image_shapes(paths, d.particle_diameter, hint))
    val = test = (None, None)
    if d.val_image_dir or d.val_coords_file:
        val = _labelled_set(d.val_image_dir, d.val_coords_file, "validation",
                            d.particle_diameter, hint)
    if d.test_image_dir or d.test_coords_file:
        test = _labelled_set(d.test_image_dir, d.test_coords_file, "test",
                             d.particle_diameter, hint)
    print(f"{len(paths)} micrographs, {sum(len(v) for v in labels.values())} labelled "
          f"particles on {len(labels)} of them", flush=True)
    set_threads(cfg.training.threads)
    train_fixmatch(paths, labels, out, cfg, val[0], val[1], test[0], test[1],
                   resume=args.resume)
    return 0


def _image_paths(folder, pattern=None):
    """{micrograph name: path}; two files of one name (mic_a.mrc, mic_a.png) are an error,
    not a silent choice: coordinates could not tell them apart."""
    from .engine.io.images import list_images, micrograph_name

    paths = {}
    for path in list_images(folder, pattern):
        name = micrograph_name(path)
        if name in paths:
            raise CryopickInputError(
                f"{folder}: two images are both micrograph '{name}' "
                f"({os.path.basename(paths[name])}, {os.path.basename(path)}); keep one")
        paths[name] = path
    return paths


def _labelled_set(image_dir, coords_file, what, diameter, hint):
    if not (image_dir and coords_file):
        raise CryopickInputError(f"give both the {what} micrograph folder and its coordinates")
    paths = _image_paths(image_dir)
    return paths, _load_labels(coords_file, "auto", _image_shapes(paths, diameter, hint), what)


def _cmd_combine(args):
    from .engine.device import resolve_device, set_threads
    from .engine.ensemble import EnsemblePicker
    from .engine.fixmatch.picker import PatchClassifier
    from .engine.io.images import read_micrograph
    from .engine.picking import fusion
    from .engine.picking.thresholds import (CALIBRATION_MICROGRAPHS, spread_sample,
                                            threshold_from_training, threshold_from_unseen)
    from .engine.unet.picker import UNetPicker

    _check_output(args.output, "--output")
    device = resolve_device(args.device)
    ensemble = EnsemblePicker(UNetPicker.load(args.unet, device),
                              PatchClassifier.load(args.classifier, device))  # they fit?
    _check_scale(ensemble, args.pixel_size)
    pixel_size = args.pixel_size or None
    diameter = ensemble.diameter_for(pixel_size)
    paths = _image_paths(args.image_dir, args.pattern)
    shapes = _image_shapes(paths, diameter)
    labels = _load_labels(args.coords, args.coords_format, shapes, "labels") \
        if args.coords else {}
    unseen = {}
    if args.calibrate_dir:
        unseen = {n: p for n, p in _image_paths(args.calibrate_dir, args.pattern).items()
                  if not len(labels.get(n, ()))}
        if not unseen:
            raise CryopickInputError(f"--calibrate-dir {args.calibrate_dir}: no micrographs "
                                     "without labels in it")
        unseen = {n: unseen[n] for n in spread_sample(unseen, CALIBRATION_MICROGRAPHS)}
        _image_shapes(unseen, diameter)
        paths = dict(paths, **unseen)
    if not labels and not args.expected_particles:
        raise CryopickInputError("the ensemble's threshold needs --coords (hand-picked "
                                 "particles of these micrographs) or --expected-particles")
    n_labels = sum(len(v) for v in labels.values())
    if args.classifier_weight is None:
        ensemble.classifier_weight = fusion.classifier_weight_for(n_labels)
        print(f"Classifier weight {ensemble.classifier_weight:.3g}: " + (
            f"{fusion.EQUAL_WEIGHT_LABELS:g} / {n_labels} hand-picked particles" if n_labels
            else "the default without hand-picked particles"))
    else:
        ensemble.classifier_weight = args.classifier_weight
    set_threads(args.threads)
    names = sorted(labels) + sorted(set(shapes) - set(labels))  # labelled ones first
    # the members' maps of the calibration micrographs, made once: they set how each
    # member's parts spread (ensemble.calibrate_parts), then the threshold is chosen on them
    # (threshold_from_count takes the first of names, so the same ones: no pass made twice)
    sample = sorted(unseen) if unseen else names[:CALIBRATION_MICROGRAPHS]
    maps = {}
    for name in sample:
        work, factor = ensemble.prepare_to_pick(read_micrograph(paths[name]), pixel_size)
        maps[name] = (work, factor, *ensemble.member_maps(work, device))
    n_candidates = ensemble.calibrate_parts([m[2:] for m in maps.values()])
    print(f"Members' scores calibrated on {n_candidates} candidate picks of {len(maps)} "
          f"micrograph(s) ({'without labels' if unseen else 'the training micrographs'})"
          if n_candidates else "No candidate picks to calibrate the members' scores on: "
          "picks are scored by the members' parts alone")

    def pick(name):
        if name in maps:
            return ensemble.picks_from_maps(*maps[name], threshold=0.02)
        return ensemble.pick(read_micrograph(paths[name]), pixel_size, threshold=0.02,
                             device=device)

    if unseen:
        # the classifier counts the particles closer than the ensemble (count_from_labels)
        threshold, origin = threshold_from_unseen(
            pick, unseen, labels, diameter / 2.0, print, expected=args.expected_particles,
            count_pick=lambda n: ensemble.classifier.pick(read_micrograph(paths[n]), pixel_size,
                                                          threshold=0.02, device=device))
    else:
        threshold, origin = threshold_from_training(
            pick, names, labels, diameter / 2.0, print, "the labels",
            expected=args.expected_particles)
    if threshold is None:
        threshold = ensemble.unet.threshold
        print(f"No threshold could be chosen: the U-Net's ({threshold:.3f}) is kept")
        origin = "unet"
    ensemble.threshold = threshold
    ensemble.extra = dict(threshold_origin=origin, n_labels=n_labels,
                          unet=os.path.abspath(args.unet),
                          classifier=os.path.abspath(args.classifier))
    ensemble.save(args.output)
    print(f"Ensemble (classifier weight {ensemble.classifier_weight:.3g}, threshold "
          f"{threshold:.3f}) written to {args.output}")
    return 0


def _cmd_fixmatch_config(args):
    import shutil

    from .engine.io.files import write_atomic

    _check_output(args.out, "OUT")
    write_atomic(args.out, lambda tmp: shutil.copyfile(_default_config_path(), tmp))
    print(f"Wrote the default FixMatch configuration to {args.out}")
    return 0


def _default_config_path():
    return os.path.join(os.path.dirname(__file__), "configs", "selective_fixmatch.yaml")


# ------------------------------------------------------------------ pick / rescore outputs


class PicksOutput:
    """Where pick and rescore write, one micrograph at a time as each finishes, atomically.

    * One-file formats (star, json): each micrograph's picks go to
      ``<output>.parts/<name>.txt``; at the end they are gathered into ``<output>`` and the
      ``.parts`` folder is removed. A killed run leaves its finished micrographs there.
    * Folder formats (csv, box, txt): ``<output>/<name>.<fmt>``. A marker file
      (``.cryopick-output``, not a coordinate file) says the folder is ours: a new run clears
      the coordinate files of earlier runs first (so evaluate never counts micrographs of
      another run), and refuses a folder holding coordinate files of this format that
      cryopick did not write.

    With ``keep_existing`` (``--skip-existing``), micrographs that already have results
    (files in the folder, ``.parts`` files, or entries of an existing one-file output) are
    neither picked again nor cleared, and the new ones are added: a killed run continues,
    and the Scipion protocol adds each batch to the same folder.
    """

    MARKER = ".cryopick-output"

    def __init__(self, path, fmt, box_size, keep_existing=False, flag="--output"):
        from .engine.io.coordinates import FORMATS

        fmt = fmt or os.path.splitext(path)[1][1:].lower()
        if fmt not in FORMATS:
            raise CryopickInputError(f"{path}: cannot tell the output format from the name; "
                                     f"pass --format ({', '.join(FORMATS)})")
        self.path, self.fmt, self.box_size, self.keep = path, fmt, box_size, keep_existing
        self.one_file = fmt in ("star", "json")
        self.parts = path.rstrip("/\\") + ".parts"
        self.existing = {}  # tables of an existing one-file output kept with keep_existing
        _check_output(path, flag, folder=not self.one_file)
        if not self.one_file and not keep_existing and not self._ours():
            foreign = self._coordinate_files([fmt])
            if foreign:
                raise CryopickInputError(
                    f"{path}: already holds {len(foreign)} .{fmt} files that cryopick did not "
                    "write; use a new or empty folder, or --skip-existing to add to them")

    # ---------------------------------------------------------------- helpers
    def _ours(self):
        return os.path.isfile(os.path.join(self.path, self.MARKER))

    def _marker_formats(self):
        import json

        try:
            with open(os.path.join(self.path, self.MARKER)) as fh:
                return list(json.load(fh).get("formats", []))
        except (OSError, ValueError, AttributeError):
            return []

    def _coordinate_files(self, formats):
        if not os.path.isdir(self.path):
            return []
        return sorted(os.path.join(self.path, n) for n in os.listdir(self.path)
                      if os.path.splitext(n)[1][1:].lower() in formats
                      and os.path.isfile(os.path.join(self.path, n)))

    def _part_files(self):
        if not os.path.isdir(self.parts):
            return {}
        from .engine.io.coordinates import stem

        return {stem(n): os.path.join(self.parts, n) for n in os.listdir(self.parts)
                if n.endswith(".txt")}

    def _clear_parts(self):
        for path in self._part_files().values():
            os.remove(path)
        if os.path.isdir(self.parts) and not os.listdir(self.parts):
            os.rmdir(self.parts)

    # ---------------------------------------------------------------- run
    def done(self):
        """Names of the micrographs that already have results (only with keep_existing;
        writes nothing)."""
        from .engine.io.coordinates import read_coordinates, stem

        if not self.keep:
            return set()
        if not self.one_file:
            return {stem(p) for p in self._coordinate_files([self.fmt])}
        if os.path.isfile(self.path):
            self.existing = read_coordinates(self.path, self.fmt)
        return set(self.existing) | set(self._part_files())

    def start(self):
        """Clear what earlier runs left (unless keep_existing); mark the folder as ours."""
        from .engine.io.files import write_json_atomic

        if self.one_file:
            if not self.keep:
                self._clear_parts()
            return
        formats = sorted(set(self._marker_formats()) | {self.fmt})
        if not self.keep:
            for path in self._coordinate_files(formats):
                os.remove(path)
        os.makedirs(self.path, exist_ok=True)
        write_json_atomic(os.path.join(self.path, self.MARKER),
                          dict(written_by="cryopick", formats=formats))

    def add(self, name, table):
        from .engine.io.coordinates import write_coordinates

        if self.one_file:
            write_coordinates(self.parts, {name: table}, fmt="txt")
        else:
            write_coordinates(self.path, {name: table}, fmt=self.fmt, box_size=self.box_size)

    def finish(self):
        """The one-file output from the finished micrographs; returns what was written."""
        from .engine.io.coordinates import read_coordinates, write_coordinates

        if not self.one_file:
            return self.path
        tables = dict(self.existing)
        for name, path in sorted(self._part_files().items()):
            tables[name] = read_coordinates(path, "txt").get(name, np.zeros((0, 3)))
        write_coordinates(self.path, {n: tables[n] for n in sorted(tables)}, fmt=self.fmt,
                          box_size=self.box_size)
        self._clear_parts()
        return self.path

    def progress_note(self):
        where = self.parts if self.one_file else self.path
        return (f"micrographs finished before the error are kept in {where}: rerun with "
                "--skip-existing to continue")


def skipped_path(output):
    """The list of micrographs a run skipped (--skip-unreadable), next to its output."""
    return output.rstrip("/\\") + ".skipped.json"


def _update_skipped(path, skipped, picked, keep_existing):
    """Write the skipped list: this run's, plus (with keep_existing) earlier runs' entries
    for micrographs this run did not pick. No entry left: no file."""
    import json

    from .engine.io.files import write_json_atomic

    entries = {}
    if keep_existing and os.path.isfile(path):
        try:
            with open(path) as fh:
                entries = json.load(fh)
        except (OSError, ValueError):
            entries = {}
    entries = {n: e for n, e in entries.items() if n not in picked}
    entries.update(skipped)
    if entries:
        write_json_atomic(path, dict(sorted(entries.items())))
    elif os.path.exists(path):
        os.remove(path)
    return entries


def _problem(exc, path):
    """The message of a CryopickInputError about ``path`` without the leading path."""
    text = str(exc)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text


def _cmd_rescore(args):
    from .engine.device import resolve_device, set_threads
    from .engine.fixmatch.picker import PatchClassifier
    from .engine.io.images import read_micrograph
    from .engine.picking.scale import box_size_for

    out, skip_file = _open_picks_output(args)
    device = resolve_device(args.device)
    model = PatchClassifier.load(args.model, device)
    threshold = model.threshold if args.threshold is None else args.threshold
    _check_scale(model, args.pixel_size)
    diameter = model.diameter_for(args.pixel_size or None)
    out.box_size = args.box_size or box_size_for(diameter)
    paths = _image_paths(args.image_dir, args.pattern)
    skipped = {}
    skip = _skipper(args, paths, skipped)
    shapes = _image_shapes(paths, diameter, skip=skip)
    if not shapes:
        _none_picked(args, paths, skipped, skip_file, "scored")
    tables = _load_labels(args.coords, args.coords_format, shapes, "input")
    done = out.done() & set(tables)
    if done:
        print(f"{_count(done)} already scored in {args.output}: skipped (--skip-existing)",
              flush=True)
    todo = [n for n in sorted(tables) if n not in done]
    set_threads(args.threads)
    out.start()
    n_in, n_out, scored = 0, 0, set()
    try:
        for i, name in enumerate(todo, start=1):
            try:
                image = read_micrograph(paths[name])
            except CryopickInputError as exc:
                skip(name, exc)
                continue
            coords = tables[name]
            scores = model.score_coordinates(image, coords, args.pixel_size or None, device,
                                             args.batch_size)
            rows = np.column_stack([coords[:, :2], scores])
            keep = rows[:, 2] >= threshold
            written = rows if args.keep_all else rows[keep]
            out.add(name, written)
            scored.add(name)
            n_in, n_out = n_in + len(rows), n_out + len(written)
            print(f"[{i}/{len(todo)}] {name}: {int(keep.sum())} of {len(rows)} kept",
                  flush=True)
    except CryopickInputError:
        if scored:
            print(out.progress_note(), flush=True)
        raise
    if todo and not scored and not done:
        _none_picked(args, paths, skipped, skip_file, "scored")
    if args.skip_unreadable or os.path.exists(skip_file):
        _update_skipped(skip_file, skipped, scored | done, args.skip_existing)
    if skipped:
        print(f"{_count(skipped)} skipped, listed in {skip_file}", flush=True)
    out.finish()
    print(f"{n_out} of {n_in} coordinates written to {args.output}")
    return 0


def _count(names):
    return f"{len(names)} micrograph{'' if len(names) == 1 else 's'}"


def _open_picks_output(args):
    """The picks file of pick / rescore and the file listing skipped micrographs, both
    checked writable before any work."""
    out = PicksOutput(args.output, args.format, args.box_size,
                      keep_existing=args.skip_existing)  # checks it can be written
    skip_file = skipped_path(args.output)
    if args.skip_unreadable or os.path.exists(skip_file):
        _check_output(skip_file, "--output")
    return out, skip_file


def _none_picked(args, paths, skipped, skip_file, verb="picked"):
    """Every micrograph skipped (--skip-unreadable): list them, fail (exit 2)."""
    _update_skipped(skip_file, skipped, set(), args.skip_existing)
    raise CryopickInputError(f"{args.image_dir}: none of the {_count(paths)} could be "
                             f"{verb} (listed in {skip_file})")


def _skipper(args, paths, skipped):
    """skip(name, exc): with --skip-unreadable, report the micrograph on stderr and list it in
    ``skipped``; without, raise ``exc``."""
    def skip(name, exc):
        if not args.skip_unreadable:
            raise exc
        print(f"cryopick: skipped: {exc}", file=sys.stderr, flush=True)
        skipped[name] = dict(file=paths[name], problem=_problem(exc, paths[name]))
    return skip


def _add_views_flag(p):
    from .engine.picking.views import PICK_VIEWS, VIEWS

    p.add_argument("--views", type=int, default=PICK_VIEWS,
                   help=f"average the model's map over this many symmetric views of each "
                        f"micrograph ({', '.join(map(str, VIEWS))}: turned by 90 degrees, "
                        "mirrored): more views rank the picks better and cost as many "
                        "inference passes (1: one pass, the fastest)")


def _cmd_pick(args):
    import time

    from .engine.device import resolve_device, set_threads
    from .engine.io.images import read_micrograph
    from .engine.picking.scale import box_size_for
    from .engine.pickers import load_picker
    from .engine.picking.views import check_views

    check_views(args.views, "--views")
    out, skip_file = _open_picks_output(args)
    device = resolve_device(args.device)
    picker = load_picker(args.model, device)
    picker.views = args.views
    _check_scale(picker, args.pixel_size)
    pixel_size = args.pixel_size or None
    diameter = picker.diameter_for(pixel_size)
    out.box_size = args.box_size or box_size_for(diameter)
    paths = _image_paths(args.image_dir, args.pattern)
    skipped = {}
    skip = _skipper(args, paths, skipped)
    todo = list(_image_shapes(paths, diameter, skip=skip))
    done = out.done() & set(paths)
    if done & set(todo):
        print(f"{_count(done & set(todo))} already picked in {args.output}: skipped "
              "(--skip-existing)", flush=True)
    todo = [n for n in todo if n not in done]
    if not todo and not done:  # every micrograph skipped up front: write nothing but the list
        _none_picked(args, paths, skipped, skip_file)
    set_threads(args.threads)
    batch_size = args.batch_size or picker.default_batch_size
    out.start()
    n_picks, picked = 0, set()
    try:
        for i, name in enumerate(todo, start=1):
            start = time.time()
            try:
                image = read_micrograph(paths[name])
            except CryopickInputError as exc:
                skip(name, exc)
                continue
            table = picker.pick(image, pixel_size, args.threshold, device, batch_size)
            out.add(name, table)
            picked.add(name)
            n_picks += len(table)
            print(f"[{i}/{len(todo)}] {name}: {len(table)} particles "
                  f"({time.time() - start:.1f} s)", flush=True)
    except CryopickInputError:
        if picked:
            print(out.progress_note(), flush=True)
        raise
    if not picked and not done:
        _none_picked(args, paths, skipped, skip_file)
    if args.skip_unreadable or os.path.exists(skip_file):
        _update_skipped(skip_file, skipped, picked | done, args.skip_existing)
    if skipped:
        print(f"{_count(skipped)} skipped, listed in {skip_file}", flush=True)
    written = out.finish()
    print(f"{n_picks} particles written to {written}")
    return 0


# ------------------------------------------------------------------ parser


def _add_precision_flag(p):
    """--precision of every command that runs a network forward (training runs in float32)."""
    # checked by engine/device.py's set_precision, the home of the choices
    p.add_argument("--precision", default="auto",
                   help="arithmetic of inference passes: auto, float32 or bfloat16. auto is "
                        "bfloat16 on CPUs that have it natively (AVX-512 BF16, AMX: about 2x "
                        "faster, the same picks to +-0.004 F1 / AP on the benchmark models), "
                        "else float32")


def _add_training_precision_flag(p):
    """--train-precision of the training commands (engine/device.py checks the choices)."""
    p.add_argument("--train-precision", default="float32",
                   help="arithmetic of training's forward passes: float32 (default) or "
                        "bfloat16 (autocast; weights and losses stay float32). bfloat16 is "
                        "about 1.8x faster per step on CPUs that have it natively, but it "
                        "lost 0.045 AP on one benchmark cell (docs/benchmarks.md)")


def _add_skip_flags(p, verb, done):
    """--skip-existing and --skip-unreadable of pick and rescore."""
    p.add_argument("--skip-existing", action="store_true",
                   help="keep the results already in --output (of a killed or earlier run) "
                        f"and {verb} only the micrographs without one")
    p.add_argument("--skip-unreadable", action="store_true",
                   help="skip micrographs that cannot be read or are smaller than a particle "
                        "(one line each, listed in OUTPUT.skipped.json) instead of stopping; "
                        f"fails only if none could be {done}")


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Names a flag's default unless it has none or its help already says it."""

    def _get_help_string(self, action):
        switch = isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if action.default is None or action.default is argparse.SUPPRESS or switch \
                or "default" in action.help:
            return action.help
        return super()._get_help_string(action)


def _add_coords_format(p, flag="--coords-format", what="the coordinates"):
    from .engine.io.coordinates import FORMATS

    p.add_argument(flag, default="auto",
                   help=f"format of {what}: auto (from each file's extension and contents) or "
                        f"one of {', '.join(FORMATS)}")


def _add_output_format(p):
    from .engine.io.coordinates import FORMATS

    p.add_argument("--format", choices=sorted(FORMATS),
                   help="output format (default: from the --output extension)")


def _add_image_dir(p, what="the micrographs"):
    from .engine.io.images import IMAGE_EXTENSIONS

    p.add_argument("--image-dir", required=True,
                   help=f"folder of {what} ({', '.join(IMAGE_EXTENSIONS)})")


def _add_runtime_flags(p, device=True):
    """--pattern, --device and --threads of the commands that read a folder of micrographs."""
    p.add_argument("--pattern", help="glob on image file names, e.g. '*_aligned.mrc'")
    if device:
        p.add_argument("--device", default="cpu",
                       help="cpu, cuda:0, ... or auto (the GPU if one is visible)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")


def build_parser():
    from .engine.picking import fusion
    from .engine.unet import config as unet_config

    parser = argparse.ArgumentParser(prog="cryopick", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write the synthetic demo dataset")
    p.add_argument("out", help="output folder")
    p.add_argument("--n-micrographs", type=int, default=6, help="how many micrographs")
    p.add_argument("--height", type=int, default=768, help="micrograph height in pixels")
    p.add_argument("--width", type=int, default=768, help="micrograph width in pixels")
    p.add_argument("--label-fraction", type=float, default=0.3,
                   help="fraction of the particles of the labelled micrographs kept as labels")
    p.add_argument("--seed", type=int, default=0,
                   help="random seed (the same seed writes the same dataset)")
    p.set_defaults(func=_cmd_demo_data, ranges=[
        _rule("--n-micrographs", 1), _rule("--height", 1), _rule("--width", 1),
        _rule("--label-fraction", 0, 1)])

    p = sub.add_parser("evaluate", help="particle-level precision / recall / F1 / AP")
    p.add_argument("--picks", required=True, help="picked coordinates (file or folder)")
    p.add_argument("--truth", required=True, help="true coordinates (file or folder); "
                   "repeated identical positions count once")
    p.add_argument("--radius", type=float, help="match radius in pixels")
    p.add_argument("--diameter", type=float,
                   help="particle diameter in pixels (radius = diameter / 2)")
    _add_coords_format(p, "--picks-format", "--picks")
    _add_coords_format(p, "--truth-format", "--truth")
    p.add_argument("--allow-extra", action="store_true",
                   help="ignore picks on micrographs that have no truth")
    p.add_argument("--out", help="write the full result as JSON (into an existing folder)")
    p.add_argument("--plot", help="write a precision-recall plot (PNG)")
    p.set_defaults(func=_cmd_evaluate, ranges=[_rule("--radius", 0, above=True),
                                               _rule("--diameter", 0, above=True)])

    p = sub.add_parser("train-unet", help="U-Net self-training picker (seed 000)",
                       formatter_class=_HelpFormatter)
    p.add_argument("--image-dir", required=True, help="training micrographs (labelled and unlabelled)")
    p.add_argument("--coords-file", required=True, help="hand-picked coordinates (file or folder)")
    p.add_argument("--output-dir", required=True,
                   help="folder for the models, logs and training_summary.json")
    unet_config.add_flags(p)  # every setting of UNetTrainConfig, with its default
    p.add_argument("--fixed-threshold", dest="auto_threshold", action="store_false",
                   help="same as --no-auto-threshold: keep --pick-threshold")
    p.add_argument("--val-image-dir", help="validation micrographs (fully labelled)")
    p.add_argument("--val-coords-file", help="all particles of the validation micrographs")
    _add_coords_format(p)
    _add_runtime_flags(p, device=False)  # --device is a setting of UNetTrainConfig
    _add_precision_flag(p)
    _add_training_precision_flag(p)
    p.add_argument("--resume", action="store_true",
                   help="continue after the last finished phase in --output-dir "
                        "(last_checkpoint.pt; same settings required)")
    # the settings' own ranges: UNetTrainConfig.validate
    p.set_defaults(func=_cmd_train_unet, ranges=[_rule("--threads", 0)])

    p = sub.add_parser("pick", help="pick particles with a trained model",
                       formatter_class=_HelpFormatter)
    p.add_argument("--model", required=True,
                   help="a model file of train-unet (final_model.pt), train-fixmatch "
                        "(best_model_ema.pt) or combine")
    _add_image_dir(p, "the micrographs to pick")
    p.add_argument("--output", required=True,
                   help="picks.star or picks.json (one file, in an existing folder), or a "
                        "folder for csv/box/txt (one file per micrograph)")
    _add_output_format(p)
    p.add_argument("--threshold", type=float, help="score threshold (default: the model's)")
    p.add_argument("--pixel-size", type=float, default=0.0,
                   help="A/px of these micrographs (0: the model's)")
    p.add_argument("--box-size", type=int, default=0, help="for .box/.csv output (0: 1.5 diameters)")
    p.add_argument("--batch-size", type=int, default=0,
                   help="tiles (U-Net) or patches (classifier) per inference batch (0: 1 / 256; "
                        "U-Net tiles are as large as the memory budget allows)")
    _add_views_flag(p)
    _add_runtime_flags(p)
    _add_precision_flag(p)
    _add_skip_flags(p, "pick", "picked")
    p.set_defaults(func=_cmd_pick, ranges=[
        _rule("--threshold", 0, 1), _rule("--pixel-size", 0), _rule("--box-size", 0),
        _rule("--batch-size", 0), _rule("--threads", 0)])

    p = sub.add_parser("train-fixmatch", help="Selective FixMatch patch classifier (seed 001)",
                       formatter_class=_HelpFormatter)
    p.add_argument("--config", help="YAML configuration (default: the built-in one; see "
                                    "cryopick fixmatch-config)")
    p.add_argument("--exp-name", default="selective_fixmatch",
                   help="run name: outputs go to OUTPUT_DIR/EXP_NAME")
    p.add_argument("--device", help="cpu, cuda:0, ... or auto (default: training.device)")
    p.add_argument("--output-dir", default="experiments",
                   help="folder that holds the run folder EXP_NAME")
    p.add_argument("--image-dir", help="overrides dataset.image_dir")
    p.add_argument("--coords-file", help="overrides dataset.coords_file")
    p.add_argument("--val-image-dir", help="validation micrographs (fully labelled); "
                                           "overrides dataset.val_image_dir")
    p.add_argument("--val-coords-file", help="all particles of the validation micrographs")
    p.add_argument("--test-image-dir", help="test micrographs (fully labelled), scored once "
                                            "after training")
    p.add_argument("--test-coords-file", help="all particles of the test micrographs")
    p.add_argument("--particle-diameter", type=float, help="px; overrides dataset.particle_diameter")
    p.add_argument("--pixel-size", type=float,
                   help="A/px of the micrographs; overrides dataset.pixel_size")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE",
                   help="override one configuration key (repeatable)")
    p.add_argument("--threads", type=int, help="CPU threads; overrides training.threads")
    _add_precision_flag(p)
    _add_training_precision_flag(p)
    p.add_argument("--resume", action="store_true",
                   help="continue from last_checkpoint.pt of the same run")
    p.set_defaults(func=_cmd_train_fixmatch, ranges=[
        _rule("--particle-diameter", 0, above=True), _rule("--pixel-size", 0),
        _rule("--threads", 0)])

    p = sub.add_parser("combine", help="one model from a U-Net and a classifier trained on "
                                       "the same labels (their averaged maps)",
                       formatter_class=_HelpFormatter)
    p.add_argument("--unet", required=True, help="final_model.pt of train-unet")
    p.add_argument("--classifier", required=True, help="best_model_ema.pt of train-fixmatch")
    p.add_argument("--image-dir", required=True,
                   help="the training micrographs: without --calibrate-dir, the threshold is "
                        "chosen on them")
    p.add_argument("--coords", help="their hand-picked particles (file or folder)")
    _add_coords_format(p)
    p.add_argument("--calibrate-dir",
                   help="micrographs without hand-picked particles, best ones the two models "
                        "did not train on, e.g. those to be picked (those with labels in "
                        "--coords are left out; up to 8, spread over the names, are picked): "
                        "the threshold keeps 15%% more picks on them than the particles per "
                        "micrograph given, or as many as the classifier counts. Recommended: the models score the micrographs with labels "
                        "higher, so a threshold chosen there keeps too few picks elsewhere")
    p.add_argument("--expected-particles", type=float, default=0.0,
                   help="particles per micrograph (0: unknown); the threshold then keeps "
                        "15%% more picks than that, else it comes from the labels (with "
                        "--calibrate-dir: the count is estimated from them)")
    p.add_argument("--classifier-weight", type=float,
                   help="how many times the classifier's map counts against the U-Net's "
                        f"(default: {fusion.EQUAL_WEIGHT_LABELS:g} / the number of "
                        "hand-picked particles in --coords, the U-Net counting more the more "
                        f"labels it had; {fusion.CLASSIFIER_WEIGHT:g} without --coords)")
    p.add_argument("--output", required=True, help="the ensemble's model file (.pt)")
    p.add_argument("--pixel-size", type=float, default=0.0,
                   help="A/px of these micrographs (0: the models')")
    _add_runtime_flags(p)
    _add_precision_flag(p)
    p.set_defaults(func=_cmd_combine, ranges=[
        _rule("--expected-particles", 0), _rule("--classifier-weight", 0),
        _rule("--pixel-size", 0), _rule("--threads", 0)])

    p = sub.add_parser("fixmatch-config", help="write the default FixMatch configuration")
    p.add_argument("out", help="YAML file to write")
    p.set_defaults(func=_cmd_fixmatch_config)

    p = sub.add_parser("rescore", help="score coordinates with a FixMatch classifier, keep the good",
                       formatter_class=_HelpFormatter)
    p.add_argument("--model", required=True, help="best_model_ema.pt of train-fixmatch")
    _add_image_dir(p, "the micrographs of --coords")
    p.add_argument("--coords", required=True, help="coordinates to score (file or folder)")
    _add_coords_format(p)
    p.add_argument("--output", required=True,
                   help="scored.star or scored.json (one file), or a folder for csv/box/txt")
    _add_output_format(p)
    p.add_argument("--threshold", type=float, help="keep scores >= this (default: the model's)")
    p.add_argument("--keep-all", action="store_true", help="write every coordinate with its score")
    p.add_argument("--pixel-size", type=float, default=0.0,
                   help="A/px of these micrographs (0: the model's)")
    p.add_argument("--box-size", type=int, default=0, help="for .box/.csv output (0: 1.5 diameters)")
    p.add_argument("--batch-size", type=int, default=256, help="patches per inference batch")
    _add_runtime_flags(p)
    _add_precision_flag(p)
    _add_skip_flags(p, "score", "scored")
    p.set_defaults(func=_cmd_rescore, ranges=[
        _rule("--threshold", 0, 1), _rule("--pixel-size", 0), _rule("--box-size", 0),
        _rule("--batch-size", 1), _rule("--threads", 0)])
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_ranges(args)
        if getattr(args, "precision", None):
            from .engine.device import set_precision

            set_precision(args.precision)
        if getattr(args, "train_precision", None):
            from .engine.device import set_training_precision

            set_training_precision(args.train_precision)
        return args.func(args)
    except CryopickInputError as exc:
        print(f"cryopick: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file system problem the checks could not foresee (disk full...)
        if exc.filename is None:
            raise
        print(f"cryopick: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
