"""The U-Net + classifier ensemble: its map, its picks, its file and `cryopick combine`."""
import numpy as np
import pytest
import torch

from cryopick_plugin.cli import main
from cryopick_plugin.engine.ensemble import EnsemblePicker
from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.pickers import load_picker
from cryopick_plugin.engine.picking.fusion import (CLASSIFIER_WEIGHT, EQUAL_WEIGHT_LABELS,
                                                   N_QUANTILES, PEAK_SHARE, SURROUND_SHARE,
                                                   classifier_weight_for, fuse_maps,
                                                   fuse_parts, part_quantiles, pick_scores,
                                                   with_rank)
from cryopick_plugin.engine.picking.peaks import disc_mean, lower_overlapping
from cryopick_plugin.engine.picking.thresholds import COUNT_SURPLUS
from cryopick_plugin.engine.picking.views import view_mean
from cryopick_plugin.tests.tiny_data import tiny_labelled_set, untrained_members


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tiny_labelled_set(tmp_path_factory.mktemp("ensemble"), n_micrographs=2)


def test_the_map_is_the_weighted_mean_of_the_members_maps(data):
    unet, classifier = untrained_members(data["diameter"])
    ensemble = EnsemblePicker(unet, classifier, classifier_weight=2.0)
    image = next(iter(data["images"].values()))
    work, _ = ensemble.prepare(image)
    pu = unet._working_map(work)
    pc = classifier.score_working(work)
    ensemble.views = 1
    fused = ensemble.score_working(work)
    assert pu.std() > 1e-3 and pc.std() > 1e-3  # both members count
    np.testing.assert_allclose(fused, (pu + 2.0 * np.clip(pc, 0, 1)) / 3.0, atol=1e-6)
    np.testing.assert_allclose(fuse_maps(pu, pc, 0.0), pu, atol=1e-7)  # weight 0: the U-Net
    # with views, each member's map is its mean over the symmetric views, then fused
    ensemble.views = 8
    pu8 = view_mean(unet._working_map, work, 8)
    pc8 = view_mean(classifier.score_working, work, 8)
    assert np.abs(pc8 - pc).max() > 1e-3  # the views change the classifier's map
    fused = ensemble.score_working(work)
    np.testing.assert_allclose(fused, (pu8 + 2.0 * np.clip(pc8, 0, 1)) / 3.0, atol=1e-5)
    # picks: found by the U-Net's peak finder on the fused map, scored from the members'
    # maps (pick_scores), kept by the density rule, lowered where they overlap, then the
    # threshold
    picks = ensemble.pick(image, threshold=0.3)
    peaks = unet.peaks_working(fused, 0.0)
    wd = unet.working_diameter
    scores = pick_scores(peaks[:, :2], pu8, pc8, 2.0, unet.disc_radius, wd)
    # with no share for the classifier's peak nor the surroundings, a pick keeps the fused
    # map's disc-averaged score; by default both count and the scores differ
    np.testing.assert_allclose(pick_scores(peaks[:, :2], pu8, pc8, 2.0, unet.disc_radius,
                                           wd, peak_share=0.0, surround_share=0.0),
                               peaks[:, 2], atol=1e-5)
    assert PEAK_SHARE > 0 and SURROUND_SHARE > 0
    assert np.abs(scores - peaks[:, 2]).max() > 1e-3
    peaks[:, 2] = scores
    expected = unet.like_labels(work, peaks[np.argsort(-scores, kind="stable")], rescore=True)
    overlapping = lower_overlapping(expected, wd)
    assert np.abs(np.sort(overlapping[:, 2]) - np.sort(expected[:, 2])).max() > 1e-3
    expected = overlapping[overlapping[:, 2] >= 0.3]
    assert len(picks) == len(expected) > 0
    factor = image.shape[0] / work.shape[0]
    np.testing.assert_allclose(picks[:, 2], expected[:, 2], atol=1e-4)
    np.testing.assert_allclose(picks[:, :2], expected[:, :2] * factor, atol=0.6 * factor)


