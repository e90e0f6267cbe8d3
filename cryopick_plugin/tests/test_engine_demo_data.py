"""The synthetic demo dataset: files, determinism, truth consistent with the images."""
import json

import mrcfile
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.errors import CryopickInputError

SMALL = dict(n_micrographs=3, size=(200, 320), particles_per_micrograph=12,
             particle_diameter_a=60.0, pixel_size=2.0, label_fraction=0.5, snr=0.5)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, make_demo_dataset(str(out), seed=3, **SMALL)


def test_files_and_micrographs(dataset):
    out, m = dataset
    assert m["micrographs"] == ["mic_000.mrc", "mic_001.mrc", "mic_002.mrc"]
    for name in m["micrographs"]:
        with mrcfile.open(out / "micrographs" / name) as mrc:
            assert mrc.data.shape == (200, 320) and mrc.data.dtype == np.float32
            assert float(mrc.voxel_size.x) == pytest.approx(2.0)
            assert np.isfinite(mrc.data).all()
            assert abs(float(mrc.data.mean())) < 1e-3 and float(mrc.data.std()) == pytest.approx(1, abs=1e-3)
    assert json.loads((out / "dataset.json").read_text())["n_true"] == m["n_true"]


def test_truth_geometry(dataset):
    out, m = dataset
    truth = read_coordinates(str(out / "truth" / "coordinates.json"))
    radius = m["particle_diameter_px"] / 2
    for t in truth.values():
        x, y = t[:, 0], t[:, 1]
        assert (x >= radius).all() and (x <= 320 - radius).all()
        assert (y >= radius).all() and (y <= 200 - radius).all()
        d = np.hypot(x[:, None] - x[None], y[:, None] - y[None]) + np.eye(len(t)) * 1e9
        assert d.min() >= 2 * radius - 1e-6
    star = read_coordinates(str(out / "truth" / "coordinates.star"))
    for k in truth:
        np.testing.assert_allclose(star[k][:, :2], truth[k][:, :2], atol=0.01)


def test_labels_are_a_subset_of_the_labelled_micrographs(dataset):
    out, m = dataset
    truth = read_coordinates(str(out / "truth" / "coordinates.json"))
    labels = read_coordinates(str(out / "labels" / "coordinates.json"))
    assert sorted(labels) == ["mic_000", "mic_001"]  # ceil(3 / 2) labelled micrographs
    for k, lab in labels.items():
        assert len(lab) == max(1, round(0.5 * len(truth[k])))
        assert {tuple(p) for p in lab[:, :2]} <= {tuple(p) for p in truth[k][:, :2]}


def test_particles_are_dark_at_the_true_positions_not_swapped(dataset):
    out, m = dataset
    truth = read_coordinates(str(out / "truth" / "coordinates.json"))
    at_truth, at_swapped = [], []
    for name in m["micrographs"]:
        img = gaussian_filter(mrcfile.read(str(out / "micrographs" / name)), 3)
        for x, y, _ in truth[name.replace(".mrc", "")]:
            at_truth.append(img[int(y), int(x)])
            if x < 200:  # swapped (row=x, col=y) still inside the 200-row image
                at_swapped.append(img[int(x), int(y)])
    assert np.mean(at_truth) < -0.3  # protein is dark after normalisation
    assert np.mean(at_truth) < np.mean(at_swapped) - 0.2


def test_deterministic(tmp_path):
    a = make_demo_dataset(str(tmp_path / "a"), seed=5, **SMALL)
    b = make_demo_dataset(str(tmp_path / "b"), seed=5, **SMALL)
    make_demo_dataset(str(tmp_path / "c"), seed=6, **SMALL)
    ia = mrcfile.read(str(tmp_path / "a" / "micrographs" / "mic_001.mrc"))
    assert np.array_equal(ia, mrcfile.read(str(tmp_path / "b" / "micrographs" / "mic_001.mrc")))
    assert not np.array_equal(ia, mrcfile.read(str(tmp_path / "c" / "micrographs" / "mic_001.mrc")))
    assert (tmp_path / "a" / "labels" / "coordinates.json").read_text() == \
        (tmp_path / "b" / "labels" / "coordinates.json").read_text()
    assert a["n_true"] == b["n_true"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_micrographs=0), "n_micrographs"),
    (dict(label_fraction=1.5), "label_fraction"),
    (dict(pixel_size=0), "must be > 0"),
    (dict(size=(64, 64)), "too small"),
])
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(CryopickInputError, match=message):
        make_demo_dataset(str(tmp_path), **kwargs)
