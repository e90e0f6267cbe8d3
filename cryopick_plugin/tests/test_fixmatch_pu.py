"""The classifier's positive-unlabelled negatives (loss.negatives="pu", issue 11.2): random
positions are unlabelled, a known share of them on a particle, instead of background."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.fixmatch.config import config_from_dict
from cryopick_plugin.engine.fixmatch.training import random_position_prior, train_fixmatch
from cryopick_plugin.engine.pu import background_risk
from cryopick_plugin.tests.tiny_data import tiny_labelled_set


def _as_background(logits):
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def test_with_no_unlabelled_particle_the_risk_is_the_plain_background_loss():
    labelled = torch.tensor([2.0, 3.0, 1.5])
    random = torch.tensor([-2.0, 0.5, -1.0, -3.0])
    plain = _as_background(random)
    assert torch.allclose(background_risk(_as_background(labelled), plain, 0.0), plain)


def test_the_pu_risk_prefers_the_classifier_that_finds_unlabelled_particles():
    # 8 random positions, 2 of them (a quarter: the prior) on unlabelled particles
    labelled = torch.full((4,), 4.0)  # both classifiers score the labelled particles high
    finds = torch.tensor([4.0, 4.0] + [-4.0] * 6)  # ...this one also the unlabelled ones
    misses = torch.full((8,), -4.0)  # ...this one calls every random position background
    plain = {k: float(_as_background(v)) for k, v in (("finds", finds), ("misses", misses))}
    pu = {k: float(background_risk(_as_background(labelled), _as_background(v), 0.25))
          for k, v in (("finds", finds), ("misses", misses))}
    assert plain["misses"] < plain["finds"]  # the seed's random negatives punish finding them
    assert pu["finds"] < pu["misses"]
    assert pu["finds"] == pytest.approx(float(_as_background(torch.tensor([-4.0]))), rel=1e-3)


def test_the_prior_is_the_share_of_random_positions_near_an_unlabelled_centre():
    # 100 x 100 px, particle 8 px: 5 labelled of 20 expected
    near = np.pi * 2.0 ** 2
    free = 100 * 100 - 5 * np.pi * 4.0 ** 2
    assert random_position_prior({"a": (100, 100)}, {"a": 5}, 20, 8.0) == \
        pytest.approx(15 * near / free)
    # averaged over micrographs; a micrograph with every particle labelled adds nothing
    two = random_position_prior({"a": (100, 100), "b": (100, 100)}, {"a": 5, "b": 20}, 20, 8.0)
    assert two == pytest.approx(15 * near / free / 2)
    # a packed micrograph is capped: 'random' cannot be mostly particles
    assert random_position_prior({"a": (50, 50)}, {"a": 0}, 1000, 8.0) == 0.5


def test_pu_negatives_need_the_particle_count():
    cfg = config_from_dict({"loss": {"negatives": "pu"}})
    cfg.dataset.particle_diameter = 20.0
    with pytest.raises(CryopickInputError, match="dataset.expected_particles"):
        cfg.validate()
    cfg.dataset.expected_particles = 30.0
    cfg.validate()


def test_training_uses_the_pu_risk_for_the_random_positions(tmp_path):
    """Same seed, same draws: only the supervised loss of the random positions differs."""
    torch.set_num_threads(2)
    data = tiny_labelled_set(tmp_path, n_micrographs=2)
    images, labels = data["images"], data["labels"]
    runs = {}
    for negatives in ("random", "pu"):
        cfg = config_from_dict({
            "dataset": {"patch_size": 32, "batch_size": 16, "num_workers": 1,
                        "expected_particles": 20.0},
            "training": {"epochs": 1, "steps_per_epoch": 3, "early_stopping_patience": 1,
                         "auto_threshold": False},
            "loss": {"rampup_epochs": 1, "negatives": negatives}})
        cfg.dataset.particle_diameter = data["diameter"]
        lines = []
        runs[negatives] = train_fixmatch(images, labels, str(tmp_path / negatives), cfg,
                                         log=lines.append)
        runs[negatives]["log"] = "\n".join(lines)
    assert "Random positions as unlabelled (nnPU)" in runs["pu"]["log"]
    assert "20 per micrograph" in runs["pu"]["log"]
    assert "nnPU" not in runs["random"]["log"]
    sup = {k: r["history"][0]["l_sup"] for k, r in runs.items()}
    assert np.isfinite(sup["pu"]) and abs(sup["pu"] - sup["random"]) > 1e-4