def test_pick_scores_keep_sharp_centres_and_need_a_whole_particle():
    """The classifier's part of a pick's score: the disc tells a particle from a speck, the
    peak keeps a sharp centre above a broad ridge (a carbon edge) that averages higher."""
    size, wd = 96, 24.0
    disc = wd / 3
    yy, xx = np.mgrid[:size, :size]
    classifier = np.zeros((size, size), np.float32)
    # a particle's sharp centre at (24, 48): 1.0 in the middle, falling off fast
    classifier += np.exp(-((xx - 24) ** 2 + (yy - 48) ** 2) / (2 * 2.0 ** 2))
    # a ridge along x = 72: 0.7 everywhere on it, 6 px wide
    classifier = np.maximum(classifier, 0.7 * (np.abs(xx - 72) <= 3))
    # a one-pixel speck at (48, 10)
    classifier[10, 48] = 1.0
    unet = np.zeros_like(classifier)
    at = np.array([[24.0, 48.0], [72.0, 48.0], [48.0, 10.0]])
    centre_score, ridge, speck = pick_scores(at, unet, classifier, 1.0, disc, wd,
                                             peak_share=0.5, surround_share=0.0)
    # the disc mean alone ranks the ridge first: what lost crowded micrographs
    disc_only = [disc_mean(classifier, disc)[int(y), int(x)] for x, y in at]
    assert disc_only[1] > disc_only[0]
    assert centre_score > ridge > speck
    # the U-Net's part is its disc mean, weighed against the classifier's
    unet[:] = 1.0
    assert np.allclose(pick_scores(at, unet, classifier * 0, 3.0, disc, wd, 0.5, 0.0), 0.25)


def test_pick_scores_weigh_a_pick_against_its_surroundings():
    """A particle stands out from its surroundings; a plateau the classifier calls
    particle-like (carbon, an aggregate) does not, and loses SURROUND_SHARE of its ring."""
    size, wd = 128, 24.0
    disc = wd / 3
    yy, xx = np.mgrid[:size, :size]
    # the U-Net: a particle's disc (radius wd / 2) at (32, 64); a plateau over x >= 80
    unet = ((xx - 32) ** 2 + (yy - 64) ** 2 <= (wd / 2) ** 2).astype(np.float32)
    unet[:, 80:] = 1.0
    # the classifier: a sharp centre at the particle, a plateau of 1.0 over the other
    classifier = np.exp(-((xx - 32) ** 2 + (yy - 64) ** 2) / (2 * 2.0 ** 2)).astype(np.float32)
    classifier[:, 80:] = 1.0
    at = np.array([[32.0, 64.0], [104.0, 64.0]])
    flat = pick_scores(at, unet, classifier, 1.0, disc, wd, peak_share=0.5, surround_share=0.0)
    assert flat[1] > flat[0]  # without the surround, the plateau wins
    particle, plateau = pick_scores(at, unet, classifier, 1.0, disc, wd, peak_share=0.5,
                                    surround_share=1.0)
    assert particle > plateau
    # weight 1: half of the classifier's ring mean (1.0 on the plateau) is lost there
    assert plateau == pytest.approx(flat[1] - 0.5, abs=1e-4)
    # around the particle's sharp centre the classifier's ring is near 0
    assert particle == pytest.approx(flat[0], abs=0.01)
    # the U-Net's part has no surround: with the classifier at 0, nothing changes
    zero = np.zeros_like(classifier)
    np.testing.assert_allclose(pick_scores(at, unet, zero, 1.0, disc, wd, 0.5, 1.0),
                               pick_scores(at, unet, zero, 1.0, disc, wd, 0.5, 0.0), atol=1e-6)


