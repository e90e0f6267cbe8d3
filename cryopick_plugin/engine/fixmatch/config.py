"""The Selective FixMatch configuration: the seed's YAML sections and keys, plus ours.

    dataset / model / loss / optimizer / training

Every key has a type and a default; a file with an unknown key or a value of the wrong type
is rejected with the key's dotted name, so a typo never silently falls back to a default.
``seed_behaviour()`` gives the seed's plain method (its ResNet18, positives-only supervision,
no class balance, no candidate sampling) for comparison.
"""
import dataclasses
import os

from ..errors import CryopickInputError


@dataclasses.dataclass
class DatasetConfig:
    # the seed's keys
    batch_size: int = 64  # unlabelled patches per step (positives and negatives: a quarter each)
    num_workers: int = 8  # threads reading and binning micrographs
    load_into_ram: bool = True  # False: binned micrographs are memory-mapped from the run folder
    # ours: the data
    image_dir: str = ""
    coords_file: str = ""
    coords_format: str = "auto"
    pattern: str = ""
    val_image_dir: str = ""  # fully labelled validation micrographs (optional)
    val_coords_file: str = ""
    test_image_dir: str = ""  # fully labelled test micrographs for results.json (optional)
    test_coords_file: str = ""
    particle_diameter: float = 0.0  # px of the input micrographs (required)
    pixel_size: float = 0.0  # A/px, 0 if unknown
    working_diameter: float = 24.0  # particle diameter after binning (the U-Net's)
    patch_size: int = 128  # working px
    # share of the unlabelled patches centred on blob-detector candidates (the rest are at
    # random positions): without it nearly every unlabelled patch is background and the
    # consistency loss only ever confirms "background"
    candidate_fraction: float = 0.5
    val_fraction: float = 0.2  # labelled positives held out for validation when no val set
    # each labelled positive of a training step cut at its label moved by a normal offset of
    # this share of the working diameter in x and in y, drawn anew every step: hand-picked
    # clicks sit off centre and the picking grid's nodes fall between particle centres
    # (0: exactly at the labels, the seed's positives)
    positive_shift: float = 0.0
    # particles a micrograph holds, as the user estimates it (0: unknown); the picking
    # threshold then comes from the count, and loss.negatives="pu" needs it for the share of
    # random positions that are unlabelled particles
    expected_particles: float = 0.0


#: the side of the compact network's patch: its receptive field, working px (network.py's
#: CompactNet.WINDOW; here so that the protocol forms can name it without importing torch)
COMPACT_WINDOW = 68


@dataclasses.dataclass
class ModelConfig:
    # compact (ours): a small unpadded network that scores a whole micrograph in one pass
    # (its patches are its COMPACT_WINDOW px window; dataset.patch_size is unused); or the seed's
    # resnet18, or resnet34 / resnet50
    backbone: str = "compact"
    dropout: float = 0.3
    ema_decay: float = 0.999


@dataclasses.dataclass
class LossConfig:
    consistency_weight: float = 1.0  # lambda after the ramp
    confidence_threshold: float = 0.8  # tau
    rampup_epochs: int = 10
    # ours, against collapse with few labels (see docs/fixmatch.md)
    # "random": unlabelled patches at random positions away from the labels are negatives in
    # the supervised loss (most random positions are not particle centres); "none": the seed's
    # positives-only supervised loss; "pu": random positions are unlabelled, not background
    # (nnPU risk with the share of them centred on a particle, from dataset.expected_particles:
    # in crowded micrographs a third of the "random" negatives sit on a particle)
    negatives: str = "random"
    # average the consistency loss per pseudo-class, so the majority class (background) cannot
    # drown the few confident particles
    class_balanced: bool = True


@dataclasses.dataclass
class OptimizerConfig:
    lr: float = 0.001
    weight_decay: float = 0.0001


@dataclasses.dataclass
class TrainingConfig:
    epochs: int = 50
    early_stopping_patience: int = 15
    steps_per_epoch: int = 20
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # CPU threads for torch (0: torch default)
    pick_threshold: float = 0.5  # used when auto_threshold is off or finds nothing
    # choose the threshold from the labels (Lee & Liu's PU criterion on picks of the labelled
    # micrographs) when no fully labelled validation set is given
    auto_threshold: bool = True
    pick_stride: float = 0.25  # dense scoring grid step, fraction of the working diameter


