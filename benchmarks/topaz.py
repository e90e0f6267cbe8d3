"""Topaz (positive-unlabelled CNN picker, ``topaz-em`` on PyPI) as a benchmark baseline.

    python -m benchmarks.run --data /tmp/sim_apof --methods topaz      # Topaz rows only

Used by ``benchmarks.run`` on the same micrographs and labels as cryopick's methods. Topaz
runs in its own virtualenv (``ensure_topaz_env``; torch and topaz pinned below) as whole
processes: ``topaz preprocess`` (Fourier downsampling so the particle is ~14 px across,
plus topaz's GMM normalisation), ``topaz train`` (PU learning, GE-binomial objective, resnet8
with 32 units, initialised from topaz's bundled pretrained resnet8_u32 weights as topaz does by
default) and ``topaz extract`` (non-maximum suppression at about the particle radius). Times
and peak memory are those of the whole process tree, as a user would see them; training time
includes preprocessing the training micrographs, picking time preprocessing the test ones.

Topaz's class prior pi is computed here rather than with ``topaz train -n``: topaz 0.3.20
counts the pixels of the radius-r training disc with a 3-D grid (203 instead of 29 pixels for
r = 3), which makes the prior from ``-n`` 7x too high, and the same miscount inflates its
"observed positive fraction" of labelled pixels, which it subtracts from pi (and, when the
result is <= 0, silently falls back to plain PN learning). ``run_topaz`` passes the ``--pi``
that makes topaz's internal unlabelled prior (pi - p_observed) equal to the correct one.

``topaz train`` has no seed option: scores vary a little from run to run.

Only the standard library and numpy are imported at module level (psutil inside functions).
"""
import glob
import os
import subprocess
import sys
import time

import numpy as np

TOPAZ_VERSION = "0.3.20"
TORCH_VERSION = "2.14.1"
TORCHVISION_VERSION = "0.29.1"
PINNED = (f"torch=={TORCH_VERSION}", f"torchvision=={TORCHVISION_VERSION}",
          f"topaz-em=={TOPAZ_VERSION}")
MARKER = ".cryopick_topaz_installed"

DEFAULT_VENV = os.environ.get(
    "CRYOPICK_TOPAZ_VENV",
    os.path.join(os.path.expanduser("~"), ".cache", "cryopick", f"topaz-{TOPAZ_VERSION}-venv"))

# Downsampled particle diameter to aim for (topaz's guidance: ~10-20 px after downsampling)
TARGET_DIAMETER_PX = 14.0
# Score threshold for extraction: low, so the whole ranking is kept for AP (-6 is p >= 0.0025)
EXTRACT_THRESHOLD = -6.0
# Topaz scores are logits; its natural operating point is p = 0.5
DEFAULT_THRESHOLD = 0.0

CONFIGS = {
    # 1000 updates, as in the benchmark matrix (docs/benchmarks.md, "Topaz's training
    # length": 200 under-trained it; the loss still falls at 1000): 14-33 min a run on 2
    # CPU cores there. Until 2026-12-05, 500 here
    "cpu": dict(device=-1, num_epochs=10, epoch_size=100, minibatch_size=256, radius=3,
                model="resnet8", units=32, num_workers=0),
    # seconds: only checks that the harness runs end to end
    "smoke": dict(device=-1, num_epochs=1, epoch_size=3, minibatch_size=64, radius=3,
                  model="resnet8", units=32, num_workers=0),
    # topaz's own defaults (10 epochs x 1000 updates of 256), for a GPU machine
    "gpu": dict(device=0, num_epochs=10, epoch_size=1000, minibatch_size=256, radius=3,
                model="resnet8", units=32, num_workers=0),
}


# ---------------------------------------------------------------------------- environment

