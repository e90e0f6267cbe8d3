"""Disc masks from coordinates and the self-training label combination."""
import numpy as np
import pytest

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.masks import (BACKGROUND, IGNORE, PARTICLE, combine_labels,
                                          coordinates_to_mask, positive_unlabelled_mask)


def _brute_force(coords, shape, radius):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    out = np.zeros(shape, bool)
    for x, y in coords:
        out |= (xx - x) ** 2 + (yy - y) ** 2 <= radius ** 2
    return out


def test_label_values():
    assert (IGNORE, BACKGROUND, PARTICLE) == (-1, 0, 1)


def test_discs_match_brute_force_with_float_coordinates_on_rectangular_image():
    coords = [[10.5, 5.25], [30.7, 17.2], [3.0, 18.0]]
    shape = (21, 40)
    for radius in (2.0, 2.5, 3.7):
        mask = coordinates_to_mask(coords, shape, radius)
        assert mask.dtype == np.int8 and mask.shape == shape
        np.testing.assert_array_equal(mask == PARTICLE, _brute_force(coords, shape, radius))
        assert set(np.unique(mask)) == {BACKGROUND, PARTICLE}


def test_x_is_column_and_radius_is_inclusive():
    mask = coordinates_to_mask([[12, 3]], (10, 20), radius=2)
    # row 3 spans columns 10..14, column 12 spans rows 1..5 (not transposed)
    assert np.nonzero(mask[3])[0].tolist() == [10, 11, 12, 13, 14]
    assert np.nonzero(mask[:, 12])[0].tolist() == [1, 2, 3, 4, 5]
    # exactly 2 px away is inside, sqrt(5) > 2 is not
    assert mask[3, 14] == PARTICLE and mask[5, 12] == PARTICLE and mask[4, 14] == BACKGROUND
    assert (mask == PARTICLE).sum() == 13


def test_discs_are_clipped_at_and_beyond_the_border():
    shape = (15, 25)
    coords = [[0, 0], [24, 14], [-2, 7], [26.5, 3], [100, 100]]
    mask = coordinates_to_mask(coords, shape, radius=3)
    np.testing.assert_array_equal(mask == PARTICLE, _brute_force(coords, shape, 3))
    assert (mask[:4, :4] == PARTICLE).sum() == 11  # quarter disc of radius 3 incl. axes
    assert mask[7, 1] == PARTICLE and mask[7, 2] == BACKGROUND  # centre 2 px outside


def test_background_value_and_empty_coordinates():
    mask = coordinates_to_mask([[5, 5]], (10, 12), 1, background=IGNORE)
    assert mask[5, 5] == PARTICLE and mask[0, 0] == IGNORE
    assert (coordinates_to_mask([], (4, 6), 2) == BACKGROUND).all()
    assert (coordinates_to_mask(np.zeros((0, 3)), (4, 6), 2) == BACKGROUND).all()
    # extra columns (score) are ignored
    np.testing.assert_array_equal(coordinates_to_mask([[5, 5, 0.3]], (10, 12), 2),
                                  coordinates_to_mask([[5, 5]], (10, 12), 2))


def test_bad_input_is_reported():
    with pytest.raises(CryopickInputError, match="radius"):
        coordinates_to_mask([[1, 1]], (5, 5), 0)
    with pytest.raises(CryopickInputError, match="NaN"):
        coordinates_to_mask([[np.nan, 1]], (5, 5), 2)
    with pytest.raises(CryopickInputError, match="shape"):
        coordinates_to_mask([[1]], (5, 5), 2)  # x without y
    with pytest.raises(CryopickInputError, match="ring"):
        positive_unlabelled_mask([[1, 1]], (5, 5), 2, ignore_ring=-1)


def test_positive_unlabelled_mask_ring():
    coords = [[10, 10], [17, 10]]
    mask = positive_unlabelled_mask(coords, (20, 30), radius=3, ignore_ring=2)
    particle = _brute_force(coords, (20, 30), 3)
    ring = _brute_force(coords, (20, 30), 5) & ~particle
    np.testing.assert_array_equal(mask == PARTICLE, particle)
    np.testing.assert_array_equal(mask == IGNORE, ring)
    np.testing.assert_array_equal(mask == BACKGROUND, ~(particle | ring))
    # the second disc overlaps the first one's ring: particles win
    assert mask[10, 14] == PARTICLE
    # default ring is a quarter of the radius; ring 0 is the plain disc mask
    default = positive_unlabelled_mask(coords, (20, 30), radius=8)
    np.testing.assert_array_equal(default == IGNORE,
                                  _brute_force(coords, (20, 30), 10) & ~_brute_force(
                                      coords, (20, 30), 8))
    np.testing.assert_array_equal(positive_unlabelled_mask(coords, (20, 30), 3, ignore_ring=0),
                                  coordinates_to_mask(coords, (20, 30), 3))


def test_combine_labels_priorities():
    P, B, I = PARTICLE, BACKGROUND, IGNORE
    # pixel:        0  1  2  3  4  5  6  7
    original = np.array([P, P, P, B, B, B, B, I], np.int8)
    pos = np.array([0, 1, 0, 1, 0, 0, 1, 1], bool)
    neg = np.array([1, 0, 0, 0, 1, 0, 1, 0], bool)
    out = combine_labels(original, pos, neg)
    assert out.dtype == np.int8
    assert out.tolist() == [
        P,  # original particle beats a reliable negative
        P, P,  # original particle stays, with or without pseudo-labels
        P,  # unlabelled + pseudo-positive -> particle
        B,  # unlabelled + reliable negative -> background
        I,  # unlabelled and unsure -> ignored (NOT kept as background: PU data)
        P,  # flagged both ways: pseudo-positive wins
        P,  # originally ignored pixels are decided like unlabelled ones
    ]
    with pytest.raises(ValueError, match="shapes differ"):
        combine_labels(original, pos[:4], neg)
