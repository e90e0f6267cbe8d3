"""The command line against bad arguments, bad files and unwritable places.

Every case must end with exit status 2 and one stderr line ``cryopick: error: <file or
argument>: <problem>`` (no traceback), found before any training or picking, and leave
nothing behind: no .part file, no partial output. The CLI runs in-process with tiny models
(untrained weights: these tests are about the checks, not the picks).
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest
import torch

from cryopick_plugin.cli import main
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.fixmatch.network import build_classifier
from cryopick_plugin.engine.fixmatch.picker import PatchClassifier
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.io.images import write_mrc
from cryopick_plugin.engine.unet.network import UNet
from cryopick_plugin.engine.unet.picker import UNetPicker


# ------------------------------------------------------------------ data and helpers
@pytest.fixture(scope="module")
def d(tmp_path_factory):
    """Three 128 x 160 micrographs at 2 A/px with 30 px particles, an 8 x 8 one, a
    truncated one, tiny models of both kinds (2 A/px, 30 px particles), coordinate files."""
    root = tmp_path_factory.mktemp("clierr")
    make_demo_dataset(str(root / "data"), n_micrographs=3, size=(128, 160),
                      particle_diameter_a=60, pixel_size=2.0, particles_per_micrograph=5)
    mics = root / "data" / "micrographs"
    (root / "tiny").mkdir()
    write_mrc(str(root / "tiny" / "t.mrc"), np.random.default_rng(0).random((8, 8)), 2.0)
    (root / "broken").mkdir()
    shutil.copy(mics / "mic_000.mrc", root / "broken" / "good.mrc")
    shutil.copy(mics / "mic_001.mrc", root / "broken" / "bad.mrc")
    with open(root / "broken" / "bad.mrc", "r+b") as fh:
        fh.truncate(os.path.getsize(root / "broken" / "bad.mrc") // 2)
    torch.manual_seed(0)
    UNetPicker(UNet(base_features=4), 30, 24, 2.0, threshold=0.0).save(str(root / "unet.pt"))
    PatchClassifier(build_classifier("resnet18", 0.0), "resnet18", 0.0, 30, 24, 32,
                    2.0).save(str(root / "fm.pt"))
    (root / "picks.json").write_text(json.dumps({"mic_000": [[10, 10, 0.9], [60, 60, 0.5]]}))
    (root / "empty_truth.json").write_text(json.dumps({"mic_000": []}))
    return dict(root=root, mics=str(mics), tiny=str(root / "tiny"),
                broken=str(root / "broken"), unet=str(root / "unet.pt"),
                fm=str(root / "fm.pt"), picks=str(root / "picks.json"),
                truth=str(root / "data" / "truth" / "coordinates.json"),
                labels=str(root / "data" / "labels" / "coordinates.json"),
                empty_truth=str(root / "empty_truth.json"))


def _files(folder):
    return sorted(os.path.relpath(os.path.join(r, n), folder)
                  for r, dirs, names in os.walk(folder) for n in names + dirs)


def _main(argv):
    return main([str(a) for a in argv])


def _fails(capsys, where, argv, named):
    """main(argv) exits 2 with one stderr line naming ``named`` and writes nothing in
    ``where``. Returns stdout."""
    before = _files(where)
    assert _main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cryopick: error: ") and named in lines[0], lines[0]
    after = _files(where)
    assert after == before, sorted(set(after) ^ set(before))  # nothing written, no .part
    return out


def _can_write(folder):
    try:
        open(os.path.join(folder, ".probe"), "w").close()
        os.remove(os.path.join(folder, ".probe"))
        return True
    except OSError:
        return False


@pytest.fixture
def read_only(tmp_path):
    """A folder nobody may write into: permission bits, or (root ignores those) the
    immutable attribute."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    immutable = False
    if _can_write(folder):
        try:
            immutable = subprocess.run(["chattr", "+i", str(folder)],
                                       capture_output=True).returncode == 0
        except OSError:
            immutable = False
        if not immutable or _can_write(folder):
            folder.chmod(0o755)
            pytest.skip("cannot make a read-only folder here (root without chattr +i)")
    yield folder
    if immutable:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    folder.chmod(0o755)


def _pick(d, out, *extra, model="unet", images="mics"):
    return ["pick", "--model", d[model], "--image-dir", d[images], "--output", out, *extra]


def _rescore(d, out, *extra):
    return ["rescore", "--model", d["fm"], "--image-dir", d["mics"], "--coords", d["truth"],
            "--output", out, *extra]


