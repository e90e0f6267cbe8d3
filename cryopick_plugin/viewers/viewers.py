"""The cryopick viewers: what Scipion's Analyze Results (and an output's right-click menu)
opens for our runs and objects.

- training runs: loss curves, pseudo-labels, validation and the chosen threshold, per phase
  (U-Net) or per epoch (FixMatch), as a figure and a table;
- evaluation runs: the precision-recall curve and the per-micrograph table;
- a CryopickModel: what the model file holds and what it was trained on;
- picks with scores (the pick, re-score and filter runs and their coordinates): the picks
  over each micrograph coloured by score, with a live threshold slider that can write the
  picks kept as a new SetOfCoordinates.

Each ``_visualize`` returns views that hold plain data (figures, rows) and build their Tk
window only when shown, so the views are built and checked headless in the tests.
"""
import os

import numpy as np
from pwem.objects import SetOfCoordinates
from pyworkflow.protocol import Protocol
from pyworkflow.viewer import DESKTOP_TKINTER, Viewer

from ..engine.errors import CryopickInputError
from ..engine.io import files
from ..engine.io.plots import (fixmatch_history_figure, precision_recall_figure,
                               unet_history_figure)
from ..engine.picking.thresholds import THRESHOLD_ORIGINS
from ..objects import CryopickModel
from ..protocols import (CryopickProtEvaluate, CryopickProtFilterByScore, CryopickProtPick,
                         CryopickProtRescore, CryopickProtTrainFixMatch, CryopickProtTrainUNet)
from ..protocols.protocol_filter import coordinate_score
from .picks import PickScores, PicksView
from .views import ResultsView


def _f(value, fmt=".3f", missing=""):
    return missing if value is None else format(value, fmt)


def _pct(value):
    return "" if value is None else f"{100 * value:.1f}"


class CryopickViewer(Viewer):
    _environments = [DESKTOP_TKINTER]

    def _master(self):
        return self.getTkRoot()

    def _notReady(self, what):
        return [self.infoMessage(what, "cryopick")]


# ---------------------------------------------------------------------- training
def _threshold_origin(validated, auto, origin=None):
    if validated:
        return THRESHOLD_ORIGINS["validation"]
    if origin in THRESHOLD_ORIGINS:
        return THRESHOLD_ORIGINS[origin]
    return THRESHOLD_ORIGINS["labels"] if auto else "the fixed default"


def unet_view(prot, master=None):
    """The training view of a finished U-Net run (None before it finishes)."""
    s = prot._summarySource()
    if s is None:
        return None
    rows = []
    for it in s.get("iterations", []):
        v = it.get("validation") or {}
        losses = it.get("losses") or []
        rows.append(["baseline" if it["iteration"] == 0 else f"iteration {it['iteration']}",
                     len(losses), _f(losses[-1] if losses else None, ".4f"),
                     _f(it.get("pseudo_particles"), "d"),
                     _pct(it.get("pseudo_positive_coverage")), _pct(it.get("positive_pixels")),
                     _pct(it.get("negative_pixels")), _pct(it.get("ignored_pixels")),
                     _f(v.get("precision")), _f(v.get("recall")), _f(v.get("f1")),
                     _f(v.get("ap")), _f(it.get("seconds"), ".0f")])
    headers = ["phase", "epochs", "last loss", "pseudo-particles", "pseudo-particle px %",
               "particle px %",
               "background px %", "ignored px %", "precision", "recall", "F1", "AP",
               "time (s)"]
    validated = any(it.get("validation") for it in s.get("iterations", []))
    auto = (s.get("config") or {}).get("auto_threshold", True)
    lines = list(prot.summary())
    lines.append(f"The picking threshold {_f(s.get('pick_threshold'))} is "
                 f"{_threshold_origin(validated, auto, s.get('threshold_origin'))}; "
                 "'cryopick - pick particles' uses it "
                 "unless you set another.")
    return ResultsView(f"U-Net training: {prot.getRunName()}", unet_history_figure(s),
                       headers, rows, lines, master)


