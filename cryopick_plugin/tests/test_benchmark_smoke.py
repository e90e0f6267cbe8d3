"""The benchmark harness end to end on a tiny dataset (seconds; measures nothing)."""
import json

from benchmarks import run
from cryopick_plugin.engine.demo_data import make_demo_dataset


def test_benchmark_harness_runs(tmp_path, capsys):
    make_demo_dataset(str(tmp_path / "data"), n_micrographs=3, size=(192, 256),
                      particle_diameter_a=60, pixel_size=2.0, particles_per_micrograph=8)
    assert run.main(["--data", str(tmp_path / "data"), "--n-train", "2", "--fractions", "0.5",
                     "--config", "smoke", "--out", str(tmp_path / "out"),
                     "--methods", "unet", "fixmatch", "rescore"]) == 0
    printed = capsys.readouterr().out
    assert "| 50% (" in printed and "| iteration 1 |" in printed and "| baseline |" in printed
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["meta"]["n_train"] == 2 and saved["meta"]["n_test"] == 1
    assert [r["model"] for r in saved["results"]] == ["baseline", "iteration 1", "EMA teacher",
                                                      "final + EMA teacher"]
    assert "| Selective FixMatch |" in printed and "| U-Net + FixMatch re-scoring |" in printed
    for r in saved["results"]:
        assert 0 <= r["ap"] <= 1 and r["train_s"] > 0 and r["peak_mb"] > 50
    assert (tmp_path / "out" / "f1_by_fraction.png").stat().st_size > 1000
