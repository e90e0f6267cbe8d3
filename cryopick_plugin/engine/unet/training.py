"""U-Net self-training from positive-unlabelled coordinates (seed 000).

Phase 1: coordinates become disc masks (particle 1, everything else 0) on the labelled
micrographs and the U-Net is trained on random crops. Phase 2, for each iteration:
A. inference on every training micrograph, B. pseudo-labels (probability above the positive
threshold -> particle, below the negative threshold -> background), C. label combination
(original particles first, the rest ignored), D. retraining with the BCE that skips ignored
pixels. Outputs in the output folder (names in io/files.py): baseline_model.pt,
model_iteration_N.pt, final_model.pt, training_summary.json. Log lines follow the seed's
format. last_checkpoint.pt, written after the baseline and after every iteration, lets an
interrupted run resume after its last finished phase (Scipion's Continue).
"""
import dataclasses
import os
import time

import numpy as np
import torch

from ..device import training_autocast, training_layout
from ..errors import CryopickInputError
from ..io import files
from ..io.coordinates import check_training_labels, read_coordinates, without_labels
from ..picking.centring import MIN_LABELS as CENTRING_MIN_LABELS, centre_labels
from ..picking.fusion import classifier_weight_for, fuse_maps
from ..picking.metrics import evaluate
from ..picking.density import (centre_contrast, contrast_floor, density_range,
                               local_density, typical_range)
from ..picking.scale import to_working
from ..picking.scale import to_original
from ..picking.views import view_mean
from ..picking.thresholds import (count_from_labels, lee_liu_estimate,
                                  threshold_from_training,
                                   threshold_from_validation)
from .config import UNetTrainConfig
from .losses import IgnoreMaskBCELoss, PULoss
from .masks import (BACKGROUND, IGNORE, PARTICLE, UNLABELLED, combine_labels,
                    coordinates_to_mask, disc_area, label_fractions)
from .network import UNet
from .picker import UNetPicker

# settings that do not change what is trained: a run may resume with other values
_RESUMABLE_ANYWAY = ("device",)
# particles never cover more than this share of a micrograph (crowded real data: about 0.35)
MAX_PARTICLE_SHARE = 0.6
# reliable negatives leave the expected particles' area this many times over (see
# negative_share_cap)
NEGATIVE_MARGIN = 2.0
# what else a checkpoint must share with the run that resumes it (the training data)
_SAME_DATA = ("n_micrographs", "n_labels", "working_factor")


def _print(line):
    print(line, flush=True)


def _crop_origin(rng, shape, crop, particle_pixels=None):
    """Top-left corner of a crop: uniform, or placed so that one of ``particle_pixels``
    ((ys, xs), drawn at random) lies somewhere inside it (uniform when there are none)."""
    h, w = shape
    if particle_pixels is not None and len(particle_pixels[0]):
        ys, xs = particle_pixels
        i = int(rng.integers(0, len(ys)))
        y0 = int(rng.integers(max(0, ys[i] - crop + 1), min(ys[i], h - crop) + 1))
        x0 = int(rng.integers(max(0, xs[i] - crop + 1), min(xs[i], w - crop) + 1))
        return y0, x0
    return int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))


def _level_shift(rng, crop, jitter):
    """A square ``crop`` with its grey level changed: a gain, and an offset with a linear
    ramp in a random direction, all drawn within ``jitter`` (robust standard deviations;
    see UNetTrainConfig.intensity_jitter)."""
    gain = float(np.exp(rng.uniform(-0.25 * jitter, 0.25 * jitter)))
    offset, slope = rng.uniform(-jitter, jitter, size=2)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    ramp = np.linspace(-0.5, 0.5, len(crop), dtype=np.float32)
    ramp = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    return (crop * gain + offset + slope * ramp).astype(np.float32)


