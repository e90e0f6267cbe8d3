"""benchmarks/speed.py: its micrographs and its table (the timings themselves are not tested:
speed belongs in the benchmark's output, not in unit tests)."""
import numpy as np
import pytest

speed = pytest.importorskip("benchmarks.speed")


def test_micrographs_hold_particle_sized_blobs_at_the_stated_density(tmp_path):
    import mrcfile

    paths, centres = speed.write_micrographs(str(tmp_path), 256, 27.0, 2)
    assert sorted(paths) == ["mic_000", "mic_001"]
    with mrcfile.open(paths["mic_000"]) as mrc:
        img = mrc.data.astype(np.float64)
    assert img.shape == (256, 256)
    covered = len(centres["mic_000"]) * np.pi * 27.0 ** 2 / 4
    assert covered / 256 ** 2 == pytest.approx(0.2, abs=0.02)
    # the blobs are where the centres say: darker there than on average
    x, y = centres["mic_000"].astype(int).T
    assert img[y, x].mean() < img.mean() - 0.5


def test_table_gives_each_picker_its_speed_ratio_to_topaz_of_the_same_size_and_device():
    rows = [dict(size=1024, diameter_px=27.0, micrographs=4, device="cpu", picker=speed.TOPAZ,
                 s=12.0, cpu_s=20.0, peak_mb=900.0),
            dict(size=1024, diameter_px=27.0, micrographs=4, device="cpu", picker=speed.UNET,
                 s=3.0, cpu_s=5.0, peak_mb=1100.0),
            dict(size=4096, diameter_px=108.0, micrographs=2, device="cpu", picker=speed.TOPAZ,
                 s=5.0, cpu_s=8.0, peak_mb=1500.0),
            dict(size=4096, diameter_px=108.0, micrographs=2, device="cpu", picker=speed.UNET,
                 s=10.0, cpu_s=18.0, peak_mb=1200.0),
            dict(size=4096, diameter_px=108.0, micrographs=2, device="cpu",
                 picker=speed.RESNET_CLASSIFIER, skipped="not run")]
    lines = speed.table(rows).splitlines()
    unet_1k = next(l for l in lines if "1024" in l and speed.UNET in l)
    unet_4k = next(l for l in lines if "4096" in l and speed.UNET in l)
    assert "| 4.0x |" in unet_1k and "| 1100 |" in unet_1k
    assert "| 0.5x |" in unet_4k  # slower than Topaz shows as below 1
    assert any("not run" in l and speed.RESNET_CLASSIFIER in l for l in lines)


def test_models_of_every_timed_picker_load_for_the_same_particle(tmp_path):
    from cryopick_plugin.engine.pickers import load_picker

    paths = speed.cryopick_models(str(tmp_path), 27.0)
    assert set(paths) == {speed.UNET, speed.CLASSIFIER, speed.ENSEMBLE,
                          speed.RESNET_CLASSIFIER}
    pickers = {label: load_picker(path) for label, path in paths.items()}
    assert {p.particle_diameter_px for p in pickers.values()} == {27.0}
    assert pickers[speed.CLASSIFIER].backbone == "compact"
    assert pickers[speed.RESNET_CLASSIFIER].backbone == "resnet18"
    assert pickers[speed.ENSEMBLE].classifier.backbone == "compact"


def test_timing_a_picker_runs_cryopick_pick_with_the_views_asked(tmp_path, monkeypatch):
    calls = []

    def fake_run(cmd, log_path, env=None):
        calls.append([str(c) for c in cmd])
        open(log_path, "w").close()  # its folder must exist: one per number of views
        return 4.0, 100.0

    fake_run.last_cpu_s = 6.0
    monkeypatch.setattr(speed.topaz, "_run", fake_run)
    work = tmp_path / "classifier" / "views_2"
    row = speed.time_cryopick("model.pt", "mics", str(work), 2, 1, "cpu", views=2)
    assert row == dict(s=2.0, cpu_s=3.0, peak_mb=100.0)
    cmd = calls[0]
    assert cmd[cmd.index("pick") - 1:cmd.index("pick") + 1] == ["cryopick_plugin.cli", "pick"]
    assert cmd[cmd.index("--views") + 1] == "2" and cmd[cmd.index("--model") + 1] == "model.pt"
