"""The cryopick viewers on real runs of a small project: found through Scipion's viewer
registry, their views built headless (figures, tables, counts), the filter protocol they
launch, every form field's help, and a GUI smoke test under Xvfb when it is installed.

Tiny settings (a few epochs of a 4-feature U-Net, two FixMatch epochs): the runs exist to
be viewed, not to pick well.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from collections import OrderedDict

import numpy as np
import pytest
import pwem
from pwem import Domain
from pwem.objects import SetOfCoordinates
from pwem.protocols import ProtExtractParticles
from pyworkflow.gui.project.viewprotocols_extra import ProtocolTreeConfig
from pyworkflow.tests import BaseTest, setupTestProject
from pyworkflow.viewer import DESKTOP_TKINTER

import cryopick_plugin.protocols as protocols
from cryopick_plugin.constants import SCORE_ATTR
from cryopick_plugin.engine.io.files import read_torch_file
from cryopick_plugin.engine.picking.thresholds import THRESHOLD_ORIGINS
from cryopick_plugin.protocols import (CryopickProtEvaluate, CryopickProtFilterByScore,
                                       CryopickProtPick, CryopickProtTrainFixMatch,
                                       CryopickProtTrainUNet)
from cryopick_plugin.viewers import (CryopickEvaluationViewer, CryopickModelViewer,
                                     CryopickPicksViewer, CryopickTrainingViewer)
from cryopick_plugin.viewers.picks import PicksView
from cryopick_plugin.viewers.views import ResultsView, numeric_column
from cryopick_plugin.tests.tiny_data import import_tiny_project
from cryopick_plugin.viewers.viewers import launch_filter


def _viewers(obj):
    return Domain.findViewers(obj, DESKTOP_TKINTER)


class _Extraction(ProtExtractParticles):
    """pwem's extraction base class as every extraction protocol (Xmipp, Relion...)
    completes it: its input coordinates."""

    def getCoords(self):
        return self.inputCoordinates.get()


class TestViewers(BaseTest):
    @classmethod
    def setUpClass(cls):
        setupTestProject(cls)
        import_tiny_project(cls)
        common = dict(inputMicrographs=cls.imp.outputMicrographs,
                      inputCoordinates=cls.imp.outputCoordinates, useGpu=False)
        # validation coordinates: the viewer then has per-phase precision / recall / F1
        cls.unet = cls.newProtocol(CryopickProtTrainUNet, initialEpochs=2,
                                   selfTrainingIterations=1, retrainEpochs=1, baseFeatures=4,
                                   batchSize=8, cropsPerImage=4, numberOfThreads=1,
                                   validationCoordinates=cls.truth.outputCoordinates, **common)
        cls.fixmatch = cls.newProtocol(CryopickProtTrainFixMatch, patchSize=32, batchSize=8,
                                       epochs=2, stepsPerEpoch=1, rampupEpochs=1,
                                       numberOfThreads=1, **common)
        # overlapped: much of each run's time is process start, imports and file reading
        cls._launch(cls.unet, cls.fixmatch)
        cls._wait(cls.unet)
        # a low threshold: a barely trained model still gives picks with a spread of scores
        cls.pick = cls.newProtocol(CryopickProtPick, inputMicrographs=cls.imp.outputMicrographs,
                                   inputModel=cls.unet.outputModel, threshold=0.05,
                                   useGpu=False, streamingBatchSize=3, numberOfThreads=1)
        cls._launch(cls.pick)
        cls._wait(cls.pick)
        cls.evaluation = cls.newProtocol(CryopickProtEvaluate,
                                         inputCoordinates=cls.pick.outputCoordinates,
                                         referenceCoordinates=cls.truth.outputCoordinates,
                                         particleDiameter=64.0)
        cls._launch(cls.evaluation)
        cls._wait(cls.evaluation, cls.fixmatch)

    @classmethod
    def _launch(cls, *runs):
        for run in runs:
            cls.proj.launchProtocol(run, wait=False)

    @classmethod
    def _wait(cls, *runs, timeout=600):
        end = time.time() + timeout
        while time.time() < end:
            for run in runs:
                cls.proj._updateProtocol(run)  # from its run.db, as the project window does
            if not any(run.isActive() for run in runs):
                break
            time.sleep(1)
        for run in runs:
            if not run.isFinished():
                cls.printLastLogLines(run)
                raise AssertionError(f"{run.getRunName()}: {run.getStatus()}")

    def _viewer(self, cls, protocol):
        return cls(project=self.proj, protocol=protocol)

    # ------------------------------------------------------------------ registry
    def test_each_viewer_is_found_in_the_registry(self):
        expected = [(self.unet, CryopickTrainingViewer), (self.fixmatch, CryopickTrainingViewer),
                    (self.evaluation, CryopickEvaluationViewer),
                    (self.pick, CryopickPicksViewer),
                    (self.unet.outputModel, CryopickModelViewer),
                    (self.fixmatch.outputModel, CryopickModelViewer),
                    (self.pick.outputCoordinates, CryopickPicksViewer)]
        for obj, viewer in expected:
            found = _viewers(obj)
            self.assertIn(viewer, found, (obj.getClassName(), found))
        # for our runs ours comes first: Analyze Results opens it
        for prot in (self.unet, self.fixmatch, self.evaluation, self.pick):
            self.assertTrue(issubclass(_viewers(prot)[0], (
                CryopickTrainingViewer, CryopickEvaluationViewer, CryopickPicksViewer)))
        # coordinates without scores (an import) are not offered the score viewer
        self.assertNotIn(CryopickPicksViewer, _viewers(self.truth.outputCoordinates))
        # the class-name form (older pyworkflow callers) finds them too
        self.assertIn(CryopickTrainingViewer,
                      Domain.findViewers("CryopickProtTrainUNet", DESKTOP_TKINTER))

    # ------------------------------------------------------------------ training
    def test_unet_training_view(self):
        views = self._viewer(CryopickTrainingViewer, self.unet)._visualize(self.unet)
        self.assertEqual(len(views), 1)
        view = views[0]
        self.assertIsInstance(view, ResultsView)
        loss, labels, val = view.figure.axes[:3]
        curves = [line for line in loss.get_lines() if not line.get_label().startswith("_")]
        self.assertEqual(len(curves), 2)  # baseline + 1 self-training iteration
        self.assertIn("loss", loss.get_ylabel())
        self.assertIn("%", labels.get_ylabel())  # the old right panel had no y label
        self.assertEqual(len(labels.patches), 3)  # particle / background / ignored bars
        self.assertEqual(len(val.get_lines()), 4)  # precision, recall, F1, AP
        self.assertEqual([r[0] for r in view.rows], ["baseline", "iteration 1"])
        column = {h: i for i, h in enumerate(view.headers)}
        # validation precision present
        self.assertTrue(all(r[column["precision"]] != "" for r in view.rows))
        # the round's pseudo-particles as counted in the file it wrote (none before it)
        with open(self.unet._getExtraPath("model", "pseudo_positives_iteration_1.json")) as fh:
            taken = sum(len(v) for v in json.load(fh).values())
        self.assertEqual([r[column["pseudo-particles"]] for r in view.rows], ["", str(taken)])
        threshold = read_torch_file(self.unet.outputModel.getPath())["threshold"]
        text = "\n".join(view.lines)
        self.assertIn(f"{threshold:.3f}", text)
        self.assertIn("validation", text)
        self.assertIn("picking threshold", view.figure._suptitle.get_text())

    def test_fixmatch_training_view(self):
        view = self._viewer(CryopickTrainingViewer, self.fixmatch)._visualize(self.fixmatch)[0]
        self.assertIsInstance(view, ResultsView)
        loss, mask, auc = view.figure.axes[:3]
        self.assertEqual({line.get_label() for line in loss.get_lines()},
                         {"L_sup (labelled)", "L_cons (consistency)"})
        self.assertIn("lambda", view.figure.axes[3].get_ylabel())  # twin axis
        self.assertEqual(len(mask.get_lines()), 3)
        self.assertIn("AUC", auc.get_ylabel())
        self.assertEqual(len(view.rows), 2)  # one row per epoch
        self.assertTrue(any("(kept)" in str(r[0]) for r in view.rows))
        self.assertIn("picking threshold", "\n".join(view.lines))
        # where the threshold came from, in the words of its origin
        origin = self.fixmatch._results()["threshold_origin"]
        self.assertIn(f"is {THRESHOLD_ORIGINS[origin]};", "\n".join(view.lines))

    def test_training_png_is_the_new_figure(self):
        # the runs saved the same three-panel figure as training_history.png
        for prot in (self.unet, self.fixmatch):
            path = prot._getExtraPath("training_history.png")
            self.assertTrue(os.path.getsize(path) > 10000, path)

    # ------------------------------------------------------------------ evaluation
    def test_evaluation_view(self):
        view = self._viewer(CryopickEvaluationViewer, self.evaluation)._visualize(
            self.evaluation)[0]
        result = self.evaluation.getResult()
        self.assertEqual(len(view.rows), len(result["per_micrograph"]) + 1)
        last = view.rows[-1]
        self.assertEqual(last[0], "all")
        self.assertEqual(last[1:4], [result["overall"][k] for k in ("n_picks", "n_truth",
                                                                     "n_matched")])
        ax = view.figure.axes[0]
        self.assertEqual(ax.get_xlabel().split()[0], "recall")
        self.assertTrue(ax.get_legend().get_texts())

    # ------------------------------------------------------------------ model
    def test_model_view(self):
        for prot, method in ((self.unet, "U-Net"), (self.fixmatch, "FixMatch")):
            model = prot.outputModel
            view = self._viewer(CryopickModelViewer, prot)._visualize(model)[0]
            facts = {r[0]: r[1] for r in view.rows}
            self.assertIn(method, facts["method"])
            self.assertIn("64.0 A", facts["particle diameter"])  # box 48 px / 1.5 * 2 A/px
            self.assertIn("2.000 A/px", facts["pixel size (training micrographs)"])
            state = read_torch_file(model.getPath())
            self.assertIn(f"{state['threshold']:.3f}", facts["picking threshold"])
            self.assertIn(prot.getRunName(), facts["trained by"])
            self.assertIn("3 micrographs", facts["trained on"])
            self.assertIn(self.imp.getRunName(), facts["trained on"])
            n = self.imp.outputCoordinates.getSize()
            self.assertIn(f"{n} coordinates on 2 micrographs", facts["hand-picked labels"])
            self.assertIn("training settings", facts)
        # without the producing run at hand the viewer finds it by the model's parent id
        facts = {r[0]: r[1] for r in CryopickModelViewer(project=self.proj)._visualize(
            self.unet.outputModel)[0].rows}
        self.assertIn(self.unet.getRunName(), facts.get("trained by", ""))

    # ------------------------------------------------------------------ picks
    def test_picks_view_counts_and_figure(self):
        coords = self.pick.outputCoordinates
        view = self._viewer(CryopickPicksViewer, self.pick)._visualize(self.pick)[0]
        self.assertIsInstance(view, PicksView)
        data = view.data
        scores = np.array([getattr(c, SCORE_ATTR).get() for c in coords])
        self.assertEqual(data.n_total, coords.getSize())
        self.assertAlmostEqual(data.lowest_score(), scores.min(), places=5)
        t = float(np.median(scores))
        per_mic, kept, total = data.counts(t)
        self.assertEqual(kept, int(np.sum(scores >= t)))
        self.assertEqual(total, len(scores))
        self.assertEqual(len(per_mic), 3)
        key = data.micrographs[0][0]
        fig, plot = data.figure(key, data.lowest_score())
        n_key = per_mic[key][1]
        self.assertEqual(plot.counts(data.lowest_score())[:2], (n_key, n_key))
        plot.set_threshold(t)
        self.assertEqual(len(plot.kept.get_offsets()), per_mic[key][0])
        self.assertEqual(len(plot.rejected.get_offsets()), n_key - per_mic[key][0])
        self.assertIn(f"{per_mic[key][0]} of {n_key}", plot.ax.get_title())
        self.assertIsNotNone(view.create)  # the run's output can be filtered from the window
        # the output set itself, as the GUI passes it with its run
        view = self._viewer(CryopickPicksViewer, self.pick)._visualize(coords)[0]
        self.assertEqual(view.data.n_total, coords.getSize())
        self.assertIsNotNone(view.create)

    def test_filter_from_the_viewer_feeds_extraction(self):
        coords = self.pick.outputCoordinates
        scores = np.array([getattr(c, SCORE_ATTR).get() for c in coords])
        t = float(np.round(np.median(scores), 3))
        expected = int(np.sum(scores >= t))
        self.assertTrue(0 < expected < len(scores))
        run = launch_filter(self.proj, self.pick, "outputCoordinates", t, wait=True)
        self.assertTrue(run.isFinished(), run.getStatus())
        out = run.outputCoordinates
        self.assertIsInstance(out, SetOfCoordinates)
        self.assertEqual(out.getSize(), expected)
        self.assertTrue(all(getattr(c, SCORE_ATTR).get() >= t for c in out))
        self.assertEqual(out.getBoxSize(), coords.getBoxSize())
        self.assertEqual(out.getMicrographs().getSize(), 3)
        self.assertIn(f"{expected} of {len(scores)} coordinates kept", "\n".join(run.summary()))
        self.assertIn(CryopickPicksViewer, _viewers(run))
        # Scipion's particle extraction base class: its pointer validates, and its input
        # loading (shared by Xmipp's, Relion's... extraction) finds every kept coordinate
        extract = self.newProtocol(_Extraction, inputCoordinates=out, downsampleType=0)
        self.assertEqual(extract.validate(), [])
        extract.micDict, extract.coordDict = OrderedDict(), {}
        mics = extract._loadInputList()
        self.assertEqual(sum(len(v) for v in extract.coordDict.values()), expected)
        self.assertEqual(len(mics), len({c.getMicId() for c in out}))
        # the protocol alone, as from a script, and its refusal of unscored coordinates
        plain = self.newProtocol(CryopickProtFilterByScore, inputCoordinates=coords,
                                 threshold=1.0)
        self.launchProtocol(plain)
        self.assertEqual(plain.outputCoordinates.getSize(), int(np.sum(scores >= 1.0)))
        unscored = self.newProtocol(CryopickProtFilterByScore,
                                    inputCoordinates=self.truth.outputCoordinates)
        self.assertTrue(any("no cryopick score" in e for e in unscored.validate()))

    def test_pick_summary_says_the_threshold(self):
        summary = self.pick.summary()
        self.assertFalse(any(line.strip().startswith("*outputCoordinates") for line in summary),
                         summary)
        self.assertIn("Score threshold: 0.050 (set in the form)", summary)
        self.assertTrue(any("particles picked on 3 of 3 micrographs" in s for s in summary),
                        summary)
        default = self.newProtocol(CryopickProtPick, inputMicrographs=self.imp.outputMicrographs,
                                   inputModel=self.unet.outputModel)
        threshold = read_torch_file(self.unet.outputModel.getPath())["threshold"]
        self.assertIn(f"Score threshold: {threshold:.3f} (the model's)", default.summary())

    # ------------------------------------------------------------------ forms
    def test_every_form_parameter_has_help(self):
        missing = []
        for name in protocols.__all__:
            prot = self.newProtocol(getattr(protocols, name))
            for pname, param in prot._definition.iterAllParams():
                if not (param.getHelp() or "").strip():
                    missing.append(f"{name}.{pname}")
        self.assertEqual(missing, [])

    def test_form_defaults_suit_the_host_and_fixmatch_groups_follow_the_yaml(self):
        from cryopick_plugin.protocols.training_inputs import host_has_gpu

        unet = self.newProtocol(CryopickProtTrainUNet)
        self.assertEqual(unet.baseFeatures.get(), 64 if host_has_gpu() else 16)
        self.assertEqual(bool(unet.useGpu.get()), host_has_gpu())
        form = self.newProtocol(CryopickProtTrainFixMatch)._definition
        groups = [p.getLabel() for _, p in form.iterAllParams()
                  if type(p).__name__ == "Group"]
        self.assertEqual(groups, ["Dataset", "Model", "Loss", "Optimizer", "Training"])

    def test_filter_protocol_in_the_gui_tree(self):
        base_conf = os.path.join(os.path.dirname(pwem.__file__), "protocols.conf")
        views = ProtocolTreeConfig.load(Domain, base_conf)
        found = []

        def walk(node, path):
            for child in node.childs:
                if child.tag == "protocol" and child.value == "CryopickProtFilterByScore":
                    found.append((path, child.text))
                walk(child, path + (child.text,))

        walk(views["Protocols SPA"], ())
        self.assertIn((("Particles", "Picking"), "cryopick - filter coordinates by score"), found)

    # ------------------------------------------------------------------ GUI
    def test_gui_smoke_under_xvfb(self):
        if shutil.which("Xvfb") is None:
            pytest.skip("Xvfb is not on PATH: install it (apt-get install xvfb) to open the "
                        "project window and the viewers' Tk windows in a virtual display")
        display = f":{100 + os.getpid() % 400}"
        xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x1000x24", "-nolisten",
                                 "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        old_display = os.environ.get("DISPLAY")
        gui = None
        try:
            socket = f"/tmp/.X11-unix/X{display[1:]}"
            for _ in range(50):
                if os.path.exists(socket):
                    break
                time.sleep(0.1)
            self.assertTrue(os.path.exists(socket), "Xvfb did not start")
            os.environ["DISPLAY"] = display
            self._show_views_in_tk()
            # Scipion's project window on this project, as `scipion3 project NAME` opens it
            gui = subprocess.Popen([sys.executable, "-O", "-m", "pyworkflow.apps.pw_project",
                                    self.projName], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, env=dict(os.environ))
            # generous: a busy machine takes a while to import pyworkflow and draw; the wait
            # ends as soon as the window is there
            found = self._wait_for_window(gui, self.projName, timeout=240)
            self.assertIsNone(gui.poll(), "the project window exited:\n"
                              + (gui.stdout.read().decode(errors="replace")[-3000:]
                                 if gui.poll() is not None else ""))
            if found is not None:
                self.assertTrue(found, "no window titled with the project name appeared")
        finally:
            if gui is not None and gui.poll() is None:
                gui.terminate()
                gui.wait(10)
            xvfb.terminate()
            xvfb.wait(10)
            if old_display is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = old_display

    @staticmethod
    def _wait_for_window(proc, name, timeout):
        """True when xdotool finds a window named after the project, None without xdotool
        (then only the process staying up is checked)."""
        if shutil.which("xdotool") is None:
            time.sleep(15)
            return None
        end = time.time() + timeout
        while time.time() < end and proc.poll() is None:
            res = subprocess.run(["xdotool", "search", "--name", name], capture_output=True)
            if res.returncode == 0 and res.stdout.strip():
                time.sleep(2)  # let it draw
                return True
            time.sleep(1)
        return False

    def _show_views_in_tk(self):
        """Every view's real Tk window, on a hidden root; the slider updates the counts."""
        import tkinter as tk

        root = tk.Tk()
        root.withdraw()
        try:
            views = []
            for viewer, obj, prot in ((CryopickTrainingViewer, self.unet, self.unet),
                                      (CryopickTrainingViewer, self.fixmatch, self.fixmatch),
                                      (CryopickEvaluationViewer, self.evaluation,
                                       self.evaluation),
                                      (CryopickModelViewer, self.unet.outputModel, self.unet),
                                      (CryopickPicksViewer, self.pick, self.pick)):
                v = viewer(project=self.proj, protocol=prot)
                v._tkRoot = root
                views += v._visualize(obj)
            for view in views:
                view.show()
                root.update()
            window = views[-1].window
            scores = view.data.scores
            t = float(np.median(scores))
            window.threshold.set(t)
            window._on_threshold()
            root.update()
            kept = int(np.sum(scores >= t))
            self.assertIn(f"{kept} of {len(scores)} picks kept", window.count_label.cget("text"))
            key = window.key
            self.assertEqual(int(window.tree.set(key, "kept")),
                             int(np.sum(view.data.tables[key][:, 2] >= t)))
            # another micrograph redraws the figure
            other = view.data.micrographs[-1][0]
            window.tree.selection_set(other)
            root.update()
            self.assertEqual(window.key, other)
        finally:
            root.destroy()


def test_table_columns_align_numbers_right_whatever_the_blank_cells():
    # the training view's pseudo-label columns are blank for the baseline
    assert numeric_column(["", "12", "0"]) and numeric_column(["0.5 (0.4)", "1"])
    assert not numeric_column(["baseline", "iteration 1"])
    assert not numeric_column(["", ""]) and not numeric_column([])
