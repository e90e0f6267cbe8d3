"""Scipion runs that must survive real-world mess, launched as Scipion launches them.

The project lives in a folder whose path holds a space ("my projects/..."), so every runJob
command line (training, picking) must quote its paths. One micrograph is truncated after
training: the streaming pick (batches of 2) must skip it with a log line, pick every other
micrograph, name it in the summary, and Continue must not fail on it again.
"""
import json
import os
import shutil

from pyworkflow.project import Manager
from pyworkflow.protocol.constants import MODE_RESUME
from pyworkflow.tests import BaseTest

from cryopick_plugin.convert import micrograph_key
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.protocols import (CryopickProtImportMicrographs, CryopickProtPick,
                                       CryopickProtTrainUNet)

BAD = "mic_003"


class TestProtocolsRobustness(BaseTest):
    @classmethod
    def setUpClass(cls):
        # like setupTestProject, in a folder whose path holds a space
        location = os.path.join(os.environ["SCIPION_USER_DATA"], "my projects")
        os.makedirs(location, exist_ok=True)
        cls.projName = cls.__name__
        manager = Manager()
        os.makedirs(os.path.dirname(manager.getProjectPath(cls.projName)), exist_ok=True)
        cls.proj = manager.createProject(cls.projName, location=location)
        cls.outputPath = cls.proj.path
        os.chdir(cls.outputPath)

        data = os.path.join(cls.outputPath, "data")
        make_demo_dataset(data, n_micrographs=6, size=(192, 192), pixel_size=2.0,
                          particle_diameter_a=64.0, particles_per_micrograph=8,
                          label_fraction=0.5, n_labelled_micrographs=2, snr=1.0, seed=3)
        cls.imp = cls.newProtocol(CryopickProtImportMicrographs,
                                  filesPath=os.path.join(data, "micrographs"), samplingRate=2.0,
                                  coordinatesPath=os.path.join(data, "labels", "coordinates.json"),
                                  particleDiameter=64.0)
        cls.launchProtocol(cls.imp)
        # a set of one micrograph, to break too: a batch with nothing readable
        os.makedirs(os.path.join(data, "lone"))
        lone = os.path.join(data, "lone", "lone.mrc")
        shutil.copy(os.path.join(data, "micrographs", "mic_005.mrc"), lone)
        with open(os.path.join(data, "lone.json"), "w") as fh:
            json.dump({"lone": [[50, 50]]}, fh)
        cls.lone = cls.newProtocol(CryopickProtImportMicrographs,
                                   filesPath=os.path.dirname(lone), samplingRate=2.0,
                                   coordinatesPath=os.path.join(data, "lone.json"),
                                   particleDiameter=64.0)
        cls.launchProtocol(cls.lone)
        # the smallest training: its command line carries the project's paths
        cls.train = cls.newProtocol(CryopickProtTrainUNet,
                                    inputMicrographs=cls.imp.outputMicrographs,
                                    inputCoordinates=cls.imp.outputCoordinates,
                                    initialEpochs=1, selfTrainingIterations=0, baseFeatures=4,
                                    batchSize=2, cropsPerImage=1, useGpu=False)
        cls.launchProtocol(cls.train)
        # then one micrograph breaks (imported MRCs are links to these files)
        for bad in (os.path.join(data, "micrographs", BAD + ".mrc"), lone):
            with open(bad, "r+b") as fh:
                fh.truncate(os.path.getsize(bad) // 2)

    def test_training_in_a_project_path_with_a_space(self):
        self.assertIn(" ", os.path.abspath(self.train._getExtraPath()))
        self.assertTrue(self.train.outputModel.exists())

    def test_streaming_pick_skips_an_unreadable_micrograph(self):
        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                inputModel=self.train.outputModel, threshold=0.0,
                                useGpu=False, streamingBatchSize=2)
        self.launchProtocol(pick)  # finishes: the bad micrograph does not stop the stream
        self.assertIn(" ", os.path.abspath(pick._getExtraPath()))
        names = {mic.getObjId(): micrograph_key(mic) for mic in self.imp.outputMicrographs}
        self.assertEqual(len(names), 6)
        good = sorted(n for n in names.values() if n != BAD)
        picked = sorted({names[c.getMicId()] for c in pick.outputCoordinates})
        self.assertEqual(picked, good)  # every good micrograph, its batch-mate included
        summary = "\n".join(pick.summary())
        self.assertIn(BAD, summary)
        self.assertIn("could not be read", summary)
        log = ""
        for path in pick.getLogPaths():
            if os.path.exists(path):
                with open(path) as fh:
                    log += fh.read()
        skipped = [line for line in log.splitlines() if "Skipped micrograph" in line]
        self.assertEqual(len(skipped), 1, skipped)  # one line, naming the file
        self.assertIn(BAD + ".mrc", skipped[0])
        n = pick.outputCoordinates.getSize()

        pick.runMode.set(MODE_RESUME)  # Continue: nothing to redo, no failure on the bad one
        self.launchProtocol(pick)
        self.assertEqual(pick.outputCoordinates.getSize(), n)
        self.assertIn(BAD, "\n".join(pick.summary()))

    def test_a_batch_with_nothing_readable_does_not_stop_the_stream(self):
        # the command fails (exit 2: nothing could be picked) but lists the micrograph: the
        # protocol takes that batch as done and finishes with what it has (here nothing)
        pick = self.newProtocol(CryopickProtPick, inputMicrographs=self.lone.outputMicrographs,
                                inputModel=self.train.outputModel, useGpu=False,
                                streamingBatchSize=1)
        self.launchProtocol(pick)
        self.assertIn("lone (unreadable MRC file", "\n".join(pick.summary()))
        coords = getattr(pick, "outputCoordinates", None)
        self.assertEqual(coords.getSize() if coords is not None else 0, 0)