def fixmatch_view(prot, master=None):
    """The training view of a finished FixMatch run (None before it finishes)."""
    r = prot._results()
    if r is None:
        return None
    best = r.get("best_epoch_ema")
    rows = [[e["epoch"] if e["epoch"] != best else f"{e['epoch']} (kept)",
             _f(e.get("l_sup"), ".4f"), _f(e.get("l_cons"), ".4f"), _f(e.get("lam"), ".2f"),
             _pct(e.get("mask")), _pct(e.get("mask_pos")), _pct(e.get("mask_neg")),
             _f(e.get("auc")), _f(e.get("auc_ema")), _f(e.get("seconds"), ".0f")]
            for e in r.get("history", [])]
    headers = ["epoch", "L_sup", "L_cons", "lambda", "mask %", "confident particle %",
               "confident background %", "AUC", "AUC (EMA)", "time (s)"]
    auto = ((r.get("config") or {}).get("training") or {}).get("auto_threshold", True)
    lines = list(prot.summary())
    origin = _threshold_origin("validation_picking" in r, auto, r.get("threshold_origin"))
    lines.append(f"The picking threshold {_f(r.get('pick_threshold'))} is {origin}; picking "
                 "and re-scoring use it unless you set another.")
    return ResultsView(f"FixMatch training: {prot.getRunName()}", fixmatch_history_figure(r),
                       headers, rows, lines, master)


class CryopickTrainingViewer(CryopickViewer):
    """Loss curves, pseudo-labels, validation and the chosen threshold of a training run."""
    _name = "cryopick training curves"
    _targets = [CryopickProtTrainUNet, CryopickProtTrainFixMatch]

    def _visualize(self, obj, **kwargs):
        build = unet_view if isinstance(obj, CryopickProtTrainUNet) else fixmatch_view
        view = build(obj, self._master())
        if view is None:
            return self._notReady("Training has not finished yet: the curves appear when it "
                                  "does (the log shows the loss of every epoch meanwhile).")
        return [view]


# ---------------------------------------------------------------------- evaluation
def evaluation_view(prot, master=None):
    result = prot.getResult()
    if result is None:
        return None
    keys = ("n_picks", "n_truth", "n_matched")
    rows = [[name] + [m[k] for k in keys] + [_f(m[k]) for k in ("precision", "recall", "f1", "ap")]
            for name, m in result["per_micrograph"].items()]
    o = result["overall"]
    rows.append(["all"] + [o[k] for k in keys] + [_f(o[k]) for k in ("precision", "recall", "f1", "ap")])
    headers = ["micrograph", "picks", "true", "matched", "precision", "recall", "F1", "AP"]
    return ResultsView(f"Picking evaluation: {prot.getRunName()}",
                       precision_recall_figure(result, title=prot.getRunName()),
                       headers, rows, list(prot.summary()), master, table_height=12)


class CryopickEvaluationViewer(CryopickViewer):
    """Precision-recall curve and per-micrograph precision / recall / F1 / AP."""
    _name = "cryopick evaluation"
    _targets = [CryopickProtEvaluate]

    def _visualize(self, obj, **kwargs):
        view = evaluation_view(obj, self._master())
        return [view] if view else self._notReady("The evaluation has not finished yet.")


# ---------------------------------------------------------------------- model
_METHODS = {"unet": "U-Net self-training picker",
            "fixmatch": "Selective FixMatch patch classifier",
            "ensemble": "U-Net + classifier (averaged maps)"}


def _training_run(model, protocol=None, project=None):
    """The run that produced ``model``: ``protocol`` if it did, else looked up by the
    model's parent id in ``project``; None if unknown (e.g. an imported model)."""
    candidates = [protocol]
    if project is not None and model.getObjParentId():
        try:
            candidates.append(project.getProtocol(model.getObjParentId()))
        except Exception:
            pass
    for prot in candidates:
        if isinstance(prot, (CryopickProtTrainUNet, CryopickProtTrainFixMatch)):
            out = getattr(prot, "outputModel", None)
            if out is not None and out.getObjId() == model.getObjId():
                return prot
    return None


