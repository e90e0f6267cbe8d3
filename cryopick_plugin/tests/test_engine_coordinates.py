"""Coordinate formats: each reader against hand-written files, detection, matching, transforms."""
import json

import numpy as np
import pytest

from cryopick_plugin.engine.io.coordinates import (FORMATS, assign_to_micrographs,
                                                   detect_format, match_to_micrographs,
                                                   read_coordinates, stem,
                                                   transform_coordinates, write_coordinates)
from cryopick_plugin.engine.errors import CryopickInputError


def xy(table):
    return np.asarray(table)[:, :2].tolist()


def test_json_seed_format(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"image1.png": [[1, 2], [3.5, 4]], "image2.tif": [[5, 6, 0.7]],
                             "image3.png": []}))
    t = read_coordinates(str(f))
    assert sorted(t) == ["image1", "image2", "image3"]
    assert xy(t["image1"]) == [[1, 2], [3.5, 4]]
    assert t["image2"][0, 2] == pytest.approx(0.7)
    assert np.isnan(t["image1"][0, 2]) and len(t["image3"]) == 0


def test_cryoppp_csv(tmp_path):
    f = tmp_path / "mic_7.csv"
    f.write_text("X-Coordinate,Y-Coordinate,Diameter\n100,200,180\n300.5,40,180\n")
    t = read_coordinates(str(f))
    assert xy(t["mic_7"]) == [[100, 200], [300.5, 40]]


def test_star_single_file_with_micrograph_names(tmp_path):
    f = tmp_path / "all.star"
    f.write_text("\ndata_optics\n\nloop_\n_rlnOpticsGroup #1\n1\n\n"
                 "data_particles\n\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n"
                 "_rlnMicrographName #3\n_rlnAutopickFigureOfMerit #4\n"
                 "10.0 20.0 MotionCorr/job002/mic_1.mrc 0.5\n"
                 "30.0 40.0 MotionCorr/job002/mic_2.mrc 0.9\n"
                 "50.0 60.0 MotionCorr/job002/mic_1.mrc 0.1\n")
    t = read_coordinates(str(f))
    assert xy(t["mic_1"]) == [[10, 20], [50, 60]]
    assert t["mic_2"][0].tolist() == [30, 40, 0.9]


def test_star_per_micrograph_folder(tmp_path):
    for name, rows in (("a", "1 2\n3 4\n"), ("b", "")):
        (tmp_path / f"{name}.star").write_text(
            "data_\n\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n" + rows)
    t = read_coordinates(str(tmp_path))
    assert xy(t["a"]) == [[1, 2], [3, 4]]
    assert len(t["b"]) == 0


def test_eman_box_centre_is_corner_plus_half_box(tmp_path):
    f = tmp_path / "m.box"
    f.write_text("90\t180\t20\t20\n0 0 64 64\n")
    assert xy(read_coordinates(str(f))["m"]) == [[100, 190], [32, 32]]


