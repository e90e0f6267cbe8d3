"""Selective FixMatch training of the patch classifier (seed 001), made to survive few labels.

Each step: a supervised BCE on weakly augmented labelled positives (and, by default, on
random-position patches as negatives); the EMA teacher labels weak views of unlabelled
patches, and where it is confident (p >= tau or p <= 1 - tau) the student is trained on a
strong view of the same patch towards that pseudo-label. L_total = L_sup + lambda * L_cons,
lambda ramped 0 -> consistency_weight over rampup_epochs. Validation AUC each epoch selects
best_model.pt (student) and best_model_ema.pt (teacher) and stops early. Outputs also
last_checkpoint.pt (resumable) and results.json (history and test metrics); names in
io/files.py.

Why the defaults differ from plain FixMatch (``seed_behaviour()`` restores it): particles
are a few percent of all patch positions, so (1) positives-only supervision has the trivial
solution "everything is a particle" and the consistency loss then confirms whichever class
dominates; random positions are background with high probability, so they serve as
negatives; (2) the consistency loss is averaged per pseudo-class so the abundant confident
background cannot drown the few confident particles; (3) half the unlabelled patches are
centred on particle-sized blobs so particles are present among them at all.
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.nn import functional as F

from ..device import training_autocast, training_layout
from ..errors import CryopickInputError
from ..io import files
from ..io.coordinates import check_training_labels, without_labels
from ..io.images import read_micrograph
from ..picking.metrics import evaluate, roc_auc
from ..picking.scale import downsample, normalize, to_original, to_working, working_factor
from ..picking.thresholds import (count_from_labels, threshold_from_training,
                                  threshold_from_validation)
from ..pu import background_risk
from . import augment
from .config import FixMatchConfig
from .network import build_classifier, patch_size_for, predict
from .patches import PatchSource, away_from, blob_candidates, random_positions
from .picker import PatchClassifier
from .teacher import EMATeacher

# settings that do not change what is trained: a run may resume with other values
_RESUMABLE_ANYWAY = ("device", "threads", "num_workers", "load_into_ram",
                     "epochs", "early_stopping_patience")  # training longer is fine
# what else a checkpoint must share with the run that resumes it (the training data)
_SAME_DATA = ("n_micrographs", "n_labels")


def _print(line):
    print(line, flush=True)


def _working_images(images, factor, cfg, cache_dir, log):
    """Binned, normalised images ({name: path or array}); memory-mapped if not load_into_ram."""
    def one(item):
        name, img = item
        arr = read_micrograph(img) if isinstance(img, str) else img
        if not np.all(np.isfinite(arr)):
            raise CryopickInputError(f"micrograph {name}: contains NaN or infinite values")
        return name, normalize(downsample(arr, factor))

    with ThreadPoolExecutor(max_workers=max(1, cfg.dataset.num_workers)) as pool:
        work = dict(pool.map(one, images.items()))
    if not cfg.dataset.load_into_ram:
        os.makedirs(cache_dir, exist_ok=True)
        for n in list(work):
            path = os.path.join(cache_dir, f"{n}.npy")
            np.save(path, work[n])
            work[n] = np.load(path, mmap_mode="r")
        log(f"Binned micrographs memory-mapped from {cache_dir}")
    return work


def _sample_positions(rng, work, n, avoid, min_distance):
    """n random (name, x, y) spread over micrographs by area, away from ``avoid`` points."""
    names = list(work)
    areas = np.array([work[k].shape[0] * work[k].shape[1] for k in names], dtype=np.float64)
    counts = rng.multinomial(n, areas / areas.sum())
    out = []
    for name, k in zip(names, counts):
        if not k:
            continue
        pts = away_from(random_positions(rng, work[name].shape, 2 * k + 4),
                        avoid.get(name, np.zeros((0, 2))), min_distance)[:k]
        out.extend((name, x, y) for x, y in pts)
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def _shifted(rng, items, sigma):
    """[(name, x, y), ...] each moved by a normal offset of ``sigma`` px in x and in y."""
    offsets = rng.normal(0.0, sigma, (len(items), 2))
    return [(n, x + dx, y + dy) for (n, x, y), (dx, dy) in zip(items, offsets)]


def _extract(sources, items):
    """Patches for [(name, x, y), ...] in the given order."""
    if not items:
        size = next(iter(sources.values())).size
        return np.zeros((0, size, size), dtype=np.float32)
    out = np.empty((len(items),) + (next(iter(sources.values())).size,) * 2, dtype=np.float32)
    by_name = {}
    for i, (n, x, y) in enumerate(items):
        by_name.setdefault(n, []).append((i, x, y))
    for n, rows in by_name.items():
        idx = [r[0] for r in rows]
        out[idx] = sources[n].extract(np.array([[r[1], r[2]] for r in rows]))
    return out


def _patch_set(sources, positives, work, rng, wd, n_neg_per_pos=4, max_neg=2000):
    """Evaluation patches: the given positives and random positions away from them."""
    items = [(n, x, y) for n, pts in positives.items() for x, y in pts[:, :2]]
    n_neg = int(min(max_neg, max(200, n_neg_per_pos * len(items))))
    negs = _sample_positions(rng, work, n_neg, positives, wd / 2.0)
    x = _extract(sources, items + negs)
    y = np.r_[np.ones(len(items)), np.zeros(len(negs))]
    return x, y


def random_position_prior(shapes, n_labelled, expected, wd):
    """The share of random positions (drawn away from the labels, as the negatives are)
    that land within a quarter diameter of an unlabelled particle centre: close enough that
    their patch is a particle patch. ``shapes``: working image shapes; ``n_labelled``:
    labels per micrograph; ``expected``: particles per micrograph."""
    near = np.pi * (wd / 4.0) ** 2
    shares = []
    for name, (h, w) in shapes.items():
        n_labels = n_labelled.get(name, 0)
        free_area = max(h * w - n_labels * np.pi * (wd / 2.0) ** 2, near)
        shares.append(max(expected - n_labels, 0.0) * near / free_area)
    # at most half: beyond that the micrograph is packed and 'random' means 'particle'
    return float(min(np.mean(shares), 0.5)) if shares else 0.0


def _auc_tolerance(best, y):
    """Half the standard error of an AUC near ``best`` measured on ``y``'s positives."""
    a = min(max(best, 0.5), 0.99)
    return 0.5 * float(np.sqrt(a * (1 - a) / max(int(np.sum(y == 1)), 1)))


