"""Selective FixMatch training of the patch classifier (seed 001), made to survive few labels.

Each step: a supervised BCE on weakly augmented labelled positives (and, by default, on
random-position patches as negatives); the EMA teacher labels weak views of unlabelled
patches, and where it is confident (p >= tau or p <= 1 - tau) the student is trained on a
strong view of the same patch towards that pseudo-label. L_total = L_sup + lambda * L_cons,
lambda ramped 0 -> consistency_weight over rampup_epochs. Validation AUC each epoch selects
best_model.pt (student) and best_model_ema.pt (teacher) and stops early. Outputs also
last_checkpoint.pt (resumable) and results.json (history and test metrics).

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

from . import augment
from .classifier import EMATeacher, PatchClassifier, build_classifier, predict
from .errors import CryopickInputError
from .fixmatch_config import FixMatchConfig
from .metrics import evaluate, roc_auc
from .patches import PatchSource, away_from, blob_candidates, random_positions
from .resample import downsample, normalize, to_working, working_factor
from .torchfiles import LAST_CHECKPOINT, save_atomic

BEST, BEST_EMA, RESULTS = "best_model.pt", "best_model_ema.pt", "results.json"


def _working_images(images, factor, cfg, cache_dir, log):
    """Binned, normalised images ({name: path or array}); memory-mapped if not load_into_ram."""
    from .images import read_micrograph

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


def _classifier(model, cfg, factor_diameter, threshold):
    d = cfg.dataset
    return PatchClassifier(model, cfg.model.backbone, cfg.model.dropout, factor_diameter,
                           d.working_diameter, d.patch_size, d.pixel_size or None, threshold,
                           cfg.training.pick_stride, extra=dict(config=cfg.to_dict()))


def train_fixmatch(images, labels, output_dir, cfg=None, val_images=None, val_labels=None,
                   test_images=None, test_labels=None, log=None, resume=False):
    """Train; returns the results dict (also written to results.json).

    ``images``: {name: 2-D array or file path} of training micrographs (labelled and
    unlabelled). ``labels``: {name: (N, 2+) [x, y, ...]} hand-picked positives in the images'
    pixel frame. Optional fully labelled validation / test micrographs and their labels.
    Without a validation set a share of the labelled positives is held out and validation
    AUC is positives against random positions (an unbiased ranking proxy when labels are a
    random subset of the particles).
    """
    cfg = (cfg or FixMatchConfig()).validate()
    log = log or (lambda line: print(line, flush=True))
    d, t = cfg.dataset, cfg.training
    unknown = sorted(set(labels) - set(images))
    if unknown:
        raise CryopickInputError(f"labels for unknown micrographs: {unknown[:5]}")
    for n, v in labels.items():
        if len(v) and not np.all(np.isfinite(np.asarray(v, dtype=np.float64)[:, :2])):
            raise CryopickInputError(f"labels of micrograph {n}: NaN or infinite coordinates")
    n_labels = int(sum(len(v) for v in labels.values()))
    if n_labels == 0:
        raise CryopickInputError("no labelled particles: at least one micrograph needs coordinates")
    os.makedirs(output_dir, exist_ok=True)
    device = t.device
    torch.manual_seed(t.seed)
    rng = np.random.default_rng(t.seed)
    gen = torch.Generator().manual_seed(t.seed)

    factor = working_factor(d.particle_diameter, d.working_diameter)
    wd = d.particle_diameter / factor
    log(f"Working pixel size: binning {factor:.2f}x (particle diameter {d.particle_diameter:.1f}"
        f" px -> {wd:.1f} px), patches {d.patch_size} px")
    work = _working_images(images, factor, cfg, os.path.join(output_dir, "binned"), log)
    small = [n for n, w in work.items() if min(w.shape) < d.patch_size // 2]
    if small:
        raise CryopickInputError(
            f"micrograph {small[0]}: {work[small[0]].shape[1]}x{work[small[0]].shape[0]} px at the "
            f"working pixel size, smaller than half the {d.patch_size} px patch")
    sources = {n: PatchSource(w, d.patch_size) for n, w in work.items()}
    positives = {n: to_working(np.asarray(v, dtype=np.float64)[:, :2], factor)
                 for n, v in labels.items() if len(v)}

    # validation patches: a fully labelled set, or held-out labelled positives
    if val_images:
        val_x, val_y, val_work = _labelled_patch_set(val_images, val_labels, factor, cfg,
                                           os.path.join(output_dir, "binned_val"), log,
                                           t.seed + 1, wd)
        val_kind = "validation micrographs"
        train_pos, held_out = positives, {}
    else:
        flat = [(n, i) for n, v in positives.items() for i in range(len(v))]
        n_val = int(round(d.val_fraction * len(flat))) if len(flat) >= 5 else 0
        pick = set(rng.choice(len(flat), size=n_val, replace=False).tolist()) if n_val else set()
        held = {}
        train_pos = {}
        for k, (n, i) in enumerate(flat):
            (held if k in pick else train_pos).setdefault(n, []).append(positives[n][i])
        held = {n: np.array(v) for n, v in held.items()}
        train_pos = {n: np.array(v) for n, v in train_pos.items()}
        held_out = held
        if not held:  # too few labels to hold any out: validate on the training positives
            held = positives
        val_x, val_y = _patch_set(sources, held, work, np.random.default_rng(t.seed + 1), wd)
        val_kind = ("held-out labelled positives vs random positions"
                    if held is not positives else "training positives vs random positions "
                    "(too few labels to hold out)")
    pos_items = [(n, x, y) for n, v in train_pos.items() for x, y in v]
    candidates = {n: blob_candidates(w, wd) for n, w in work.items()}
    log(f"{len(work)} micrographs, {n_labels} labelled particles ({len(pos_items)} for training); "
        f"validation: {val_kind} ({int(val_y.sum())} positives, {int((1 - val_y).sum())} negatives)")
    log(f"Unlabelled pool: {sum(len(c) for c in candidates.values())} blob candidates + random "
        f"positions ({100 * d.candidate_fraction:.0f}% candidates)")

    student = build_classifier(cfg.model.backbone, cfg.model.dropout).to(device)
    teacher = EMATeacher(student, cfg.model.ema_decay)
    optimizer = torch.optim.Adam(student.parameters(), lr=cfg.optimizer.lr,
                                 weight_decay=cfg.optimizer.weight_decay)
    state = dict(epoch=0, history=[], best_auc=-1.0, best_auc_ema=-1.0, best_epoch=0,
                 best_epoch_ema=0, since_best=0)
    last_path = os.path.join(output_dir, LAST_CHECKPOINT)
    if resume and os.path.exists(last_path):
        ck = torch.load(last_path, map_location=device, weights_only=False)
        student.load_state_dict(ck["student"])
        teacher.model.load_state_dict(ck["teacher"])
        teacher.steps = ck["teacher_steps"]
        optimizer.load_state_dict(ck["optimizer"])
        state = ck["state"]
        rng.bit_generator.state = ck["rng"]
        gen.set_state(ck["torch_gen"])
        log(f"Resuming after epoch {state['epoch']} from {last_path}")

    bp = max(2, d.batch_size // 4)
    tau = cfg.loss.confidence_threshold
    start = time.time() - (state["history"][-1]["seconds"] if state["history"] else 0.0)
    stopped_early = False
    for epoch in range(state["epoch"] + 1, t.epochs + 1):
        if state["since_best"] >= t.early_stopping_patience:
            stopped_early = True
            break
        lam = cfg.loss.consistency_weight * (
            min(1.0, (epoch - 1) / cfg.loss.rampup_epochs) if cfg.loss.rampup_epochs else 1.0)
        student.train()
        sums = dict(l_sup=0.0, l_cons=0.0, mask=0.0, mask_pos=0.0, mask_neg=0.0)
        for _ in range(t.steps_per_epoch):
            pos = [pos_items[i] for i in rng.integers(0, len(pos_items), bp)]
            neg = (_sample_positions(rng, work, bp, train_pos, wd / 2.0)
                   if cfg.loss.negatives == "random" else [])
            n_cand = int(rng.binomial(d.batch_size, d.candidate_fraction))
            unl = _sample_positions(rng, work, d.batch_size - n_cand, {}, 0.0)
            for n in rng.choice(list(work), size=n_cand):
                c = candidates[n]
                if len(c):
                    x, y = c[rng.integers(0, len(c))] + rng.normal(0, wd / 8.0, 2)
                    unl.append((n, x, y))
                else:
                    unl.extend(_sample_positions(rng, {n: work[n]}, 1, {}, 0.0))
            xs = torch.from_numpy(_extract(sources, pos + neg + unl)[:, None]).to(device)
            n_sup = len(pos) + len(neg)
            sup_view = augment.weak(xs[:n_sup], gen)
            with torch.no_grad():
                p_teacher = torch.sigmoid(teacher.model(augment.weak(xs[n_sup:], gen)))
            logits = student(torch.cat([sup_view, augment.strong(xs[n_sup:], gen)]))
            l_sup = _bce(logits[:len(pos)], 1.0)
            if neg:
                l_sup = 0.5 * (l_sup + _bce(logits[len(pos):n_sup], 0.0))
            l_cons, mpos, mneg = _consistency(logits[n_sup:], p_teacher, tau,
                                              cfg.loss.class_balanced, len(unl))
            loss = l_sup + lam * l_cons
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            teacher.update(student)
            sums["l_sup"] += float(l_sup.detach())
            sums["l_cons"] += float(l_cons.detach())
            sums["mask_pos"] += float(mpos.float().mean())
            sums["mask_neg"] += float(mneg.float().mean())
        k = float(t.steps_per_epoch)
        entry = {key: v / k for key, v in sums.items()}
        entry["mask"] = entry["mask_pos"] + entry["mask_neg"]
        pv, pt = predict(student, val_x, device), predict(teacher.model, val_x, device)
        entry.update(epoch=epoch, lam=lam, auc=roc_auc(pv, val_y), auc_ema=roc_auc(pt, val_y),
                     seconds=time.time() - start)
        state["history"].append(entry)
        # an epoch counts as at least as good as the best when its AUC is within half a
        # standard error of it: with a handful of held-out labels AUC moves in steps of
        # 1 / n_positives and saturates early, and among equally good epochs the later,
        # longer-trained model is preferred
        improved = False
        if entry["auc"] >= state["best_auc"] - _auc_tolerance(state["best_auc"], val_y):
            state.update(best_auc=max(entry["auc"], state["best_auc"]), best_epoch=epoch)
            _classifier(student, cfg, d.particle_diameter, t.pick_threshold).save(
                os.path.join(output_dir, BEST))
            improved = True
        if entry["auc_ema"] >= state["best_auc_ema"] - _auc_tolerance(state["best_auc_ema"], val_y):
            state.update(best_auc_ema=max(entry["auc_ema"], state["best_auc_ema"]),
                         best_epoch_ema=epoch)
            _classifier(teacher.model, cfg, d.particle_diameter, t.pick_threshold).save(
                os.path.join(output_dir, BEST_EMA))
            improved = True
        state["since_best"] = 0 if improved else state["since_best"] + 1
        state["epoch"] = epoch
        log(f"Epoch {epoch} | L_sup={entry['l_sup']:.2f} | L_cons={entry['l_cons']:.2f} | "
            f"Mask={100 * entry['mask']:.0f}% | AUC={entry['auc']:.2f} | "
            f"AUC_ema={entry['auc_ema']:.2f} | lambda={lam:.2f} | {entry['seconds']:.0f}s")
        save_atomic(dict(student=student.state_dict(), teacher=teacher.model.state_dict(),
                         teacher_steps=teacher.steps, optimizer=optimizer.state_dict(),
                         state=state, rng=rng.bit_generator.state, torch_gen=gen.get_state(),
                         config=cfg.to_dict()), last_path)
    if stopped_early:
        log(f"Early stopping: validation AUC has not improved for "
            f"{t.early_stopping_patience} epochs")

    results = dict(config=cfg.to_dict(), working_factor=factor, n_micrographs=len(work),
                   n_labels=n_labels, n_train_positives=len(pos_items), validation=val_kind,
                   history=state["history"], best_epoch=state["best_epoch"],
                   best_auc=state["best_auc"], best_epoch_ema=state["best_epoch_ema"],
                   best_auc_ema=state["best_auc_ema"], stopped_early=stopped_early)
    best = {k: PatchClassifier.load(os.path.join(output_dir, f), device)
            for k, f in (("student", BEST), ("ema", BEST_EMA))}
    # test metrics: a fully labelled test set if given, else the validation patches
    if test_images:
        test_x, test_y, _ = _labelled_patch_set(test_images, test_labels, factor, cfg,
                                             os.path.join(output_dir, "binned_test"), log,
                                             t.seed + 2, wd)
        results["test_set"] = "test micrographs"
    else:
        test_x, test_y = val_x, val_y
        results["test_set"] = "validation patches"
    results["test"] = {k: _patch_metrics(m.model, test_x, test_y, tau, device)
                       for k, m in best.items()}
    threshold = t.pick_threshold
    if val_images:
        # fully labelled validation micrographs: the particle-level best-F1 threshold
        picks = {n: best["ema"].pick_working(w, factor, threshold=0.02, device=device)
                 for n, w in val_work.items()}
        truth = {n: np.asarray(val_labels.get(n, np.zeros((0, 2)))) for n in val_images}
        overall = evaluate(picks, truth, d.particle_diameter / 2.0)["overall"]
        results["validation_picking"] = overall
        if overall.get("best_threshold") is not None:
            threshold = float(overall["best_threshold"])
            log(f"Picking threshold from validation (best F1 {overall['best_f1']:.3f}): "
                f"{threshold:.3f}")
    elif t.auto_threshold:
        threshold = _pu_threshold(best["ema"], work, factor, labels, held_out, d, device, log) or threshold
    for key, fn in (("student", BEST), ("ema", BEST_EMA)):
        best[key].threshold = threshold
        best[key].save(os.path.join(output_dir, fn))
    te = results["test"]["ema"]
    log(f"Test ({results['test_set']}): AUC={te['auc']:.3f} | F1={te['f1']:.3f} | "
        f"Mask={100 * te['mask_rate']:.0f}% (EMA teacher, epoch {state['best_epoch_ema']})")
    results.update(pick_threshold=threshold, seconds=time.time() - start)
    tmp = os.path.join(output_dir, RESULTS + ".part")
    with open(tmp, "w") as fh:
        import json

        json.dump(results, fh, indent=1, default=float)
    os.replace(tmp, os.path.join(output_dir, RESULTS))
    return results


def _pu_threshold(model, work, factor, labels, held, d, device, log, max_micrographs=8):
    """The Lee & Liu threshold (see thresholds.py) from picks on labelled training
    micrographs. Held-out labels are unbiased recall witnesses; with fewer than 10 of them,
    all labels are used (the model has seen most of them, so recall is optimistic and the
    threshold somewhat high)."""
    from .resample import to_original
    from .thresholds import lee_liu_threshold

    n_held = sum(len(v) for v in held.values()) if held else 0
    if n_held >= 10:
        witnesses = {n: to_original(v, factor) for n, v in held.items()}
        kind = f"{n_held} held-out labels"
    else:
        witnesses = {n: np.asarray(v)[:, :2] for n, v in labels.items() if len(v)}
        kind = f"all {sum(len(v) for v in witnesses.values())} labels"
    names = sorted(witnesses, key=lambda n: -len(witnesses[n]))[:max_micrographs]
    picks = {n: model.pick_working(work[n], factor, threshold=0.02, device=device)
             for n in names}
    threshold, recall = lee_liu_threshold(picks, {n: witnesses[n] for n in names},
                                          d.particle_diameter / 2.0)
    if threshold is not None:
        log(f"Picking threshold from the labels (Lee & Liu criterion on {kind}, "
            f"{len(names)} micrographs): {threshold:.3f}, estimated recall {recall:.2f}")
    return threshold

