"""Simulated data regimes of the benchmark matrix (``benchmarks.matrix``), made to look like
real data with ``../shared/bench/simulate.py``.

Each regime is one ``simulate.py`` call (seeded, so the same folder always holds the same
micrographs) plus the split into training and test micrographs. The particle diameter in
pixels is the one simulate.py writes into its truth files: twice the 99.5th percentile of the
atoms' distance from the model's centre of mass (``MODEL_DIAMETER_A``), divided by ``apix``.

| regime | model | A/px | diameter | micrographs (training) | true particles per micrograph | SNR | distractors |
|---|---|---:|---:|---|---:|---:|---|
| crowded | 4v1w (apoferritin-like) | 4.8 | 27.3 px | 5 x 512^2 (2) | ~150 (area 0.35: ~630 per 1024^2) | 0.03 | carbon edge in 1 of 4 fields |
| apoferritin | 6z6u | 1.5 | 87.6 px | 16 x 1024^2 (4) | ~37 (area 0.22) | 0.05 | simulate.py's defaults |
| large-carbon | 3jb9 | 2.5 | 121.9 px | 30 x 1024^2 (6) | ~14 | 0.05 | carbon edge in every field, 3 ice blobs, 2 aggregates, 6 fragments, particles on carbon |
| irregular | 6qt9 | 3.5 | 77.0 px | 12 x 1024^2 (4) | ~45 (area 0.2) | 0.05 | simulate.py's defaults |

simulate.py's defaults: a carbon edge in half the fields, 1 ice blob, 1.5 aggregates and 4
fragments per micrograph on average, particles on carbon.

Test sets hold a few hundred particles (crowded ~450, apoferritin ~450, large-carbon ~340,
irregular ~360). Until 2026-12-03 large-carbon had 6 test micrographs (84 particles) and
irregular 4 (~180): too few to tell 0.03 apart. At 20% labels the ensemble's AP moved by 0.14
between two label seeds on large-carbon (0.63 / 0.77) and its best F1 by 0.09 on irregular.
Apoferritin had 4 (~150 particles) until the seventh run: its 20% cell was decided by
0.005 AP, about one particle. More test micrographs leave the training micrographs and labels
as they were: simulate.py seeds micrograph i with [seed, i], and the first n_train (by name)
are the training set.

``crowded`` is what binned real data look like (e.g. EMPIAR-10017 binned x4: 27 px particles
touching each other); its micrographs are 512^2 at the same density per area, to keep picking
cheap (the particle is already about cryopick's 24 px working size, so nothing is binned away).
"""
import hashlib
import math
import os
from dataclasses import dataclass, field, replace

# Diameter (A) that simulate.py gives each model (2 x 99.5th percentile of the atom radius
# about the centre of mass, hydrogens dropped), measured with simulate.read_model.
MODEL_DIAMETER_A = {
    "6z6u.pdb": 131.34,
    "models/4v1w.cif": 130.86,
    "models/6qt9.cif": 269.42,
    "models/3jb9.cif": 304.84,
}


@dataclass(frozen=True)
class Regime:
    name: str
    description: str
    model: str                  # path relative to the simulator folder
    apix: float                 # A/px
    size: int                   # micrograph side (px)
    n_micrographs: int
    n_train: int                # the first n_train micrographs (by name) are the training set
    density: float = 0.22       # area fraction of true particles (simulate.py --density)
    n_particles: int = 0        # > 0: mean particles per micrograph instead of the density
    snr: float = 0.05           # particle SNR against shot noise (simulate.py --snr)
    sim_args: tuple = field(default_factory=tuple)  # further simulate.py flags
    seed: int = 0

    @property
    def diameter_px(self):
        return MODEL_DIAMETER_A[self.model] / self.apix

    def expected_particles(self, size=None):
        """Mean number of true particles simulate.py aims for on one size x size micrograph
        (before it gives up placing particles into a full field)."""
        size = self.size if size is None else size
        if self.n_particles:
            return self.n_particles * (size / self.size) ** 2
        r = self.diameter_px / 2
        return self.density * size * size / (math.pi * r * r)

    @property
    def area_fraction(self):
        r = self.diameter_px / 2
        return self.expected_particles() * math.pi * r * r / self.size ** 2

    def simulate_args(self, simulator_dir, out):
        args = ["--model", os.path.join(simulator_dir, self.model), "--out", out,
                "--n-micrographs", self.n_micrographs, "--size", self.size,
                "--apix", self.apix, "--snr", self.snr, "--seed", self.seed]
        args += ["--n-particles", self.n_particles] if self.n_particles else \
            ["--density", self.density]
        return [str(a) for a in args + list(self.sim_args)]

    def folder(self, data_root):
        """Cache folder: named by the regime and a hash of every simulate.py setting, so a
        changed setting never reuses stale micrographs."""
        key = " ".join(self.simulate_args("", ""))
        digest = hashlib.sha1(key.encode()).hexdigest()[:8]
        return os.path.join(data_root,
                            f"{self.name}-{self.size}px-{self.n_micrographs}mic-{digest}")

    def scaled(self, size, n_micrographs, n_train, suffix="-quick"):
        """The same specimen on smaller / fewer micrographs (density per area kept)."""
        n = max(1, int(round(self.n_particles * (size / self.size) ** 2))) if self.n_particles \
            else 0
        return replace(self, name=self.name + suffix, size=size, n_micrographs=n_micrographs,
                       n_train=n_train, n_particles=n)


REGIMES = {
    "crowded": Regime(
        "crowded", "small particle (27 px) touching its neighbours, low SNR: binned real data",
        "models/4v1w.cif", apix=4.8, size=512, n_micrographs=5, n_train=2, density=0.35,
        snr=0.03, sim_args=("--p-carbon", "0.25")),
    "apoferritin": Regime(
        "apoferritin", "apoferritin at 1.5 A/px (88 px), as in `make bench`",
        "6z6u.pdb", apix=1.5, size=1024, n_micrographs=16, n_train=4),
    "large-carbon": Regime(
        "large-carbon", "large particle (122 px), few per micrograph, carbon edge in every "
        "field, ice contamination, aggregates, particles on carbon",
        "models/3jb9.cif", apix=2.5, size=1024, n_micrographs=30, n_train=6, n_particles=14,
        sim_args=("--p-carbon", "1.0", "--carbon-particle-density", "0.1",
                  "--n-ice-blobs", "3", "--n-aggregates", "2", "--n-fragments", "6")),
    "irregular": Regime(
        "irregular", "irregular particle (77 px) at medium density",
        "models/6qt9.cif", apix=3.5, size=1024, n_micrographs=12, n_train=4, density=0.2),
}

# --quick: the crowded regime on four 256^2 micrographs (about 40 particles each)
QUICK_REGIMES = {"crowded-quick": REGIMES["crowded"].scaled(256, 4, 2)}

# Not in the default matrix: the crowded specimen with as many hand-picked particles as a user
# picks on real data (EMPIAR-10017 in issue 11: 746). The matrix's largest label set is ~170
# (crowded 50%), and the ensemble's classifier weight (fusion.EQUAL_WEIGHT_LABELS / n labels)
# was only measured up to there: 8 training micrographs give ~250 / ~625 labels at 20 / 50%.
EXTRA_REGIMES = {"crowded-many-labels": replace(
    REGIMES["crowded"], name="crowded-many-labels",
    description="the crowded specimen on 8 training micrographs: hundreds of labels",
    n_micrographs=12, n_train=8)}

#: every regime `benchmarks.matrix --regimes` accepts
ALL_REGIMES = {**REGIMES, **QUICK_REGIMES, **EXTRA_REGIMES}
