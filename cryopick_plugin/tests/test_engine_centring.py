"""Hand-picked particles moved onto their centres (engine/picking/centring.py), on images of
known particles."""
import numpy as np
import pytest

from cryopick_plugin.engine.picking.centring import (MAX_SHIFT, MIN_GAIN, MIN_LABELS,
                                                     centre_labels, rotational_average)

DIAMETER = 24.0


def _field(rng, n_side=6, spacing=40, noise=0.3, edge=DIAMETER / 4):
    """A noisy image of dark round particles on a grid (touching neighbours at 1.67
    diameters), and their true centres (working x, y). ``edge``: the Gaussian profile's
    width (smaller: a sharper particle, whose match falls faster off its centre)."""
    size = n_side * spacing + 40
    yy, xx = np.mgrid[:size, :size]
    image = rng.normal(0.0, noise, (size, size))
    centres = []
    for i in range(n_side):
        for j in range(n_side):
            cx, cy = 40 + i * spacing + rng.uniform(-4, 4), 40 + j * spacing + rng.uniform(-4, 4)
            r2 = (xx - cx) ** 2 + (yy - cy) ** 2
            image -= np.exp(-r2 / (2 * edge ** 2))  # dense matter is dark
            centres.append((cx, cy))
    return image.astype(np.float32), np.array(centres)


def test_clicks_off_centre_move_back_onto_their_particles():
    rng = np.random.default_rng(1)
    image, truth = _field(rng)
    clicks = truth + rng.normal(0.0, 0.1 * DIAMETER, truth.shape)
    centred = centre_labels({"m": image}, {"m": clicks}, DIAMETER, min_gain=0.0)["m"]
    before = np.hypot(*(clicks - truth).T)
    after = np.hypot(*(centred - truth).T)
    assert before.mean() > 2.5  # the clicks were about 3 px off
    assert after.mean() < 1.0 and after.mean() < before.mean() / 3
    # no click moves further than the search allows
    assert np.hypot(*(centred - np.round(clicks)).T).max() <= MAX_SHIFT * DIAMETER + 1e-9


def test_clicks_on_centre_stay_there():
    rng = np.random.default_rng(2)
    image, truth = _field(rng)
    centred = centre_labels({"m": image}, {"m": truth}, DIAMETER)["m"]
    assert np.hypot(*(centred - truth).T).mean() < 1.0


def test_clicks_move_only_for_a_sharper_match():
    """The minimum gain: clicks on their centres stay (without it, many step a pixel or more
    to a match sharpened by noise), clicks off centre still move."""
    rng = np.random.default_rng(5)
    image, truth = _field(rng, edge=DIAMETER / 6)
    clicks = np.round(truth)

    def moved(gain, at):
        centred = centre_labels({"m": image}, {"m": at}, DIAMETER, min_gain=gain)["m"]
        return (np.mean(np.hypot(*(centred - np.round(at)).T) > 0),
                np.hypot(*(centred - truth).T).mean())

    assert MIN_GAIN > 0
    assert moved(0.0, clicks)[0] > 0.2
    assert moved(MIN_GAIN, clicks)[0] < 0.1
    off = truth + rng.normal(0.0, 0.1 * DIAMETER, truth.shape)
    share, distance = moved(MIN_GAIN, off)
    assert share > 0.5 and distance < 0.5 * np.hypot(*(off - truth).T).mean()
    # no match is 2 better: nothing moves, and a click that stays is not rounded
    kept = centre_labels({"m": image}, {"m": truth + 0.3}, DIAMETER, min_gain=2.0)["m"]
    np.testing.assert_array_equal(kept, truth + 0.3)


def test_few_labels_stay_where_they_were_clicked():
    rng = np.random.default_rng(3)
    image, truth = _field(rng)
    clicks = truth[:MIN_LABELS - 1] + 3.0
    centred = centre_labels({"m": image}, {"m": clicks}, DIAMETER)["m"]
    np.testing.assert_array_equal(centred, clicks)


def test_labels_across_micrographs_at_the_edge_and_with_extra_columns():
    rng = np.random.default_rng(4)
    a, truth_a = _field(rng)
    b, truth_b = _field(rng)
    scores = np.ones((len(truth_b), 1))
    clicks = {"a": truth_a + 2.0, "b": np.hstack([truth_b - 2.0, scores]),
              "c": np.zeros((0, 2))}
    clicks["a"][0] = (-3.0, 5.0)  # outside the image: taken at its edge
    centred = centre_labels({"a": a, "b": b, "c": np.zeros((50, 50), np.float32)}, clicks,
                            DIAMETER, min_gain=0.0)
    assert centred["b"].shape == (len(truth_b), 2) and centred["c"].shape == (0, 2)
    assert np.all(centred["a"] >= 0) and np.all(centred["a"] <= np.array(a.shape[::-1]) - 1)
    assert np.hypot(*(centred["b"] - truth_b).T).mean() < 1.0


def test_rotational_average_is_round_and_keeps_the_mean_profile():
    image = np.zeros((21, 21), np.float32)
    image[10, 15] = 1.0  # a point 5 px right of the centre
    avg = rotational_average(image)
    assert avg[10, 5] == pytest.approx(avg[10, 15]) == pytest.approx(avg[15, 10])
    assert avg[10, 10] == 0.0 and avg[10, 15] > 0
