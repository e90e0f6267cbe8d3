"""The benchmark harness end to end on a tiny dataset (seconds; the smoke config trains too
little to measure a picker): the harness must give each method the training micrographs'
labels only, pick the test micrographs, and score what the pickers wrote."""
import json

import numpy as np
import pytest

from benchmarks import run
from cryopick_plugin.engine.demo_data import make_demo_dataset
from cryopick_plugin.engine.io import files
from cryopick_plugin.engine.io.coordinates import read_coordinates
from cryopick_plugin.engine.picking.metrics import evaluate


def test_benchmark_harness_runs(tmp_path, capsys):
    make_demo_dataset(str(tmp_path / "data"), n_micrographs=3, size=(192, 256),
                      particle_diameter_a=60, pixel_size=2.0, particles_per_micrograph=8)
    assert run.main(["--data", str(tmp_path / "data"), "--n-train", "2", "--fractions", "0.5",
                     "--config", "smoke", "--out", str(tmp_path / "out"),
                     "--methods", "unet", "fixmatch", "rescore", "ensemble"]) == 0
    printed = capsys.readouterr().out
    assert "| 50% (" in printed and "| iteration 1 |" in printed and "| baseline |" in printed
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["meta"]["n_train"] == 2 and saved["meta"]["n_test"] == 1
    assert [r["model"] for r in saved["results"]] == ["baseline", "iteration 1", "EMA teacher",
                                                      "final + EMA teacher",
                                                      "final + EMA teacher"]
    assert saved["results"][-1]["method"] == "U-Net + classifier ensemble"
    assert "| Selective FixMatch |" in printed and "| U-Net + FixMatch re-scoring |" in printed
    for r in saved["results"]:
        assert 0 <= r["ap"] <= 1 and r["train_s"] > 0 and r["peak_mb"] > 50
    assert (tmp_path / "out" / "f1_by_fraction.png").stat().st_size > 1000

    truth = read_coordinates(str(tmp_path / "data" / "truth" / "coordinates.json"))
    train, test = ["mic_000", "mic_001"], ["mic_002"]  # sorted names, --n-train 2
    work = tmp_path / "out" / "labels_50"
    # labels: half of each training micrograph's particles, none from the test micrograph
    for method in ("unet", "fixmatch"):
        labels = read_coordinates(str(work / method / "labels.json"))
        assert sorted(labels) == train, method
        for n in train:
            assert len(labels[n]) == round(0.5 * len(truth[n]))
            assert evaluate({n: labels[n]}, {n: truth[n]}, 1.0)["overall"]["precision"] == 1.0
    # each row is the score of the picks its picker wrote on the test micrograph, at the
    # model's own threshold (P / R / F1) and over the whole ranking (AP)
    outputs = [(work / "unet" / "picks_baseline_model.json", work / "unet" / "model" /
                files.UNET_BASELINE),
               # the last round is the final model: its threshold is the one chosen after
               # training (final_model.pt), not the default its own file was saved with
               (work / "unet" / "picks_model_iteration_1.json", work / "unet" / "model" /
                files.UNET_FINAL),
               (work / "fixmatch" / "picks.json", work / "fixmatch" / "model" /
                files.FIXMATCH_BEST_EMA),
               (work / "rescore" / "rescored.json", work / "fixmatch" / "model" /
                files.FIXMATCH_BEST_EMA),
               (work / "ensemble" / "picks.json", work / "ensemble" / "ensemble_model.pt")]
    radius = saved["meta"]["diameter_px"] / 2
    chosen = files.read_torch_file(str(work / "unet" / "model" / files.UNET_FINAL))["threshold"]
    assert chosen != files.read_torch_file(str(work / "unet" / "model" /
                                               files.unet_iteration_model(1)))["threshold"]
    for r, (picks_file, model) in zip(saved["results"], outputs):
        picks = read_coordinates(str(picks_file))
        assert sorted(picks) == test, picks_file
        threshold = files.read_torch_file(str(model))["threshold"]
        kept = {n: p[p[:, 2] >= threshold] for n, p in picks.items()}
        at = evaluate(kept, {n: truth[n] for n in test}, radius)["overall"]
        full = evaluate(picks, {n: truth[n] for n in test}, radius)["overall"]
        assert (r["precision"], r["recall"], r["f1"]) == pytest.approx(
            (at["precision"], at["recall"], at["f1"])), r["model"]
        assert r["ap"] == pytest.approx(full["ap"]) and r["threshold"] == threshold
    assert np.isfinite([r["f1"] for r in saved["results"]]).all()