def test_plain_text_with_header_and_comments(tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("x y\n# comment\n1 2\n3 4 0.25\n")
    t = read_coordinates(str(f))["m"]
    assert xy(t) == [[1, 2], [3, 4]] and t[1, 2] == 0.25


def test_detection_txt_with_cryoppp_header(tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("X-Coordinate,Y-Coordinate,Diameter\n1,2,3\n")
    assert detect_format(str(f)) == "csv"
    with pytest.raises(CryopickInputError, match="unknown coordinate file type"):
        detect_format(str(tmp_path / "m.xyz"))


# names real acquisition software writes: dots and dates (EPU), a space, a plain one
ODD_NAMES = ("FoilHole_1.5_Data_2024.01.02", "mic b", "m1")


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_read_round_trip(tmp_path, fmt):
    tables = {ODD_NAMES[0]: np.array([[10.25, 20.5, 0.75], [30, 40, np.nan]]),
              ODD_NAMES[1]: np.array([[1, 2, 0.125]]),
              ODD_NAMES[2]: np.zeros((0, 3)),  # picked, nothing found: must not vanish
              "mic_10": np.array([[7, 8, 0.5]])}
    target = tmp_path / (f"out.{fmt}" if fmt in ("json", "star") else "out")
    write_coordinates(str(target), tables, fmt=fmt, box_size=32)
    back = read_coordinates(str(target))
    assert sorted(back) == sorted(tables)
    for k, v in tables.items():
        np.testing.assert_allclose(back[k][:, :2], v[:, :2], atol=0.01)
        if fmt == "box":  # the format's limit: x y width height, no score column
            assert np.isnan(back[k][:, 2]).all()
        else:  # NaN (no score) stays NaN, not RELION's -999
            np.testing.assert_allclose(back[k][:, 2], v[:, 2], atol=1e-5, equal_nan=True)


def test_star_quotes_names_with_spaces_as_relion_does(tmp_path):
    f = tmp_path / "p.star"
    write_coordinates(str(f), {"mic b": np.array([[1, 2, 0.5]])}, fmt="star")
    assert '"mic b" 1.00 2.00 0.50000' in f.read_text()
    # RELION's own manual picks: quoted paths, -999 for "no figure of merit"
    f.write_text("data_\nloop_\n_rlnMicrographName\n_rlnCoordinateX\n_rlnCoordinateY\n"
                 "_rlnAutopickFigureOfMerit\n\"Movies/grid 2/FoilHole_3.5_Data.mrc\" 5 6 -999\n"
                 "'a b.tiff' 7 8 0.25\n")
    t = read_coordinates(str(f))
    assert sorted(t) == ["FoilHole_3.5_Data", "a b"]
    assert np.isnan(t["FoilHole_3.5_Data"][0, 2]) and t["a b"][0].tolist() == [7, 8, 0.25]


def test_names_keep_their_dots_and_lose_only_file_extensions():
    assert stem("FoilHole_1.5_Data_2024.01.02") == "FoilHole_1.5_Data_2024.01.02"
    assert stem("FoilHole_1.5_Data") == "FoilHole_1.5_Data"
    assert stem("/data/FoilHole_1.5_Data.MRC") == "FoilHole_1.5_Data"
    for ext in (".mrc", ".tiff", ".png", ".star", ".box", ".json", ".txt", ".csv", ".eer"):
        assert stem("a.b" + ext) == "a.b", ext


def test_mixed_formats_rejected(tmp_path):
    (tmp_path / "a.star").write_text("data_\nloop_\n_rlnCoordinateX\n_rlnCoordinateY\n1 2\n")
    (tmp_path / "b.box").write_text("1 2 10 10\n")
    with pytest.raises(CryopickInputError, match="mixed coordinate formats"):
        read_coordinates(str(tmp_path))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable JSON"),
    ('{"a.png": [[1]]}', "not a coordinate pair"),
    ('{"a.png": [[1, NaN]]}', "NaN"),
])
def test_bad_json(tmp_path, content, message):
    f = tmp_path / "c.json"
    f.write_text(content)
    with pytest.raises(CryopickInputError, match=message) as err:
        read_coordinates(str(f))
    assert str(f) in str(err.value)


def test_bad_text_line_names_file_and_line(tmp_path):
    f = tmp_path / "m.txt"
    f.write_text("1 2\n3 abc\n")
    with pytest.raises(CryopickInputError, match=r"m\.txt: line 2"):
        read_coordinates(str(f))


def test_missing_source():
    with pytest.raises(CryopickInputError, match="does not exist"):
        read_coordinates("/nonexistent/coords.json")


def test_matching_by_name_with_suffixes():
    matched, unmatched = match_to_micrographs(
        ["mic_1", "mic_10_autopick", "mic_2", "other"], ["mic_1", "mic_10", "mic_2_aligned"])
    assert matched == {"mic_1": "mic_1", "mic_10_autopick": "mic_10", "mic_2": "mic_2_aligned"}
    assert unmatched == ["other"]


def test_transform_scale_invert_and_outside():
    table = np.array([[10, 10, 1], [60, 5, 1], [-1, 5, 1]], dtype=float)
    # rectangular micrograph: height 50, width 100
    kept, dropped = transform_coordinates(table, (50, 100), scale=2.0, invert_y=True)
    assert dropped == 2  # x=120 is outside the width, x=-2 is negative
    assert kept[:, :2].tolist() == [[20, 30]]  # y: 50 - 2*10


def test_assign_reports_drops_and_empty():
    tables = {"a": np.array([[1, 1, np.nan], [500, 1, np.nan]]), "zz": np.array([[1, 1, np.nan]]),
              "b": np.zeros((0, 3))}
    assigned, report = assign_to_micrographs(tables, {"a": (100, 200), "b": (100, 200)})
    assert len(assigned["a"]) == 1 and len(assigned["b"]) == 0
    assert report["dropped_outside"] == 1 and report["dropped_unmatched"] == 1
    assert report["unmatched_names"] == ["zz"]
    assert report["per_micrograph"]["b"]["imported"] == 0


def test_assign_no_name_matches_is_an_error():
    with pytest.raises(CryopickInputError, match="no coordinate name matches"):
        assign_to_micrographs({"x": np.zeros((1, 3))}, {"a": (10, 10)}, source="c.json")
