"""U-Net self-training from positive-unlabelled coordinates (seed 000).

Phase 1: coordinates become disc masks (particle 1, everything else 0) on the labelled
micrographs and the U-Net is trained on random crops. Phase 2, for each iteration:
A. inference on every training micrograph, B. pseudo-labels (probability above the positive
threshold -> particle, below the negative threshold -> background), C. label combination
(original particles first, the rest ignored), D. retraining with the BCE that skips ignored
pixels. Outputs in the output folder: baseline_model.pt, model_iteration_N.pt,
final_model.pt, training_summary.json. Log lines follow the seed's format.
last_checkpoint.pt, written after the baseline and after every iteration, lets an
interrupted run resume after its last finished phase (Scipion's Continue).
"""
import dataclasses
import json
import os
import time

import numpy as np
import torch

from .errors import CryopickInputError
from .losses import IgnoreMaskBCELoss
from .masks import IGNORE, coordinates_to_mask, combine_labels, label_fractions
from .metrics import evaluate
from .resample import DEFAULT_WORKING_DIAMETER, to_working
from .torchfiles import LAST_CHECKPOINT, save_atomic
from .unet import UNet
from .unet_model import UNetPicker


@dataclasses.dataclass
class UNetTrainConfig:
    # the seed's parameters, with the seed's defaults
    particle_radius: float = 10.0  # px of the input micrographs: mask disc radius
    initial_epochs: int = 50
    self_training_iterations: int = 5
    retrain_epochs: int = 20
    learning_rate: float = 1e-3
    batch_size: int = 4
    positive_threshold: float = 0.95
    negative_threshold: float = 0.05
    # ours
    # Also count as reliable negatives the least particle-like pixels of each micrograph (this
    # quantile of its probabilities). Particles cover a minority of a micrograph, so these are
    # background even when the baseline is not yet confident; without them a baseline with no
    # pixel below the negative threshold gets retrained on positives only and drifts towards
    # "everything is a particle". 0 gives the seed's behaviour exactly.
    negative_quantile: float = 0.5
    particle_diameter: float = 0.0  # px of the input micrographs; 0: 2 x particle_radius
    pixel_size: float = 0.0  # A/px of the input micrographs, 0 if unknown (stored in the model)
    base_features: int = 64
    crop_size: int = 128  # working px
    crops_per_image: int = 8  # random crops per micrograph per epoch
    working_diameter: float = DEFAULT_WORKING_DIAMETER
    pick_threshold: float = 0.5
    # without validation labels, choose the picking threshold from the hand-picked labels
    # (estimated F1 on the labelled micrographs, see thresholds.py); False: pick_threshold
    auto_threshold: bool = True
    seed: int = 0
    device: str = "cpu"

    def diameter(self):
        return self.particle_diameter or 2.0 * self.particle_radius

    def validate(self):
        checks = [
            (self.particle_radius > 0, "particle radius must be > 0"),
            (self.particle_diameter >= 0, "particle diameter must be >= 0"),
            (self.initial_epochs >= 1, "initial epochs must be >= 1"),
            (self.self_training_iterations >= 0, "self-training iterations must be >= 0"),
            (self.retrain_epochs >= 1 or self.self_training_iterations == 0,
             "retrain epochs must be >= 1"),
            (self.learning_rate > 0, "learning rate must be > 0"),
            (self.batch_size >= 1, "batch size must be >= 1"),
            (0 <= self.negative_threshold < self.positive_threshold <= 1,
             "thresholds must satisfy 0 <= negative < positive <= 1"),
            (0 <= self.pick_threshold <= 1, "picking threshold must be within [0, 1]"),
            (0 <= self.negative_quantile < 1, "negative quantile must be within [0, 1)"),
            (self.base_features >= 2, "base features must be >= 2"),
            (self.crop_size >= 16 and self.crop_size % 16 == 0,
             "crop size must be a multiple of 16, at least 16"),
            (self.crops_per_image >= 1, "crops per image must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise CryopickInputError(message)


class _Log:
    def __init__(self, log):
        self.log = log or (lambda line: print(line, flush=True))

    def __call__(self, line):
        self.log(line)


def _random_crops(rng, images, masks, n_per_image, crop):
    """Random crops (with flips / 90-degree rotations) of every image with its mask.

    Images smaller than a crop are padded; padded pixels are IGNORED in the mask.
    """
    xs, ys = [], []
    for img, mask in zip(images, masks):
        h, w = img.shape
        ph, pw = max(0, crop - h), max(0, crop - w)
        if ph or pw:
            img = np.pad(img, ((0, ph), (0, pw)), mode="constant")
            mask = np.pad(mask, ((0, ph), (0, pw)), mode="constant", constant_values=IGNORE)
            h, w = img.shape
        for _ in range(n_per_image):
            y, x = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
            a, b = img[y:y + crop, x:x + crop], mask[y:y + crop, x:x + crop]
            k = int(rng.integers(0, 4))
            a, b = np.rot90(a, k), np.rot90(b, k)
            if rng.random() < 0.5:
                a, b = a[:, ::-1], b[:, ::-1]
            xs.append(np.ascontiguousarray(a))
            ys.append(np.ascontiguousarray(b))
    order = rng.permutation(len(xs))
    return np.stack(xs)[order], np.stack(ys)[order]


def _train_epochs(model, optimizer, loss_fn, images, masks, epochs, cfg, rng, log, indent=""):
    model.train()
    losses = []
    for epoch in range(1, epochs + 1):
        x, y = _random_crops(rng, images, masks, cfg.crops_per_image, cfg.crop_size)
        total, n = 0.0, 0
        for i in range(0, len(x), cfg.batch_size):
            xb = torch.from_numpy(x[i:i + cfg.batch_size, None]).to(cfg.device)
            yb = torch.from_numpy(y[i:i + cfg.batch_size, None]).to(cfg.device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total, n = total + float(loss.detach()) * len(xb), n + len(xb)
        losses.append(total / max(n, 1))
        log(f"{indent}Epoch {epoch}/{epochs} - Loss: {losses[-1]:.4f}")
    return losses


def _validate_picker(picker, val_images, val_truth, radius, device):
    """Evaluate on validation micrographs; also the best-F1 threshold over the scores."""
    picks = {name: picker.pick(img, threshold=0.05, device=device)
             for name, img in val_images.items()}
    result = evaluate(picks, val_truth, radius)["overall"]
    at_default = evaluate({k: v[v[:, 2] >= picker.threshold] for k, v in picks.items()},
                          val_truth, radius)["overall"]
    return dict(precision=at_default["precision"], recall=at_default["recall"],
                f1=at_default["f1"], ap=result["ap"], best_f1=result.get("best_f1", 0.0),
                best_threshold=result.get("best_threshold"), n_truth=result["n_truth"])


# settings that do not change what is trained: a run may resume with other values
_RESUMABLE_ANYWAY = ("device",)


def _save_checkpoint(path, model, summary, rng):
    save_atomic(dict(model=model.state_dict(), summary=summary, rng=rng.bit_generator.state,
                     torch_rng=torch.get_rng_state()), path)


def _load_checkpoint(path, model, summary, rng, device):
    ck = torch.load(path, map_location=device, weights_only=False)
    ours = {k: v for k, v in summary["config"].items() if k not in _RESUMABLE_ANYWAY}
    theirs = {k: v for k, v in ck["summary"]["config"].items() if k not in _RESUMABLE_ANYWAY}
    changed = sorted(k for k in ours if ours[k] != theirs.get(k))
    changed += [k for k in ("n_micrographs", "n_labels", "working_factor")
                if summary[k] != ck["summary"].get(k)]  # other training data
    if changed:
        raise CryopickInputError(
            f"cannot resume from {path}: it was trained with other settings ({', '.join(changed)})"
            "; use another output folder or the same settings")
    model.load_state_dict(ck["model"])
    rng.bit_generator.state = ck["rng"]
    torch.set_rng_state(ck["torch_rng"])
    return ck["summary"]


def train_unet(images, labels, output_dir, config=None, val_images=None, val_labels=None,
               log=None, resume=False):
    """Train a U-Net picker with self-training.

    ``images``: {name: 2-D array} of training micrographs (labelled and unlabelled: all of
    them get pseudo-labels). ``labels``: {name: (N, 2+) [x, y, ...]} hand-picked particles
    in the images' pixel frame. Optional validation micrographs and their (complete) labels
    give per-iteration metrics and a best-F1 picking threshold. Returns the summary dict.
    ``resume``: continue after the last finished phase of ``last_checkpoint.pt`` in
    ``output_dir`` (same settings required), giving the same result as an uninterrupted run.
    """
    cfg = config or UNetTrainConfig()
    cfg.validate()
    log = _Log(log)
    unknown = sorted(set(labels) - set(images))
    if unknown:
        raise CryopickInputError(f"labels for unknown micrographs: {unknown[:5]}")
    labelled = [n for n in images if n in labels and len(labels[n])]
    if not labelled:
        raise CryopickInputError("no labelled particles: at least one micrograph needs coordinates")
    os.makedirs(output_dir, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    model = UNet(base_features=cfg.base_features).to(cfg.device)
    picker = UNetPicker(model, cfg.diameter(), cfg.working_diameter, cfg.pixel_size or None,
                        threshold=cfg.pick_threshold, extra=dict(config=dataclasses.asdict(cfg)))
    factor = picker.factor_for()
    mask_radius = cfg.particle_radius / factor
    log(f"Working pixel size: binning {factor:.2f}x (particle diameter {cfg.diameter():.1f} px "
        f"-> {cfg.diameter() / factor:.1f} px), mask radius {mask_radius:.1f} px")
    names = list(images)
    work = {}
    for n in names:
        w, _ = picker.prepare(images[n])
        if min(w.shape) < 16:
            raise CryopickInputError(
                f"micrograph {n}: {w.shape[1]}x{w.shape[0]} px at the working pixel size, "
                "smaller than the U-Net's 16 px minimum")
        work[n] = w
    original = {n: coordinates_to_mask(to_working(labels[n], factor) if n in labels else [],
                                       work[n].shape, mask_radius) for n in names}
    val_work = val_truth = None
    radius_eval = cfg.diameter() / 2
    if val_images:
        val_work = val_images
        val_truth = {n: np.asarray(val_labels.get(n, np.zeros((0, 2)))) for n in val_images}

    summary = dict(config=dataclasses.asdict(cfg), working_factor=factor,
                   n_micrographs=len(names), n_labelled_micrographs=len(labelled),
                   n_labels=int(sum(len(labels[n]) for n in labelled)), iterations=[])
    loss_fn = IgnoreMaskBCELoss()
    last_path = os.path.join(output_dir, LAST_CHECKPOINT)
    if resume and os.path.exists(last_path):
        summary = _load_checkpoint(last_path, model, summary, rng, cfg.device)
        log(f"Resuming after {_phase_name(len(summary['iterations']) - 1)} from {last_path}")
    start = time.time() - (summary["iterations"][-1]["seconds"] if summary["iterations"] else 0.0)

    def end_phase(model_name, entry):
        """Save the phase's model, validate it, record it, checkpoint (a resume point)."""
        picker.save(os.path.join(output_dir, model_name))
        entry["seconds"] = time.time() - start
        if val_work:
            entry["validation"] = _validate_picker(picker, val_work, val_truth, radius_eval,
                                                   cfg.device)
            log(_val_line(entry["validation"]))
        summary["iterations"].append(entry)
        _save_checkpoint(last_path, model, summary, rng)

    if not summary["iterations"]:
        log("Phase 1: Initial Supervised Training")
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
        losses = _train_epochs(model, optimizer, loss_fn, [work[n] for n in labelled],
                               [original[n] for n in labelled], cfg.initial_epochs, cfg, rng,
                               log)
        end_phase("baseline_model.pt", dict(iteration=0, losses=losses))

    for it in range(len(summary["iterations"]), cfg.self_training_iterations + 1):
        log(f"\nSelf-Training Iteration {it}/{cfg.self_training_iterations}")
        log("A. Running inference...")
        probs = {n: picker.probability_map(images[n], device=cfg.device)[0] for n in names}
        log("B. Generating pseudo-labels...")
        positive = {n: probs[n] > cfg.positive_threshold for n in names}
        negative = {n: _reliable_negatives(probs[n], cfg) for n in names}
        pos_cov = float(np.mean([positive[n].mean() for n in names]))
        neg_cov = float(np.mean([negative[n].mean() for n in names]))
        log(f"   Avg pseudo-positive coverage: {100 * pos_cov:.2f}%")
        log(f"   Avg reliable-negative coverage: {100 * neg_cov:.2f}%")
        log("C. Combining labels...")
        combined = {n: combine_labels(original[n], positive[n], negative[n]) for n in names}
        fr = np.mean([label_fractions(combined[n]) for n in names], axis=0)
        log(f"   Positive pixels: {100 * fr[0]:.2f}%")
        log(f"   Negative pixels: {100 * fr[1]:.2f}%")
        log(f"   Ignored pixels: {100 * fr[2]:.2f}%")
        log("D. Retraining...")
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
        losses = _train_epochs(model, optimizer, loss_fn, [work[n] for n in names],
                               [combined[n] for n in names], cfg.retrain_epochs, cfg, rng, log,
                               indent="   ")
        end_phase(f"model_iteration_{it}.pt", dict(
            iteration=it, pseudo_positive_coverage=pos_cov, reliable_negative_coverage=neg_cov,
            positive_pixels=float(fr[0]), negative_pixels=float(fr[1]),
            ignored_pixels=float(fr[2]), losses=losses))

    if val_work and summary["iterations"][-1]["validation"].get("best_threshold") is not None:
        # the validation set is fully labelled: its best-F1 threshold is the one to pick with
        picker.threshold = float(summary["iterations"][-1]["validation"]["best_threshold"])
        log(f"Picking threshold from validation (best F1): {picker.threshold:.3f}")
    elif not val_work and cfg.auto_threshold:
        from .thresholds import lee_liu_threshold

        picks = {n: picker.pick(images[n], threshold=0.05, device=cfg.device)
                 for n in sorted(labelled, key=lambda n: -len(labels[n]))[:8]}
        threshold, recall = lee_liu_threshold(picks, {n: labels[n] for n in picks}, radius_eval)
        if threshold is not None:
            picker.threshold = threshold
            log(f"Picking threshold from the labels (estimated F1 on {len(picks)} labelled "
                f"micrographs): {threshold:.3f}, estimated recall {recall:.2f}")
    picker.save(os.path.join(output_dir, "final_model.pt"))
    summary.update(pick_threshold=picker.threshold, seconds=time.time() - start)
    with open(os.path.join(output_dir, "training_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    log(f"Done in {summary['seconds']:.0f} s. Final model: "
        f"{os.path.join(output_dir, 'final_model.pt')}")
    return summary


def _phase_name(iteration):
    return "the baseline" if iteration == 0 else f"self-training iteration {iteration}"


def _reliable_negatives(prob, cfg):
    negative = prob < cfg.negative_threshold
    if cfg.negative_quantile > 0:
        negative |= prob <= np.quantile(prob, cfg.negative_quantile)
    return negative


def _val_line(v):
    return (f"   Validation: P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f} "
            f"AP {v['ap']:.3f} (best F1 {v['best_f1']:.3f})")