def _train_unet(d, out, *extra):
    return ["train-unet", "--image-dir", d["mics"], "--coords-file", d["labels"],
            "--output-dir", out, "--base-features", "4", "--initial-epochs", "1",
            "--self-training-iterations", "0", "--crop-size", "64", "--crops-per-image", "1",
            *extra]


FIXMATCH_TINY = ["--set", "dataset.patch_size=32", "--set", "dataset.batch_size=4",
                 "--set", "dataset.num_workers=0", "--set", "training.epochs=1",
                 "--set", "training.steps_per_epoch=1"]


def _train_fixmatch(d, out, *extra, name="run"):
    return ["train-fixmatch", "--image-dir", d["mics"], "--coords-file", d["labels"],
            "--output-dir", out, "--exp-name", name, "--particle-diameter", "30",
            "--device", "cpu", *FIXMATCH_TINY, *extra]


# ------------------------------------------------------------------ wrong results (2)
@pytest.mark.parametrize("extra, named", [
    (["--batch-size", "-1"], "--batch-size"),
    (["--box-size", "-10", "--format", "box"], "--box-size"),
    (["--threshold", "1.5"], "--threshold"),
    (["--threshold", "nan"], "--threshold"),
    (["--pixel-size", "-2"], "--pixel-size"),
    (["--threads", "-3"], "--threads"),
    (["--views", "3"], "--views"),
])
def test_pick_numeric_arguments(d, tmp_path, capsys, extra, named):
    _fails(capsys, tmp_path, _pick(d, tmp_path / "p", "--format", "txt", *extra), named)


def test_pick_pixel_size_far_from_the_models(d, tmp_path, capsys):
    # 100000 A/px on a 2 A/px model: the particle would be 0.0006 px across
    _fails(capsys, tmp_path, _pick(d, tmp_path / "p.star", "--pixel-size", "100000"),
           "--pixel-size")


@pytest.mark.parametrize("model", ["unet", "fm"])
def test_pick_micrograph_smaller_than_a_particle(d, tmp_path, capsys, model):
    _fails(capsys, tmp_path, _pick(d, tmp_path / "p.star", model=model, images="tiny"),
           "t.mrc")


def test_fixmatch_pick_negative_batch(d, tmp_path, capsys):
    _fails(capsys, tmp_path, _pick(d, tmp_path / "p.star", "--batch-size", "-5", model="fm"),
           "--batch-size")


def test_pickers_refuse_an_image_smaller_than_a_particle():
    from cryopick_plugin.engine.errors import CryopickInputError

    unet = UNetPicker(UNet(base_features=4), 30, 24, 2.0)
    with pytest.raises(CryopickInputError, match="8x8 px is smaller than one particle"):
        unet.pick(np.zeros((8, 8), np.float32))
    fm = PatchClassifier(build_classifier("resnet18", 0.0), "resnet18", 0.0, 30, 24, 32)
    with pytest.raises(CryopickInputError, match="8x8 px is smaller than one particle"):
        fm.pick(np.zeros((8, 8), np.float32))


def test_evaluate_empty_truth_is_an_error(d, tmp_path, capsys):
    # recall and AP divide by the number of true particles: undefined, and an empty truth is
    # almost always the wrong file; an error says so instead of a recall of 1.000
    _fails(capsys, tmp_path, ["evaluate", "--picks", d["picks"], "--truth", d["empty_truth"],
                              "--radius", "5", "--out", tmp_path / "r.json"], "empty_truth.json")


def test_empty_truth_micrograph_with_picks_has_recall_zero():
    from cryopick_plugin.engine.picking.metrics import evaluate

    r = evaluate({"a": np.array([[1, 1, 0.5]]), "b": np.array([[5, 5, 0.5]])},
                 {"a": np.zeros((0, 2)), "b": np.array([[5, 5]])}, 3)
    assert r["per_micrograph"]["a"]["recall"] == 0.0  # not a vacuous 1
    assert r["overall"]["recall"] == 1.0
    nothing = evaluate({"a": np.zeros((0, 3))}, {"a": np.zeros((0, 2))}, 3)["overall"]
    assert (nothing["precision"], nothing["recall"]) == (1.0, 1.0)  # nothing to find, none found


