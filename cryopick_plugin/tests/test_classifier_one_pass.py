"""The compact classifier scores a micrograph in one pass, equal to patch by patch (issue 12).

Checked on a network trained for a few steps on blobs, so the logits follow the image (an
untrained network's are nearly flat, and a misaligned grid would pass on them).
"""
import numpy as np
import pytest
import torch

from cryopick_plugin.engine.fixmatch import network
from cryopick_plugin.engine.fixmatch.network import (CompactNet, build_classifier,
                                                     dense_stride, patch_size_for, predict,
                                                     predict_dense)
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.fixmatch.patches import PatchSource
from cryopick_plugin.engine.picking.views import view_mean


def _blobs(h, w, centres, sigma=5.0):
    rng = np.random.default_rng(len(centres))
    img = rng.normal(size=(h, w)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for x, y in centres:
        img -= 2.0 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2))
    return ((img - img.mean()) / img.std()).astype(np.float32)


@pytest.fixture(scope="module")
def trained():
    """A compact network taught blob-centred patches (1) against random ones (0)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    centres = rng.uniform(40, 360, (60, 2))
    src = PatchSource(_blobs(400, 400, centres), CompactNet.WINDOW)
    model = CompactNet(dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(30):
        pos = src.extract(centres[rng.integers(0, 60, 16)])
        neg = src.extract(rng.uniform(0, 399, (16, 2)))
        x = torch.from_numpy(np.concatenate([pos, neg])[:, None])
        y = torch.cat([torch.ones(16), torch.zeros(16)])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


@pytest.mark.parametrize("stride", [8, 4, 2])
def test_one_pass_equals_patch_by_patch_at_every_grid_point(trained, stride):
    img = _blobs(150, 181, np.random.default_rng(3).uniform(20, 140, (12, 2)))
    dense = predict_dense(trained, img, stride)
    w = CompactNet.WINDOW
    assert dense.shape == ((150 - w) // stride + 1, (181 - w) // stride + 1)
    rows, cols = np.mgrid[0:dense.shape[0], 0:dense.shape[1]]
    patches = np.stack([img[r * stride:r * stride + w, c * stride:c * stride + w]
                        for r, c in zip(rows.ravel(), cols.ravel())])
    one_by_one = predict(trained, patches, logits=True).reshape(dense.shape)
    assert one_by_one.std() > 0.3  # the logits follow the image
    np.testing.assert_allclose(dense, one_by_one, atol=1e-4)


def test_tiles_of_rows_equal_one_tile(trained, monkeypatch):
    img = _blobs(300, 120, np.random.default_rng(4).uniform(20, 100, (20, 2)))
    whole = predict_dense(trained, img, 4)
    monkeypatch.setattr(network, "DENSE_TILE_PIXELS", 90 * 120)  # 6 output rows per tile
    np.testing.assert_allclose(predict_dense(trained, img, 4), whole, atol=1e-5)


FIVE_BLOBS = np.array([[40, 50], [120, 60], [200, 150], [80, 190], [170, 30.0]])


def _picker_and_blobs(model):
    """A picker of ``model`` (24 px particles) and a 230 x 250 image of FIVE_BLOBS."""
    return (PatchClassifier(model, "compact", 0.0, 24.0, 24.0, CompactNet.WINDOW,
                            threshold=0.5), _blobs(230, 250, FIVE_BLOBS))


def test_picking_in_one_pass_gives_the_picks_of_patch_by_patch(trained, float32_inference):
    picker, img = _picker_and_blobs(trained)
    fast = picker.score_working(img, logits=True)
    slow = picker.score_working(img, logits=True, one_pass=False)
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    picks = picker.pick_working(img, 1.0)
    np.testing.assert_allclose(picks, picker.pick_working(img, 1.0, one_pass=False),
                               atol=1e-4)
    # and they find the blobs
    d = np.linalg.norm(picks[:, None, :2] - FIVE_BLOBS[None], axis=2)
    assert (d.min(axis=0) < 6).sum() >= 4


def test_picking_on_views_uses_the_mean_of_their_logit_maps(trained):
    picker, img = _picker_and_blobs(trained)
    single = picker.score_working(img, logits=True)
    mean = view_mean(lambda w: picker.score_working(w, logits=True), img, 8)
    assert np.abs(mean - single).max() > 1e-2  # the views do see different grids
    for views, logits in ((1, single), (8, mean)):
        picker.views = views
        picks = picker.pick_working(img, 1.0)
        assert len(picks) >= 4
        x, y = picks[:, 0].astype(int), picks[:, 1].astype(int)
        # a pick's score is the probability of that map's logit at its position
        np.testing.assert_allclose(picks[:, 2], 1 / (1 + np.exp(-logits[y, x])), atol=1e-5)


def test_the_grid_is_the_networks_own_and_centred_on_pixels(trained):
    """Node (i, j) is the patch centred on working pixel (j * s, i * s): the one-pass grid
    equals patches cut around those centres by the patch source."""
    img = _blobs(120, 140, [(60, 60)])
    picker = PatchClassifier(trained, "compact", 0.0, 24.0, 24.0, CompactNet.WINDOW,
                             pick_stride=0.25)  # 6 px asked: the network's 4 px grid
    logits = picker.score_working(img, logits=True)
    step = 4  # the interpolating spline passes through the nodes: their logits, unchanged
    src = PatchSource(img, CompactNet.WINDOW)
    nodes = [(step * 5, step * 7), (step * 34, step * 29), (step * 12, step * 20)]
    ref = predict(trained, src.extract(nodes), logits=True)
    np.testing.assert_allclose([logits[y, x] for x, y in nodes], ref, atol=1e-3)
    # between nodes the map is interpolated, not another patch's logit
    between = predict(trained, src.extract([(step * 5 + 2, step * 7)]), logits=True)[0]
    assert abs(logits[step * 7, step * 5 + 2] - between) > 1e-3


def test_compact_patches_are_its_window_and_other_sizes_are_refused():
    assert patch_size_for("compact", 128) == CompactNet.WINDOW
    assert patch_size_for("resnet18", 64) == 64
    assert [dense_stride(s) for s in (0.5, 1, 3, 6, 7.9, 8, 30)] == [1, 1, 2, 4, 4, 8, 8]
    with pytest.raises(ValueError, match="68 px patches"):
        build_classifier("compact")(torch.zeros(2, 1, 64, 64))


def test_compact_training_with_a_particle_count_sets_the_threshold_from_it(tmp_path):
    """Like the U-Net: with dataset.expected_particles the threshold keeps COUNT_SURPLUS x
    that many picks on the training micrographs (here 32 px patches are asked for: the
    compact network trains on its own window)."""
    from cryopick_plugin.engine.fixmatch.config import config_from_dict
    from cryopick_plugin.engine.fixmatch.training import train_fixmatch
    from cryopick_plugin.engine.picking.thresholds import COUNT_SURPLUS
    from cryopick_plugin.tests.tiny_data import tiny_labelled_set

    torch.set_num_threads(2)
    data = tiny_labelled_set(tmp_path, n_micrographs=2)
    cfg = config_from_dict({
        "dataset": {"patch_size": 32, "batch_size": 16, "num_workers": 1,
                    "expected_particles": 20.0},
        "model": {"backbone": "compact"},
        "training": {"epochs": 2, "steps_per_epoch": 4},
        "loss": {"rampup_epochs": 1}})
    cfg.dataset.particle_diameter = data["diameter"]
    lines = []
    out = tmp_path / "run"
    results = train_fixmatch(data["images"], data["labels"], str(out), cfg,
                             log=lines.append)
    log = "\n".join(lines)
    assert "Patches 68 px instead of 32" in log
    assert "Picking threshold from the particle count (20 per micrograph" in log
    assert results["threshold_origin"] == "count"
    model = PatchClassifier.load(str(out / "best_model_ema.pt"))
    assert model.patch_size == CompactNet.WINDOW
    # the k-th best score of the model's own picks on the training micrographs
    scores = np.sort(np.concatenate([model.pick(img, threshold=0.02)[:, 2]
                                     for img in data["images"].values()]))[::-1]
    k = int(round(COUNT_SURPLUS * 20 * 2))
    assert model.threshold == pytest.approx(scores[min(k, len(scores)) - 1], abs=1e-6)