def _random_crops(rng, images, masks, n_per_image, crop, particle_share=0.0, jitter=0.0):
    """Random crops (with flips / 90-degree rotations) of every image with its mask; a
    ``particle_share`` of them hold a particle pixel; with ``jitter``, each crop's level
    shifted (_level_shift).

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
        particles = np.nonzero(mask == PARTICLE) if particle_share > 0 else None
        for _ in range(n_per_image):
            # no draw at share 0: the seed's crops, exactly
            on_particle = particle_share > 0 and rng.random() < particle_share
            y, x = _crop_origin(rng, (h, w), crop, particles if on_particle else None)
            a, b = img[y:y + crop, x:x + crop], mask[y:y + crop, x:x + crop]
            k = int(rng.integers(0, 4))
            a, b = np.rot90(a, k), np.rot90(b, k)
            if rng.random() < 0.5:
                a, b = a[:, ::-1], b[:, ::-1]
            if jitter > 0:  # no draw at 0: the seed's crops, exactly
                a = _level_shift(rng, a, jitter)
            xs.append(np.ascontiguousarray(a))
            ys.append(np.ascontiguousarray(b))
    order = rng.permutation(len(xs))
    return np.stack(xs)[order], np.stack(ys)[order]


class WeightAverage:
    """Exponential moving average of a model's weights (and batch-norm statistics) over its
    updates; ``apply()`` puts the average into the model. The decay starts low
    ((1 + n) / (10 + n) after n updates) so that the random start is soon forgotten."""

    def __init__(self, model, decay):
        self.model, self.decay, self.updates = model, float(decay), 0
        self.average = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self):
        self.updates += 1
        decay = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for key, value in self.model.state_dict().items():
            if value.dtype.is_floating_point:
                self.average[key].mul_(decay).add_(value.detach(), alpha=1.0 - decay)
            else:
                self.average[key].copy_(value)

    def apply(self):
        self.model.load_state_dict(self.average)


def _train_epochs(model, optimizer, loss_fn, images, masks, epochs, cfg, rng, log, indent="",
                  first_epoch=1, total_epochs=None, average=None):
    model.train()
    losses = []
    total_epochs = total_epochs or epochs
    for epoch in range(first_epoch, first_epoch + epochs):
        x, y = _random_crops(rng, images, masks, cfg.crops_per_image, cfg.crop_size,
                             cfg.particle_crops, cfg.intensity_jitter)
        total, n = 0.0, 0
        for i in range(0, len(x), cfg.batch_size):
            xb = torch.from_numpy(x[i:i + cfg.batch_size, None]).to(cfg.device)
            yb = torch.from_numpy(y[i:i + cfg.batch_size, None]).to(cfg.device)
            optimizer.zero_grad()
            with training_autocast(cfg.device):
                out = model(xb)
            loss = loss_fn(out.float(), yb)
            loss.backward()
            optimizer.step()
            if average is not None:
                average.update()
            total, n = total + float(loss.detach()) * len(xb), n + len(xb)
        losses.append(total / max(n, 1))
        log(f"{indent}Epoch {epoch}/{total_epochs} - Loss: {losses[-1]:.4f}")
    return losses


def _as_background(mask):
    """The seed's reading of a mask: unlabelled pixels are background."""
    return np.where(mask == UNLABELLED, BACKGROUND, mask).astype(mask.dtype)


def _cap_pseudo_positives(prob, positive, n_pixels):
    """At most the ``n_pixels`` most confident pseudo-positive pixels: more than the
    expected particles can cover is a runaway (retraining would confirm it)."""
    n_pixels = int(n_pixels)
    if positive.sum() <= n_pixels:
        return positive
    kept = np.zeros_like(positive)
    if n_pixels > 0:
        idx = np.flatnonzero(positive)
        top = idx[np.argsort(prob.ravel()[idx])[::-1][:n_pixels]]
        kept.ravel()[top] = True
    return kept


def _pseudo_particle_centres(positive, original, factor):
    """(x, y) centres, micrograph pixels, of pseudo-particle blobs not on a hand-picked one."""
    from scipy import ndimage

    blobs, n = ndimage.label(positive & (original != PARTICLE))
    if not n:
        return np.zeros((0, 2))
    centres = np.array(ndimage.center_of_mass(positive, blobs, range(1, n + 1)))[:, ::-1]
    return to_original(centres, factor)


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


def _lowest(prob, share):
    """The ``share`` of the pixels with the lowest probabilities, by rank, not "<= the
    quantile's value": on a saturated map (half the pixels at 1.0) that would take every
    pixel."""
    lowest = np.zeros(prob.size, dtype=bool)
    lowest[np.argsort(prob, axis=None, kind="stable")[:int(share * prob.size)]] = True
    return lowest.reshape(prob.shape)


def _reliable_negatives(prob, cfg, max_share=None):
    """Pixels below the negative threshold, plus the lowest negative_quantile; never more
    than ``max_share`` of the pixels (the least particle-like ones; None: no cap)."""
    negative = prob < cfg.negative_threshold
    if cfg.negative_quantile > 0:
        negative |= _lowest(prob, cfg.negative_quantile)
    if max_share is not None and negative.mean() > max_share:
        negative = _lowest(prob, max_share)
    return negative