def _labelled_patch_set(images, labels, factor, cfg, cache_dir, log, seed, wd):
    """Evaluation patches of fully labelled micrographs: every particle, random background."""
    work = _working_images(images, factor, cfg, cache_dir, log)
    pos = {n: to_working(np.asarray(labels.get(n, np.zeros((0, 2))), dtype=np.float64)
                         [:, :2].reshape(-1, 2), factor) for n in work}
    sources = {n: PatchSource(w, cfg.dataset.patch_size) for n, w in work.items()}
    return _patch_set(sources, pos, work, np.random.default_rng(seed), wd) + (work,)


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def _consistency(student_logits, teacher_prob, tau, balanced, batch):
    pos, neg = teacher_prob >= tau, teacher_prob <= 1.0 - tau
    if balanced:
        terms = [_bce(student_logits[m], t) for m, t in ((pos, 1.0), (neg, 0.0)) if m.any()]
        loss = torch.stack(terms).mean() if terms else student_logits.sum() * 0.0
    else:  # FixMatch: mean over the whole unlabelled batch of the masked per-sample losses
        mask = pos | neg
        target = pos.to(student_logits.dtype)
        per = F.binary_cross_entropy_with_logits(student_logits, target, reduction="none")
        loss = (per * mask).sum() / batch
    return loss, pos, neg


