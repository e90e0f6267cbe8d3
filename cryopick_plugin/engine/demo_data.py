"""A small, seeded synthetic cryo-EM dataset with full ground truth, for the demo and tests.

Physics, simplified to stay fast (a 768 x 768 micrograph takes ~0.1 s):
* one fixed asymmetric particle made of a few hundred Gaussian pseudo-atoms in four lobes;
  each copy gets a uniformly random 3-D orientation and is projected along z (weak-phase:
  the image is linear in the projected potential);
* contrast transfer: the projected potential is filtered by the phase CTF
  sqrt(1 - A^2) sin(chi) + A cos(chi) (300 kV, Cs 2.7 mm, A = 0.07, random underfocus) with a
  B-factor envelope, and negated, so protein is dark on bright ice as in real micrographs;
* smooth ice-thickness variation, white shot-like noise at a chosen particle SNR;
* distractors that a picker must learn to avoid: a carbon film region (dark, textured, sharp
  edge), contamination (large very dark round blobs) and aggregates (clumps of overlapping
  particles, not counted as true particles). True particles avoid carbon and contamination.

Coordinates are x = column, y = row of the array as mrcfile returns it (data[y, x]).
"""
import json
import math
import os

import numpy as np

from .errors import CryopickInputError

VOLTAGE_KV, CS_MM, AMPLITUDE_CONTRAST = 300.0, 2.7, 0.07


def _electron_wavelength_a(kv):
    v = kv * 1e3
    return 12.2643 / math.sqrt(v * (1 + 0.978466e-6 * v))


def _particle_model(rng, radius_px):
    """Pseudo-atom positions (N, 3) of an asymmetric 4-lobe particle, centred, in pixels."""
    centres = np.array([[0.0, 0.0, 0.0], [0.45, 0.1, 0.05], [-0.2, 0.4, -0.1], [0.05, -0.35, 0.3]])
    sizes = np.array([0.42, 0.3, 0.28, 0.24])
    atoms = []
    for c, s in zip(centres, sizes):
        pts = rng.normal(size=(int(900 * s), 3)) * s / 2.2 + c
        atoms.append(pts)
    atoms = np.concatenate(atoms)
    atoms -= atoms.mean(axis=0)
    # scale so that 98% of atoms fall within the particle radius
    extent = np.quantile(np.linalg.norm(atoms, axis=1), 0.98)
    return atoms * (radius_px / extent)