def test_ranks_let_a_saturated_member_order_the_picks():
    """Calibrated, each member's part counts half as its rank among the calibration
    candidates: the U-Net, saturated near 1 on particles and junk alike, still orders them
    instead of leaving the order to the classifier."""
    rng = np.random.default_rng(0)
    # calibration candidates: mostly background; the U-Net at 0.990-0.999 on the top tenth
    unet_parts = np.concatenate([rng.uniform(0.0, 0.5, 900), rng.uniform(0.990, 0.999, 100)])
    quantiles = {"unet": part_quantiles(unet_parts),
                 "classifier": part_quantiles(rng.uniform(0.0, 1.0, 1000))}
    assert len(quantiles["unet"]) == N_QUANTILES and (np.diff(quantiles["unet"]) >= 0).all()
    # a particle (the U-Net's best) and junk (the classifier a little higher on it)
    unet_pick, classifier_pick = np.array([0.999, 0.991]), np.array([0.70, 0.72])
    by_value = fuse_parts(unet_pick, classifier_pick, 1.0)
    assert by_value[1] > by_value[0]  # the U-Net's 0.008 is lost: junk first
    by_rank = fuse_parts(unet_pick, classifier_pick, 1.0, quantiles)
    assert by_rank[0] > by_rank[1]
    # half the part, half its rank: above every calibration candidate the rank is 1, and
    # 0.991 is above 91% of them
    np.testing.assert_allclose(with_rank(unet_pick, quantiles["unet"]),
                               [(0.999 + 1.0) / 2, (0.991 + 0.911) / 2], atol=3e-3)
    grid = np.linspace(0.0, 1.0, 50)
    assert (np.diff(with_rank(grid, quantiles["classifier"])) >= 0).all()  # order kept
    np.testing.assert_array_equal(with_rank(grid, None), grid)  # uncalibrated: as it was


def test_the_file_keeps_the_calibration_and_older_files_load_without_it(data, tmp_path):
    ensemble = EnsemblePicker(*untrained_members(data["diameter"]), threshold=0.3)
    image = next(iter(data["images"].values()))
    work, factor = ensemble.prepare_to_pick(image)
    maps = ensemble.member_maps(work)
    plain = ensemble.picks_from_maps(work, factor, *maps, threshold=0.0)
    assert ensemble.calibrate_parts([maps]) == len(ensemble.candidates(*maps)) > 0
    calibrated = ensemble.picks_from_maps(work, factor, *maps, threshold=0.0)
    assert np.abs(np.sort(plain[:, 2]) - np.sort(calibrated[:, 2])).max() > 1e-3
    path = str(tmp_path / "calibrated.pt")
    ensemble.save(path)
    loaded = load_picker(path)
    for member in ("unet", "classifier"):
        np.testing.assert_allclose(loaded.part_quantiles[member],
                                   ensemble.part_quantiles[member])
    np.testing.assert_allclose(loaded.pick(image, threshold=0.0), calibrated, atol=1e-5)
    # a file written before the calibration existed (format 1) scores by the parts alone
    state = torch.load(path, weights_only=True)
    older = {k: v for k, v in state.items() if k != "part_quantiles"}
    torch.save(dict(older, format_version=1), tmp_path / "older.pt")
    older = load_picker(str(tmp_path / "older.pt"))
    assert older.part_quantiles is None
    np.testing.assert_allclose(older.pick(image, threshold=0.0), plain, atol=1e-5)
    # quantiles out of order: a damaged file, refused
    state["part_quantiles"]["unet"] = state["part_quantiles"]["unet"][::-1]
    torch.save(state, tmp_path / "damaged.pt")
    with pytest.raises(CryopickInputError, match="score quantiles"):
        load_picker(str(tmp_path / "damaged.pt"))


def test_the_file_holds_both_members_and_picks_the_same(data, tmp_path):
    ensemble = EnsemblePicker(*untrained_members(data["diameter"]), threshold=0.4)
    path = str(tmp_path / "ensemble.pt")
    ensemble.save(path)
    loaded = load_picker(path)
    assert isinstance(loaded, EnsemblePicker)
    assert (loaded.threshold, loaded.classifier_weight) == (0.4, CLASSIFIER_WEIGHT)
    image = next(iter(data["images"].values()))
    np.testing.assert_allclose(loaded.pick(image), ensemble.pick(image), atol=1e-5)
    # a member can be taken out again
    state = torch.load(path, weights_only=True)
    assert state["unet"]["kind"] == "cryopick-unet"
    assert state["classifier"]["kind"] == "cryopick-fixmatch"
    state["classifier"] = {"kind": "something else"}
    torch.save(state, tmp_path / "broken.pt")
    with pytest.raises(CryopickInputError, match="corrupt ensemble .no classifier model"):
        load_picker(str(tmp_path / "broken.pt"))