def test_evaluate_counts_a_repeated_true_position_once(tmp_path, capsys):
    truth = tmp_path / "t.json"
    truth.write_text(json.dumps({"m": [[10, 10], [10, 10], [50, 50]]}))
    picks = tmp_path / "p.json"
    picks.write_text(json.dumps({"m": [[10, 10, 0.9], [50, 50, 0.8]]}))
    assert main(["evaluate", "--picks", str(picks), "--truth", str(truth), "--radius", "3",
                 "--out", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "1 repeated true positions counted once" in out
    overall = json.loads((tmp_path / "r.json").read_text())["overall"]
    assert (overall["n_truth"], overall["recall"], overall["ap"]) == (2, 1.0, 1.0)
    assert overall["truth_duplicates"] == 1


# ------------------------------------------------------------------ tracebacks (3)
def test_read_only_output_folder(d, read_only, capsys):
    where = read_only.parent
    _fails(capsys, where, _pick(d, read_only / "p.star"), "p.star")
    _fails(capsys, where, _pick(d, read_only / "picks", "--format", "txt"), "picks")
    _fails(capsys, where, _rescore(d, read_only / "r.star"), "r.star")
    _fails(capsys, where, ["evaluate", "--picks", d["picks"], "--truth", d["truth"],
                           "--radius", "5", "--out", read_only / "r.json"], "r.json")
    _fails(capsys, where, ["evaluate", "--picks", d["picks"], "--truth", d["truth"],
                           "--radius", "5", "--plot", read_only / "pr.png"], "pr.png")
    _fails(capsys, where, ["fixmatch-config", read_only / "c.yaml"], "c.yaml")
    _fails(capsys, where, ["demo-data", read_only / "demo"], "demo")
    # the trainers fail before reading a micrograph, let alone training a baseline
    out = _fails(capsys, where, _train_unet(d, read_only / "model"), "model")
    assert "Epoch" not in out
    out = _fails(capsys, where, _train_fixmatch(d, read_only), "run")
    assert "Epoch" not in out


def test_evaluate_out_into_a_missing_folder(d, tmp_path, capsys):
    for flag, name in (("--out", "r.json"), ("--plot", "pr.png")):
        _fails(capsys, tmp_path, ["evaluate", "--picks", d["picks"], "--truth", d["truth"],
                                  "--radius", "5", flag, tmp_path / "missing" / name], name)


@pytest.mark.parametrize("command", ["pick", "rescore", "train-unet", "train-fixmatch"])
def test_negative_threads(d, tmp_path, capsys, command):
    argv = {"pick": _pick(d, tmp_path / "p.star"), "rescore": _rescore(d, tmp_path / "r.star"),
            "train-unet": _train_unet(d, tmp_path / "m"),
            "train-fixmatch": _train_fixmatch(d, tmp_path)}[command]
    _fails(capsys, tmp_path, argv + ["--threads", "-3"], "--threads")


def test_training_particle_larger_than_the_micrographs(d, tmp_path, capsys):
    # was a cv2 error from binning 160 px by a factor of 4000
    _fails(capsys, tmp_path, _train_unet(d, tmp_path / "m", "--particle-diameter", "100000"),
           "mic_000.mrc")
    argv = _train_fixmatch(d, tmp_path)
    argv[argv.index("--particle-diameter") + 1] = "100000"
    _fails(capsys, tmp_path, argv, "mic_000.mrc")
    _fails(capsys, tmp_path, _train_fixmatch(d, tmp_path, "--set", "training.threads=-2"),
           "training.threads")


def test_rescore_numeric_arguments(d, tmp_path, capsys):
    _fails(capsys, tmp_path, _rescore(d, tmp_path / "r.star", "--batch-size", "0"),
           "--batch-size")
    _fails(capsys, tmp_path, _rescore(d, tmp_path / "r.star", "--pixel-size", "100000"),
           "--pixel-size")


@pytest.mark.parametrize("command", ["pick", "rescore"])
def test_output_that_is_an_existing_folder(d, tmp_path, capsys, command):
    (tmp_path / "isdir.star").mkdir()
    argv = _pick(d, tmp_path / "isdir.star") if command == "pick" else \
        _rescore(d, tmp_path / "isdir.star")
    _fails(capsys, tmp_path, argv, "isdir.star")  # and no isdir.star.part


def test_folder_output_that_is_a_file(d, tmp_path, capsys):
    (tmp_path / "picks").write_text("")
    _fails(capsys, tmp_path, _pick(d, tmp_path / "picks", "--format", "txt"), "picks")


def test_unknown_output_format(d, tmp_path, capsys):
    _fails(capsys, tmp_path, _pick(d, tmp_path / "picks.xyz"), "picks.xyz")


def test_unreadable_micrograph_strict_by_default(d, tmp_path, capsys):
    _fails(capsys, tmp_path, _pick(d, tmp_path / "p", "--format", "txt", images="broken"),
           "bad.mrc")


# ------------------------------------------------------------------ leftovers (4)
def _mics_subset(d, folder, names):
    os.makedirs(folder)
    for n in names:
        shutil.copy(os.path.join(d["mics"], n + ".mrc"), folder)
    return str(folder)


@pytest.mark.parametrize("fmt", ["txt", "box", "csv"])
def test_folder_output_rerun_keeps_no_files_of_earlier_runs(d, tmp_path, capsys, fmt):
    out = tmp_path / "picks"
    first = _mics_subset(d, tmp_path / "first", ["mic_000", "mic_001"])
    second = _mics_subset(d, tmp_path / "second", ["mic_002"])
    assert main(["pick", "--model", d["unet"], "--image-dir", first, "--output", str(out),
                 "--format", fmt]) == 0
    assert sorted(os.listdir(out)) == [".cryopick-output", f"mic_000.{fmt}", f"mic_001.{fmt}"]
    assert main(["pick", "--model", d["unet"], "--image-dir", second, "--output", str(out),
                 "--format", fmt]) == 0
    assert sorted(os.listdir(out)) == [".cryopick-output", f"mic_002.{fmt}"]
    assert sorted(read_coordinates(str(out))) == ["mic_002"]  # what evaluate would count
    capsys.readouterr()


def test_folder_output_refuses_coordinate_files_it_did_not_write(d, tmp_path, capsys):
    out = tmp_path / "picks"
    out.mkdir()
    (out / "mine.txt").write_text("1 2\n")
    _fails(capsys, tmp_path, _pick(d, out, "--format", "txt"), "picks")
    assert (out / "mine.txt").exists()


def test_resume_without_a_checkpoint_says_so(d, tmp_path, capsys):
    assert _main(_train_unet(d, tmp_path / "u", "--resume")) == 0
    assert f"No last_checkpoint.pt in {tmp_path / 'u'}: starting from the beginning" in \
        capsys.readouterr().out
    assert _main(_train_fixmatch(d, tmp_path, "--resume", name="f")) == 0
    assert f"No last_checkpoint.pt in {tmp_path / 'f'}: starting from the beginning" in \
        capsys.readouterr().out


# ------------------------------------------------------------------ killed runs (5)
class _Killed(BaseException):
    """Stands for SIGKILL: nothing in the command catches it."""


def _kill_at_second_call(monkeypatch, owner, name):
    """``owner.name`` (a public method) raises _Killed on its second call."""
    calls, real = [], getattr(owner, name)

    def killed_at_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise _Killed()
        return real(self, *args, **kwargs)
    monkeypatch.setattr(owner, name, killed_at_second)


def _kill_at_second_pick(monkeypatch):
    _kill_at_second_call(monkeypatch, UNetPicker, "pick")


@pytest.mark.parametrize("output, fmt", [("picks.star", "star"), ("picks.json", "json"),
                                         ("picks", "txt")])
def test_killed_pick_keeps_finished_micrographs(d, tmp_path, capsys, monkeypatch, output, fmt):
    out = tmp_path / output
    argv = ["pick", "--model", d["unet"], "--image-dir", d["mics"], "--output", str(out),
            "--format", fmt]
    with monkeypatch.context() as m:
        _kill_at_second_pick(m)
        with pytest.raises(_Killed):
            main(argv)
    capsys.readouterr()
    assert not [p for p in _files(tmp_path) if p.endswith(".part")]
    if fmt == "txt":
        assert sorted(os.listdir(out)) == [".cryopick-output", "mic_000.txt"]
    else:
        assert not out.exists()  # the one file is written only at the end
        assert os.listdir(str(out) + ".parts") == ["mic_000.txt"]
    first = read_coordinates(str(out) + (".parts" if fmt != "txt" else ""), "txt")["mic_000"]

    assert main(argv + ["--skip-existing"]) == 0
    printed = capsys.readouterr().out
    assert "1 micrograph already picked" in printed
    assert "mic_000:" not in printed and "[2/2] mic_002:" in printed
    picks = read_coordinates(str(out), fmt)
    assert sorted(picks) == ["mic_000", "mic_001", "mic_002"]
    np.testing.assert_allclose(picks["mic_000"], first)
    assert not os.path.exists(str(out) + ".parts")


def test_fresh_run_does_not_reuse_a_killed_runs_parts(d, tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.star"
    argv = ["pick", "--model", d["unet"], "--image-dir", d["mics"], "--output", str(out)]
    with monkeypatch.context() as m:
        _kill_at_second_pick(m)
        with pytest.raises(_Killed):
            main(argv)
    assert main(argv) == 0
    assert "[3/3] mic_002:" in capsys.readouterr().out
    assert sorted(read_coordinates(str(out))) == ["mic_000", "mic_001", "mic_002"]
    assert not os.path.exists(str(out) + ".parts")


# ------------------------------------------------------------------ skip unreadable (1)
@pytest.mark.parametrize("output", ["p.star", "picks"])
def test_skip_unreadable_picks_the_others_and_lists_the_bad_one(d, tmp_path, capsys, output):
    out = tmp_path / output
    argv = ["pick", "--model", d["unet"], "--image-dir", d["broken"], "--output", str(out),
            "--skip-unreadable"] + ([] if output.endswith(".star") else ["--format", "txt"])
    assert main(argv) == 0
    captured = capsys.readouterr()
    skipped_lines = [ln for ln in captured.err.splitlines() if "bad.mrc" in ln]
    assert len(skipped_lines) == 1 and "unreadable MRC file" in skipped_lines[0]
    assert sorted(read_coordinates(str(out))) == ["good"]
    listed = json.loads((tmp_path / f"{output}.skipped.json").read_text())
    assert list(listed) == ["bad"] and listed["bad"]["file"].endswith("bad.mrc")
    assert "unreadable MRC file" in listed["bad"]["problem"]


def test_skip_unreadable_fails_when_nothing_could_be_picked(d, tmp_path, capsys):
    images = tmp_path / "allbad"
    images.mkdir()
    shutil.copy(os.path.join(d["broken"], "bad.mrc"), images)
    out = tmp_path / "picks"
    assert main(["pick", "--model", d["unet"], "--image-dir", str(images), "--output",
                 str(out), "--format", "txt", "--skip-unreadable"]) == 2
    err = capsys.readouterr().err
    assert "cryopick: error: " in err and "none of the 1 micrograph could be picked" in err
    assert not out.exists()
    assert list(json.loads((tmp_path / "picks.skipped.json").read_text())) == ["bad"]


def test_rescore_skips_unreadable_and_continues_a_killed_run(d, tmp_path, capsys,
                                                           monkeypatch):
    """rescore --skip-unreadable scores the readable micrographs and lists the bad one; a
    killed rescore keeps the micrographs it finished, and --skip-existing scores only the
    rest."""
    coords = tmp_path / "c.json"
    coords.write_text(json.dumps({"good": [[40, 40], [80, 60]], "bad": [[40, 40]]}))
    out = tmp_path / "r.star"
    argv = ["rescore", "--model", d["fm"], "--image-dir", d["broken"], "--coords", str(coords),
            "--output", str(out), "--keep-all"]
    assert main(argv) == 2 and "bad.mrc" in capsys.readouterr().err  # stops without the flag
    assert not out.exists()
    assert main(argv + ["--skip-unreadable"]) == 0
    err = capsys.readouterr().err
    assert len([ln for ln in err.splitlines() if "skipped" in ln and "bad.mrc" in ln]) == 1
    assert sorted(read_coordinates(str(out))) == ["good"]
    assert len(read_coordinates(str(out))["good"]) == 2
    assert list(json.loads((tmp_path / "r.star.skipped.json").read_text())) == ["bad"]

    folder = tmp_path / "scored"
    argv = _rescore(d, folder, "--format", "txt", "--keep-all")
    with monkeypatch.context() as m:
        _kill_at_second_call(m, PatchClassifier, "score_coordinates")
        with pytest.raises(_Killed):
            _main(argv)
    assert sorted(os.listdir(folder)) == [".cryopick-output", "mic_000.txt"]
    first = read_coordinates(str(folder), "txt")["mic_000"]
    capsys.readouterr()
    assert _main(argv + ["--skip-existing"]) == 0
    printed = capsys.readouterr().out
    assert "1 micrograph already scored" in printed and "mic_000:" not in printed
    scored = read_coordinates(str(folder), "txt")
    assert sorted(scored) == ["mic_000", "mic_001", "mic_002"]
    np.testing.assert_allclose(scored["mic_000"], first)


def test_two_images_of_one_name_are_refused_not_one_dropped(d, tmp_path, capsys):
    images = tmp_path / "twins"
    images.mkdir()
    shutil.copy(os.path.join(d["mics"], "mic_000.mrc"), images / "mic_a.mrc")
    shutil.copy(os.path.join(d["mics"], "mic_001.mrc"), images / "mic_b.mrc")
    import cv2

    cv2.imwrite(str(images / "mic_a.png"), np.zeros((128, 160), np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    _fails(capsys, str(out), ["pick", "--model", d["unet"], "--image-dir", str(images),
                              "--output", str(out / "picks.star")], "'mic_a'")
