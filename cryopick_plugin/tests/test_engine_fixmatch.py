"""Selective FixMatch: configuration, augmentations, losses, EMA, dense scoring, training."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from cryopick_plugin.engine.fixmatch import augment
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.fixmatch.teacher import EMATeacher
from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.fixmatch.config import (FixMatchConfig, config_from_dict,
                                                    load_config, seed_behaviour, set_value)
from cryopick_plugin.engine.picking.metrics import roc_auc
from cryopick_plugin.engine.pickers import load_picker
from cryopick_plugin.engine.fixmatch.training import _consistency, train_fixmatch
from cryopick_plugin.tests.tiny_data import tiny_labelled_set

CONFIG_YAML = os.path.join(os.path.dirname(__file__), "..", "configs", "selective_fixmatch.yaml")


# ---------------------------------------------------------------- configuration
def test_shipped_yaml_is_the_default_configuration():
    assert load_config(CONFIG_YAML) == FixMatchConfig()
    d = FixMatchConfig()
    # the seed's values
    assert (d.dataset.batch_size, d.dataset.patch_size, d.model.backbone, d.model.dropout,
            d.model.ema_decay, d.loss.confidence_threshold, d.loss.rampup_epochs,
            d.optimizer.lr, d.training.epochs, d.training.early_stopping_patience) == \
        (64, 128, "compact", 0.3, 0.999, 0.8, 10, 0.001, 50, 15)
    assert seed_behaviour().model.backbone == "resnet18"  # the seed's network


def test_unknown_or_ill_typed_keys_are_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss:\n  confidense_threshold: 0.7\n")
    with pytest.raises(CryopickInputError, match=r"unknown key 'loss.confidense_threshold'"):
        load_config(str(bad))
    with pytest.raises(CryopickInputError, match=r"'training.epochs' must be int"):
        config_from_dict({"training": {"epochs": "many"}})
    with pytest.raises(CryopickInputError, match=r"'dataset.load_into_ram' must be bool"):
        config_from_dict({"dataset": {"load_into_ram": 1}})
    with pytest.raises(CryopickInputError, match=r"unknown section 'optimiser'"):
        config_from_dict({"optimiser": {"lr": 0.1}})
    # ints are fine where floats are expected
    assert config_from_dict({"optimizer": {"lr": 1}}).optimizer.lr == 1.0
    assert set_value(FixMatchConfig(), "loss.negatives", "none").loss.negatives == "none"


def test_seed_behaviour_switches_off_the_anti_collapse_measures():
    cfg = seed_behaviour()
    assert (cfg.loss.negatives, cfg.loss.class_balanced, cfg.dataset.candidate_fraction,
            cfg.dataset.positive_shift) == ("none", False, 0.0, 0.0)


# ---------------------------------------------------------------- parts
def test_roc_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    s = rng.normal(size=60).round(1)  # with ties
    y = rng.random(60) < 0.3
    pairs = [(a > b) + 0.5 * (a == b) for a in s[y] for b in s[~y]]
    assert roc_auc(s, y) == pytest.approx(np.mean(pairs))
    assert np.isnan(roc_auc(s, np.zeros(60)))


def test_weak_view_keeps_the_patch_and_strong_view_does_not():
    gen = torch.Generator().manual_seed(0)
    # smooth patches (particle-like structure), unit variance
    x = augment._gaussian_blur(torch.randn(16, 1, 32, 32, generator=gen), 2.5)
    x = x / x.std(dim=(2, 3), keepdim=True)
    w, s = augment.weak(x.clone(), gen), augment.strong(x.clone(), gen)
    assert w.shape == s.shape == x.shape
    # a weak view stays close to some flip of the original; a strong one is far from it
    def best_corr(a, b):
        flips = [b, b.flip(-1), b.flip(-2), b.flip(-1).flip(-2)]
        return max(float(torch.corrcoef(torch.stack([a.flatten(), f.flatten()]))[0, 1])
                   for f in flips)
    weak_c = np.mean([best_corr(w[i, 0], x[i, 0]) for i in range(16)])
    strong_c = np.mean([best_corr(s[i, 0], x[i, 0]) for i in range(16)])
    assert weak_c > 0.5 and strong_c < weak_c - 0.2
    # reproducible with the same generator seed
    a = augment.strong(x.clone(), torch.Generator().manual_seed(3))
    b = augment.strong(x.clone(), torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_class_balanced_consistency_is_not_drowned_by_the_majority():
    logits = torch.zeros(32, requires_grad=True)
    teacher = torch.full((32,), 0.01)
    teacher[0] = 0.99  # one confident particle, 30 confident background, 1 unsure
    teacher[1] = 0.5
    grads = {}
    for balanced in (True, False):
        loss, pos, neg = _consistency(logits, teacher, 0.8, balanced, 32)
        g, = torch.autograd.grad(loss, logits)
        grads[balanced] = g
        assert int(pos.sum()) == 1 and int(neg.sum()) == 30
        assert g[1] == 0  # unconfident patches get no pseudo-label
    # balanced: the lone particle weighs as much as all the background together
    assert abs(float(grads[True][0])) == pytest.approx(abs(float(grads[True][2:].sum())))
    assert abs(float(grads[True][0])) > 10 * abs(float(grads[False][0]))


def test_ema_teacher_follows_the_student_with_warmup():
    student = torch.nn.Linear(3, 1)
    teacher = EMATeacher(student, decay=0.999)
    before = teacher.model.weight.detach().clone()
    with torch.no_grad():
        student.weight.add_(1.0)
    teacher.update(student)  # first step: decay (1+1)/(10+1) = 0.18, not 0.999
    moved = (teacher.model.weight - before).abs().mean().item()
    assert 0.7 < moved < 0.9
    assert not teacher.model.weight.requires_grad


class _CentreBrightness(torch.nn.Module):
    """A stand-in classifier: logit from the mean brightness of the central 6x6 pixels."""

    def forward(self, x):
        c = x.shape[-1] // 2
        return 0.1 * x[:, 0, c - 3:c + 3, c - 3:c + 3].mean(dim=(1, 2))


def test_dense_picking_maps_peaks_back_to_the_micrograph():
    img = np.zeros((400, 500), np.float32)
    yy, xx = np.mgrid[0:400, 0:500]
    centres = [(100.0, 120.0), (350.0, 260.0), (420.0, 80.0)]
    for x, y in centres:
        img += 3.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 12.0 ** 2))
    img += np.random.default_rng(0).normal(0, 0.05, img.shape).astype(np.float32)
    clf = PatchClassifier(_CentreBrightness(), "resnet18", 0.0, particle_diameter_px=48,
                          working_diameter=24, patch_size=32)
    picks = clf.pick(img, threshold=0.9, batch_size=64)
    assert len(picks) == 3
    for x, y in centres:
        assert np.min(np.hypot(picks[:, 0] - x, picks[:, 1] - y)) < 6  # binning 2x
    s = clf.score_coordinates(img, np.array([[100, 120], [250, 300]]))
    assert s[0] > 0.99 and s[1] < 0.6


# ---------------------------------------------------------------- training
TINY = {"dataset": {"patch_size": 32, "batch_size": 16, "num_workers": 2},
        "training": {"epochs": 6, "steps_per_epoch": 6, "early_stopping_patience": 6},
        "loss": {"rampup_epochs": 2}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_labelled_set(tmp_path_factory.mktemp("fmdata"))


def _cfg(diameter, **overrides):
    cfg = config_from_dict({**TINY, **overrides})
    cfg.dataset.particle_diameter = diameter
    return cfg


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    torch.set_num_threads(2)
    out = tmp_path_factory.mktemp("fmrun")
    lines = []
    results = train_fixmatch(data["images"], data["labels"], str(out), _cfg(data["diameter"]),
                             test_images=data["images"], test_labels=data["truth"],
                             log=lines.append)
    return dict(out=out, results=results, log="\n".join(lines))


def test_training_writes_the_seeds_outputs_and_log(trained):
    out = trained["out"]
    for name in ("best_model.pt", "best_model_ema.pt", "last_checkpoint.pt", "results.json"):
        assert (out / name).exists(), name
    saved = json.loads((out / "results.json").read_text())
    assert len(saved["history"]) == 6
    for key in ("l_sup", "l_cons", "mask", "auc", "auc_ema", "lam"):
        assert key in saved["history"][0]
    assert [e["lam"] for e in saved["history"]][:3] == [0.0, 0.5, 1.0]  # the ramp
    for key in ("auc", "f1", "mask_rate"):
        assert key in saved["test"]["ema"]
    assert "Epoch 1 | L_sup=" in trained["log"] and "| Mask=" in trained["log"]
    assert "| AUC=" in trained["log"]
    # 4 of 20 labels held out: too few witnesses, the count comes from all the labels, and
    # is kept on the training micrograph without labels
    assert saved["n_train_positives"] == 16
    assert "Particles per micrograph estimated from all 20 labels: " in trained["log"]
    assert "Calibrating on 1 micrographs without hand-picked particles" in trained["log"]


def test_every_micrograph_labelled_keeps_its_own_count(data, tmp_path):
    """No micrograph without labels and no count given: the classifier counts the particles
    from its picks and the labels, and keeps that count as a given one would be kept (not
    the labels' best estimated F1)."""
    names = [n for n in data["images"] if len(data["labels"].get(n, []))]
    assert 0 < len(names) < len(data["images"])
    lines = []
    results = train_fixmatch({n: data["images"][n] for n in names},
                             {n: data["labels"][n] for n in names}, str(tmp_path),
                             _cfg(data["diameter"]), log=lines.append)
    log = "\n".join(lines)
    assert results["threshold_origin"] == "classifier's count"
    assert "Particles per micrograph counted by the classifier: " in log
    assert "Picking threshold from the particle count (" in log
    assert "Lee & Liu criterion" not in log


def test_trained_classifier_separates_particles_from_background(trained, data):
    # test patches: every true particle against random positions away from them
    test = trained["results"]["test"]
    assert test["ema"]["auc"] > 0.8 and test["student"]["auc"] > 0.8, test
    assert test["ema"]["n_positive"] == sum(len(t) for t in data["truth"].values())


def test_rescoring_removes_injected_junk(trained, data):
    model = PatchClassifier.load(str(trained["out"] / "best_model_ema.pt"))
    rng = np.random.default_rng(5)
    diffs = []
    for name, img in data["images"].items():
        truth = data["truth"][name][:, :2]
        junk = []
        while len(junk) < len(truth):  # empty ice: a particle diameter away from every particle
            p = rng.uniform([0, 0], [img.shape[1], img.shape[0]])
            if np.min(np.hypot(*(truth - p).T)) > data["diameter"]:
                junk.append(p)
        s_true = model.score_coordinates(img, truth)
        s_junk = model.score_coordinates(img, np.array(junk))
        diffs.append(roc_auc(np.r_[s_true, s_junk], np.r_[np.ones(len(s_true)), np.zeros(len(s_junk))]))
    assert np.mean(diffs) > 0.8, diffs


def test_positive_shift_moves_the_positives_anew_every_step(data, tmp_path, monkeypatch):
    """dataset.positive_shift: every step's positives are cut off their labels by normal
    offsets of shift x working diameter (fresh ones each step); 0 draws none; out of range
    is refused with the key's name."""
    from cryopick_plugin.engine.fixmatch import training

    rng = np.random.default_rng(0)
    moved = training._shifted(rng, [("m", 100.0, 50.0)] * 4000, 3.0)
    offsets = np.array([(x - 100.0, y - 50.0) for _, x, y in moved])
    assert {n for n, _, _ in moved} == {"m"}
    assert np.abs(offsets.mean(axis=0)).max() < 0.2
    assert offsets.std(axis=0) == pytest.approx([3.0, 3.0], rel=0.05)

    seen = []
    real = training._shifted

    def spy(rng, items, sigma):
        out = real(rng, items, sigma)
        seen.append((sigma, items, out))
        return out

    monkeypatch.setattr(training, "_shifted", spy)
    few = {"training": {"epochs": 1, "steps_per_epoch": 3, "early_stopping_patience": 1}}
    train_fixmatch(data["images"], data["labels"], str(tmp_path / "plain"),
                   _cfg(data["diameter"], **few), log=lambda s: None)
    assert seen == []
    cfg = _cfg(data["diameter"], **few)
    cfg.dataset.positive_shift = 0.1
    train_fixmatch(data["images"], data["labels"], str(tmp_path / "shifted"), cfg,
                   log=lambda s: None)
    assert len(seen) == 3  # one draw per step
    working_diameter = cfg.dataset.working_diameter
    assert [s for s, _, _ in seen] == pytest.approx([0.1 * working_diameter] * 3)
    for _, items, out in seen:  # each step's positives moved, none left on its label
        at = np.array([(x, y) for _, x, y in items])
        assert np.all(np.hypot(*(np.array([(x, y) for _, x, y in out]) - at).T) > 0)
    with pytest.raises(CryopickInputError, match="dataset.positive_shift"):
        _cfg(data["diameter"], dataset={"positive_shift": 0.6}).validate()


def test_resume_continues_after_the_last_epoch(data, tmp_path):
    """Epoch 2 resumed from epoch 1's checkpoint trains on from epoch 1's weights: the same
    weights and losses as two epochs in one run (a resume that re-initialised the network,
    or restored only the counters, would differ)."""
    # no threshold search (dense picking, the slow part): only the training is compared
    cfg = _cfg(data["diameter"], training={"epochs": 1, "steps_per_epoch": 2,
                                           "auto_threshold": False})
    out = tmp_path / "resumed"
    train_fixmatch(data["images"], data["labels"], str(out), cfg, log=lambda s: None)
    after_one = torch.load(out / "last_checkpoint.pt", weights_only=False)["student"]
    cfg.training.epochs = 2
    lines = []
    r = train_fixmatch(data["images"], data["labels"], str(out), cfg, log=lines.append,
                       resume=True)
    assert any("Resuming after epoch 1" in ln for ln in lines)
    assert not any(ln.startswith("Epoch 1 ") for ln in lines)  # epoch 1 not trained again
    assert [e["epoch"] for e in r["history"]] == [1, 2]
    whole = train_fixmatch(data["images"], data["labels"], str(tmp_path / "whole"), cfg,
                           log=lambda s: None)
    assert [e["l_sup"] for e in r["history"]] == [e["l_sup"] for e in whole["history"]]
    resumed_w = torch.load(out / "last_checkpoint.pt", weights_only=False)["student"]
    whole_w = torch.load(tmp_path / "whole" / "last_checkpoint.pt", weights_only=False)["student"]
    assert all(torch.equal(resumed_w[k], whole_w[k]) for k in whole_w)
    assert not all(torch.equal(resumed_w[k], after_one[k]) for k in after_one)  # it trained


def test_resume_is_bit_exact_and_refuses_changed_settings(data, tmp_path):
    """Interrupted after epoch 2 of 3 and resumed: the same weights and history as an
    uninterrupted run (dropout draws from torch's global generator: it must be restored)."""
    short = {"epochs": 3, "steps_per_epoch": 2, "early_stopping_patience": 9}
    whole = train_fixmatch(data["images"], data["labels"], str(tmp_path / "whole"),
                           _cfg(data["diameter"], training=short), log=lambda s: None)
    out = str(tmp_path / "resumed")
    train_fixmatch(data["images"], data["labels"], out,
                   _cfg(data["diameter"], training=dict(short, epochs=2)), log=lambda s: None)
    resumed = train_fixmatch(data["images"], data["labels"], out,
                             _cfg(data["diameter"], training=short), log=lambda s: None,
                             resume=True)
    assert [e["l_sup"] for e in resumed["history"]] == [e["l_sup"] for e in whole["history"]]
    for name in ("best_model_ema.pt", "best_model.pt"):
        wa = torch.load(tmp_path / "whole" / name, weights_only=True)["state_dict"]
        wb = torch.load(os.path.join(out, name), weights_only=True)["state_dict"]
        assert all(torch.equal(wa[k], wb[k]) for k in wa), name
    changed = _cfg(data["diameter"], training=short, dataset=dict(TINY["dataset"], batch_size=8),
                   optimizer={"lr": 0.01})
    with pytest.raises(CryopickInputError, match=r"other settings \(dataset.batch_size, "
                                                 r"optimizer.lr\)"):
        train_fixmatch(data["images"], data["labels"], out, changed, log=lambda s: None,
                       resume=True)


def test_model_files_are_checked(trained, tmp_path):
    assert isinstance(load_picker(str(trained["out"] / "best_model_ema.pt")), PatchClassifier)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a model")
    with pytest.raises(CryopickInputError, match="junk.pt: not a readable model file"):
        load_picker(str(junk))
    torch.save({"kind": "cryopick-unet"}, str(tmp_path / "u.pt"))
    with pytest.raises(CryopickInputError, match="not a cryopick FixMatch classifier"):
        PatchClassifier.load(str(tmp_path / "u.pt"))


def test_bad_training_input(data, tmp_path):
    cfg = _cfg(data["diameter"])
    with pytest.raises(CryopickInputError, match="no labelled particles"):
        train_fixmatch(data["images"], {}, str(tmp_path), cfg)
    bad = {k: v.copy() for k, v in data["labels"].items()}
    next(iter(bad.values()))[0, 0] = np.nan
    with pytest.raises(CryopickInputError, match="NaN"):
        train_fixmatch(data["images"], bad, str(tmp_path), cfg)
    # a ResNet's patch (the compact network's is its fixed 68 px window)
    big = _cfg(data["diameter"], dataset={"patch_size": 512}, model={"backbone": "resnet18"})
    with pytest.raises(CryopickInputError, match="smaller than half the 512 px patch"):
        train_fixmatch(data["images"], data["labels"], str(tmp_path), big)


def test_cli_rejects_a_config_with_an_unknown_key(tmp_path, data):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("training:\n  epochs: 2\n  learning_rate: 0.1\n")
    r = subprocess.run([sys.executable, "-m", "cryopick_plugin.cli", "train-fixmatch",
                        "--config", str(cfg), "--image-dir", str(data["out"] / "micrographs"),
                        "--coords-file", str(data["out"] / "labels" / "coordinates.json"),
                        "--particle-diameter", "32", "--output-dir", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown key 'training.learning_rate'" in r.stderr
    assert not (tmp_path / "selective_fixmatch").exists()  # nothing half-written
