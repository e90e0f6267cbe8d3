"""Every setting of U-Net self-training, with its default, in one dataclass.

The command line builds its ``train-unet`` flags from the fields (``--initial-epochs`` for
``initial_epochs``; help from the field's metadata) and the Scipion protocol fills the same
dataclass and calls ``validate()``: a default or a rule is written once, here. Fields marked
``seed`` are the seed document's flags, with its defaults.
"""
import dataclasses
import shlex
from typing import Optional

from ..errors import CryopickInputError
from ..picking.density import MIN_LABELS
from ..picking.scale import DEFAULT_WORKING_DIAMETER
from ..picking.views import VIEWS

SEED_PARTICLE_RADIUS = 10.0  # the seed's --particle-radius default, when no diameter is given
OBJECTIVES = ("nnpu", "bce")
PSEUDO_LABELS = ("discs", "pixels")
RETRAIN_REST = ("ignored", "unlabelled")
PSEUDO_LABEL_VIEWS = VIEWS  # of the square's 8 symmetries (picking/views.py)


def _setting(default, help, seed=False):
    return dataclasses.field(default=default, metadata=dict(help=help, seed=seed))


@dataclasses.dataclass
class UNetTrainConfig:
    particle_radius: Optional[float] = _setting(
        None, "particle radius in pixels: radius of the label discs (default: half the particle "
              f"diameter; {SEED_PARTICLE_RADIUS:g}, the seed's, without one)", seed=True)
    # defaults: the benchmark matrix's measured pipeline (docs/benchmarks.md), not the seed's
    # 50 epochs / 5 rounds / batch 4: phase 1 was still improving fast at 50 epochs of 32
    # crops, and a third round lost AP in every regime
    initial_epochs: int = _setting(80, "epochs of supervised training (phase 1; the seed's: "
                                       "50)", seed=True)
    self_training_iterations: int = _setting(2, "self-training rounds after phase 1 (the "
                                                "seed's: 5)", seed=True)
    retrain_epochs: int = _setting(20, "epochs of retraining per self-training round", seed=True)
    learning_rate: float = _setting(1e-3, "Adam learning rate", seed=True)
    batch_size: int = _setting(8, "training crops per batch (the seed's: 4)", seed=True)
    positive_threshold: float = _setting(
        0.95, "probability above which a pixel becomes a pseudo-particle", seed=True)
    negative_threshold: float = _setting(
        0.05, "probability below which a pixel becomes reliable background", seed=True)
    device: str = _setting("cpu", "cpu, cuda:0, ... or auto (the GPU if one is visible)",
                           seed=True)
    # Also count as reliable negatives the least particle-like pixels of each micrograph (this
    # quantile of its probabilities). Particles cover a minority of a micrograph, so these are
    # background even when the baseline is not yet confident; without them a baseline with no
    # pixel below the negative threshold gets retrained on positives only and drifts towards
    # "everything is a particle". 0 gives the seed's behaviour exactly.
    negative_quantile: float = _setting(
        0.5, "also take the least particle-like pixels of each micrograph up to this quantile "
             "as reliable negatives (0: the seed's behaviour)")
    # ours: the objective. The seed's BCE trains every unlabelled pixel as background, so the
    # unlabelled particles (most of them) are learned as background and no pixel reaches the
    # positive threshold: self-training then never adds a pseudo-particle. The PU objective
    # knows their share (from the expected particle count) and does not.
    objective: str = _setting(
        "nnpu", "training objective: nnpu (positive-unlabelled: unlabelled pixels are a mix "
                "of particles and background) or bce (the seed's: unlabelled pixels are "
                "background)")
    expected_particles: float = _setting(
        0.0, "particles expected per micrograph, for the PU objective's class prior (like "
             "Topaz's -n); 0: estimated from the labels, by --count-classifier if given, "
             "else by the U-Net itself after the first half of phase 1")
    # ours: on the matrix without a count, the U-Net's own estimate (halfway through phase 1)
    # was 0.85-6.8 x the true count; the classifier's, on the same labels, 0.68-1.56 x
    # (docs/benchmarks.md, "A particle count from the classifier")
    count_classifier: str = _setting(
        "", "a train-fixmatch model trained on the same labels: without --expected-particles, "
            "it counts the particles of the labelled micrographs before training (a closer "
            "count than the U-Net's own; it reads the labels' recall less one standard "
            "error)")
    pseudo_labels: str = _setting(
        "discs", "what a confident prediction becomes in self-training: discs (a label disc at "
                 "each peak scoring above the positive threshold, no more than the expected "
                 "particles) or pixels (the seed's: every pixel above it)")
    # ours: on the saved models of the fifth matrix run, averaging the 8 views' maps made the
    # second round's pseudo-particles more precise in 7 of 12 regime-budgets (crowded 20%
    # 0.91 -> 0.95, 50% 0.88 -> 0.94; irregular 20% 0.85 -> 0.92) and less in 3 (irregular
    # 5% 0.70 -> 0.53), with 5-30% fewer of them (docs/results/pseudo_label_rules_offline_*)
    # In the sixth matrix run, the pseudo-particles were at least 90% right in 8 of 12
    # regime-budgets (5 of 12 before); not with 4-15 labels (docs/benchmarks.md)
    pseudo_label_views: int = _setting(
        8, "self-training: the probability map behind the pseudo-labels is the mean over this "
           "many symmetric views of each micrograph (1, 2, 4 or 8: rotations by 90 degrees "
           "and mirror images): a particle looks like one from every side, a chance pattern "
           "rarely does (1: the seed's single pass)")
    # ours: with fewer labels than the density rule needs (picking/density.py), nothing keeps
    # junk out of the confident peaks: on the benchmark matrix at 5% labels (4-10), the
    # pseudo-particles were 17-62% right on large-carbon and irregular, and no guard tried
    # offline on the maps or the classifier's scores reached 90%. Paired, the three runs
    # that took any did better without them: last round AP +0.058, +0.096, +0.007 (the
    # ensemble within 0.004) (docs/benchmarks.md, "Pseudo-particles need enough labels")
    pseudo_particle_min_labels: int = _setting(
        MIN_LABELS, "self-training adds pseudo-particles only with at least this many "
                    "hand-picked particles; with fewer, its rounds add reliable background "
                    "only (0: always; not with --pseudo-labels pixels or --teacher)")
    # ours: the second round's new pseudo-particles held most of the wrong ones (aggregate
    # members, carbon): retrained on the first round's, the network grows confident on
    # particle-like junk. Those the first round had taken too were 91-100% right in 21 of 22
    # saved matrix cells. On the matrix at 20% and 50% labels (usual micrographs, two label
    # seeds) the pseudo-particles were then at least 90% right in 15 of 15 cells (11 of 16
    # before); the default's AP +0.002 on average over 26 usual and fresh cells
    # (docs/benchmarks.md, "Pseudo-particles found twice")
    confirm_pseudo_particles: bool = _setting(
        True, "self-training rounds after the first keep only the pseudo-particles the round "
              "before took and the retrained network still finds, and add no new ones: the "
              "labels grow once, in the first round (--no-confirm-pseudo-particles: every "
              "round takes the confident peaks anew, the seed's)")
    # experimental (docs/benchmarks.md, "A teacher for self-training"): offline, on 5% labels,
    # the top quarter of the fused map's candidates were 80% right against the U-Net's 64%
    teacher: str = _setting(
        "", "experimental: a train-fixmatch model trained on the same labels; self-training "
            "then takes its pseudo-particles from the mean of that classifier's map and the "
            "U-Net's (weighed as combine weighs them), the best-scored first, as many as "
            "--teacher-share of the particles expected but not labelled (needs a particle "
            "count and --pseudo-labels discs)")
    teacher_share: float = _setting(
        0.25, "with --teacher: pseudo-particles per micrograph and round, as a share of the "
              "particles expected on it but not labelled")
    retrain_rest: str = _setting(
        "ignored", "in self-training, the pixels neither particle nor reliable background: "
                   "ignored (the seed's) or unlabelled (the PU objective again, with the "
                   "particles not yet found as its prior; needs a particle count)")
    # ours, off: hand-picked particles sit a few pixels off centre, and the label discs then
    # bridge touching particles (picking/centring.py). Third simulated set, 20% labels, clicks
    # 0.1 diameter off: the default's AP +0.018 over the four regimes (crowded 0.815 ->
    # 0.881); with exact labels large-carbon lost 0.069 (docs/benchmarks.md, "Hand-picked
    # labels off centre")
    centre_labels: bool = _setting(
        False, "before training, move each hand-picked particle to where the labels' mean "
               "particle (averaged over rotations) matches the micrograph best, within a "
               "quarter diameter of the click, if clearly better than at the click (with at "
               "least 15 labels); for small round particles picked by hand")
    particle_diameter: float = _setting(
        0.0, "particle diameter in pixels (0: 2 x particle radius)")
    pixel_size: float = _setting(
        0.0, "A/px of the micrographs (0: unknown); lets the model pick other pixel sizes")
    base_features: int = _setting(64, "U-Net width (64, the seed's: ~31M parameters)")
    crop_size: int = _setting(128, "training crop, working pixels (a multiple of 16)")
    crops_per_image: int = _setting(8, "random crops per micrograph per epoch")
    # ours: with few labels most random crops hold no labelled particle, and the few that do
    # carry the whole positive signal of an epoch
    particle_crops: float = _setting(
        0.0, "share of the training crops placed on a (hand-picked or pseudo-) particle; "
             "the rest anywhere (0: the seed's uniform crops)")
    # ours: a crop's background level says nothing about particles (carbon, thicker ice and
    # gradients shift it by about a robust standard deviation), but a network trained on
    # micrographs without carbon learns that a darker region is a denser one. Benchmark
    # matrix at 20% labels, paired with the same code without it (docs/benchmarks.md,
    # "Intensity jitter in U-Net training, and overlapping picks"): the U-Net's last round
    # AP +0.003 to +0.149 per regime; the ensemble's best F1 up in 8 of 8 runs, its AP in 6
    # (the other two -0.001)
    intensity_jitter: float = _setting(
        1.0, "random level shift of each training crop, in robust standard deviations: an "
             "offset and a linear ramp of up to this much each, and a gain of up to "
             "exp(+-jitter / 4) (0: none, the seed's crops)")
    # ours: with few labels the loss jumps from batch to batch and the last update's weights
    # are a noisy draw; their running average is a steadier model (benchmark matrix, 5%
    # labels, seed 0, round 2: AP +0.12 crowded, +0.18 large-carbon, -0.004 apoferritin,
    # -0.08 irregular; over two seeds within the seed-to-seed spread)
    weight_average: float = _setting(
        0.99, "decay of a running average of the weights over each phase's updates, which "
              "then becomes the phase's model (0: the seed's last weights)")
    working_diameter: float = _setting(DEFAULT_WORKING_DIAMETER,
                                       "particle diameter in pixels after binning")
    pick_threshold: float = _setting(
        0.5, "picking threshold stored in the model when no validation labels are given and "
             "the threshold is not chosen from the labels")
    auto_threshold: bool = _setting(
        True, "without validation labels, choose the picking threshold: with --expected-"
              "particles, keep 15% more picks than particles on the training micrographs; "
              "without, the best F1 estimated from the hand-picked labels; off: "
              "--pick-threshold")
    seed: int = _setting(0, "random seed (runs with the same seed repeat exactly)")

    def radius(self):
        if self.particle_radius is not None:
            return float(self.particle_radius)
        return self.particle_diameter / 2.0 if self.particle_diameter else SEED_PARTICLE_RADIUS

    def diameter(self):
        return self.particle_diameter or 2.0 * self.radius()

    def validate(self):
        checks = [
            (self.particle_radius is None or self.particle_radius > 0,
             "particle radius must be > 0"),
            (self.particle_diameter >= 0, "particle diameter must be >= 0"),
            (self.pixel_size >= 0, "pixel size must be >= 0"),
            (self.initial_epochs >= 1, "initial epochs must be >= 1"),
            (self.self_training_iterations >= 0, "self-training iterations must be >= 0"),
            (self.retrain_epochs >= 1 or self.self_training_iterations == 0,
             "retrain epochs must be >= 1"),
            (self.learning_rate > 0, "learning rate must be > 0"),
            (self.batch_size >= 1, "batch size must be >= 1"),
            (0 <= self.negative_threshold < self.positive_threshold <= 1,
             "thresholds must satisfy 0 <= negative < positive <= 1"),
            (0 <= self.pick_threshold <= 1, "picking threshold must be within [0, 1]"),
            (0 <= self.negative_quantile < 1, "negative quantile must be within [0, 1)"),
            (self.base_features >= 2, "base features must be >= 2"),
            (self.crop_size >= 16 and self.crop_size % 16 == 0,
             "crop size must be a multiple of 16, at least 16"),
            (self.crops_per_image >= 1, "crops per image must be >= 1"),
            (0 <= self.particle_crops <= 1, "particle crops must be within [0, 1]"),
            (0 <= self.intensity_jitter <= 10, "intensity jitter must be within [0, 10]"),
            (0 <= self.weight_average < 1, "weight average must be within [0, 1)"),
            (self.working_diameter > 0, "working diameter must be > 0"),
            (self.objective in OBJECTIVES, f"objective must be one of {', '.join(OBJECTIVES)}"),
            (self.expected_particles >= 0, "expected particles must be >= 0"),
            (self.retrain_rest in RETRAIN_REST,
             f"retrain rest must be one of {', '.join(RETRAIN_REST)}"),
            (self.pseudo_labels in PSEUDO_LABELS,
             f"pseudo labels must be one of {', '.join(PSEUDO_LABELS)}"),
            (0 < self.teacher_share <= 1, "teacher share must be within (0, 1]"),
            (self.pseudo_particle_min_labels >= 0, "pseudo particle min labels must be >= 0"),
            (not self.teacher or (self.pseudo_labels == "discs" and self.objective == "nnpu"),
             "a teacher needs --pseudo-labels discs and --objective nnpu (its share is of "
             "the particle count)"),
            (self.pseudo_label_views in PSEUDO_LABEL_VIEWS, "pseudo label views must be one "
             f"of {', '.join(map(str, PSEUDO_LABEL_VIEWS))}"),
        ]
        for ok, message in checks:
            if not ok:
                raise CryopickInputError(message)
        return self


def flag(name):
    return "--" + name.replace("_", "-")


def add_flags(parser):
    """One command-line flag per field, default and help from the field."""
    import argparse

    for f in dataclasses.fields(UNetTrainConfig):
        kind = f.type if isinstance(f.type, type) else float  # Optional[float]
        text = f.metadata["help"].replace("%", "%%")  # argparse formats help with %
        if kind is bool:
            parser.add_argument(flag(f.name), action=argparse.BooleanOptionalAction,
                                default=f.default, help=text)
        else:
            parser.add_argument(flag(f.name), type=kind, default=f.default, help=text)


def from_args(args):
    return UNetTrainConfig(**{f.name: getattr(args, f.name)
                              for f in dataclasses.fields(UNetTrainConfig)})


def to_flags(cfg):
    """The flags that give ``cfg`` back through the command line (non-default fields)."""
    out = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if value == f.default:
            continue
        if isinstance(value, bool):
            out.append(flag(f.name) if value else "--no-" + flag(f.name)[2:])
        else:  # quoted: a path may hold spaces ("my project")
            out.append(f"{flag(f.name)} {shlex.quote(str(value))}")
    return out
