"""The positive-unlabelled objective of the U-Net (nnPU over pixels) and what it changes."""
import numpy as np
import pytest
import torch
from torch.nn import functional as F

from cryopick_plugin.engine.picking.scale import to_working
from cryopick_plugin.engine.unet.config import UNetTrainConfig
from cryopick_plugin.engine.unet.losses import IgnoreMaskBCELoss, PULoss
from cryopick_plugin.engine.unet.masks import (BACKGROUND, IGNORE, PARTICLE, UNLABELLED,
                                               coordinates_to_mask, disc_area)
from cryopick_plugin.engine.unet.training import _cap_pseudo_positives, _pseudo_particle_centres


def _scene(seed=0):
    """8 particles in a 64x64 map, 2 of them labelled; logits of a model that knows them all."""
    rng = np.random.default_rng(seed)
    centres = np.array([[10, 10], [30, 12], [50, 10], [12, 40], [32, 34], [52, 40],
                        [20, 56], [44, 56]], dtype=float)
    truth = coordinates_to_mask(centres, (64, 64), 5)
    target = coordinates_to_mask(centres[:2], (64, 64), 5, background=UNLABELLED)
    good = torch.from_numpy(np.where(truth == PARTICLE, 4.0, -4.0).astype(np.float32))
    # a model that learned "only the labelled ones are particles"
    pn = torch.from_numpy(np.where(target == PARTICLE, 4.0, -4.0).astype(np.float32))
    noise = torch.from_numpy(rng.normal(0, 0.1, (64, 64)).astype(np.float32))
    prior = float(((truth == PARTICLE) & (target == UNLABELLED)).sum() / (target == UNLABELLED).sum())
    return torch.from_numpy(target)[None, None], good[None, None] + noise, pn[None, None] + noise, prior


def test_pu_loss_prefers_the_model_that_finds_unlabelled_particles():
    target, good, pn, prior = _scene()
    as_bg = torch.where(target == UNLABELLED, torch.full_like(target, BACKGROUND), target)
    bce = IgnoreMaskBCELoss()
    # the seed's BCE (unlabelled = background) rewards missing the unlabelled particles ...
    assert bce(pn, as_bg) < bce(good, as_bg)
    # ... the PU risk with the right prior does the opposite
    pu = PULoss(prior)
    assert pu(good, target) < pu(pn, target)


def test_pu_loss_reduces_to_the_seeds_bce():
    target, good, _, _ = _scene()
    as_bg = torch.where(target == UNLABELLED, torch.full_like(target, BACKGROUND), target)
    # prior 0: unlabelled pixels are plain background
    assert PULoss(0.0)(good, target).item() == pytest.approx(
        IgnoreMaskBCELoss()(good, as_bg).item(), rel=1e-6)
    # no unlabelled pixel (self-training's positives / negatives / ignored): the same BCE
    mixed = as_bg.clone()
    mixed[..., :8, :] = IGNORE
    assert PULoss(0.3)(good, mixed).item() == pytest.approx(
        IgnoreMaskBCELoss()(good, mixed).item(), rel=1e-6)
    valid = mixed != IGNORE
    ref = F.binary_cross_entropy_with_logits(good[valid], mixed[valid].float())
    assert PULoss(0.3)(good, mixed).item() == pytest.approx(ref.item(), rel=1e-6)