def test_members_trained_for_different_particles_are_refused(data):
    unet, _ = untrained_members(data["diameter"])
    _, other = untrained_members(data["diameter"] * 1.5)
    with pytest.raises(CryopickInputError, match="different particles or pixel sizes"):
        EnsemblePicker(unet, other)
    _, other_pixels = untrained_members(data["diameter"], pixel_size=3.0)
    with pytest.raises(CryopickInputError, match="different particles or pixel sizes"):
        EnsemblePicker(unet, other_pixels)


def test_combine_chooses_the_threshold_from_the_count_and_pick_uses_it(data, tmp_path,
                                                                       capsys):
    unet, classifier = untrained_members(data["diameter"])
    unet.save(str(tmp_path / "unet.pt"))
    classifier.save(str(tmp_path / "classifier.pt"))
    mics = str(data["out"] / "micrographs")
    out = str(tmp_path / "ensemble.pt")
    base = ["combine", "--unet", str(tmp_path / "unet.pt"), "--classifier",
            str(tmp_path / "classifier.pt"), "--image-dir", mics, "--output", out]
    assert main(base) == 2  # no labels and no count: nothing to choose the threshold from
    assert "--coords" in capsys.readouterr().err
    assert main(base + ["--expected-particles", "20"]) == 0
    ensemble = load_picker(out)
    assert ensemble.extra["threshold_origin"] == "count"
    scores = np.sort(np.concatenate([ensemble.pick(img, threshold=0.02)[:, 2]
                                     for img in data["images"].values()]))[::-1]
    k = int(round(COUNT_SURPLUS * 20 * len(data["images"])))
    assert ensemble.threshold == pytest.approx(scores[min(k, len(scores)) - 1], abs=1e-6)
    picks = str(tmp_path / "picks.json")
    assert main(["pick", "--model", out, "--image-dir", mics, "--output", picks]) == 0
    table = read_coordinates(picks)
    assert sum(len(v) for v in table.values()) > 0
    # scores are written to 5 decimals: the threshold's own pick may round below it
    assert min(float(v[:, 2].min()) for v in table.values() if len(v)) >= \
        ensemble.threshold - 5e-6
    # with the labels instead of a count
    labelled = str(tmp_path / "labelled.pt")
    assert main(base[:-1] + [labelled, "--coords",
                             str(data["out"] / "labels" / "coordinates.json")]) == 0
    assert load_picker(labelled).extra["threshold_origin"] == "labels"