def _random_rotation(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _splat(image, atoms_xy, weight=1.0):
    """Add pseudo-atoms to the image with bilinear weights (sub-pixel positions)."""
    h, w = image.shape
    x, y = atoms_xy[:, 0], atoms_xy[:, 1]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    for dx, dy, wt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)),
                       (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        xi, yi = x0 + dx, y0 + dy
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        np.add.at(image, (yi[ok], xi[ok]), weight * wt[ok])


def _freq2(shape, pixel_size):
    fy = np.fft.fftfreq(shape[0], d=pixel_size)
    fx = np.fft.rfftfreq(shape[1], d=pixel_size)
    return fy[:, None] ** 2 + fx[None, :] ** 2  # 1/A^2


def _gaussian_blur(image, sigma_px):
    f2 = _freq2(image.shape, 1.0)
    return np.fft.irfft2(np.fft.rfft2(image) * np.exp(-2 * (math.pi * sigma_px) ** 2 * f2),
                         s=image.shape)


def _smooth_field(rng, shape, corr_px):
    return _gaussian_blur(rng.normal(size=shape), corr_px)


def _place(rng, n, shape, min_dist, margin, forbidden, tries=4000):
    """Up to n centres at least min_dist apart, margin from the edges, not where forbidden."""
    h, w = shape
    out = []
    for _ in range(tries):
        if len(out) == n:
            break
        x, y = rng.uniform(margin, w - margin), rng.uniform(margin, h - margin)
        if forbidden[int(y), int(x)]:
            continue
        if out and np.min(np.hypot(*(np.array(out) - (x, y)).T)) < min_dist:
            continue
        out.append((x, y))
    return np.array(out).reshape(-1, 2)


def _micrograph(rng, shape, pixel_size, atoms, radius_px, n_particles, snr, distractors):
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    density = np.zeros(shape)
    dark = np.zeros(shape)  # amplitude-like darkening applied after the CTF
    forbidden = np.zeros(shape, dtype=bool)
    info = []
    if distractors and rng.random() < 0.4:
        # carbon: the side of a (slightly curved) line, far from the centre
        angle = rng.uniform(0, 2 * math.pi)
        nx, ny = math.cos(angle), math.sin(angle)
        offset = rng.uniform(0.25, 0.4) * min(h, w)
        signed = (xx - w / 2) * nx + (yy - h / 2) * ny - offset
        signed += 1e-3 * rng.uniform(-1, 1) * ((xx - w / 2) * -ny + (yy - h / 2) * nx) ** 2 / 10
        carbon = 1 / (1 + np.exp(-signed / 1.5))
        density += carbon * (0.6 + 0.25 * _smooth_field(rng, shape, 3) * 20)
        forbidden |= signed > -radius_px
        info.append(dict(type="carbon", normal=[nx, ny], offset_px=offset))
    if distractors and rng.random() < 0.5:
        for _ in range(rng.integers(1, 4)):
            r = rng.uniform(1.0, 2.5) * radius_px
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            d = np.hypot(xx - cx, yy - cy)
            dark += 4.0 / (1 + np.exp((d - r) / 2.0))
            forbidden |= d < r + radius_px
            info.append(dict(type="contamination", x=cx, y=cy, radius_px=r))
    margin = radius_px + 1
    centres = _place(rng, n_particles, shape, 2 * radius_px, margin, forbidden)
    for x, y in centres:
        proj = atoms @ _random_rotation(rng).T
        _splat(density, proj[:, :2] + (x, y))
    if distractors and rng.random() < 0.35:
        free = ~forbidden
        for x, y in centres:
            free[max(0, int(y - 3 * radius_px)):int(y + 3 * radius_px),
                 max(0, int(x - 3 * radius_px)):int(x + 3 * radius_px)] = False
        spot = _place(rng, 1, shape, 0, 2 * radius_px, ~free)
        if len(spot):
            ax, ay = spot[0]
            k = int(rng.integers(4, 9))
            for _ in range(k):
                ox, oy = rng.normal(scale=0.6 * radius_px, size=2)
                _splat(density, (atoms @ _random_rotation(rng).T)[:, :2] + (ax + ox, ay + oy))
            info.append(dict(type="aggregate", x=float(ax), y=float(ay), n=k))
    density = _gaussian_blur(density, 1.0)

    # weak-phase image through the CTF: negate so that protein is dark at low frequency
    defocus_um = rng.uniform(1.0, 2.5)
    lam = _electron_wavelength_a(VOLTAGE_KV)
    s2 = _freq2(shape, pixel_size)
    chi = math.pi * lam * defocus_um * 1e4 * s2 - 0.5 * math.pi * CS_MM * 1e7 * lam ** 3 * s2 ** 2
    ctf = (math.sqrt(1 - AMPLITUDE_CONTRAST ** 2) * np.sin(chi) + AMPLITUDE_CONTRAST * np.cos(chi))
    envelope = np.exp(-60.0 / 4 * s2)  # B = 60 A^2
    signal = -np.fft.irfft2(np.fft.rfft2(density) * ctf * envelope, s=shape)

    inside = np.zeros(shape, dtype=bool)
    for x, y in centres:
        inside |= np.hypot(xx - x, yy - y) < radius_px
    signal_var = float(signal[inside].var()) if inside.any() else float(signal.var())
    noise = rng.normal(scale=math.sqrt(signal_var / snr), size=shape)
    ice = _smooth_field(rng, shape, min(h, w) / 6)
    ice *= 0.5 * math.sqrt(signal_var / snr) / (ice.std() + 1e-12)
    image = signal + noise + ice - dark * math.sqrt(signal_var / snr)
    image = (image - image.mean()) / (image.std() + 1e-12)
    return image.astype(np.float32), centres, info, defocus_um


def _write_star(path, rows):
    with open(path, "w") as fh:
        fh.write("\ndata_\n\nloop_\n_rlnMicrographName #1\n_rlnCoordinateX #2\n_rlnCoordinateY #3\n")
        for name, x, y in rows:
            fh.write(f"{name} {x:.2f} {y:.2f}\n")


def make_demo_dataset(out_dir, n_micrographs=6, size=(768, 768), pixel_size=2.0,
                      particle_diameter_a=150.0, particles_per_micrograph=60,
                      label_fraction=0.3, n_labelled_micrographs=None, snr=0.15,
                      distractors=True, seed=0):
    """Write the dataset into out_dir and return its manifest (also in dataset.json).

    Layout: micrographs/mic_000.mrc ..., truth/coordinates.json and .star (every particle),
    labels/coordinates.json (a random ``label_fraction`` of the particles of the first
    ``n_labelled_micrographs`` micrographs, the "hand-picked" subset), distractors.json.
    """
    import mrcfile

    h, w = (int(size[0]), int(size[1]))
    diameter_px = particle_diameter_a / pixel_size if pixel_size > 0 else 0
    if n_micrographs < 1:
        raise CryopickInputError(f"n_micrographs must be >= 1 (got {n_micrographs})")
    if not 0 <= label_fraction <= 1:
        raise CryopickInputError(f"label_fraction must be in [0, 1] (got {label_fraction})")
    if pixel_size <= 0 or particle_diameter_a <= 0:
        raise CryopickInputError("pixel_size and particle_diameter_a must be > 0")
    if min(h, w) < 3 * diameter_px:
        raise CryopickInputError(
            f"micrograph size {w}x{h} is too small for {diameter_px:.0f} px particles")
    if n_labelled_micrographs is None:
        n_labelled_micrographs = max(1, math.ceil(n_micrographs / 2))
    n_labelled_micrographs = min(n_labelled_micrographs, n_micrographs)

    for sub in ("micrographs", "truth", "labels"):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    radius_px = diameter_px / 2
    atoms = _particle_model(np.random.default_rng([seed, 999]), radius_px)
    truth, labels, distractor_info, defocus, star_rows, names = {}, {}, {}, [], [], []
    for i in range(n_micrographs):
        rng = np.random.default_rng([seed, i])
        image, centres, info, df = _micrograph(rng, (h, w), pixel_size, atoms, radius_px,
                                               particles_per_micrograph, snr, distractors)
        name = f"mic_{i:03d}.mrc"
        with mrcfile.new(os.path.join(out_dir, "micrographs", name), overwrite=True) as mrc:
            mrc.set_data(image)
            mrc.voxel_size = pixel_size
        pts = [[round(float(x), 2), round(float(y), 2)] for x, y in centres]
        truth[name] = pts
        star_rows += [(name, x, y) for x, y in pts]
        if i < n_labelled_micrographs and pts:
            k = max(1, int(round(label_fraction * len(pts)))) if label_fraction > 0 else 0
            keep = np.sort(rng.choice(len(pts), size=k, replace=False))
            labels[name] = [pts[j] for j in keep]
        distractor_info[name] = info
        defocus.append(round(df, 3))
        names.append(name)

    with open(os.path.join(out_dir, "truth", "coordinates.json"), "w") as fh:
        json.dump(truth, fh)
    _write_star(os.path.join(out_dir, "truth", "coordinates.star"), star_rows)
    with open(os.path.join(out_dir, "labels", "coordinates.json"), "w") as fh:
        json.dump(labels, fh)
    with open(os.path.join(out_dir, "distractors.json"), "w") as fh:
        json.dump(distractor_info, fh, indent=1)
    manifest = dict(
        pixel_size=pixel_size, particle_diameter_a=particle_diameter_a,
        particle_diameter_px=diameter_px, box_size_px=int(round(1.25 * diameter_px)),
        voltage_kv=VOLTAGE_KV, spherical_aberration_mm=CS_MM,
        amplitude_contrast=AMPLITUDE_CONTRAST, defocus_um=defocus, seed=seed, size=[h, w],
        snr=snr, label_fraction=label_fraction, micrographs=names,
        labelled_micrographs=names[:n_labelled_micrographs],
        n_true=sum(len(v) for v in truth.values()),
        n_labelled=sum(len(v) for v in labels.values()),
        paths=dict(micrographs="micrographs", truth_json="truth/coordinates.json",
                   truth_star="truth/coordinates.star", labels_json="labels/coordinates.json",
                   distractors="distractors.json"))
    with open(os.path.join(out_dir, "dataset.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    return dict(manifest, out_dir=os.path.abspath(out_dir))