def _producer(pointer, obj, project):
    """The run that produced ``obj`` (pointed at by ``pointer``), or None."""
    source = pointer.getObjValue()
    if isinstance(source, Protocol):
        return source
    if project is not None and obj.getObjParentId():
        try:
            return project.getProtocol(obj.getObjParentId())
        except Exception:
            return None
    return None


def model_rows(model, protocol=None, project=None):
    """(rows of [what, value], the model file's contents or None)."""
    path = model.getPath()
    rows = [["method", _METHODS.get(model.getMethod(), model.getMethod())],
            ["model file", path],
            ["particle diameter", f"{_f(model.getParticleDiameter(), '.1f')} A"],
            ["pixel size (training micrographs)", f"{_f(model.getSamplingRate(), '.3f')} A/px"]]
    try:
        state = files.read_torch_file(path)
    except CryopickInputError as exc:
        rows.append(["model file problem", str(exc)])
        state = None
    if state is not None:
        d_px, work = state.get("particle_diameter_px"), state.get("working_diameter")
        if d_px and work:
            rows.append(["working pixel size", f"binning {d_px / work:.2f}x: the particle "
                                               f"({d_px:.1f} px) spans {work:.0f} px"])
        rows.append(["picking threshold", f"{_f(state.get('threshold'))} (the picking and "
                                          "re-scoring default)"])
        n_params = sum(int(np.prod(v.shape)) for v in (state.get("state_dict") or {}).values()
                       if hasattr(v, "shape"))
        if "base_features" in state:
            rows.append(["network", f"U-Net, base features {state['base_features']}, "
                                    f"{n_params / 1e6:.2f} M parameters"])
        elif "backbone" in state:
            rows.append(["network", f"{state['backbone']}, dropout {state.get('dropout')}, "
                                    f"patch {state.get('patch_size')} px, "
                                    f"{n_params / 1e6:.2f} M parameters"])
        config = (state.get("extra") or {}).get("config") or {}
        rows += _config_rows(config)
    run = _training_run(model, protocol, project)
    if run is not None:
        mics, coords = run.inputMicrographs.get(), run.inputCoordinates.get()
        rows.append(["trained by", f"run '{run.getRunName()}' (id {run.getObjId()})"])
        if mics is not None:
            source = _producer(run.inputMicrographs, mics, project)
            origin = f" from run '{source.getRunName()}'" if source is not None else ""
            rows.append(["trained on", f"{mics.getSize()} micrographs at "
                                       f"{mics.getSamplingRate():.3f} A/px{origin}"])
        if coords is not None:
            n_mics = len({c.getMicId() for c in coords.iterItems()})
            rows.append(["hand-picked labels", f"{coords.getSize()} coordinates on {n_mics} "
                                               "micrographs"])
        val = run.validationCoordinates.get()
        rows.append(["validation coordinates", f"{val.getSize()} coordinates"
                     if val is not None else "none (threshold chosen from the labels)"])
    return rows, state


def _config_rows(config):
    if not config:
        return []
    if "dataset" in config:  # FixMatch: YAML sections
        d, lo, t = config["dataset"], config.get("loss", {}), config.get("training", {})
        opt = config.get("optimizer", {})
        return [["training data (files)", f"{d.get('image_dir')} / {d.get('coords_file')}"],
                ["training settings",
                 f"{t.get('epochs')} epochs x {t.get('steps_per_epoch')} steps, batch "
                 f"{d.get('batch_size')}, patch {d.get('patch_size')} px, tau "
                 f"{lo.get('confidence_threshold')}, lambda {lo.get('consistency_weight')} "
                 f"(ramp {lo.get('rampup_epochs')} epochs), lr {opt.get('lr')}, seed "
                 f"{t.get('seed')}"]]
    return [["training settings",
             f"{config.get('initial_epochs')} initial epochs, "
             f"{config.get('self_training_iterations')} self-training iterations of "
             f"{config.get('retrain_epochs')} epochs, lr {config.get('learning_rate')}, batch "
             f"{config.get('batch_size')}, thresholds {config.get('positive_threshold')} / "
             f"{config.get('negative_threshold')}, seed {config.get('seed')}"]]


