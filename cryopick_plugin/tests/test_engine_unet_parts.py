"""U-Net building blocks: architecture, masks, ignore-mask loss, resampling, tiling, peaks."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.unet.losses import IgnoreMaskBCELoss
from cryopick_plugin.engine.unet.masks import (BACKGROUND, IGNORE, PARTICLE, combine_labels,
                                          coordinates_to_mask, label_fractions)
from cryopick_plugin.engine.picking.peaks import find_peaks
from cryopick_plugin.engine.picking.scale import (downsample, normalize, to_original, to_working,
                                             working_factor)
from cryopick_plugin.engine.unet.tiling import predict_probability_map
from cryopick_plugin.engine.unet.network import UNet, count_parameters


def test_unet_size_and_shape():
    assert 30e6 < count_parameters(UNet(base_features=64)) < 32e6  # the seed's ~31M
    model = UNet(base_features=4)
    assert model(torch.zeros(2, 1, 48, 80)).shape == (2, 1, 48, 80)


def test_disc_mask_on_rectangular_image():
    mask = coordinates_to_mask([[10, 5], [0, 0]], (20, 30), radius=2)
    assert mask.shape == (20, 30) and mask.dtype == np.int8
    assert mask[5, 10] == PARTICLE and mask[5, 12] == PARTICLE and mask[5, 13] == BACKGROUND
    assert mask[10, 5] == BACKGROUND  # not transposed
    # the disc at the corner is clipped: pixels with x^2 + y^2 <= 4 -> 6 pixels in the image
    assert (mask[:4, :4] == PARTICLE).sum() == 6
    assert (mask == PARTICLE).sum() == 13 + 6


def test_combine_labels_priorities():
    original = np.array([PARTICLE, BACKGROUND, BACKGROUND, BACKGROUND, PARTICLE], np.int8)
    pos = np.array([False, True, False, False, False])
    neg = np.array([False, False, True, False, True])
    out = combine_labels(original, pos, neg)
    # original particle wins over a reliable negative; unlabelled background becomes ignored
    assert out.tolist() == [PARTICLE, PARTICLE, BACKGROUND, IGNORE, PARTICLE]
    assert label_fractions(out) == pytest.approx((0.6, 0.2, 0.2))


def test_ignore_mask_bce_value_and_zero_gradient_on_ignored():
    torch.manual_seed(0)
    logits = torch.randn(1, 1, 4, 5, requires_grad=True)
    target = torch.tensor([[[[1, 0, -1, -1, 1], [0, 0, 1, -1, 0],
                             [-1, -1, -1, -1, -1], [1, 1, 0, 0, -1]]]], dtype=torch.int8)
    loss = IgnoreMaskBCELoss()(logits, target)
    valid = target != IGNORE
    ref = F.binary_cross_entropy_with_logits(logits[valid], target[valid].float())
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
    loss.backward()
    assert torch.all(logits.grad[~valid] == 0)
    assert torch.all(logits.grad[valid] != 0)
    # an infinite logit at an ignored pixel must not poison the loss
    wild = logits.detach().clone()
    wild[~valid] = float("inf")
    assert torch.isfinite(IgnoreMaskBCELoss()(wild, target))
    # nothing valid: zero loss and zero gradient, not NaN
    logits.grad = None
    empty = IgnoreMaskBCELoss()(logits, torch.full_like(target, IGNORE))
    empty.backward()
    assert empty.item() == 0.0 and torch.all(logits.grad == 0)


def test_working_scale_round_trip_on_rectangular_image():
    assert working_factor(96, 24) == 4 and working_factor(10, 24) == 1.0
    with pytest.raises(CryopickInputError):
        working_factor(0)
    img = np.zeros((121, 203), np.float32)  # sizes not divisible by the factor
    x, y = 151, 37
    img[y - 1:y + 2, x - 1:x + 2] = 1.0
    small = downsample(img, 2.5)
    assert small.shape == (48, 81)
    # the blob's centroid lands where to_working says, to a small fraction of a pixel
    # (an output size rounded per axis would shift it by 0.15 px here)
    yy, xx = np.mgrid[0:48, 0:81]
    cx, cy = (small * xx).sum() / small.sum(), (small * yy).sum() / small.sum()
    px, py = to_working([x, y], 2.5)
    assert abs(cx - px) < 0.1 and abs(cy - py) < 0.1
    np.testing.assert_allclose(to_original(to_working([[x, y, 0.3]], 2.5), 2.5), [[x, y, 0.3]])


def test_normalize_is_robust():
    rng = np.random.default_rng(0)
    img = rng.normal(5, 2, (100, 100)).astype(np.float32)
    img[:10] = 1000  # a very bright artefact must not set the scale
    out = normalize(img)
    assert abs(float(np.median(out))) < 0.1
    assert float(np.median(np.abs(out[20:]))) == pytest.approx(0.6745, abs=0.08)
    assert np.all(normalize(np.ones((8, 8))) == 0)


def _structured_unet():
    """Fixed weights whose output varies over the image (He-normal init: probabilities over
    the whole range; PyTorch's default init gives a nearly constant map that hides seams)."""
    torch.manual_seed(0)
    model = UNet(base_features=4)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.normal_(m.bias, 0, 0.1)
    return model.eval()


def _blobs(shape, n, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    img = rng.normal(0, 1, shape).astype(np.float32)
    for x, y in rng.uniform((0, 0), (shape[1], shape[0]), (n, 2)):
        img += 3 * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 50)
    return img


def test_tiled_inference_equals_whole_image(monkeypatch):
    """The picker's own tiling (tile and margin as picker.py and tiling.py set them, read
    from its call, not restated here) gives the map of one whole-image pass: each kept pixel
    saw its whole receptive field."""
    from cryopick_plugin.engine.unet import picker as picker_module
    from cryopick_plugin.engine.unet import tiling
    from cryopick_plugin.engine.unet.picker import UNetPicker

    used, tiles = {}, []

    def spy(model, image, **kwargs):
        used.update(kwargs)
        return predict_probability_map(model, image, **kwargs)

    def count(model, batch, *args):
        tiles.extend(b.shape for b in batch)
        return predict_logits(model, batch, *args)

    predict_logits = tiling.predict_logits_batch
    monkeypatch.setattr(picker_module, "predict_probability_map", spy)
    monkeypatch.setattr(tiling, "predict_logits_batch", count)
    picker = UNetPicker(_structured_unet(), particle_diameter_px=24, working_diameter=24)
    # a long strip: wider than the largest tile of a base-4 network (cheap: few rows)
    img = _blobs((256, 2600), 300, seed=1)
    tiled, factor = picker.probability_map(img)
    margin = used["margin"]
    assert factor == 1.0 and tiled.shape == img.shape
    assert len(tiles) > 1, tiles  # really in several tiles
    tiles.clear()
    one = -(-(max(img.shape) + 2 * margin) // 16) * 16
    whole = predict_probability_map(picker.model, normalize(img), tile=one, margin=margin)
    assert len(tiles) == 1  # really one pass
    assert tiled.std() > 0.1  # a map with structure, not a constant
    assert np.abs(whole - tiled).max() < 1e-4
    small = predict_probability_map(picker.model, img[:20, :30], margin=margin)
    assert small.shape == (20, 30)


def test_peaks_find_blobs_and_suppress_duplicates():
    yy, xx = np.mgrid[0:100, 0:150]
    prob = np.zeros((100, 150), np.float32)
    for x, y, a in ((30, 20, 0.9), (120, 70, 0.8), (36, 20, 0.7), (80, 90, 0.3)):
        prob = np.maximum(prob, a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 8))
    peaks = find_peaks(prob, threshold=0.5, min_distance=10)
    # (36, 20) is within 10 px of a stronger peak; (80, 90) is below the threshold
    assert peaks[:, :2].tolist() == [[30, 20], [120, 70]]
    assert peaks[0, 2] == pytest.approx(0.9, abs=1e-6)
    assert len(find_peaks(prob, threshold=0.5, min_distance=3)) == 3
    assert find_peaks(np.zeros((10, 10)), 0.5, 3).shape == (0, 3)
    # a saturated map (a collapsed model): every pixel is a maximum, NMS still spaces them
    flat = find_peaks(np.ones((200, 200), np.float32), 0.5, 12)
    d = np.hypot(*(flat[:, None, :2] - flat[None, :, :2]).transpose(2, 0, 1))
    assert (d + np.eye(len(flat)) * 1e9).min() >= 12 and 100 < len(flat) < 400
    with pytest.raises(CryopickInputError):
        find_peaks(prob, threshold=0.5, min_distance=-1)
    with pytest.raises(CryopickInputError, match="within \\[0, 1\\]"):
        find_peaks(prob, threshold=1.5, min_distance=3)


def test_disc_filter_centres_picks_on_saturated_or_ring_shaped_particles():
    yy, xx = np.mgrid[0:120, 0:160]
    rng = np.random.default_rng(0)
    prob = np.zeros((120, 160), np.float32)
    centres = [(40.0, 50.0), (110.0, 60.0)]
    r0 = np.hypot(xx - 40, yy - 50)
    prob[r0 <= 12] = 0.999  # a saturated disc, with noise on its plateau
    r1 = np.hypot(xx - 110, yy - 60)
    prob[(r1 >= 7) & (r1 <= 12)] = 0.95  # a ring: the prediction of a hollow particle
    prob = np.clip(prob + rng.normal(0, 0.02, prob.shape), 0, 1).astype(np.float32)
    raw = find_peaks(prob, threshold=0.5, min_distance=12)
    disc = find_peaks(prob, threshold=0.5, min_distance=12, disc_radius=12)
    assert len(raw) > 2  # plateau and ring maxima scatter over the particles
    assert len(disc) == 2
    for x, y in centres:
        assert np.min(np.hypot(disc[:, 0] - x, disc[:, 1] - y)) <= 1.5


def test_view_mean_turns_each_view_back():
    """An identity "network" gives back the image exactly from any number of views (a view
    turned back wrongly would blur it into its symmetric average); a network that sees only
    the top row gives the mean over the four edges' rows with 8 views."""
    from cryopick_plugin.engine.picking.views import view_mean

    img = np.random.default_rng(0).normal(size=(6, 9)).astype(np.float32)
    for views in (1, 2, 4, 8):
        np.testing.assert_allclose(view_mean(lambda w: w, img, views), img, atol=1e-6)

    def top_row(w):
        out = np.zeros_like(w)
        out[0] = 1.0
        return out

    mean = view_mean(top_row, img, 8)
    assert mean.shape == img.shape
    # each edge is "the top row" in 2 of the 8 views; corners in 4 of them
    assert mean[0, 4] == pytest.approx(0.25) and mean[5, 4] == pytest.approx(0.25)
    assert mean[3, 0] == pytest.approx(0.25) and mean[3, 8] == pytest.approx(0.25)
    assert mean[0, 0] == pytest.approx(0.5) and mean[3, 4] == 0.0
    assert view_mean(top_row, img, 2)[0, 4] == pytest.approx(1.0)


def test_overlapping_picks_are_lowered_touching_ones_are_not():
    """lower_overlapping: a clump (picks 0.7 diameters apart, alike in score) is lowered
    whole; a particle keeps its score beside a much weaker side peak, which is lowered;
    particles a diameter apart (touching) and isolated ones keep theirs; best first again."""
    from cryopick_plugin.engine.picking.peaks import OVERLAP_SCORE, lower_overlapping

    d = 20.0
    peaks = np.array([
        [100.0, 100.0, 0.90],               # a clump of three, 0.7 d apart
        [114.0, 100.0, 0.88],
        [107.0, 112.0, 0.86],
        [300.0, 100.0, 0.80],               # a particle with a weak side peak at 0.6 d
        [312.0, 100.0, 0.30],
        [500.0, 100.0, 0.75],               # two touching particles, 1 d apart
        [520.0, 100.0, 0.74],
        [700.0, 700.0, 0.50],               # alone
    ])
    out = lower_overlapping(peaks[::-1], d)  # any order in, best first out
    assert (np.diff(out[:, 2]) <= 0).all()
    score = {(x, y): s for x, y, s in out}
    np.testing.assert_allclose([score[100.0, 100.0], score[114.0, 100.0], score[107.0, 112.0]],
                               OVERLAP_SCORE * np.array([0.90, 0.88, 0.86]))
    assert score[300.0, 100.0] == 0.80 and score[312.0, 100.0] == OVERLAP_SCORE * 0.30
    assert score[500.0, 100.0] == 0.75 and score[520.0, 100.0] == 0.74
    assert score[700.0, 700.0] == 0.50
    # the clump now ranks below the touching pair and the particle beside its side peak
    np.testing.assert_allclose(out[:4, 2], [0.80, 0.75, 0.74, OVERLAP_SCORE * 0.90])
    assert lower_overlapping(np.zeros((0, 3)), d).shape == (0, 3)
    np.testing.assert_array_equal(lower_overlapping(peaks[:1], d), peaks[:1])