def _patch_metrics(model, x, y, tau, device, threshold=0.5):
    p = predict(model, x, device)
    pred = p >= threshold
    tp = float((pred & (y == 1)).sum())
    precision = tp / max(float(pred.sum()), 1.0)
    recall = tp / max(float((y == 1).sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    mask = float(np.mean((p >= tau) | (p <= 1 - tau))) if len(p) else 0.0
    return dict(auc=roc_auc(p, y), f1=f1, precision=precision, recall=recall, mask_rate=mask,
                n_positive=int((y == 1).sum()), n_negative=int((y == 0).sum()))


class SelectiveFixMatch:
    """One training run: inputs and validation patches, epochs, best models, test metrics,
    threshold, outputs."""

    def __init__(self, images, labels, output_dir, cfg, val_images, val_labels, test_images,
                 test_labels, log):
        self.cfg, self.log, self.output_dir = cfg, log, output_dir
        self.labels, self.val_labels = labels, val_labels
        self.test_images, self.test_labels = test_images, test_labels
        d, t = cfg.dataset, cfg.training
        check_training_labels(images, labels)
        self.n_labels = int(sum(len(v) for v in labels.values()))
        files.prepare_output_dir(output_dir)
        self.device = t.device
        torch.manual_seed(t.seed)
        self.rng = np.random.default_rng(t.seed)
        self.gen = torch.Generator().manual_seed(t.seed)

        asked = d.patch_size
        d.patch_size = patch_size_for(cfg.model.backbone, d.patch_size)
        if d.patch_size != asked:
            log(f"Patches {d.patch_size} px instead of {asked}: the {cfg.model.backbone} "
                f"network's window")
        self.factor = working_factor(d.particle_diameter, d.working_diameter)
        self.wd = d.particle_diameter / self.factor
        log(f"Working pixel size: binning {self.factor:.2f}x (particle diameter "
            f"{d.particle_diameter:.1f} px -> {self.wd:.1f} px), patches {d.patch_size} px")
        self.work = _working_images(images, self.factor, cfg,
                                    os.path.join(output_dir, "binned"), log)
        small = [n for n, w in self.work.items() if min(w.shape) < d.patch_size // 2]
        if small:
            w = self.work[small[0]]
            raise CryopickInputError(
                f"micrograph {small[0]}: {w.shape[1]}x{w.shape[0]} px at the working pixel "
                f"size, smaller than half the {d.patch_size} px patch")
        self.sources = {n: PatchSource(w, d.patch_size) for n, w in self.work.items()}
        self.positives = {n: to_working(np.asarray(v, dtype=np.float64)[:, :2], self.factor)
                          for n, v in labels.items() if len(v)}
        self.val_images = val_images or None
        self._validation_patches()
        self.pos_items = [(n, x, y) for n, v in self.train_pos.items() for x, y in v]
        self.candidates = {n: blob_candidates(w, self.wd) for n, w in self.work.items()}
        self.prior = 0.0
        if cfg.loss.negatives == "pu":
            self.prior = random_position_prior(
                {n: w.shape for n, w in self.work.items()},
                {n: len(self.positives.get(n, ())) for n in self.work},
                d.expected_particles, self.wd)
            log(f"Random positions as unlabelled (nnPU): {self.prior:.1%} of them expected on "
                f"an unlabelled particle ({d.expected_particles:g} per micrograph)")
        log(f"{len(self.work)} micrographs, {self.n_labels} labelled particles "
            f"({len(self.pos_items)} for training); validation: {self.val_kind} "
            f"({int(self.val_y.sum())} positives, {int((1 - self.val_y).sum())} negatives)")
        log(f"Unlabelled pool: {sum(len(c) for c in self.candidates.values())} blob candidates "
            f"+ random positions ({100 * d.candidate_fraction:.0f}% candidates)")

        self.student = training_layout(
            build_classifier(cfg.model.backbone, cfg.model.dropout), self.device)
        self.teacher = EMATeacher(self.student, cfg.model.ema_decay)
        self.optimizer = torch.optim.Adam(self.student.parameters(), lr=cfg.optimizer.lr,
                                          weight_decay=cfg.optimizer.weight_decay)
        self.state = dict(epoch=0, history=[], best_auc=-1.0, best_auc_ema=-1.0, best_epoch=0,
                          best_epoch_ema=0, since_best=0)
        self.checkpoint = os.path.join(output_dir, files.LAST_CHECKPOINT)
        self.start = time.time()

    def _validation_patches(self):
        """A fully labelled validation set, or held-out labelled positives against random
        positions (an unbiased ranking proxy when labels are a random subset)."""
        d, t = self.cfg.dataset, self.cfg.training
        if self.val_images:
            self.val_x, self.val_y, self.val_work = _labelled_patch_set(
                self.val_images, self.val_labels, self.factor, self.cfg,
                os.path.join(self.output_dir, "binned_val"), self.log, t.seed + 1, self.wd)
            self.val_kind = "validation micrographs"
            self.train_pos, self.held_out = self.positives, {}
            return
        flat = [(n, i) for n, v in self.positives.items() for i in range(len(v))]
        n_val = int(round(d.val_fraction * len(flat))) if len(flat) >= 5 else 0
        pick = (set(self.rng.choice(len(flat), size=n_val, replace=False).tolist())
                if n_val else set())
        held, train_pos = {}, {}
        for k, (n, i) in enumerate(flat):
            (held if k in pick else train_pos).setdefault(n, []).append(self.positives[n][i])
        self.held_out = {n: np.array(v) for n, v in held.items()}
        self.train_pos = {n: np.array(v) for n, v in train_pos.items()}
        # too few labels to hold any out: validate on the training positives
        witnesses = self.held_out or self.positives
        self.val_x, self.val_y = _patch_set(self.sources, witnesses, self.work,
                                            np.random.default_rng(t.seed + 1), self.wd)
        self.val_kind = ("held-out labelled positives vs random positions" if self.held_out
                         else "training positives vs random positions (too few labels to "
                              "hold out)")

    # ------------------------------------------------------------------ resume
    def _settings(self):
        return dict(config=self.cfg.to_dict(), n_micrographs=len(self.work),
                    n_labels=self.n_labels)

    def resume(self):
        """Continue after the checkpoint's last finished epoch (same settings and data)."""
        if not os.path.exists(self.checkpoint):
            self.log(f"No {files.LAST_CHECKPOINT} in {self.output_dir}: starting from the "
                     "beginning")
            return
        ck = files.read_torch_file(self.checkpoint, self.device, "checkpoint")
        ours, theirs = self._settings(), ck.get("settings", dict(config=ck.get("config")))
        changed = files.changed_settings(ours["config"], theirs["config"], _RESUMABLE_ANYWAY)
        changed += [k for k in _SAME_DATA if ours[k] != theirs.get(k, ours[k])]
        files.refuse_changed_resume(self.checkpoint, changed)
        self.student.load_state_dict(ck["student"])
        self.teacher.model.load_state_dict(ck["teacher"])
        self.teacher.steps = ck["teacher_steps"]
        self.optimizer.load_state_dict(ck["optimizer"])
        self.state = ck["state"]
        self.rng.bit_generator.state = ck["rng"]
        self.gen.set_state(ck["torch_gen"])
        if "torch_rng" in ck:  # dropout draws from torch's global generator
            torch.set_rng_state(ck["torch_rng"])
        self.start = time.time() - (self.state["history"][-1]["seconds"]
                                    if self.state["history"] else 0.0)
        self.log(f"Resuming after epoch {self.state['epoch']} from {self.checkpoint}")

    def _save_checkpoint(self):
        files.save_torch_atomic(dict(
            student=self.student.state_dict(), teacher=self.teacher.model.state_dict(),
            teacher_steps=self.teacher.steps, optimizer=self.optimizer.state_dict(),
            state=self.state, rng=self.rng.bit_generator.state, torch_gen=self.gen.get_state(),
            torch_rng=torch.get_rng_state(), config=self.cfg.to_dict(),
            settings=self._settings()), self.checkpoint)

    # ------------------------------------------------------------------ training
    def _unlabelled_batch(self, n):
        """n unlabelled positions: random, and a candidate_fraction on blob candidates."""
        rng, work, d = self.rng, self.work, self.cfg.dataset
        n_cand = int(rng.binomial(n, d.candidate_fraction))
        unl = _sample_positions(rng, work, n - n_cand, {}, 0.0)
        for name in rng.choice(list(work), size=n_cand):
            c = self.candidates[name]
            if len(c):
                x, y = c[rng.integers(0, len(c))] + rng.normal(0, self.wd / 8.0, 2)
                unl.append((name, x, y))
            else:
                unl.extend(_sample_positions(rng, {name: work[name]}, 1, {}, 0.0))
        return unl

    def _step(self, lam, bp, tau):
        """One optimisation step; returns (l_sup, l_cons, pseudo-positive and -negative
        shares of the unlabelled batch)."""
        cfg, rng, gen = self.cfg, self.rng, self.gen
        pos = [self.pos_items[i] for i in rng.integers(0, len(self.pos_items), bp)]
        if cfg.dataset.positive_shift > 0:  # no draw at 0: positives exactly at the labels
            pos = _shifted(rng, pos, cfg.dataset.positive_shift * self.wd)
        neg = (_sample_positions(rng, self.work, bp, self.train_pos, self.wd / 2.0)
               if cfg.loss.negatives != "none" else [])
        unl = self._unlabelled_batch(cfg.dataset.batch_size)
        xs = torch.from_numpy(_extract(self.sources, pos + neg + unl)[:, None]).to(self.device)
        n_sup = len(pos) + len(neg)
        sup_view = augment.weak(xs[:n_sup], gen)
        teacher_view = augment.weak(xs[n_sup:], gen)
        student_view = torch.cat([sup_view, augment.strong(xs[n_sup:], gen)])
        with training_autocast(self.device):
            with torch.no_grad():
                p_teacher = torch.sigmoid(self.teacher.model(teacher_view).float())
            logits = self.student(student_view).float()
        l_sup = _bce(logits[:len(pos)], 1.0)
        if neg and cfg.loss.negatives == "pu":  # random positions: unlabelled, not background
            l_sup = 0.5 * (l_sup + background_risk(
                _bce(logits[:len(pos)], 0.0), _bce(logits[len(pos):n_sup], 0.0), self.prior))
        elif neg:
            l_sup = 0.5 * (l_sup + _bce(logits[len(pos):n_sup], 0.0))
        l_cons, mpos, mneg = _consistency(logits[n_sup:], p_teacher, tau,
                                          cfg.loss.class_balanced, len(unl))
        loss = l_sup + lam * l_cons
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.teacher.update(self.student)
        return (float(l_sup.detach()), float(l_cons.detach()), float(mpos.float().mean()),
                float(mneg.float().mean()))

    def train_epoch(self, epoch):
        cfg, t = self.cfg, self.cfg.training
        lam = cfg.loss.consistency_weight * (
            min(1.0, (epoch - 1) / cfg.loss.rampup_epochs) if cfg.loss.rampup_epochs else 1.0)
        self.student.train()
        bp = max(2, cfg.dataset.batch_size // 4)
        sums = np.zeros(4)
        for _ in range(t.steps_per_epoch):
            sums += self._step(lam, bp, cfg.loss.confidence_threshold)
        entry = dict(zip(("l_sup", "l_cons", "mask_pos", "mask_neg"),
                         (float(v) / float(t.steps_per_epoch) for v in sums)))
        entry["mask"] = entry["mask_pos"] + entry["mask_neg"]
        pv = predict(self.student, self.val_x, self.device)
        pt = predict(self.teacher.model, self.val_x, self.device)
        entry.update(epoch=epoch, lam=lam, auc=roc_auc(pv, self.val_y),
                     auc_ema=roc_auc(pt, self.val_y), seconds=time.time() - self.start)
        self.state["history"].append(entry)
        self._keep_best(entry, epoch)
        self.state["epoch"] = epoch
        self.log(f"Epoch {epoch} | L_sup={entry['l_sup']:.2f} | L_cons={entry['l_cons']:.2f} | "
                 f"Mask={100 * entry['mask']:.0f}% | AUC={entry['auc']:.2f} | "
                 f"AUC_ema={entry['auc_ema']:.2f} | lambda={lam:.2f} | {entry['seconds']:.0f}s")
        self._save_checkpoint()

    def _keep_best(self, entry, epoch):
        """Save the student / teacher when validation AUC is at least as good as the best.

        An epoch counts as at least as good as the best when its AUC is within half a
        standard error of it: with a handful of held-out labels AUC moves in steps of
        1 / n_positives and saturates early, and among equally good epochs the later,
        longer-trained model is preferred."""
        state, improved = self.state, False
        for key, model, name in (("", self.student, files.FIXMATCH_BEST),
                                 ("_ema", self.teacher.model, files.FIXMATCH_BEST_EMA)):
            best = state["best_auc" + key]
            if entry["auc" + key] >= best - _auc_tolerance(best, self.val_y):
                state.update({"best_auc" + key: max(entry["auc" + key], best),
                              "best_epoch" + key: epoch})
                self._classifier(model).save(os.path.join(self.output_dir, name))
                improved = True
        state["since_best"] = 0 if improved else state["since_best"] + 1

    def _classifier(self, model, threshold=None):
        d, t = self.cfg.dataset, self.cfg.training
        return PatchClassifier(model, self.cfg.model.backbone, self.cfg.model.dropout,
                               d.particle_diameter, d.working_diameter, d.patch_size,
                               d.pixel_size or None,
                               t.pick_threshold if threshold is None else threshold,
                               t.pick_stride, extra=dict(config=self.cfg.to_dict()))

    # ------------------------------------------------------------------ after training
    def test_metrics(self, best):
        """Patch metrics of the best models: a fully labelled test set if given, else the
        validation patches."""
        t = self.cfg.training
        if self.test_images:
            test_x, test_y, _ = _labelled_patch_set(
                self.test_images, self.test_labels, self.factor, self.cfg,
                os.path.join(self.output_dir, "binned_test"), self.log, t.seed + 2, self.wd)
            kind = "test micrographs"
        else:
            test_x, test_y, kind = self.val_x, self.val_y, "validation patches"
        return kind, {k: _patch_metrics(m.model, test_x, test_y,
                                        self.cfg.loss.confidence_threshold, self.device)
                      for k, m in best.items()}

    def choose_threshold(self, ema, results):
        """Validation micrographs: the particle-level best-F1 threshold; else, unless fixed,
        the count kept on the training micrographs without labels if any, else the particle
        count if given (dataset.expected_particles), else its own count (count_from_labels)
        kept on the training micrographs (threshold_from_training). Held-out labels are
        unbiased recall witnesses; with fewer than 10 of them all labels are used (the model
        has seen most, so recall is optimistic and the threshold somewhat high)."""
        d, t = self.cfg.dataset, self.cfg.training
        radius = d.particle_diameter / 2.0
        threshold = None
        if self.val_images:
            picks = {n: ema.pick_working(w, self.factor, threshold=0.02, device=self.device)
                     for n, w in self.val_work.items()}
            truth = {n: np.asarray(self.val_labels.get(n, np.zeros((0, 2))))
                     for n in self.val_images}
            overall = evaluate(picks, truth, radius)["overall"]
            results["validation_picking"] = overall
            threshold = threshold_from_validation(overall, self.log)
        elif t.auto_threshold:
            n_held = sum(len(v) for v in self.held_out.values())
            if n_held >= 10:
                witnesses = {n: to_original(v, self.factor) for n, v in self.held_out.items()}
                kind = f"{n_held} held-out labels"
            else:
                witnesses = {n: np.asarray(v)[:, :2] for n, v in self.labels.items() if len(v)}
                kind = f"all {sum(len(v) for v in witnesses.values())} labels"
            picked = {}

            def pick(n):  # counting and choosing pick the same micrographs: once each
                if n not in picked:
                    picked[n] = ema.pick_working(self.work[n], self.factor, threshold=0.02,
                                                 device=self.device)
                return picked[n]

            names = sorted(self.work)
            unlabelled = without_labels(names, self.labels)
            # every micrograph labelled and no count given: its own count, kept as the picks
            # to keep, not the labels' best estimated F1, whose recall (of labels it trained
            # on) is too high: on the benchmark matrix F1 at the threshold fell 0.029 below the
            # best on average, against 0.083 (docs/benchmarks.md "Both thresholds on the
            # matrix")
            counted = None if d.expected_particles or unlabelled else \
                count_from_labels(pick, witnesses, radius)
            threshold, origin = threshold_from_training(
                pick, names, witnesses, radius, self.log, kind, expected=d.expected_particles,
                unlabelled=unlabelled, counted=counted)
            results["threshold_origin"] = origin
        return t.pick_threshold if threshold is None else threshold

    def run(self, resume=False):
        t = self.cfg.training
        if resume:
            self.resume()
        stopped_early = False
        for epoch in range(self.state["epoch"] + 1, t.epochs + 1):
            if self.state["since_best"] >= t.early_stopping_patience:
                stopped_early = True
                break
            self.train_epoch(epoch)
        if stopped_early:
            self.log(f"Early stopping: validation AUC has not improved for "
                     f"{t.early_stopping_patience} epochs")
        state = self.state
        results = dict(config=self.cfg.to_dict(), working_factor=self.factor,
                       n_micrographs=len(self.work), n_labels=self.n_labels,
                       n_train_positives=len(self.pos_items), validation=self.val_kind,
                       history=state["history"], best_epoch=state["best_epoch"],
                       best_auc=state["best_auc"], best_epoch_ema=state["best_epoch_ema"],
                       best_auc_ema=state["best_auc_ema"], stopped_early=stopped_early)
        names = (("student", files.FIXMATCH_BEST), ("ema", files.FIXMATCH_BEST_EMA))
        best = {k: PatchClassifier.load(os.path.join(self.output_dir, f), self.device)
                for k, f in names}
        results["test_set"], results["test"] = self.test_metrics(best)
        threshold = self.choose_threshold(best["ema"], results)
        for key, name in names:
            best[key].threshold = threshold
            best[key].save(os.path.join(self.output_dir, name))
        te = results["test"]["ema"]
        self.log(f"Test ({results['test_set']}): AUC={te['auc']:.3f} | F1={te['f1']:.3f} | "
                 f"Mask={100 * te['mask_rate']:.0f}% (EMA teacher, epoch "
                 f"{state['best_epoch_ema']})")
        results.update(pick_threshold=threshold, seconds=time.time() - self.start)
        files.write_json_atomic(os.path.join(self.output_dir, files.FIXMATCH_RESULTS), results)
        return results


def train_fixmatch(images, labels, output_dir, cfg=None, val_images=None, val_labels=None,
                   test_images=None, test_labels=None, log=None, resume=False):
    """Train; returns the results dict (also written to results.json).

    ``images``: {name: 2-D array or file path} of training micrographs (labelled and
    unlabelled). ``labels``: {name: (N, 2+) [x, y, ...]} hand-picked positives in the images'
    pixel frame. Optional fully labelled validation / test micrographs and their labels.
    Without a validation set a share of the labelled positives is held out and validation
    AUC is positives against random positions (an unbiased ranking proxy when labels are a
    random subset of the particles). ``resume``: continue after the last finished epoch of
    ``last_checkpoint.pt`` (same settings required), as if never interrupted.
    """
    cfg = (cfg or FixMatchConfig()).validate()
    return SelectiveFixMatch(images, labels, output_dir, cfg, val_images, val_labels,
                             test_images, test_labels, log or _print).run(resume)