def ensure_topaz_env(venv_dir=DEFAULT_VENV, python=None):
    """Create (once) a virtualenv with the pinned topaz and torch; return the ``topaz`` path.

    Idempotent: skipped when ``venv_dir/bin/topaz`` exists and the marker file written after
    a complete install names the same pins. ``python`` is the interpreter the venv is made
    from (default: the running one; the pinned torch wheels are those for Python 3.11).
    """
    venv_dir = os.path.abspath(venv_dir)
    exe = os.path.join(venv_dir, "bin", "topaz")
    marker = os.path.join(venv_dir, MARKER)
    wanted = " ".join(PINNED)
    if os.path.exists(exe) and os.path.exists(marker):
        with open(marker) as fh:
            if fh.read().strip() == wanted:
                return exe
    os.makedirs(os.path.dirname(venv_dir) or ".", exist_ok=True)
    pip = os.path.join(venv_dir, "bin", "pip")
    if not os.path.exists(pip):
        subprocess.run([python or sys.executable, "-m", "venv", venv_dir], check=True)
    subprocess.run([pip, "install", "--disable-pip-version-check", *PINNED], check=True)
    check = subprocess.run([pip, "check"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"pip check failed in {venv_dir}:\n{check.stdout}{check.stderr}")
    subprocess.run([exe, "--version"], check=True, capture_output=True)
    with open(marker, "w") as fh:
        fh.write(wanted + "\n")
    return exe


# ---------------------------------------------------------------------------- processes

def _tree_rss(proc, psutil):
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        procs = [proc]
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def _run(cmd, log_path, env=None):
    """Run a command; return (wall seconds, peak MB of the summed RSS of it and its children).

    The CPU seconds (user + system) of the command and its waited-for children are left in
    ``_run.last_cpu_s``: unlike wall time they hardly change when other jobs share the cores.

    Without psutil, the peak is the largest maximum RSS of any child process so far
    (``resource.getrusage(RUSAGE_CHILDREN)``), which is per process, not summed.
    """
    import resource

    cmd = [str(c) for c in cmd]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.time()
    peak = 0
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        try:
            import psutil
        except ImportError:
            psutil = None
        if psutil is not None:
            proc = psutil.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            while proc.poll() is None:
                peak = max(peak, _tree_rss(proc, psutil))
                time.sleep(0.1)
            peak_mb = peak / 2 ** 20
        else:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            proc.wait()
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    seconds = time.time() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    _run.last_cpu_s = usage.ru_utime + usage.ru_stime - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"command failed (log {log_path}):\n{' '.join(cmd)}")
    return seconds, peak_mb


def _env(threads):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[k] = str(threads)
    return env


# ---------------------------------------------------------------------------- helpers

def _mrc_shape(path):
    """(rows, columns) from an MRC header (nx = columns, ny = rows)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
    nx, ny, nz = np.frombuffer(head, dtype="<i4")
    if not (0 < nx < 2 ** 20 and 0 < ny < 2 ** 20):
        nx, ny, nz = np.frombuffer(head, dtype=">i4")
    return int(ny), int(nx)


def disc_pixels(radius):
    """Pixels in a 2-D disc: integer offsets with dx^2 + dy^2 <= r^2 (29 for r = 3)."""
    r = int(np.floor(radius))
    d = np.arange(-r, r + 1)
    return int(((d[:, None] ** 2 + d[None, :] ** 2) <= radius ** 2).sum())


def _topaz_disc_pixels(topaz_exe, radius):
    """The count topaz itself uses for the pixels of a training disc (203 for r=3 in 0.3.20)."""
    py = os.path.join(os.path.dirname(topaz_exe), "python")
    out = subprocess.run([py, "-c", "from topaz.stats import pixels_given_radius as p; "
                          f"print(int(p({int(radius)})))"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


def _link(mics, folder):
    """Symlink micrographs as folder/<name>.mrc so topaz's image names are our names."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name in sorted(mics):
        dst = os.path.join(folder, f"{name}.mrc")
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.abspath(mics[name]), dst)
        paths.append(dst)
    return paths