def negative_share_cap(expected_particles, disc, n_pixels):
    """Most of a micrograph that may become reliable background in a self-training round:
    what the expected particles leave, less the same area again as a margin. A confident
    model scores the particles it missed below the negative threshold; taking every such
    pixel as background taught it they are background (measured: reliable negatives grew
    to 72% of an irregular-particle set with particles on 20%, and the third round lost AP
    0.80 -> 0.71). None without a particle count (the seed's rule alone)."""
    if not expected_particles:
        return None
    coverage = min(1.0, expected_particles * disc / n_pixels)
    return max(0.0, 1.0 - NEGATIVE_MARGIN * coverage)


def too_little_background(particle_share, background_share):
    """Whether a self-training round's labels hold less reliable background than particle.
    Dense micrographs get there: with particles expected over about a third of a micrograph
    the cap on reliable background (negative_share_cap) falls below their area, and over
    half it leaves none; a retraining that ignores the rest
    then learns from particles alone and drifts towards "everything is a particle" (on the
    demo data, particles on 43% of the area: AP 0.995 -> 0.925 in two rounds)."""
    return background_share < particle_share


def _phase_name(iteration):
    return "the baseline" if iteration == 0 else f"self-training iteration {iteration}"


def _val_line(v):
    return (f"   Validation: P {v['precision']:.3f} R {v['recall']:.3f} F1 {v['f1']:.3f} "
            f"AP {v['ap']:.3f} (best F1 {v['best_f1']:.3f})")


