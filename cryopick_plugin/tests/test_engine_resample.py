"""Working pixel size: binning factor, anti-aliased binning, coordinate mapping, normalisation."""
import numpy as np
import pytest

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.resample import (DEFAULT_WORKING_DIAMETER, downsample, normalize,
                                             to_original, to_working, working_factor,
                                             working_scale, working_shape)


def test_working_scale():
    assert DEFAULT_WORKING_DIAMETER == 24
    assert working_scale(96) == 4.0
    assert working_scale(100, target_diameter_px=32) == pytest.approx(3.125)
    assert working_scale(10) == 1.0  # never upsample
    assert working_factor is working_scale
    for bad in (0, -5, float("nan"), None, "big"):
        with pytest.raises(CryopickInputError, match="diameter"):
            working_scale(bad)
    with pytest.raises(CryopickInputError, match="working diameter"):
        working_scale(100, 0)


def test_downsample_shape_dtype_and_mean():
    rng = np.random.default_rng(0)
    img = rng.normal(3, 1, (101, 157)).astype(np.float64)
    out = downsample(img, 2.5)
    assert out.dtype == np.float32 and out.shape == (40, 63) == working_shape(img.shape, 2.5)
    assert float(out.mean()) == pytest.approx(float(img.mean()), abs=0.02)  # area average
    same = downsample(img, 1.0)
    assert same.dtype == np.float32 and np.array_equal(same, img.astype(np.float32))
    with pytest.raises(CryopickInputError, match="never upsample"):
        downsample(img, 0.5)
    with pytest.raises(CryopickInputError, match="2-D"):
        downsample(np.zeros((3, 4, 5)), 2)


def test_downsample_is_anti_aliased():
    # a Nyquist-frequency stripe pattern: plain decimation by 2 (or 4) would keep one phase
    # (all +1 or all -1); area averaging cancels it
    stripes = np.tile(np.array([1.0, -1.0]), (64, 48))
    for f in (2.0, 4.0):
        assert np.abs(downsample(stripes, f)).max() < 1e-6
    # with a fractional factor the alias is attenuated, not eliminated
    assert np.abs(downsample(stripes, 2.5)).max() <= 0.2 + 1e-6


@pytest.mark.parametrize("factor", [2.0, 2.5, 3.7])
def test_blob_lands_at_to_working_on_rectangular_image(factor):
    """A blob at (x, y) in the original is centred on to_working(x, y) after binning, also
    far from the origin on an image whose sides are not multiples of the factor (an output
    size rounded per axis would shift it by up to ~0.4 working px there)."""
    h, w = 131, 251
    yy, xx = np.mgrid[0:h, 0:w]
    for x, y in ((221.3, 97.6), (35.0, 20.2)):
        img = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 4.0 ** 2))
        small = downsample(img, factor)
        sy, sx = np.mgrid[0:small.shape[0], 0:small.shape[1]]
        cx, cy = (small * sx).sum() / small.sum(), (small * sy).sum() / small.sum()
        px, py = to_working([x, y], factor)
        assert abs(cx - px) < 0.03 and abs(cy - py) < 0.03, (cx, cy, px, py)
        # the brightest working pixel is the one containing the mapped position
        by, bx = np.unravel_index(np.argmax(small), small.shape)
        assert abs(bx - px) <= 0.5 + 1e-9 and abs(by - py) <= 0.5 + 1e-9


def test_bright_dot_lands_at_to_working():
    img = np.zeros((90, 200), np.float32)
    x, y = 172, 61
    img[y - 1:y + 2, x - 1:x + 2] = 1.0  # 3x3 dot: exactly one 3x3 working pixel
    small = downsample(img, 3.0)
    by, bx = np.unravel_index(np.argmax(small), small.shape)
    assert (bx, by) == tuple(to_working([x, y], 3.0)) == (57, 20)
    assert small[by, bx] == pytest.approx(1.0)


def test_coordinate_round_trip_keeps_extra_columns_and_input():
    coords = np.array([[0.0, 0.0, 0.9], [151.0, 37.5, 0.2], [-3.0, 1000.25, np.nan]])
    keep = coords.copy()
    for f in (1.0, 2.5, 7.3):
        back = to_original(to_working(coords, f), f)
        np.testing.assert_allclose(back, coords, atol=1e-9)
        np.testing.assert_array_equal(coords, keep)  # inputs not modified
    w = to_working(coords, 2.0)
    np.testing.assert_allclose(w[:, :2], (coords[:, :2] + 0.5) / 2 - 0.5)
    np.testing.assert_array_equal(w[:, 2], coords[:, 2])
    assert to_working([5.5, 1.5], 2.0).tolist() == [2.5, 0.5]  # pixel edges map to edges


def test_normalize_is_robust():
    rng = np.random.default_rng(0)
    img = rng.normal(5, 2, (100, 100)).astype(np.float32)
    img[:3] = 1000  # a very bright artefact (3 % of the pixels) must not set the scale
    out = normalize(img)
    assert out.dtype == np.float32
    assert abs(float(np.median(out))) < 0.1
    assert float(np.std(out[3:])) == pytest.approx(1.0, abs=0.1)  # std would give ~0.01
    # constant images do not divide by zero; mostly-constant ones fall back to the std
    assert np.all(normalize(np.ones((8, 8))) == 0)
    sparse = np.zeros((10, 10))
    sparse[0, 0] = 10
    assert np.isfinite(normalize(sparse)).all() and normalize(sparse)[0, 0] > 1
    with pytest.raises(CryopickInputError, match="NaN"):
        normalize(np.array([[1.0, np.nan]]))
