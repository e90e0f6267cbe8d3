"""Micrograph reading: formats, orientation and clear errors for broken files."""
import os

import cv2
import mrcfile
import numpy as np
import pytest

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.io.images import (list_images, micrograph_shape, read_micrograph,
                                           write_mrc)


def _mrc(path, data, voxel=1.5):
    with mrcfile.new(str(path), overwrite=True) as m:
        m.set_data(np.asarray(data, dtype=np.float32))
        m.voxel_size = voxel


def test_mrc_orientation_and_pixel_size(tmp_path):
    data = np.zeros((30, 50), np.float32)
    data[5, 40] = 1  # row 5, column 40 of a rectangular image
    _mrc(tmp_path / "a.mrc", data)
    img, apix = read_micrograph(str(tmp_path / "a.mrc"), return_pixel_size=True)
    assert img.shape == (30, 50) and img[5, 40] == 1 and apix == pytest.approx(1.5)
    assert micrograph_shape(str(tmp_path / "a.mrc")) == (30, 50)


def test_png_and_tiff(tmp_path):
    data = (np.arange(20 * 30).reshape(20, 30) % 256).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), data)
    cv2.imwrite(str(tmp_path / "b.tif"), data.astype(np.float32) * 0.5)
    np.testing.assert_array_equal(read_micrograph(str(tmp_path / "a.png")), data)
    np.testing.assert_allclose(read_micrograph(str(tmp_path / "b.tif")), data * 0.5)
    colour = np.stack([data] * 3, axis=2)
    cv2.imwrite(str(tmp_path / "c.png"), colour)
    assert read_micrograph(str(tmp_path / "c.png")).shape == (20, 30)


def test_truncated_mrc_names_the_file(tmp_path):
    path = tmp_path / "broken.mrc"
    _mrc(path, np.ones((64, 64)))
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) - 1000)
    with pytest.raises(CryopickInputError, match="broken.mrc: unreadable MRC"):
        read_micrograph(str(path))


def test_not_an_mrc(tmp_path):
    path = tmp_path / "text.mrc"
    path.write_text("hello")
    with pytest.raises(CryopickInputError, match="text.mrc: unreadable MRC"):
        read_micrograph(str(path))
    bad_png = tmp_path / "x.png"
    bad_png.write_bytes(b"not a png")
    with pytest.raises(CryopickInputError, match="x.png: unreadable image"):
        read_micrograph(str(bad_png))


def test_nan_pixels_rejected(tmp_path):
    data = np.ones((16, 16), np.float32)
    data[3, 3] = np.nan
    data[4, 4] = np.inf
    _mrc(tmp_path / "nan.mrc", data)
    with pytest.raises(CryopickInputError, match="nan.mrc: 2 pixels are NaN or infinite"):
        read_micrograph(str(tmp_path / "nan.mrc"))


def test_movie_stack_rejected(tmp_path):
    _mrc(tmp_path / "movie.mrcs", np.ones((3, 16, 16)))
    with pytest.raises(CryopickInputError, match="3 sections"):
        read_micrograph(str(tmp_path / "movie.mrcs"))
    _mrc(tmp_path / "one.mrcs", np.ones((1, 16, 20)))
    assert read_micrograph(str(tmp_path / "one.mrcs")).shape == (16, 20)


def test_list_images(tmp_path):
    with pytest.raises(CryopickInputError, match="no images"):
        list_images(str(tmp_path))
    (tmp_path / "notes.txt").write_text("x")
    _mrc(tmp_path / "b.mrc", np.ones((4, 4)))
    _mrc(tmp_path / "a.mrc", np.ones((4, 4)))
    assert [os.path.basename(p) for p in list_images(str(tmp_path))] == ["a.mrc", "b.mrc"]
    with pytest.raises(CryopickInputError, match="does not exist"):
        list_images(str(tmp_path / "missing"))


def test_write_mrc_atomic_and_validated(tmp_path):
    target = tmp_path / "out" / "m.mrc"
    write_mrc(str(target), np.ones((8, 12)), 2.0)
    img, apix = read_micrograph(str(target), return_pixel_size=True)
    assert img.shape == (8, 12) and apix == pytest.approx(2.0)
    assert os.listdir(target.parent) == ["m.mrc"]  # no temporary left behind
    with pytest.raises(CryopickInputError, match="pixel size"):
        write_mrc(str(tmp_path / "z.mrc"), np.ones((4, 4)), 0)
    assert not (tmp_path / "z.mrc").exists()