class SelfTraining:
    """One training run: inputs, phase 1, self-training rounds, threshold, outputs."""

    def __init__(self, images, labels, output_dir, cfg, val_images, val_labels, log,
                 teacher=None, counter=None):
        self.images, self.labels, self.output_dir = images, labels, output_dir
        self.cfg, self.log = cfg, log
        self.labelled = check_training_labels(images, labels)
        torch.manual_seed(cfg.seed)
        self.rng = np.random.default_rng(cfg.seed)
        self.model = training_layout(UNet(base_features=cfg.base_features), cfg.device)
        self.picker = UNetPicker(self.model, cfg.diameter(), cfg.working_diameter,
                                 cfg.pixel_size or None, threshold=cfg.pick_threshold,
                                 extra=dict(config=dataclasses.asdict(cfg)))
        self.factor = self.picker.factor_for()
        # refused before any output
        self.teacher = self._check_classifier(teacher, cfg.teacher, "--teacher")
        self.counter = self._check_classifier(counter, cfg.count_classifier,
                                              "--count-classifier")
        if self.teacher is not None:
            log(f"Teacher: {cfg.teacher} (its map and the U-Net's choose the pseudo-particles)")
        files.prepare_output_dir(output_dir)
        self.names = list(images)
        self.work = self._working_images()
        self.centring = None
        if cfg.centre_labels:  # every use of the labels below takes the centred ones
            self.labels = labels = self._centred_labels(labels)
        self.mask_radius = mask_radius = cfg.radius() / self.factor
        log(f"Working pixel size: binning {self.factor:.2f}x (particle diameter "
            f"{cfg.diameter():.1f} px -> {cfg.diameter() / self.factor:.1f} px), mask radius "
            f"{mask_radius:.1f} px")
        self.pu = cfg.objective == "nnpu"
        self.disc = disc_area(mask_radius)
        # picks (and pseudo-particles) must look like the labels in density, and picks that
        # look unlike most of them rank lower (see picking/density.py); every model saved
        # from here on keeps both ranges
        density = self._label_density()
        self.picker.density_range = density_range(density)
        self.picker.density_typical = typical_range(density)
        self.picker.contrast_floor = contrast_floor(self._label_features(centre_contrast))
        # unlabelled pixels: an unknown mix for the PU objective, background for the seed's
        self.original = {
            n: coordinates_to_mask(to_working(labels[n], self.factor) if n in labels else [],
                                   self.work[n].shape, mask_radius,
                                   background=UNLABELLED if self.pu else BACKGROUND)
            for n in self.names}
        self.val_images = val_images or None
        self.val_truth = None
        if self.val_images:
            self.val_truth = {n: np.asarray(val_labels.get(n, np.zeros((0, 2))))
                              for n in val_images}
        self.summary = dict(config=dataclasses.asdict(cfg), working_factor=self.factor,
                            n_micrographs=len(self.names),
                            n_labelled_micrographs=len(self.labelled),
                            n_labels=int(sum(len(labels[n]) for n in self.labelled)),
                            expected_particles=cfg.expected_particles or None,
                            **({"label_centring": self.centring} if self.centring else {}),
                            iterations=[])
        self.checkpoint = os.path.join(output_dir, files.LAST_CHECKPOINT)
        self.start = time.time()

    def _check_classifier(self, model, path, flag):
        """The classifier named by ``flag`` (loaded by the caller: the U-Net does not import
        the classifier's code), checked to see the micrographs as the U-Net does."""
        if bool(path) != (model is not None):
            raise CryopickInputError(f"{flag}: the setting names a model file, and the "
                                     "loaded model must come with it (and only with it)")
        if model is None:
            return None
        if (abs(model.working_diameter - self.picker.working_diameter) > 1e-6 or
                abs(model.factor_for() - self.factor) > 1e-6 * self.factor):
            raise CryopickInputError(
                f"{flag} {path}: trained for another particle size or working "
                f"pixel size (working diameter {model.working_diameter:g} px, binning "
                f"{model.factor_for():.3f}x; this U-Net: {self.picker.working_diameter:g} px, "
                f"{self.factor:.3f}x)")
        return model

    def _teacher_map(self, name, prob):
        """The U-Net's map of ``name`` fused with the teacher's, both over the same views."""
        views = self.cfg.pseudo_label_views
        theirs = view_mean(lambda w: self.teacher.score_working(w, self.cfg.device),
                           self.work[name], views)
        return fuse_maps(prob, theirs, classifier_weight_for(self.summary["n_labels"]))

    def _centred_labels(self, labels):
        """The hand-picked particles moved onto their centres (picking/centring.py), in the
        micrographs' own frame; how far they moved goes into the log."""
        n_labels = sum(len(labels[n]) for n in self.labelled)
        if n_labels < CENTRING_MIN_LABELS:
            self.log(f"Labels not centred: {n_labels} hand-picked particles, fewer than the "
                     f"{CENTRING_MIN_LABELS} a mean particle to centre them on needs")
            return labels
        clicked = {n: to_working(np.asarray(labels[n], dtype=np.float64), self.factor)
                   for n in self.labelled}
        centred = centre_labels(self.work, clicked, self.cfg.diameter() / self.factor)
        out, shifts = dict(labels), []
        for n in self.labelled:
            moved = clicked[n].copy()
            shifts.append(np.hypot(*(centred[n] - moved[:, :2]).T))
            moved[:, :2] = centred[n]
            out[n] = to_original(moved, self.factor)
        shifts = np.concatenate(shifts) * self.factor
        self.centring = dict(mean_shift_px=float(np.mean(shifts)),
                             max_shift_px=float(np.max(shifts)))
        self.log(f"Labels centred on their particles: moved {np.mean(shifts):.1f} px on "
                 f"average (most {np.max(shifts):.1f} px, {np.mean(shifts > 0):.0%} of them)")
        return out

    def _working_images(self):
        work = {}
        for n in self.names:
            w, _ = self.picker.prepare(self.images[n])
            if min(w.shape) < 16:
                raise CryopickInputError(
                    f"micrograph {n}: {w.shape[1]}x{w.shape[0]} px at the working pixel size, "
                    "smaller than the U-Net's 16 px minimum")
            work[n] = w
        return work

    # ------------------------------------------------------------------ resume
    def resume(self):
        """Continue after the checkpoint's last finished phase (same settings and data)."""
        if not os.path.exists(self.checkpoint):
            self.log(f"No {files.LAST_CHECKPOINT} in {self.output_dir}: starting from the "
                     "beginning")
            return
        ck = files.read_torch_file(self.checkpoint, self.cfg.device, "checkpoint")
        theirs = ck["summary"]
        changed = files.changed_settings(self.summary["config"], theirs["config"],
                                         _RESUMABLE_ANYWAY)
        changed += [k for k in _SAME_DATA if self.summary[k] != theirs.get(k)]
        files.refuse_changed_resume(self.checkpoint, changed)
        self.model.load_state_dict(ck["model"])
        self.rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        self.summary = theirs
        self.start = time.time() - theirs["iterations"][-1]["seconds"]
        self.log(f"Resuming after {_phase_name(len(theirs['iterations']) - 1)} from "
                 f"{self.checkpoint}")

    def _weight_average(self):
        return WeightAverage(self.model, self.cfg.weight_average) \
            if self.cfg.weight_average else None

    def _end_phase(self, model_name, entry):
        """Save the phase's model, validate it, record it, checkpoint (a resume point)."""
        self.picker.save(os.path.join(self.output_dir, model_name))
        entry["seconds"] = time.time() - self.start
        if self.val_images:
            entry["validation"] = _validate_picker(self.picker, self.val_images, self.val_truth,
                                                   self.cfg.diameter() / 2, self.cfg.device)
            self.log(_val_line(entry["validation"]))
        self.summary["iterations"].append(entry)
        files.save_torch_atomic(dict(model=self.model.state_dict(), summary=self.summary,
                                     rng=self.rng.bit_generator.state,
                                     torch_rng=torch.get_rng_state()), self.checkpoint)

    # ------------------------------------------------------------------ phases
    def initial_training(self):
        cfg, log = self.cfg, self.log
        log("Phase 1: Initial Supervised Training")
        optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        average = self._weight_average()
        images = [self.work[n] for n in self.labelled]
        masks = [self.original[n] for n in self.labelled]
        entry = dict(iteration=0, losses=[])
        epochs = cfg.initial_epochs
        if self.pu and not self.summary["expected_particles"] and self.counter is not None:
            self.summary["expected_particles"] = self._count_by_classifier()
        if self.pu and not self.summary["expected_particles"]:
            # no particle count, given or counted by the classifier: learn with the
            # unlabelled pixels as background for half the epochs (it ranks particles, if
            # too low), count the particles with Lee & Liu's criterion on the labelled
            # micrographs, then continue with PU
            first = epochs // 2
            entry["losses"] += _train_epochs(self.model, optimizer, IgnoreMaskBCELoss(),
                                             images, [_as_background(m) for m in masks],
                                             first, cfg, self.rng, log,
                                             total_epochs=cfg.initial_epochs, average=average)
            epochs -= first
            self.summary["expected_particles"] = self._estimate_particles()
        loss_fn = self._loss(masks, self.labelled)
        entry["prior"] = getattr(loss_fn, "prior", None)
        entry["losses"] += _train_epochs(self.model, optimizer, loss_fn, images, masks, epochs,
                                         cfg, self.rng, log, first_epoch=cfg.initial_epochs -
                                         epochs + 1, total_epochs=cfg.initial_epochs,
                                         average=average)
        if average is not None:
            average.apply()
        self._end_phase(files.UNET_BASELINE, entry)

    def _pseudo_particles(self, prob, name, expected, by_rank=False):
        """Working-frame peaks scoring above the positive threshold, away from the hand-picked
        particles, best first; with a particle count, no more than it leaves unlabelled (a
        runaway guard: retraining on more would confirm the excess). Also returns how many
        confident peaks were left out for their density or contrast (unlike the labels;
        UNetPicker.like_labels). ``by_rank`` (a teacher's fused map, whose disc-averaged
        scores rarely reach the threshold): the best-scored peaks instead, --teacher-share
        of those the count leaves unlabelled."""
        from scipy.spatial import cKDTree

        peaks = self.picker.peaks_working(prob, 0.0 if by_rank else self.cfg.positive_threshold)
        labelled = np.asarray(self.labels.get(name, np.zeros((0, 2))), dtype=np.float64)
        labelled = to_working(labelled[:, :2] if labelled.size else np.zeros((0, 2)),
                              self.factor)
        if len(peaks) and len(labelled):
            distance = cKDTree(labelled).query(peaks[:, :2])[0]
            peaks = peaks[distance > 0.5 * self.picker.working_diameter]
        like = self.picker.like_labels(self.work[name], peaks)
        # ranked, not thresholded: no peak was confident, so none was left out for density
        n_unlike = 0 if by_rank else len(peaks) - len(like)
        if expected:
            room = max(0, int(round(expected)) - len(labelled))
            like = like[:int(round(self.cfg.teacher_share * room)) if by_rank else room]
        return like, n_unlike

    def _confirmed(self, centres, it):
        """The working-frame pseudo-particle ``centres`` of round ``it`` within half a
        particle diameter of one of round ``it`` - 1's (read from its file, so a resumed run
        confirms as an uninterrupted one); logs how many new ones were left out."""
        from scipy.spatial import cKDTree

        path = os.path.join(self.output_dir, files.unet_pseudo_positives(it - 1))
        before = read_coordinates(path) if os.path.exists(path) else {}
        kept = {}
        for name, c in centres.items():
            earlier = np.asarray(before.get(name, np.zeros((0, 2))), dtype=np.float64)
            earlier = earlier.reshape(-1, earlier.shape[-1] if earlier.size else 2)[:, :2]
            if not len(c) or not len(earlier):
                kept[name] = c[:0]
                continue
            distance = cKDTree(to_working(earlier, self.factor)).query(c[:, :2])[0]
            kept[name] = c[distance <= 0.5 * self.picker.working_diameter]
        new = sum(len(c) for c in centres.values()) - sum(len(c) for c in kept.values())
        self.log(f"   Pseudo-particles not taken in round {it - 1} either: {new} left out "
                 "(--confirm-pseudo-particles)")
        return kept

    def _label_density(self):
        """(N, 2) local density of the hand-picked particles (picking/density.py)."""
        return self._label_features(local_density).reshape(-1, 2)

    def _label_features(self, feature):
        """``feature(work, xy, working diameter)`` at the hand-picked particles, stacked."""
        features = [feature(self.work[n], to_working(
            np.asarray(self.labels[n], dtype=np.float64)[:, :2], self.factor),
            self.picker.working_diameter) for n in self.labelled]
        return np.concatenate(features) if features else np.zeros(0)

    def _count_by_classifier(self):
        """Particles per micrograph counted by --count-classifier on the labelled
        micrographs (count_from_labels), or None."""
        per_mic = count_from_labels(
            lambda n: self.counter.pick(self.images[n], self.cfg.pixel_size or None,
                                        threshold=0.02, device=self.cfg.device),
            {n: self.labels[n] for n in self.labelled}, self.cfg.diameter() / 2)
        return self._plausible_count(per_mic, "counted by the classifier "
                                     f"{self.cfg.count_classifier}", "classifier")

    def _estimate_particles(self):
        """Particles per micrograph from picks of the current model (Lee & Liu's count).
        One pass per micrograph, not the picking views: the map of a model halfway through
        phase 1 flattens over views, and the count came out lower (a test's 10 particles per
        micrograph: 8.3 from one view, 6.7 from 4)."""
        picks = {n: self.picker.pick(self.images[n], threshold=0.05, device=self.cfg.device,
                                     views=1)
                 for n in self.labelled}
        found = lee_liu_estimate(picks, {n: self.labels[n] for n in self.labelled},
                                 self.cfg.diameter() / 2)
        per_mic = found["n_particles"] / len(picks) if found else None
        return self._plausible_count(per_mic, "Lee & Liu criterion on "
                                     f"{len(picks)} labelled micrographs", "labels")

    def _plausible_count(self, per_mic, how, origin):
        """``per_mic`` if a plausible count (logged, its origin kept in the summary), else
        None: without the classifier's count the U-Net counts by itself halfway through
        phase 1; without that one the rest of training treats unlabelled pixels as
        background."""
        then = ("the U-Net counts by itself halfway through phase 1" if origin == "classifier"
                else "the rest of training treats unlabelled pixels as background")
        if not per_mic:
            self.log(f"Could not estimate the particle count ({how}): {then}")
            return None
        n_labels = max(len(self.labels[n]) for n in self.labelled)
        room = min(w.size for w in self.work.values()) / self.disc
        if not n_labels <= per_mic <= MAX_PARTICLE_SHARE * room:
            # a ranking too poor to count with (few epochs, few labels): a wrong prior would
            # do more harm than the seed's objective
            self.log(f"Estimated particles per micrograph: {per_mic:.0f} ({how}), implausible "
                     f"(fewer than the labels or covering over {100 * MAX_PARTICLE_SHARE:.0f}% "
                     f"of a micrograph): {then}; give --expected-particles")
            return None
        self.log(f"Estimated particles per micrograph: {per_mic:.0f} ({how})")
        self.summary["count_origin"] = origin
        return per_mic

    def _loss(self, masks, names):
        """The objective for training on ``masks``: PU with the share of particle pixels
        among the unlabelled ones, or the seed's BCE."""
        if not self.pu or not self.summary["expected_particles"]:
            return IgnoreMaskBCELoss()
        expected = self.summary["expected_particles"] * self.disc * len(names)
        known = sum(int((m == PARTICLE).sum()) for m in masks)
        unlabelled = sum(int((m == UNLABELLED).sum()) for m in masks)
        prior = float(np.clip((expected - known) / max(unlabelled, 1), 0.0, 0.95))
        self.log(f"   PU objective: {100 * prior:.1f}% of the unlabelled pixels are particle "
                 f"({self.summary['expected_particles']:.0f} particles per micrograph)")
        return PULoss(prior)

    def self_training_round(self, it):
        cfg, log, names = self.cfg, self.log, self.names
        log(f"\nSelf-Training Iteration {it}/{cfg.self_training_iterations}")
        log("A. Running inference...")
        if cfg.pseudo_label_views > 1:
            log(f"   Probability maps: mean of {cfg.pseudo_label_views} symmetric views")
        probs = {n: self.picker.probability_map(self.images[n], device=cfg.device,
                                                views=cfg.pseudo_label_views)[0]
                 for n in names}
        log("B. Generating pseudo-labels...")
        expected = self.summary["expected_particles"] if self.pu else None
        held_back = None  # why this round takes no pseudo-particle (the summary says it)
        if cfg.pseudo_labels == "discs":
            by_rank = self.teacher is not None and bool(expected)
            if self.teacher is not None and not expected:
                log("   No particle count: the teacher is not used (give --expected-particles)")
            n_labels = self.summary["n_labels"]
            if not by_rank and n_labels < cfg.pseudo_particle_min_labels:
                held_back = (f"{n_labels} hand-picked particles, fewer than "
                             f"{cfg.pseudo_particle_min_labels}")
                log(f"   No pseudo-particles: {held_back} (--pseudo-particle-min-labels); this "
                    "round adds reliable background only")
                found = {n: (np.zeros((0, 3)), 0) for n in names}
            else:
                chooser = ({n: self._teacher_map(n, probs[n]) for n in names} if by_rank
                           else probs)
                found = {n: self._pseudo_particles(chooser[n], n, expected, by_rank)
                         for n in names}
            centres = {n: c for n, (c, _) in found.items()}
            if cfg.confirm_pseudo_particles and it > 1:
                centres = self._confirmed(centres, it)
            unlike = sum(k for _, k in found.values())
            if unlike:
                log(f"   Confident peaks left out: {unlike} (local density or centre "
                    "contrast unlike any hand-picked particle's: contamination, carbon)")
            positive = {n: coordinates_to_mask(centres[n], probs[n].shape,
                                               self.mask_radius) == PARTICLE for n in names}
            centres = {n: to_original(c, self.factor)[:, :2] for n, c in centres.items()}
        else:  # the seed's: every pixel above the threshold
            positive = {n: probs[n] > cfg.positive_threshold for n in names}
            if expected:  # guard against runaway: no more than the expected particles cover
                positive = {n: _cap_pseudo_positives(probs[n], positive[n],
                                                     expected * self.disc) for n in names}
            centres = {n: _pseudo_particle_centres(positive[n], self.original[n], self.factor)
                       for n in names}
        negative = {n: _reliable_negatives(
            probs[n], cfg, negative_share_cap(expected, self.disc, probs[n].size))
            & ~positive[n] for n in names}
        files.write_json_atomic(os.path.join(self.output_dir, files.unet_pseudo_positives(it)),
                                {n: c.tolist() for n, c in centres.items()})
        n_pseudo = sum(len(c) for c in centres.values())
        log(f"   Pseudo-particles: {n_pseudo}")
        pos_cov = float(np.mean([positive[n].mean() for n in names]))
        neg_cov = float(np.mean([negative[n].mean() for n in names]))
        log(f"   Avg pseudo-positive coverage: {100 * pos_cov:.2f}%")
        log(f"   Avg reliable-negative coverage: {100 * neg_cov:.2f}%")
        log("C. Combining labels...")
        # the rest (neither particle nor reliable background): ignored, as in the seed, or
        # unlabelled under the PU objective, with the particles not yet found as its prior
        can_be_unlabelled = self.pu and bool(expected)
        rest_unlabelled = cfg.retrain_rest == "unlabelled" and can_be_unlabelled
        combined = {n: combine_labels(self.original[n], positive[n], negative[n],
                                      rest=UNLABELLED if rest_unlabelled else IGNORE)
                    for n in names}
        fr = np.mean([label_fractions(combined[n]) for n in names], axis=0)
        if not rest_unlabelled and can_be_unlabelled and too_little_background(fr[0], fr[1]):
            log(f"   Reliable background ({100 * fr[1]:.2f}%) is less than the particles "
                f"({100 * fr[0]:.2f}%): the rest stays unlabelled (PU objective) rather than "
                "ignored, so retraining is not on particles alone")
            rest_unlabelled = True
            for mask in combined.values():  # the shares stay: the rest is counted as one
                mask[mask == IGNORE] = UNLABELLED
        log(f"   Positive pixels: {100 * fr[0]:.2f}%")
        log(f"   Negative pixels: {100 * fr[1]:.2f}%")
        log(f"   {'Unlabelled' if rest_unlabelled else 'Ignored'} pixels: {100 * fr[2]:.2f}%")
        log("D. Retraining...")
        loss_fn = self._loss([combined[n] for n in names], names) if rest_unlabelled \
            else IgnoreMaskBCELoss()
        optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.learning_rate)
        average = self._weight_average()
        losses = _train_epochs(self.model, optimizer, loss_fn,
                               [self.work[n] for n in names], [combined[n] for n in names],
                               cfg.retrain_epochs, cfg, self.rng, log, indent="   ",
                               average=average)
        if average is not None:
            average.apply()
        self._end_phase(files.unet_iteration_model(it), dict(
            iteration=it, pseudo_particles=n_pseudo, pseudo_particles_held_back=held_back,
            pseudo_positive_coverage=pos_cov, reliable_negative_coverage=neg_cov,
            positive_pixels=float(fr[0]), negative_pixels=float(fr[1]),
            ignored_pixels=float(fr[2]),
            retrain_rest="unlabelled" if rest_unlabelled else "ignored", losses=losses))

    def choose_threshold(self):
        """Validation micrographs: their best-F1 threshold; else, unless fixed, the count
        (given, the classifier's, or else counted on the final picks) kept on the training
        micrographs without labels if any (threshold_from_unseen), else the particle count
        given or the classifier's (threshold_from_count), or the best estimated F1 on the
        labelled micrographs (picking/thresholds.py)."""
        cfg, picker = self.cfg, self.picker
        threshold = None
        if self.val_images:
            threshold = threshold_from_validation(self.summary["iterations"][-1]["validation"],
                                                  self.log)
            origin = "validation"
        elif cfg.auto_threshold:
            def pick(n):
                return picker.pick(self.images[n], threshold=0.05, device=cfg.device)

            threshold, origin = threshold_from_training(
                pick, self.names, {n: self.labels[n] for n in self.labelled},
                cfg.diameter() / 2, self.log, "the labels", expected=cfg.expected_particles,
                estimated=self.summary["expected_particles"],
                unlabelled=without_labels(self.names, self.labels),
                # the classifier's count is kept (COUNTED_SURPLUS): it counts closer than the
                # U-Net's final picks, and the labels' recall after self-training is too high
                # (docs/benchmarks.md "A particle count from the classifier")
                counted=self.summary["expected_particles"]
                if self.summary.get("count_origin") == "classifier" else None)
        if threshold is not None:
            picker.threshold = threshold
            self.summary["threshold_origin"] = origin

    def write_outputs(self):
        final = os.path.join(self.output_dir, files.UNET_FINAL)
        self.picker.save(final)
        self.summary.update(pick_threshold=self.picker.threshold,
                            seconds=time.time() - self.start)
        files.write_json_atomic(os.path.join(self.output_dir, files.UNET_SUMMARY), self.summary)
        self.log(f"Done in {self.summary['seconds']:.0f} s. Final model: {final}")

    def run(self, resume=False):
        if resume:
            self.resume()
        if not self.summary["iterations"]:
            self.initial_training()
        for it in range(len(self.summary["iterations"]), self.cfg.self_training_iterations + 1):
            self.self_training_round(it)
        self.choose_threshold()
        self.write_outputs()
        return self.summary


def train_unet(images, labels, output_dir, config=None, val_images=None, val_labels=None,
               log=None, resume=False, teacher=None, counter=None):
    """Train a U-Net picker with self-training; returns the summary dict.

    ``images``: {name: 2-D array} of training micrographs (labelled and unlabelled: all of
    them get pseudo-labels). ``labels``: {name: (N, 2+) [x, y, ...]} hand-picked particles
    in the images' pixel frame. Optional validation micrographs and their (complete) labels
    give per-iteration metrics and a best-F1 picking threshold. ``resume``: continue after
    the last finished phase of ``last_checkpoint.pt`` in ``output_dir`` (same settings
    required), giving the same result as an uninterrupted run. ``teacher`` and ``counter``:
    the classifiers (PatchClassifier) of ``config.teacher`` and ``config.count_classifier``,
    loaded.
    """
    cfg = (config or UNetTrainConfig()).validate()
    return SelfTraining(images, labels, output_dir, cfg, val_images, val_labels,
                        log or _print, teacher, counter).run(resume)