def read_topaz_coords(path):
    """Topaz's coordinate table (tab separated, header image_name x_coord y_coord [score])."""
    out = {}
    with open(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col = {k: i for i, k in enumerate(header)}
        for line in fh:
            f = line.rstrip("\n").split("\t")
            if len(f) < 3:
                continue
            score = float(f[col["score"]]) if "score" in col else 0.0
            out.setdefault(f[col["image_name"]], []).append(
                (float(f[col["x_coord"]]), float(f[col["y_coord"]]), score))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


# ---------------------------------------------------------------------------- topaz

def run_topaz(topaz_exe, train_mics, labels, test_mics, diameter_px, work_dir,
              expected_per_micrograph, config="cpu", threads=2, pretrained=True):
    """Train topaz on labelled training micrographs and pick the test micrographs.

    ``train_mics`` / ``test_mics``: {name (file stem): .mrc path}. ``labels``: {name: (N, 2|3)
    array of x (column), y (row) in original pixels}; training micrographs without labels are
    used as unlabelled data. ``diameter_px``: particle diameter in original pixels.

    ``expected_per_micrograph``: the number of particles a micrograph is expected to hold, as a
    user would estimate it (e.g. by counting a few micrographs by eye); it sets topaz's class
    prior pi = expected * disc_pixels(r) / pixels per downsampled micrograph. The benchmark
    passes the mean true count over the training micrographs, i.e. a good estimate. It is
    passed as ``--pi`` corrected for topaz 0.3.20's disc miscount (see the module docstring).

    ``pretrained``: start from topaz's bundled resnet8_u32 weights (topaz's default).

    Returns dict(picks={name: (M, 3) x, y, score in original pixels} for every test name,
    threshold=0.0 (topaz scores are logits; 0 is p = 0.5, its natural operating point),
    train_s (preprocess of the training set + training), pick_s_per_mic (preprocess + extract
    of the test set, per micrograph), the same as CPU seconds (train_cpu_s,
    pick_cpu_s_per_mic; robust to other jobs on the machine), peak_mb (largest process-tree
    RSS of any step), logs, commands, and the parameters used (scale, pi, radii, ...).
    """
    cfg = dict(CONFIGS[config]) if isinstance(config, str) else dict(config)
    work_dir = os.path.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    env = _env(threads)
    dev = str(cfg["device"])
    scale = max(1, int(round(diameter_px / TARGET_DIAMETER_PX)))
    logs, commands, peaks, cpu, step_peak = {}, {}, [], {}, {}

    def step(key, cmd):
        logs[key] = os.path.join(work_dir, f"{key}.log")
        commands[key] = " ".join(map(str, cmd))
        seconds, mb = _run(cmd, logs[key], env)
        peaks.append(mb)
        step_peak[key] = mb
        cpu[key] = _run.last_cpu_s
        return seconds

    # 1. preprocess: downsample + normalise
    pre = {}
    times = {}
    for split, mics in (("train", train_mics), ("test", test_mics)):
        raw = _link(mics, os.path.join(work_dir, "raw", split))
        pre[split] = os.path.join(work_dir, "preprocessed", split)
        os.makedirs(pre[split], exist_ok=True)
        times[f"preprocess_{split}"] = step(
            f"preprocess_{split}",
            [topaz_exe, "preprocess", "-s", scale, "-d", dev, "-t", 0, "-j", threads,
             "-o", pre[split], *raw]) if raw else 0.0

    def factors(mics, split):
        """Per micrograph (column, row) factors original / downsampled pixels."""
        out = {}
        for name, path in mics.items():
            (r0, c0), (r1, c1) = _mrc_shape(path), _mrc_shape(
                os.path.join(pre[split], f"{name}.mrc"))
            out[name] = (c0 / c1, r0 / r1, r1, c1)
        return out

    train_f = factors(train_mics, "train")
    test_f = factors(test_mics, "test")

    # 2. training targets at the downsampled scale (topaz coordinates are integer pixels)
    targets = os.path.join(work_dir, "train_targets.txt")
    n_labels = 0
    with open(targets, "w") as fh:
        fh.write("image_name\tx_coord\ty_coord\n")
        for name in sorted(train_mics):
            xy = np.asarray(labels.get(name, np.zeros((0, 2))), dtype=np.float64)
            if not len(xy):
                continue
            fx, fy, rows, cols = train_f[name]
            x = np.clip(np.round(xy[:, 0] / fx), 0, cols - 1).astype(int)
            y = np.clip(np.round(xy[:, 1] / fy), 0, rows - 1).astype(int)
            for a, b in zip(x, y):
                fh.write(f"{name}\t{a}\t{b}\n")
            n_labels += len(x)
    if n_labels == 0:
        raise ValueError("topaz needs at least one labelled particle")

    # 3. class prior: correct pi, then compensate for topaz's miscounted labelled fraction
    r = cfg["radius"]
    total_px = sum(rows * cols for _, _, rows, cols in train_f.values())
    k_true, k_topaz = disc_pixels(r), _topaz_disc_pixels(topaz_exe, r)
    pi_true = expected_per_micrograph * len(train_mics) * k_true / total_px
    pi_arg = pi_true + n_labels * (k_topaz - k_true) / total_px
    if not 0 < pi_arg < 1:
        raise ValueError(f"topaz prior out of range: pi={pi_arg:.4g} (true {pi_true:.4g})")

    model_dir = os.path.join(work_dir, "model")
    os.makedirs(model_dir, exist_ok=True)
    for old in glob.glob(os.path.join(model_dir, "model_epoch*.sav")):
        os.remove(old)
    times["train"] = step("train", [
        topaz_exe, "train", "-d", dev, "--num-workers", cfg["num_workers"], "-j", threads,
        "--train-images", pre["train"], "--train-targets", targets,
        "--pi", f"{pi_arg:.6g}", "-r", r, "--model", cfg["model"], "--units", cfg["units"],
        "--num-epochs", cfg["num_epochs"], "--epoch-size", cfg["epoch_size"],
        "--minibatch-size", cfg["minibatch_size"],
        *([] if pretrained else ["--no-pretrained"]),
        "--save-prefix", os.path.join(model_dir, "model"),
        "-o", os.path.join(work_dir, "train_curve.txt")])
    models = sorted(glob.glob(os.path.join(model_dir, "model_epoch*.sav")),
                    key=lambda p: int(p.rsplit("epoch", 1)[1][:-4]))
    if not models:
        raise RuntimeError(f"topaz train wrote no model (log {logs['train']})")
    model = models[-1]

    # 4. extract on the test set; coordinates back to original pixels with the exact factors
    mean_scale = float(np.mean([(f[0] + f[1]) / 2 for f in test_f.values()])) if test_f \
        else float(scale)
    extract_radius = max(1, int(round(diameter_px / 2 / mean_scale)))
    picks_small = os.path.join(work_dir, "picks_downsampled.txt")
    test_pre = [os.path.join(pre["test"], f"{n}.mrc") for n in sorted(test_mics)]
    times["extract"] = step("extract", [
        topaz_exe, "extract", "-m", model, "-r", extract_radius, "-t", EXTRACT_THRESHOLD,
        "-d", dev, "-j", threads, "--num-workers", 0, "-o", picks_small,
        *test_pre]) if test_pre else 0.0
    raw_picks = read_topaz_coords(picks_small) if test_pre else {}
    picks = {}
    for name in test_mics:
        p = raw_picks.get(name, np.zeros((0, 3)))
        fx, fy = test_f[name][:2]
        picks[name] = np.column_stack([p[:, 0] * fx, p[:, 1] * fy, p[:, 2]]) if len(p) \
            else np.zeros((0, 3))

    return dict(
        picks=picks, threshold=DEFAULT_THRESHOLD,
        train_s=times["preprocess_train"] + times["train"],
        pick_s_per_mic=(times["preprocess_test"] + times["extract"]) / max(len(test_mics), 1),
        train_cpu_s=cpu.get("preprocess_train", 0.0) + cpu["train"],
        pick_cpu_s_per_mic=(cpu.get("preprocess_test", 0.0) + cpu.get("extract", 0.0))
        / max(len(test_mics), 1),
        peak_mb=max(peaks), pick_peak_mb=max(step_peak.get("preprocess_test", 0.0),
                                             step_peak.get("extract", 0.0)),
        times=times, cpu_times=cpu, logs=logs, commands=commands, model=model,
        scale=scale, train_radius=r, extract_radius=extract_radius, n_labels=n_labels,
        expected_per_micrograph=float(expected_per_micrograph), pi=pi_true, pi_arg=pi_arg,
        disc_pixels=k_true, topaz_disc_pixels=k_topaz, config=cfg, pretrained=pretrained,
        topaz_version=TOPAZ_VERSION)
