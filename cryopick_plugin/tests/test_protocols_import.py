"""Scipion integration: real project (SQLite), real MRC files, protocols launched as Scipion
launches them (a subprocess per run). Micrographs are rectangular so that an x/y swap or a
wrong Y inversion changes the result."""
import json
import os

import cv2
import mrcfile
import numpy as np
from pyworkflow.tests import BaseTest, setupTestProject

from cryopick_plugin.constants import SCORE_ATTR
from cryopick_plugin.protocols import (CryopickProtEvaluate, CryopickProtImportCoordinates,
                                       CryopickProtImportMicrographs)

H, W = 100, 160  # micrograph height (rows) and width (columns)
APIX = 2.0
TRUTH = {  # integer centres so that Scipion's integer coordinates compare exactly
    "mic_a": [(20, 30), (100, 70), (150, 10)],
    "mic_b": [(5, 95), (80, 50)],
    "mic_c": [(40, 40)],
}


def positions(coord_set):
    out = {}
    for coord in coord_set.iterItems():
        out.setdefault(os.path.splitext(coord.getMicName())[0], set()).add(coord.getPosition())
    return out


def expected(names=TRUTH):
    return {k: set(v) for k, v in TRUTH.items() if k in names and v}


def write_mrc(path, data, apix=APIX):
    with mrcfile.new(path, overwrite=True) as m:
        m.set_data(np.asarray(data, dtype=np.float32))
        m.voxel_size = apix