def test_pu_loss_gradient_is_finite_and_non_negative_risk_is_defended():
    target, _, _, prior = _scene()
    logits = torch.zeros_like(target, dtype=torch.float32, requires_grad=True)
    loss = PULoss(prior)(logits, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(torch.isfinite(logits.grad))
    # a batch without labelled particles: running means of the last batch stand in
    pu = PULoss(prior)
    pu(logits.detach(), target)
    only_unl = torch.full_like(target, UNLABELLED)
    assert torch.isfinite(pu(logits.detach(), only_unl))
    # an overfitted model (every unlabelled pixel confidently background, labels hugely
    # confident) would make the unlabelled negative risk estimate negative: it never is
    over = torch.where(target == PARTICLE, torch.tensor(-30.0), torch.tensor(-30.0))
    assert PULoss(0.5)(over, target).item() >= 0


def test_disc_area_matches_the_masks():
    for r in (3.0, 5.5, 12.0):
        mask = coordinates_to_mask([[40, 40]], (81, 81), r)
        assert disc_area(r) == int((mask == PARTICLE).sum())


def test_runaway_cap_keeps_the_most_confident_pixels():
    prob = np.linspace(0, 1, 100).reshape(10, 10)
    positive = prob > 0.5
    capped = _cap_pseudo_positives(prob, positive, 10)
    assert capped.sum() == 10 and prob[capped].min() > prob[positive & ~capped].max()
    assert _cap_pseudo_positives(prob, positive, 1000).sum() == positive.sum()


def test_reliable_negatives_leave_room_for_the_expected_particles():
    from cryopick_plugin.engine.unet.training import (NEGATIVE_MARGIN, _reliable_negatives,
                                                      negative_share_cap)

    # a confident model: 90% of the pixels below the negative threshold, but particles
    # are expected on 20% of them, so at most 1 - 2 x 0.2 = 60% become background
    prob = np.linspace(0.0, 0.1, 1000).reshape(20, 50) ** 2 * 5
    cfg = UNetTrainConfig(negative_quantile=0.5)
    assert (prob < cfg.negative_threshold).mean() > 0.85
    cap = negative_share_cap(expected_particles=4, disc=50, n_pixels=1000)
    assert cap == pytest.approx(1 - NEGATIVE_MARGIN * 0.2)
    neg = _reliable_negatives(prob, cfg, cap)
    assert neg.sum() == 600 and prob[neg].max() <= prob[~neg].min()  # the least particle-like
    assert _reliable_negatives(prob, cfg).mean() > 0.85  # uncapped: the seed's rule
    # no particle count: no cap; a count covering everything: no negatives at all
    assert negative_share_cap(0, 50, 1000) is None
    assert negative_share_cap(40, 50, 1000) == 0.0
    assert not _reliable_negatives(prob, cfg, 0.0).any()


def test_pseudo_particle_centres_skip_hand_picked_ones_and_map_back():
    original = coordinates_to_mask([[10, 10]], (40, 40), 3, background=UNLABELLED)
    positive = coordinates_to_mask([[10, 10], [30, 20]], (40, 40), 3) == PARTICLE
    centres = _pseudo_particle_centres(positive, original, factor=2.0)
    # one blob (the other lies on a label), at working (30, 20) -> original 2 * 30.5 - 0.5
    assert centres.shape == (1, 2)
    assert centres[0] == pytest.approx([60.5, 40.5])


def test_the_seeds_bce_reads_unlabelled_pixels_as_background():
    """When no particle count is known the PU objective falls back to the seed's BCE on masks
    that hold UNLABELLED pixels: they must be background, never a target of 2."""
    target, good, pn, _ = _scene()
    as_bg = torch.where(target == UNLABELLED, torch.full_like(target, BACKGROUND), target)
    for logits in (good, pn):
        assert IgnoreMaskBCELoss()(logits, target).item() == pytest.approx(
            IgnoreMaskBCELoss()(logits, as_bg).item(), rel=1e-6)


def test_pseudo_particles_and_picks_must_look_like_the_hand_picked_ones_in_density(tmp_path):
    """A confident peak on a blob far denser than any labelled particle (ice contamination)
    is neither made a pseudo-particle nor picked; one on an unlabelled particle is both. The
    range travels with the model file."""
    from cryopick_plugin.tests.tiny_data import tiny_labelled_set
    from cryopick_plugin.engine.picking.density import density_range
    from cryopick_plugin.engine.unet.picker import UNetPicker
    from cryopick_plugin.engine.unet.training import SelfTraining

    data = tiny_labelled_set(tmp_path)
    cfg = UNetTrainConfig(particle_diameter=data["diameter"], base_features=2,
                          initial_epochs=1, self_training_iterations=0).validate()
    st = SelfTraining(data["images"], data["labels"], str(tmp_path / "run"), cfg, None, None,
                      lambda line: None)
    picker = st.picker
    assert picker.density_range is not None
    name = sorted(st.labelled)[0]
    work = st.work[name]
    labelled = to_working(np.asarray(data["labels"][name])[:, :2], st.factor)
    # an unlabelled true particle, far from every label
    truth = to_working(np.asarray(data["truth"][name])[:, :2], st.factor)
    distance = np.min(np.hypot(*(truth[:, None, :] - labelled[None, :, :]).T), axis=0)
    particle = truth[np.argmax(distance)]
    # a dense blob (contamination) on empty ice in a copy of the image
    d = picker.working_diameter
    yy, xx = np.mgrid[0:work.shape[0], 0:work.shape[1]]
    far = np.min(np.hypot(xx[..., None] - truth[:, 0], yy[..., None] - truth[:, 1]), axis=-1)
    iy, ix = np.unravel_index(np.argmax(far), far.shape)
    st.work[name] = work.copy()
    st.work[name][np.hypot(xx - ix, yy - iy) < d] -= 8 * work.std()
    prob = np.zeros(work.shape, dtype=np.float32)
    for x, y in (particle, (ix, iy)):
        prob[np.hypot(xx - x, yy - y) < d / 2] = 0.99
    peaks, unlike = st._pseudo_particles(prob, name, None)
    assert len(peaks) == 1 and np.hypot(*(peaks[0, :2] - particle)) < d / 4
    assert unlike == 1
    both = picker.peaks_working(prob, 0.5)
    assert len(both) == 2 and len(picker.like_labels(st.work[name], both)) == 1
    # the blob is also far darker at its centre than any label: below the contrast floor,
    # which alone keeps it from being a pseudo-particle
    from cryopick_plugin.engine.picking.density import centre_contrast
    assert picker.contrast_floor is not None
    assert centre_contrast(st.work[name], [(ix, iy)], d)[0] < picker.contrast_floor
    assert np.all(centre_contrast(work, labelled, d) > picker.contrast_floor)
    kept_range, picker.density_range = picker.density_range, None
    assert len(st._pseudo_particles(prob, name, None)[0]) == 1
    picker.density_range = kept_range
    # saved and loaded, the model keeps the range; without one, both are kept
    picker.save(str(tmp_path / "m.pt"))
    again = UNetPicker.load(str(tmp_path / "m.pt"))
    assert np.allclose(again.density_range, picker.density_range)
    assert len(again.like_labels(st.work[name], both)) == 1
    picker.density_range = picker.contrast_floor = None
    assert len(st._pseudo_particles(prob, name, None)[0]) == 2
    from cryopick_plugin.engine.picking.density import MIN_LABELS
    assert density_range(np.zeros((MIN_LABELS - 1, 2))) is None  # too few for a range
    low, high = density_range(np.array([[0.0, 1.0]] * (MIN_LABELS - 1) + [[1.0, 3.0]]))
    assert np.allclose(low, [-0.5, 0.0]) and np.allclose(high, [1.5, 4.0])


def _older_file(path, key, prob):
    """The U-Net model file ``path`` written again without ``key`` (as an older cryopick wrote
    it), loaded, and picking the stand-in map ``prob``."""
    from cryopick_plugin.engine.unet.picker import UNetPicker

    state = torch.load(path, weights_only=True)
    del state[key]
    torch.save(state, path)
    older = UNetPicker.load(path)
    older._working_map = lambda *a, **k: prob
    older.views = 1  # the stand-in map does not turn with the view it is given
    return older


def test_picks_of_atypical_density_rank_below_typical_ones(tmp_path):
    """Two equally confident peaks, both inside the labels' density range, one far outside
    their typical range (carbon): that one keeps ATYPICAL_SCORE of its score and ranks second,
    or drops out at a threshold above its lowered score. Older model files (no typical
    range) keep every score."""
    from cryopick_plugin.engine.picking.density import (ATYPICAL_SCORE, TYPICAL_SIGMAS,
                                                        density_range, typical_range)
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    rng = np.random.default_rng(0)
    # the image's left half is ice, its right half dark like carbon; the labels sit on ice
    # but for one dark one, which stretches the range, not the typical range
    image = np.zeros((96, 96), dtype=np.float32)
    image[:, 48:] = -1.0
    picker = UNetPicker(UNet(base_features=2), 24, 24, threshold=0.3)
    work = picker.prepare(image)[0]
    ice, dark = float(work[48, 20]), float(work[48, 72])
    labels = ice + (ice - dark) * rng.normal(0.0, 0.05, (40, 2))
    labels[0] = dark - 0.02 * (ice - dark)
    low, high = typical_range(labels)
    assert np.allclose(low, labels.mean(0) - TYPICAL_SIGMAS * labels.std(0, ddof=1))
    assert density_range(labels)[0][0] < dark < low[0]
    picker.density_range, picker.density_typical = density_range(labels), [low, high]
    prob = np.zeros_like(work)
    yy, xx = np.mgrid[0:96, 0:96]
    for x in (20, 72):
        prob[np.hypot(xx - x, yy - 48) < 8] = 0.9
    picker._working_map = lambda *a, **k: prob
    picker.views = 1  # the stand-in map does not turn with the view it is given
    picks = picker.pick(image, threshold=0.05)
    assert len(picks) == 2 and picks[0, 0] == pytest.approx(20, abs=1)
    assert picks[1, 2] == pytest.approx(ATYPICAL_SCORE * picks[0, 2])
    assert len(picker.pick(image)) == 1  # 0.9 x 0.25 is below the threshold 0.3
    # the raw ranking stays for the self-training's pseudo-particles
    peaks = picker.peaks_working(prob, 0.05)
    assert len(peaks) == 2 and peaks[0, 2] == peaks[1, 2] == pytest.approx(picks[0, 2])
    assert np.array_equal(picker.like_labels(work, peaks), peaks)
    path = str(tmp_path / "m.pt")
    picker.save(path)
    again = UNetPicker.load(path)
    assert np.allclose(again.density_typical, [low, high])
    older = _older_file(path, "density_typical", prob)
    assert older.density_typical is None
    assert np.allclose(older.pick(image, threshold=0.05)[:, 2], peaks[:, 2])


def test_picks_far_darker_at_their_centre_than_any_label_rank_lower(tmp_path):
    """Two equally confident peaks on ice that thickens across the image: a faint dark disc
    like the labelled particles, and a blob far darker than any of them (contamination).
    The blob keeps ATYPICAL_SCORE of its score at picking, and is no pseudo-particle; the
    floor travels with the model file, and older files (none) keep every score."""
    from cryopick_plugin.engine.picking.density import (ATYPICAL_SCORE, CONTRAST_SIGMAS,
                                                        MIN_LABELS, centre_contrast,
                                                        contrast_floor)
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    rng = np.random.default_rng(1)
    size, d = 192, 24
    yy, xx = np.mgrid[0:size, 0:size]
    image = np.linspace(0.0, 3.0, size, dtype=np.float32)[None, :].repeat(size, 0)
    image += rng.normal(0.0, 0.3, image.shape).astype(np.float32)
    labels = [(x, y) for x in (30, 90, 150) for y in (30, 70, 110, 160)] + \
        [(60, 50), (120, 50), (60, 140), (180, 90)]
    assert len(labels) >= MIN_LABELS
    particle, blob = (120, 130), (40, 100)
    for (x, y), depth in [(p, rng.uniform(0.4, 0.6)) for p in labels + [particle]] + \
            [(blob, 4.0)]:
        image[np.hypot(xx - x, yy - y) < d / 2] -= depth
    picker = UNetPicker(UNet(base_features=2), d, d, threshold=0.3)
    work = picker.prepare(image)[0]
    # the ramp (thicker ice) is no contrast; the labels' spread sets the floor
    ramp = picker.prepare(np.linspace(0.0, 3.0, size)[None, :].repeat(size, 0))[0]
    assert np.allclose(centre_contrast(ramp, [(96, 96), (60, 120)], d), 0.0, atol=0.02)
    contrasts = centre_contrast(work, labels, d)
    floor = contrast_floor(contrasts)
    assert floor == pytest.approx(contrasts.mean() - CONTRAST_SIGMAS * contrasts.std(ddof=1))
    assert centre_contrast(work, [blob], d)[0] < floor < centre_contrast(work, [particle], d)[0]
    assert contrast_floor(contrasts[:MIN_LABELS - 1]) is None  # too few labels
    picker.contrast_floor = floor
    prob = np.zeros_like(work)
    for x, y in (particle, blob):
        prob[np.hypot(xx - x, yy - y) < d / 3] = 0.9
    picker._working_map = lambda *a, **k: prob
    picker.views = 1  # the stand-in map does not turn with the view it is given
    picks = picker.pick(image, threshold=0.05)
    assert len(picks) == 2 and np.hypot(*(picks[0, :2] - particle)) < 2
    assert picks[1, 2] == pytest.approx(ATYPICAL_SCORE * picks[0, 2])
    assert len(picker.pick(image)) == 1  # 0.9 x 0.25 is below the threshold 0.3
    peaks = picker.peaks_working(prob, 0.05)
    assert len(peaks) == 2 and peaks[0, 2] == peaks[1, 2]
    # self-training takes the particle alone as a pseudo-particle
    like = picker.like_labels(work, peaks)
    assert len(like) == 1 and np.hypot(*(like[0, :2] - particle)) < 2
    path = str(tmp_path / "m.pt")
    picker.save(path)
    assert UNetPicker.load(path).contrast_floor == pytest.approx(floor)
    older = _older_file(path, "contrast_floor", prob)
    assert older.contrast_floor is None
    assert np.allclose(older.pick(image, threshold=0.05)[:, 2], peaks[:, 2])


def test_a_corrupt_contrast_floor_in_a_model_file_is_refused(tmp_path):
    from cryopick_plugin.engine.errors import CryopickInputError
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    picker = UNetPicker(UNet(base_features=2), 32, 24, contrast_floor=-1)
    path = str(tmp_path / "m.pt")
    picker.save(path)
    assert UNetPicker.load(path).contrast_floor == -1.0
    for bad in ("junk", float("nan"), True, [-1.0]):
        picker.contrast_floor = bad
        picker.save(path)
        with pytest.raises(CryopickInputError, match="corrupt contrast floor"):
            UNetPicker.load(path)


def test_a_corrupt_density_range_in_a_model_file_is_refused(tmp_path):
    from cryopick_plugin.engine.errors import CryopickInputError
    from cryopick_plugin.engine.unet.network import UNet
    from cryopick_plugin.engine.unet.picker import UNetPicker

    picker = UNetPicker(UNet(base_features=2), 32, 24, density_range=[[0, 0], [1, 1]])
    path = str(tmp_path / "m.pt")
    picker.save(path)
    assert UNetPicker.load(path).density_range == [[0.0, 0.0], [1.0, 1.0]]
    for bad in ("junk", [[0, 0], [1]], [[0, float("nan")], [1, 1]]):
        picker.density_range = bad
        picker.save(path)
        with pytest.raises(CryopickInputError, match="corrupt density range"):
            UNetPicker.load(path)
