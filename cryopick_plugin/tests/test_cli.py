"""The cryopick command line: evaluate on files, errors as one clear line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from cryopick_plugin.cli import main


def test_evaluate_prints_table_and_writes_json_and_plot(tmp_path, capsys):
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"m1.mrc": [[10, 10], [50, 50]], "m2.mrc": [[20, 20]]}))
    picks = tmp_path / "picks.star"
    picks.write_text("data_\nloop_\n_rlnMicrographName\n_rlnCoordinateX\n_rlnCoordinateY\n"
                     "_rlnAutopickFigureOfMerit\nm1.mrc 11 10 0.9\nm1.mrc 90 90 0.8\n"
                     "m2.mrc 20 22 0.7\n")
    out, plot = tmp_path / "r.json", tmp_path / "pr.png"
    assert main(["evaluate", "--picks", str(picks), "--truth", str(truth), "--diameter", "10",
                 "--out", str(out), "--plot", str(plot)]) == 0
    printed = capsys.readouterr().out
    assert "| **all** | 3 | 3 | 2 | 0.667 | 0.667 | 0.667 |" in printed
    result = json.loads(out.read_text())
    assert result["overall"]["radius"] == 5.0
    # ranks: hit (0.9), miss (0.8), hit (0.7) -> AP = (1 + 2/3) / 3
    assert result["overall"]["ap"] == pytest.approx((1 + 2 / 3) / 3)
    assert plot.stat().st_size > 1000


def test_truth_against_itself(tmp_path, capsys):
    truth = tmp_path / "t.json"
    truth.write_text(json.dumps({"a.png": [[1, 2], [30, 40]]}))
    assert main(["evaluate", "--picks", str(truth), "--truth", str(truth), "--radius", "3"]) == 0
    assert "| **all** | 2 | 2 | 2 | 1.000 | 1.000 | 1.000 | 1.000 |" in capsys.readouterr().out


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    res = subprocess.run([sys.executable, "-m", "cryopick_plugin.cli", "evaluate", "--picks",
                          str(bad), "--truth", str(bad), "--radius", "3"],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert res.stderr.startswith("cryopick: error: ") and "bad.json" in res.stderr
    assert "Traceback" not in res.stderr


def test_picks_for_unknown_micrographs_need_allow_extra(tmp_path, capsys):
    truth = tmp_path / "t.json"
    truth.write_text(json.dumps({"a.png": [[1, 2]]}))
    picks = tmp_path / "p.json"
    picks.write_text(json.dumps({"a.png": [[1, 2]], "b.png": [[5, 5]]}))
    args = ["evaluate", "--picks", str(picks), "--truth", str(truth), "--radius", "3"]
    assert main(args) == 2
    assert "absent from the truth" in capsys.readouterr().err
    assert main(args + ["--allow-extra"]) == 0


def test_train_unet_then_pick_from_the_command_line(tmp_path, capsys, float32_inference):
    # float32 throughout (the CLI's --precision and the engine's): on a CPU with bfloat16
    # the scores of this barely trained model are too coarse for its own threshold to sit
    # between two picks, and the last check below needs it to; the seed's crops (no
    # intensity jitter) for the same reason: one epoch of shifted crops leaves the scores flat
    from cryopick_plugin.engine.demo_data import make_demo_dataset
    from cryopick_plugin.engine.io.coordinates import read_coordinates
    from cryopick_plugin.engine.io.images import read_micrograph
    from cryopick_plugin.engine.unet.picker import UNetPicker

    make_demo_dataset(str(tmp_path / "d"), n_micrographs=2, size=(192, 256),
                      particle_diameter_a=60, pixel_size=2.0, particles_per_micrograph=8)
    assert main(["train-unet", "--image-dir", str(tmp_path / "d" / "micrographs"),
                 "--coords-file", str(tmp_path / "d" / "labels" / "coordinates.json"),
                 "--output-dir", str(tmp_path / "m"), "--particle-radius", "15",
                 "--initial-epochs", "1", "--self-training-iterations", "1",
                 "--retrain-epochs", "1", "--base-features", "4", "--crop-size", "64",
                 "--crops-per-image", "2", "--intensity-jitter", "0",
                 "--precision", "float32"]) == 0
    out = capsys.readouterr().out
    assert "Self-Training Iteration 1/1" in out and (tmp_path / "m" / "final_model.pt").exists()
    assert main(["pick", "--model", str(tmp_path / "m" / "final_model.pt"), "--image-dir",
                 str(tmp_path / "d" / "micrographs"), "--output", str(tmp_path / "p.star"),
                 "--threshold", "0", "--precision", "float32"]) == 0
    assert "[2/2] mic_001:" in capsys.readouterr().out
    picks = read_coordinates(str(tmp_path / "p.star"))
    assert sorted(picks) == ["mic_000", "mic_001"]
    # the command's picks are the model's picks on each micrograph, in its pixel frame, with
    # their scores (STAR keeps 2 decimals of position and 5 of score); their quality is
    # tested in test_engine_train_unet, this barely trained model has none
    picker = UNetPicker.load(str(tmp_path / "m" / "final_model.pt"))
    for name in ("mic_000", "mic_001"):
        engine = picker.pick(read_micrograph(str(tmp_path / "d" / "micrographs" / f"{name}.mrc")),
                             threshold=0.0)
        assert len(engine) > 0 and picks[name].shape == engine.shape, name
        np.testing.assert_allclose(picks[name][:, :2], engine[:, :2], atol=0.006)
        np.testing.assert_allclose(picks[name][:, 2], engine[:, 2], atol=6e-6)
    # --views 1: the map of each micrograph as it is, not the mean over its symmetric views
    default_views = picker.views
    assert default_views > 1
    assert main(["pick", "--model", str(tmp_path / "m" / "final_model.pt"), "--image-dir",
                 str(tmp_path / "d" / "micrographs"), "--output", str(tmp_path / "one.star"),
                 "--threshold", "0", "--views", "1", "--precision", "float32"]) == 0
    one_view = read_coordinates(str(tmp_path / "one.star"))
    picker.views = 1
    for name in ("mic_000", "mic_001"):
        engine = picker.pick(read_micrograph(str(tmp_path / "d" / "micrographs" / f"{name}.mrc")),
                             threshold=0.0)
        np.testing.assert_allclose(one_view[name][:, 2], engine[:, 2], atol=6e-6)
        assert one_view[name].shape != picks[name].shape or \
            np.abs(one_view[name][:, 2] - picks[name][:, 2]).max() > 1e-4, name
    picker.views = default_views
    # without --threshold: the model's own threshold
    assert main(["pick", "--model", str(tmp_path / "m" / "final_model.pt"), "--image-dir",
                 str(tmp_path / "d" / "micrographs"), "--output", str(tmp_path / "own.json"),
                 "--precision", "float32"]) == 0
    own = read_coordinates(str(tmp_path / "own.json"))
    for name in ("mic_000", "mic_001"):
        engine = picker.pick(read_micrograph(str(tmp_path / "d" / "micrographs" / f"{name}.mrc")))
        assert 0 < len(own[name]) == len(engine) < len(picks[name]), name
        np.testing.assert_allclose(own[name][:, :2], engine[:, :2], atol=0.006)
    # --pattern: only the matching micrographs; one that matches none is an error naming it
    # before anything is written
    mics = str(tmp_path / "d" / "micrographs")
    assert main(["pick", "--model", str(tmp_path / "m" / "final_model.pt"), "--image-dir",
                 mics, "--pattern", "*_001.*", "--output", str(tmp_path / "one.json")]) == 0
    assert sorted(read_coordinates(str(tmp_path / "one.json"))) == ["mic_001"]
    capsys.readouterr()
    assert main(["pick", "--model", str(tmp_path / "m" / "final_model.pt"), "--image-dir",
                 mics, "--pattern", "*.tif", "--output", str(tmp_path / "none.json")]) == 2
    assert "no images matching '*.tif'" in capsys.readouterr().err
    assert not (tmp_path / "none.json").exists()


def test_train_unet_bad_threshold_fails_before_reading(tmp_path, capsys):
    assert main(["train-unet", "--image-dir", str(tmp_path), "--coords-file", str(tmp_path),
                 "--output-dir", str(tmp_path / "o"), "--positive-threshold", "2"]) == 2
    assert "thresholds" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# the seed's train_unet_selftraining.py flags and defaults (seed 000, "Configuration Parameters")
SEED_UNET_FLAGS = {"--particle-radius": 10, "--initial-epochs": 50,
                   "--self-training-iterations": 5, "--retrain-epochs": 20,
                   "--learning-rate": 0.001, "--batch-size": 4, "--positive-threshold": 0.95,
                   "--negative-threshold": 0.05}
# ours instead of the seed's: the training lengths the benchmark matrix measured
MEASURED_DEFAULTS = ("initial_epochs", "self_training_iterations", "retrain_epochs",
                     "batch_size")


def _train_unet_args(*extra):
    from cryopick_plugin.cli import build_parser

    return build_parser().parse_args(["train-unet", "--image-dir", "i", "--coords-file", "c",
                                      "--output-dir", "o", *extra])


def test_train_unet_flags_come_from_the_config_with_the_seeds_defaults():
    import dataclasses

    from benchmarks import run
    from benchmarks.matrix import PROFILES
    from cryopick_plugin.engine.unet.config import UNetTrainConfig, from_args

    args = _train_unet_args()
    for f in dataclasses.fields(UNetTrainConfig):  # one flag per setting, its default
        assert getattr(args, f.name) == f.default, f.name
    cfg = from_args(args)
    for flag, default in SEED_UNET_FLAGS.items():
        name = flag[2:].replace("-", "_")
        value = cfg.radius() if name == "particle_radius" else getattr(cfg, name)
        if name in MEASURED_DEFAULTS:  # the seed's value still reaches the same setting
            value = getattr(from_args(_train_unet_args(flag, str(default))), name)
        assert value == default, flag
    # the measured defaults are what the benchmark matrix runs as "cryopick's default"
    profile = PROFILES["full"]
    matrix = from_args(_train_unet_args(*sum(([f"--{k.replace('_', '-')}", str(v)] for k, v in
                                               run.CONFIGS[profile["unet_config"]].items()),
                                             []), *profile["unet_args"]))
    for name in MEASURED_DEFAULTS:
        assert getattr(cfg, name) == getattr(matrix, name), name
    assert cfg.device == "cpu"
    # the radius follows the diameter unless given
    assert from_args(_train_unet_args("--particle-diameter", "30")).radius() == 15
    assert from_args(_train_unet_args("--particle-diameter", "30",
                                      "--particle-radius", "9")).radius() == 9
    assert from_args(_train_unet_args("--fixed-threshold")).auto_threshold is False


def test_protocol_flags_give_the_same_config_back():
    from cryopick_plugin.engine.unet.config import UNetTrainConfig, from_args, to_flags

    cfg = UNetTrainConfig(particle_diameter=37.5, pixel_size=1.2, initial_epochs=7,
                          learning_rate=3e-4, base_features=16, auto_threshold=False, seed=3)
    flags = " ".join(to_flags(cfg)).split()
    assert from_args(_train_unet_args(*flags)) == cfg


def test_every_command_prints_its_help(capsys):
    """`cryopick <command> --help` lists every flag, each with a help text (a help text with
    a bare % once made train-unet's --help end in a traceback)."""
    from cryopick_plugin.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.choices and "train-unet" in a.choices)
    helps = {}
    for command, parser in sub.choices.items():
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0, command
        helps[command] = capsys.readouterr().out
        for action in parser._actions:
            for option in action.option_strings:
                assert option in helps[command], (command, option)
            assert action.help, (command, action.dest)
    train_unet = " ".join(helps["train-unet"].split())
    assert "keep 15% more picks" in train_unet
    # defaults are named, but not for switches or flags without one
    assert "--seed SEED random seed (runs with the same seed repeat exactly) (default: 0)" \
        in train_unet
    assert "(last_checkpoint.pt; same settings required)" in train_unet
    assert "same settings required) (default" not in train_unet  # --resume is a switch