class CryopickModelViewer(CryopickViewer):
    """What a cryopick model holds: method, diameter, pixel size, threshold, training."""
    _name = "cryopick model"
    _targets = [CryopickModel]

    def _visualize(self, obj, **kwargs):
        rows, _ = model_rows(obj, self.protocol, self.getProject())
        return [ResultsView(f"cryopick model: {os.path.basename(obj.getPath() or '')}", None,
                            ["property", "value"], rows, master=self._master(),
                            table_height=16)]


# ---------------------------------------------------------------------- picks
def has_scores(coords):
    """Whether a SetOfCoordinates carries cryopick scores (its first coordinate has one)."""
    try:
        first = coords.getFirstItem() if coords.getSize() else None
    except Exception:
        return False
    return first is not None and coordinate_score(first) is not None


def scored_output(prot):
    """(output name, SetOfCoordinates) of a run's last coordinates output, or (None, None)."""
    found = (None, None)
    for name, out in prot.iterOutputAttributes():
        if isinstance(out, SetOfCoordinates):
            found = (name, out)
    return found


def output_name(prot, obj):
    """The name under which run ``prot`` holds output ``obj`` (None if it does not)."""
    if prot is None:
        return None
    for name, out in prot.iterOutputAttributes():
        if out.getObjId() == obj.getObjId():
            return name
    return None


def launch_filter(project, prot, name, threshold, wait=False):
    """Create and launch 'cryopick - filter coordinates by score' on output ``name`` of run
    ``prot`` at ``threshold``; returns the new run."""
    run = project.newProtocol(CryopickProtFilterByScore, threshold=round(float(threshold), 4))
    run.setObjLabel(f"cryopick - filter by score >= {threshold:.3f}")
    run.inputCoordinates.set(prot)
    run.inputCoordinates.setExtended(name)
    errors = run.validate()
    if errors:
        raise CryopickInputError("\n".join(errors))
    project.launchProtocol(run, wait=wait)
    return run


class CryopickPicksViewer(CryopickViewer):
    """Picks over their micrographs coloured by score, with a live threshold slider that
    can write the picks kept as a new SetOfCoordinates."""
    _name = "cryopick picks by score"
    _targets = [CryopickProtPick, CryopickProtRescore, CryopickProtFilterByScore,
                SetOfCoordinates]

    @classmethod
    def can_handle_this_instance(cls, instance):
        # any coordinates with a cryopick score; our runs always (they say if not ready)
        if isinstance(instance, SetOfCoordinates):
            return has_scores(instance)
        return True

    def picksView(self, obj):
        """The PicksView of a run or set, or a message view when there is nothing to show."""
        if isinstance(obj, SetOfCoordinates):
            coords, prot, name = obj, self.protocol, output_name(self.protocol, obj)
        else:
            prot = obj
            name, coords = scored_output(obj)
            if coords is None:
                return self.infoMessage("No coordinates yet: the picks appear as micrographs "
                                        "are picked.", "cryopick")
        project = self.getProject()
        data = PickScores(coords, root=project.getPath() if project else None)
        if not data.has_scores():
            return self.infoMessage("These coordinates have no cryopick score.", "cryopick")
        # a run's own output can be filtered into a new run; a bare set cannot
        create = (lambda threshold: launch_filter(project, prot, name, threshold)) \
            if prot is not None and name is not None else None
        note = (f"Picks scoring below {data.lowest_score():.3f} were not kept by the run; "
                "to see more, pick again with a lower threshold. Grey dashed circles: picks "
                "below the slider's threshold.")
        title = f"cryopick picks: {prot.getRunName() if prot is not None else data.name}"
        return PicksView(data, title, create=create, note=note, master=self._master())

    def _visualize(self, obj, **kwargs):
        return [self.picksView(obj)]