class TestImportProtocols(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        cls.root = os.path.abspath(os.path.join(cls.outputPath, "input"))
        rng = np.random.default_rng(0)
        mics = os.path.join(cls.root, "mics")
        os.makedirs(mics)
        write_mrc(os.path.join(mics, "mic_a.mrc"), rng.normal(size=(H, W)))
        write_mrc(os.path.join(mics, "mic_b.mrc"), rng.normal(size=(H, W)))
        cls.png = (rng.random((H, W)) * 255).astype(np.uint8)
        cv2.imwrite(os.path.join(mics, "mic_c.png"), cls.png)
        cls.mics = mics
        cls.coords = cls._writeCoordinateFiles()
        # the base import: JSON labels, plus one coordinate outside and one unknown name
        labels = {f"{k}.png": [list(p) for p in v] for k, v in TRUTH.items()}
        labels["mic_a.png"].append([W + 5, 10])
        labels["unknown.png"] = [[1, 1]]
        path = os.path.join(cls.root, "labels.json")
        with open(path, "w") as fh:
            json.dump(labels, fh)
        cls.importMics = cls.newProtocol(CryopickProtImportMicrographs, filesPath=mics,
                                         samplingRate=APIX, coordinatesPath=path,
                                         particleDiameter=40.0)
        cls.launchProtocol(cls.importMics)

    @classmethod
    def _writeCoordinateFiles(cls):
        """The truth in every supported format, some binned by 2 or with Y from the bottom."""
        d = {}

        def folder(name):
            path = os.path.join(cls.root, name)
            os.makedirs(path)
            return path

        # RELION STAR, one file with micrograph names (and a path prefix, as RELION writes)
        d["star"] = os.path.join(cls.root, "all.star")
        with open(d["star"], "w") as fh:
            fh.write("data_\nloop_\n_rlnMicrographName #1\n_rlnCoordinateX #2\n_rlnCoordinateY #3\n")
            for k, pts in TRUTH.items():
                fh.writelines(f"MotionCorr/job003/{k}.mrc {x:.1f} {y:.1f}\n" for x, y in pts)
        # STAR, one per micrograph
        d["star_folder"] = folder("star")
        for k, pts in TRUTH.items():
            with open(os.path.join(d["star_folder"], f"{k}.star"), "w") as fh:
                fh.write("data_\nloop_\n_rlnCoordinateX #1\n_rlnCoordinateY #2\n")
                fh.writelines(f"{x} {y}\n" for x, y in pts)
        # CryoPPP CSV, picked on 2x binned images (scale factor 2)
        d["csv_binned"] = folder("csv")
        for k, pts in TRUTH.items():
            with open(os.path.join(d["csv_binned"], f"{k}.csv"), "w") as fh:
                fh.write("X-Coordinate,Y-Coordinate,Diameter\n")
                fh.writelines(f"{x / 2},{y / 2},20\n" for x, y in pts)
        # EMAN box: corner = centre - box/2
        d["box"] = folder("box")
        for k, pts in TRUTH.items():
            with open(os.path.join(d["box"], f"{k}.box"), "w") as fh:
                fh.writelines(f"{x - 16}\t{y - 16}\t32\t32\n" for x, y in pts)
        # plain text with the origin at the bottom (invert Y), suffix after the name
        d["txt_inverted"] = folder("txt")
        for k, pts in TRUTH.items():
            with open(os.path.join(d["txt_inverted"], f"{k}_manualpick.txt"), "w") as fh:
                fh.writelines(f"{x} {H - y}\n" for x, y in pts)
        # an empty file for one micrograph is fine (zero coordinates)
        d["txt_with_empty"] = folder("txt_empty")
        for k, pts in TRUTH.items():
            with open(os.path.join(d["txt_with_empty"], f"{k}.txt"), "w") as fh:
                fh.writelines(f"{x} {y}\n" for x, y in pts if k != "mic_b")
        return d

    # ------------------------------------------------------------------ tests
    def test_micrographs_and_labels(self):
        prot = self.importMics
        mics = prot.outputMicrographs
        self.assertSetSize(mics, 3)
        self.assertAlmostEqual(mics.getSamplingRate(), APIX)
        self.assertAlmostEqual(mics.getAcquisition().getVoltage(), 300.0)
        # the PNG became a float32 MRC with the same pixels, the MRCs are linked
        for mic in mics:
            path = os.path.join(self.proj.getPath(), mic.getFileName())
            with mrcfile.open(path) as m:
                self.assertEqual(m.data.shape, (H, W))
                if mic.getMicName().startswith("mic_c"):
                    self.assertEqual(m.data.dtype, np.float32)
                    np.testing.assert_array_equal(m.data, self.png)
                    self.assertAlmostEqual(float(m.voxel_size.x), APIX, places=4)
        coords = prot.outputCoordinates
        self.assertSetSize(coords, 6)  # the outside one and the unknown name are dropped
        self.assertEqual(positions(coords), expected())
        self.assertEqual(coords.getBoxSize(), 30)  # 1.5 * 40 A / 2 A/px
        self.assertTrue(hasattr(coords.getFirstItem(), SCORE_ATTR))
        summary = "\n".join(prot.summary())
        self.assertIn("Coordinates imported: 6", summary)
        self.assertIn("Dropped 1 coordinates outside", summary)
        self.assertIn("names matching no micrograph: unknown", summary)

    def _importOnto(self, key, **kwargs):
        prot = self.newProtocol(CryopickProtImportCoordinates,
                                inputMicrographs=self.importMics.outputMicrographs,
                                coordinatesPath=self.coords[key], particleDiameter=40.0,
                                objLabel=f"import {key}", **kwargs)
        return self.launchProtocol(prot)

    def test_each_format_gives_the_same_positions(self):
        cases = [("star", {}), ("star_folder", {}), ("csv_binned", {"coordinatesScale": 2.0}),
                 ("box", {}), ("txt_inverted", {"invertY": True})]
        for key, kwargs in cases:
            with self.subTest(format=key):
                prot = self._importOnto(key, **kwargs)
                self.assertEqual(positions(prot.outputCoordinates), expected(), key)

    def test_empty_file_gives_zero_coordinates(self):
        prot = self._importOnto("txt_with_empty", boxSize=64)
        got = positions(prot.outputCoordinates)
        self.assertNotIn("mic_b", got)
        self.assertEqual(got, expected(["mic_a", "mic_c"]))
        self.assertEqual(prot.outputCoordinates.getBoxSize(), 64)
        self.assertIn("Micrographs without coordinates: 1", "\n".join(prot.summary()))

    def test_without_inversion_the_inverted_file_is_wrong(self):
        # guards the test above: the inverted file must really depend on invertY
        prot = self._importOnto("txt_inverted")
        self.assertNotEqual(positions(prot.outputCoordinates), expected())

    def _launchExpectingFailure(self, prot):
        with self.assertRaises(Exception):
            self.launchProtocol(prot)
        self.assertTrue(prot.isFailed())
        return prot.getErrorMessage() or ""

    def test_coordinates_matching_no_micrograph_fail_cleanly(self):
        path = os.path.join(self.root, "wrong_names.json")
        with open(path, "w") as fh:
            json.dump({"other_1.png": [[5, 5]], "other_2.png": [[6, 6]]}, fh)
        prot = self.newProtocol(CryopickProtImportMicrographs, filesPath=self.mics,
                                samplingRate=APIX, coordinatesPath=path, particleDiameter=40.0)
        message = self._launchExpectingFailure(prot)
        self.assertIn("wrong_names.json", message)
        self.assertIn("no coordinate name matches a micrograph", message)
        # nothing half-written: no micrographs folder, no outputs
        self.assertFalse(os.path.exists(prot._getExtraPath("micrographs")))
        self.assertFalse(hasattr(prot, "outputMicrographs"))

    def test_unreadable_micrograph_fails_naming_the_file(self):
        folder = os.path.join(self.root, "broken_mics")
        os.makedirs(folder)
        write_mrc(os.path.join(folder, "mic_a.mrc"), np.ones((H, W)))
        broken = os.path.join(folder, "mic_b.mrc")
        write_mrc(broken, np.ones((H, W)))
        with open(broken, "r+b") as fh:
            fh.truncate(os.path.getsize(broken) - 4000)
        prot = self.newProtocol(CryopickProtImportMicrographs, filesPath=folder,
                                samplingRate=APIX, coordinatesPath=self.coords["star"],
                                particleDiameter=40.0)
        message = self._launchExpectingFailure(prot)
        self.assertIn("mic_b.mrc: unreadable MRC", message)
        self.assertFalse(os.path.exists(prot._getExtraPath("micrographs")))

    def test_nan_micrograph_fails(self):
        folder = os.path.join(self.root, "nan_mics")
        os.makedirs(folder)
        data = np.ones((H, W))
        data[10, 10] = np.nan
        write_mrc(os.path.join(folder, "mic_a.mrc"), data)
        prot = self.newProtocol(CryopickProtImportMicrographs, filesPath=folder,
                                samplingRate=APIX, coordinatesPath=self.coords["star"],
                                particleDiameter=40.0)
        self.assertIn("NaN or infinite", self._launchExpectingFailure(prot))

    def test_validate_before_running(self):
        empty = os.path.join(self.root, "empty_folder")
        os.makedirs(empty, exist_ok=True)
        prot = self.newProtocol(CryopickProtImportMicrographs, filesPath=empty,
                                samplingRate=-1.0, coordinatesPath="/nonexistent.json",
                                particleDiameter=40.0)
        errors = "\n".join(prot.validate())
        self.assertIn("no images", errors)
        self.assertIn("pixel size must be > 0", errors)
        self.assertIn("/nonexistent.json does not exist", errors)
        prot = self.newProtocol(CryopickProtImportCoordinates,
                                inputMicrographs=self.importMics.outputMicrographs,
                                coordinatesPath=self.coords["star"], particleDiameter=-5.0,
                                coordinatesScale=0.0)
        errors = "\n".join(prot.validate())
        self.assertIn("particle diameter must be > 0", errors)
        self.assertIn("scale factor must be > 0", errors)
        mixed = os.path.join(self.root, "mixed")
        os.makedirs(mixed)
        open(os.path.join(mixed, "a.star"), "w").close()
        open(os.path.join(mixed, "b.box"), "w").close()
        prot = self.newProtocol(CryopickProtImportCoordinates,
                                inputMicrographs=self.importMics.outputMicrographs,
                                coordinatesPath=mixed, particleDiameter=40.0)
        # mixed formats are found when reading: the run fails with a clear message
        self.assertIn("mixed coordinate formats", self._launchExpectingFailure(prot))

    def test_evaluate_labels_against_truth(self):
        truth = self._importOnto("star")
        prot = self.newProtocol(CryopickProtEvaluate,
                                inputCoordinates=self.importMics.outputCoordinates,
                                referenceCoordinates=truth.outputCoordinates,
                                particleDiameter=40.0)
        self.launchProtocol(prot)
        overall = prot.getResult()["overall"]
        self.assertEqual((overall["precision"], overall["recall"], overall["f1"]), (1.0, 1.0, 1.0))
        self.assertAlmostEqual(overall["radius"], 10.0)  # 40 A / 2 / 2 A/px
        self.assertTrue(os.path.getsize(prot._getExtraPath("precision_recall.png")) > 1000)
        # a partial picking: only the mic_a particles from the empty-file import
        partial = self._importOnto("txt_with_empty")
        prot = self.newProtocol(CryopickProtEvaluate, inputCoordinates=partial.outputCoordinates,
                                referenceCoordinates=truth.outputCoordinates,
                                particleDiameter=40.0)
        self.launchProtocol(prot)
        overall = prot.getResult()["overall"]
        self.assertEqual(overall["n_matched"], 4)
        self.assertAlmostEqual(overall["recall"], 4 / 6)
        self.assertAlmostEqual(overall["precision"], 1.0)
        self.assertIn("Recall 0.667", "\n".join(prot.summary()))