@dataclasses.dataclass
class FixMatchConfig:
    dataset: DatasetConfig = dataclasses.field(default_factory=DatasetConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)

    def to_dict(self):
        return dataclasses.asdict(self)

    def validate(self):
        d, m, lo, o, t = self.dataset, self.model, self.loss, self.optimizer, self.training
        checks = [
            (d.batch_size >= 4, "dataset.batch_size must be >= 4"),
            (d.num_workers >= 0, "dataset.num_workers must be >= 0"),
            (d.particle_diameter > 0, "dataset.particle_diameter (px) must be > 0"),
            (d.pixel_size >= 0, "dataset.pixel_size must be >= 0"),
            (d.working_diameter > 0, "dataset.working_diameter must be > 0"),
            (d.patch_size >= 32, "dataset.patch_size must be >= 32 (ResNet downsamples 32x)"),
            (0 <= d.candidate_fraction <= 1, "dataset.candidate_fraction must be within [0, 1]"),
            (0 <= d.val_fraction < 1, "dataset.val_fraction must be within [0, 1)"),
            (0 <= d.positive_shift <= 0.5, "dataset.positive_shift must be within [0, 0.5]"),
            (m.backbone in BACKBONES, f"model.backbone must be one of {', '.join(BACKBONES)}"),
            (0 <= m.dropout < 1, "model.dropout must be within [0, 1)"),
            (0 <= m.ema_decay < 1, "model.ema_decay must be within [0, 1)"),
            (lo.consistency_weight >= 0, "loss.consistency_weight must be >= 0"),
            (0.5 <= lo.confidence_threshold <= 1, "loss.confidence_threshold must be within [0.5, 1]"),
            (lo.rampup_epochs >= 0, "loss.rampup_epochs must be >= 0"),
            (d.expected_particles >= 0, "dataset.expected_particles must be >= 0"),
            (lo.negatives in NEGATIVES, f"loss.negatives must be one of {', '.join(NEGATIVES)}"),
            (lo.negatives != "pu" or d.expected_particles > 0,
             "loss.negatives=pu needs dataset.expected_particles (particles per micrograph)"),
            (o.lr > 0, "optimizer.lr must be > 0"),
            (o.weight_decay >= 0, "optimizer.weight_decay must be >= 0"),
            (t.epochs >= 1, "training.epochs must be >= 1"),
            (t.early_stopping_patience >= 1, "training.early_stopping_patience must be >= 1"),
            (t.steps_per_epoch >= 1, "training.steps_per_epoch must be >= 1"),
            (0 <= t.pick_threshold <= 1, "training.pick_threshold must be within [0, 1]"),
            (t.pick_stride > 0, "training.pick_stride must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise CryopickInputError(message)
        return self


BACKBONES = ("resnet18", "resnet34", "resnet50", "compact")
NEGATIVES = ("random", "none", "pu")
SECTIONS = [f.name for f in dataclasses.fields(FixMatchConfig)]


def _coerce(value, default, key, source):
    """The value if it has the default's type (ints are fine for floats), else an error."""
    kind = type(default)
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:  # str; None means "not set" for paths
        ok = isinstance(value, str) or value is None
        value = "" if value is None else value
    if not ok:
        raise CryopickInputError(
            f"{source}: '{key}' must be {kind.__name__}, got {type(value).__name__} ({value!r})")
    return value


def config_from_dict(data, source="config"):
    cfg = FixMatchConfig()
    if data is None:
        return cfg
    if not isinstance(data, dict):
        raise CryopickInputError(f"{source}: expected sections {', '.join(SECTIONS)}")
    for section, values in data.items():
        if section not in SECTIONS:
            raise CryopickInputError(
                f"{source}: unknown section '{section}' (known: {', '.join(SECTIONS)})")
        if values is None:
            continue
        if not isinstance(values, dict):
            raise CryopickInputError(f"{source}: section '{section}' must be a mapping")
        target = getattr(cfg, section)
        known = {f.name for f in dataclasses.fields(target)}
        for key, value in values.items():
            if key not in known:
                raise CryopickInputError(
                    f"{source}: unknown key '{section}.{key}' (known: {', '.join(sorted(known))})")
            setattr(target, key, _coerce(value, getattr(target, key), f"{section}.{key}", source))
    return cfg


def load_config(path):
    import yaml

    if not os.path.isfile(path):
        raise CryopickInputError(f"{path}: config file does not exist")
    try:
        with open(path) as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise CryopickInputError(f"{path}: not valid YAML ({exc})") from None
    return config_from_dict(data, path)


def set_value(cfg, dotted, text, source="--set"):
    """Apply one 'section.key=value' override (value parsed as YAML: 0.5, true, abc)."""
    import yaml

    section, _, key = dotted.partition(".")
    data = cfg.to_dict()
    data.setdefault(section, {})[key] = yaml.safe_load(text)  # unknown names fail below
    return config_from_dict(data, source)


def save_config(cfg, path):
    import yaml

    with open(path, "w") as fh:
        yaml.safe_dump(cfg.to_dict(), fh, sort_keys=False)
    return path


def seed_behaviour(cfg=None):
    """The seed's selective FixMatch exactly: none of cryopick's anti-collapse measures."""
    cfg = cfg or FixMatchConfig()
    cfg.model.backbone = "resnet18"
    cfg.loss.negatives = "none"
    cfg.loss.class_balanced = False
    cfg.dataset.candidate_fraction = 0.0
    cfg.dataset.positive_shift = 0.0
    return cfg