def test_combine_calibrates_on_micrographs_without_labels(data, tmp_path, capsys):
    """--calibrate-dir: the count of picks is kept on the micrographs there that carry no
    labels, not on the training micrographs."""
    import shutil

    unet, classifier = untrained_members(data["diameter"])
    unet.save(str(tmp_path / "unet.pt"))
    classifier.save(str(tmp_path / "classifier.pt"))
    mics = data["out"] / "micrographs"
    labels = str(data["out"] / "labels" / "coordinates.json")
    first, second = sorted(data["images"])
    calibrate = tmp_path / "to_pick"
    calibrate.mkdir()
    shutil.copy(next(mics.glob(first + ".*")), calibrate)  # labelled: left out
    unseen_path = next(mics.glob(second + ".*"))
    shutil.copy(unseen_path, calibrate / ("unseen" + unseen_path.suffix))
    out = str(tmp_path / "ensemble.pt")
    base = ["combine", "--unet", str(tmp_path / "unet.pt"), "--classifier",
            str(tmp_path / "classifier.pt"), "--image-dir", str(mics), "--coords", labels,
            "--output", out]
    assert main(base + ["--calibrate-dir", str(calibrate), "--expected-particles", "5"]) == 0
    ensemble = load_picker(out)
    assert ensemble.extra["threshold_origin"] == "count on unseen micrographs"
    scores = np.sort(ensemble.pick(data["images"][second], threshold=0.02)[:, 2])[::-1]
    k = int(round(COUNT_SURPLUS * 5))  # one unseen micrograph
    assert ensemble.threshold == pytest.approx(scores[min(k, len(scores)) - 1], abs=1e-6)
    # not the count kept on the labelled micrograph
    labelled = np.sort(ensemble.pick(data["images"][first], threshold=0.02)[:, 2])[::-1]
    assert ensemble.threshold != pytest.approx(labelled[min(k, len(labelled)) - 1], abs=1e-6)
    # the members' scores were calibrated on that micrograph too
    assert "calibrated on" in capsys.readouterr().out
    alone = EnsemblePicker(ensemble.unet, ensemble.classifier, ensemble.classifier_weight)
    work, _ = alone.prepare_to_pick(data["images"][second])
    alone.calibrate_parts([alone.member_maps(work)])
    for member in ("unet", "classifier"):
        np.testing.assert_allclose(ensemble.part_quantiles[member],
                                   alone.part_quantiles[member], atol=1e-6)
    # a folder of labelled micrographs only: nothing to calibrate on, said before any work
    (calibrate / ("unseen" + unseen_path.suffix)).unlink()
    assert main(base + ["--calibrate-dir", str(calibrate)]) == 2
    assert "no micrographs without labels" in capsys.readouterr().err


def test_combine_weighs_the_classifier_by_the_number_of_labels(data, tmp_path, capsys):
    unet, classifier = untrained_members(data["diameter"])
    unet.save(str(tmp_path / "unet.pt"))
    classifier.save(str(tmp_path / "classifier.pt"))
    labels = str(data["out"] / "labels" / "coordinates.json")
    n_labels = sum(len(v) for v in read_coordinates(labels).values())
    base = ["combine", "--unet", str(tmp_path / "unet.pt"), "--classifier",
            str(tmp_path / "classifier.pt"), "--image-dir", str(data["out"] / "micrographs"),
            "--expected-particles", "20"]
    cases = ((["--coords", labels], EQUAL_WEIGHT_LABELS / n_labels),  # the default
             ([], CLASSIFIER_WEIGHT),  # no labels given: the fixed default
             (["--coords", labels, "--classifier-weight", "0"], 0.0))  # the U-Net alone
    for i, (extra, weight) in enumerate(cases):
        out = str(tmp_path / f"e{i}.pt")
        assert main(base + extra + ["--output", out]) == 0
        assert load_picker(out).classifier_weight == pytest.approx(weight)
    assert f"{EQUAL_WEIGHT_LABELS:g} / {n_labels} hand-picked particles" in \
        capsys.readouterr().out
    assert main(base + ["--classifier-weight", "-1", "--output", str(tmp_path / "x.pt")]) == 2
    assert "--classifier-weight" in capsys.readouterr().err


def test_the_classifier_counts_less_the_more_labels():
    assert classifier_weight_for(10) == pytest.approx(EQUAL_WEIGHT_LABELS / 10)
    assert classifier_weight_for(10) > classifier_weight_for(100) > classifier_weight_for(1000)
    assert classifier_weight_for(0) == CLASSIFIER_WEIGHT


def test_combine_refuses_a_classifier_of_another_particle(data, tmp_path, capsys):
    unet, _ = untrained_members(data["diameter"])
    _, other = untrained_members(data["diameter"] * 2)
    unet.save(str(tmp_path / "unet.pt"))
    other.save(str(tmp_path / "classifier.pt"))
    code = main(["combine", "--unet", str(tmp_path / "unet.pt"), "--classifier",
                 str(tmp_path / "classifier.pt"), "--image-dir",
                 str(data["out"] / "micrographs"), "--expected-particles", "20",
                 "--output", str(tmp_path / "e.pt")])
    assert code == 2 and "different particles" in capsys.readouterr().err
    assert not (tmp_path / "e.pt").exists()
