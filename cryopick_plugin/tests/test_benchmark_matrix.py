"""The benchmark matrix's own logic (benchmarks/matrix.py, benchmarks/regimes.py): regime
definitions, pseudo-label scoring, aggregation and summaries on hand-made rows. Seconds; runs
no picker and no simulation."""
import dataclasses
import json
import os
import sys

import numpy as np
import pytest

from benchmarks import matrix
from benchmarks.datasets import Dataset
from benchmarks.regimes import EXTRA_REGIMES, MODEL_DIAMETER_A, QUICK_REGIMES, REGIMES

SIMULATOR = matrix.DEFAULT_SIMULATOR


# ---------------------------------------------------------------------------- regimes

def test_crowded_regime_looks_like_binned_real_data():
    r = REGIMES["crowded"]
    assert 24 <= r.diameter_px <= 30
    assert r.density >= 0.33 and r.area_fraction >= 0.33
    assert r.expected_particles(1024) >= 600
    assert r.snr <= 0.03
    args = r.simulate_args("/sim", "/out")
    assert args[args.index("--density") + 1] == str(r.density)
    assert float(args[args.index("--snr") + 1]) <= 0.03


def test_other_regimes():
    apo = REGIMES["apoferritin"]
    assert apo.model == "6z6u.pdb" and apo.apix == 1.5 and abs(apo.diameter_px - 87.6) < 0.5
    large = REGIMES["large-carbon"]
    assert large.model.endswith("3jb9.cif") and large.diameter_px > 100
    assert 0 < large.expected_particles() <= 20          # few per micrograph
    args = large.simulate_args("/sim", "/out")
    assert float(args[args.index("--p-carbon") + 1]) == 1.0
    assert float(args[args.index("--n-ice-blobs") + 1]) > 1
    irr = REGIMES["irregular"]
    assert irr.model.endswith("6qt9.cif") and 0.15 <= irr.area_fraction <= 0.3
    assert len(REGIMES) >= 4
    for r in REGIMES.values():
        assert 0 < r.n_train < r.n_micrographs
        assert r.model in MODEL_DIAMETER_A


def test_quick_regime_keeps_density_per_area_and_folders_differ():
    q = next(iter(QUICK_REGIMES.values()))
    full = REGIMES["crowded"]
    assert q.size < full.size
    assert q.expected_particles(1024) == pytest.approx(full.expected_particles(1024))
    assert q.folder("/d") != full.folder("/d")
    assert q.folder("/d") == next(iter(QUICK_REGIMES.values())).folder("/d")


def test_many_labels_regime_is_the_crowded_specimen_with_hundreds_of_labels():
    """Only the number of micrographs differs from crowded: its micrographs are the same
    specimen, and at 50% it holds several times the default matrix's largest label set."""
    many, crowded = EXTRA_REGIMES["crowded-many-labels"], REGIMES["crowded"]
    same = ("model", "apix", "size", "density", "snr", "sim_args")
    assert all(getattr(many, f) == getattr(crowded, f) for f in same)
    largest = max(r.n_train * r.expected_particles() * 0.5 for r in REGIMES.values())
    assert many.n_train * many.expected_particles() * 0.5 > 3 * largest
    assert many.folder("/d") != crowded.folder("/d")
    assert matrix.parse_args(["--regimes", "crowded-many-labels"]).regimes == \
        ["crowded-many-labels"]
    assert "crowded-many-labels" not in matrix.parse_args([]).regimes


@pytest.mark.parametrize("model", sorted(MODEL_DIAMETER_A))
def test_model_diameters_are_simulate_py_s(model):
    """The tabulated diameters are what simulate.py derives from the model files."""
    path = os.path.join(SIMULATOR, model)
    if not os.path.exists(os.path.join(SIMULATOR, "simulate.py")) or not os.path.exists(path):
        pytest.skip("simulator not found")
    if model.endswith(".cif"):
        pytest.importorskip("gemmi")
    sys.path.insert(0, SIMULATOR)
    try:
        import simulate
    finally:
        sys.path.remove(SIMULATOR)
    xyz, _, _ = simulate.read_model(path)
    diameter = 2 * float(np.percentile(np.linalg.norm(xyz, axis=1), 99.5))
    assert diameter == pytest.approx(MODEL_DIAMETER_A[model], abs=0.05)


# ---------------------------------------------------------------------------- rows

def test_row_ids_and_default_resolution():
    assert matrix.row_id(dict(method="U-Net self-training", model="iteration 2")) == \
        "unet/iteration 2"
    assert matrix.row_id(dict(method="Topaz", model="resnet8 (0.3.20)")) == "topaz"
    assert matrix.row_id(dict(method="Selective FixMatch", model="EMA teacher")) == "fixmatch"
    ensemble = matrix.row_id(dict(method="U-Net + classifier ensemble", model="final + EMA"))
    assert ensemble == "ensemble" and matrix.row_label(ensemble) == "U-Net + classifier ensemble"
    order = sorted(["topaz", "ensemble", "fixmatch", "unet/iteration 1", "unet/baseline"],
                   key=matrix._order_key)
    assert order == ["unet/baseline", "unet/iteration 1", "fixmatch", "ensemble", "topaz"]
    ids = ["unet/baseline", "unet/iteration 2", "unet/iteration 10", "fixmatch", "topaz"]
    assert matrix.resolve_row("unet/final", ids) == "unet/iteration 10"
    assert matrix.resolve_row("unet/final", ["unet/baseline", "topaz"]) == "unet/baseline"
    assert matrix.resolve_row("fixmatch", ids) == "fixmatch"
    assert matrix.resolve_row("rescore", ids) is None


# ---------------------------------------------------------------------------- pseudo-labels

def test_one_to_one_matching_maximises_pairs():
    truth = np.array([[0.0, 0.0], [8.0, 0.0]])
    # point 0 is as close to both (and nearer to the first than point 1 is); the optimal
    # assignment still pairs both points
    pts = np.array([[4.0, 0.0], [-4.5, 0.0]])
    pairs = matrix.match_one_to_one(pts, truth, 5.0)
    assert sorted(pairs) == [(0, 1), (1, 0)]
    assert matrix.match_one_to_one(np.zeros((0, 2)), truth, 5.0) == []
    assert matrix.match_one_to_one(np.array([[100.0, 100.0]]), truth, 5.0) == []


def test_pseudo_label_quality():
    truth = {"mic_a": np.array([[10, 10, 0], [50, 50, 0], [90, 90, 0], [130, 130, 0.]]),
             "mic_b": np.array([[20, 20, 0.]])}
    labels = {"mic_a": truth["mic_a"][:1]}
    pseudo = {"mic_a.mrc": np.array([[11, 10], [52, 49], [51, 50], [300, 300.]]),
              "mic_b": [[20, 21]], "unknown.mrc": [[1, 1]], "mic_c": []}
    q = matrix.pseudo_label_quality(pseudo, truth, labels, radius=5)
    # matched: (11,10)->labelled, one of the two near (50,50), (20,21); 6 pseudo-positives
    assert q["n_pseudo"] == 6 and q["n_matched"] == 3
    assert q["precision"] == pytest.approx(3 / 6)
    # unlabelled: 3 on mic_a + 1 on mic_b; found: (50,50) and (20,20)
    assert q["n_unlabelled"] == 4 and q["recall"] == pytest.approx(2 / 4)


def test_pseudo_label_quality_knows_labels_moved_off_their_particles():
    truth = {"m": np.array([[10.0, 10.0], [30.0, 10.0], [50.0, 10.0]])}
    labels = {"m": np.array([[12.0, 8.5]])}  # the first particle, picked 2.5 px off
    pseudo = {"m": np.array([[29.0, 10.0]])}
    q = matrix.pseudo_label_quality(pseudo, truth, labels, radius=5)
    # the labelled particle is not counted among the unlabelled ones to be found
    assert q["n_unlabelled"] == 2 and q["recall"] == pytest.approx(1 / 2)


def test_label_jitter_moves_the_same_labels_by_its_share_of_the_diameter():
    rng = np.random.default_rng(0)
    truth = {f"m{i}": np.column_stack([rng.uniform(0, 1000, (400, 2)), np.ones(400)])
             for i in range(2)}
    ds = Dataset({n: n + ".mrc" for n in truth}, truth, diameter_px=50.0)
    exact = ds.labels(sorted(truth), 0.5, seed=3)
    moved = ds.labels(sorted(truth), 0.5, seed=3, jitter=0.1)
    assert moved.keys() == exact.keys()
    offsets = np.concatenate([moved[n][:, :2] - exact[n][:, :2] for n in exact])
    # the same particles (each label near its exact one), moved by ~N(0, 5 px) per axis
    assert len(offsets) == 400 and np.abs(offsets).max() < 5 * 5.0
    assert np.std(offsets) == pytest.approx(5.0, rel=0.1)
    assert abs(np.mean(offsets)) < 0.5
    for n in exact:  # the third column (and the truth) untouched
        np.testing.assert_array_equal(moved[n][:, 2], exact[n][:, 2])
    assert not np.shares_memory(moved["m0"], truth["m0"])
    # repeatable with the seed, different with another
    again = ds.labels(sorted(truth), 0.5, seed=3, jitter=0.1)
    np.testing.assert_array_equal(again["m0"], moved["m0"])
    other = ds.labels(sorted(truth), 0.5, seed=4, jitter=0.1)
    assert not np.array_equal(other["m0"][:, :2], moved["m0"][:, :2])


def test_label_jitter_is_part_of_every_cell_s_settings():
    profile = matrix.PROFILES["full"]
    exact, moved = matrix.parse_args([]), matrix.parse_args(["--label-jitter", "0.1"])
    for group in ("cryopick", "topaz"):
        sig = [matrix.cell_signature(group, "/data", 0.2, 0, ["x"], profile, a)
               for a in (exact, moved)]
        assert sig[0] != sig[1] and "label_jitter" not in sig[0]
    with pytest.raises(SystemExit):
        matrix.parse_args(["--label-jitter", "-0.1"])


def test_pseudo_files_scored_per_iteration(tmp_path):
    truth = {"mic_0000": np.array([[10.0, 10.0, 0.0], [40.0, 40.0, 0.0]])}
    ds = Dataset({"mic_0000": "unused.mrc"}, truth, diameter_px=10)
    model = tmp_path / "unet" / "model"
    model.mkdir(parents=True)
    assert matrix.score_pseudo_labels(str(tmp_path / "unet"), ds, ["mic_0000"], {}) == {}
    (model / "pseudo_positives_iteration_1.json").write_text(
        json.dumps({"mic_0000.mrc": [[10, 11], [200, 200]]}))
    (model / "pseudo_positives_iteration_2.json").write_text(
        json.dumps({"mic_0000.mrc": [[10, 11, 0.9], [41, 40, 0.8]]}))
    q = matrix.score_pseudo_labels(str(tmp_path / "unet"), ds, ["mic_0000"],
                                   {"mic_0000": truth["mic_0000"][:1]})
    assert sorted(q) == [1, 2]
    assert q[1]["precision"] == 0.5 and q[1]["recall"] == 0.0
    assert q[2]["precision"] == 1.0 and q[2]["recall"] == 1.0


# ---------------------------------------------------------------------------- aggregation

def _rec(regime, fraction, seed, row, best_f1, ap, f1, **kw):
    return dict(regime=regime, fraction=fraction, seed=seed, row=row, n_labels=10,
                best_f1=best_f1, ap=ap, f1=f1, train_s=60.0, pick_s_per_mic=1.0, **kw)


def _records():
    out = []
    for seed, (b, a) in enumerate([(0.6, 0.5), (0.8, 0.7)]):
        for f in (0.05, 0.2):
            out += [_rec("crowded", f, seed, "unet/baseline", 0.3, 0.2, 0.1),
                    _rec("crowded", f, seed, "unet/iteration 1", b - 0.1, a - 0.1, 0.4,
                         pseudo_n=None, pseudo_precision=None, pseudo_recall=None),
                    _rec("crowded", f, seed, "unet/iteration 2", b, a, 0.5, pseudo_n=100,
                         pseudo_precision=0.9 - 0.1 * seed, pseudo_recall=0.5),
                    _rec("crowded", f, seed, "fixmatch", 0.7, 0.6, 0.6)]
    out += [_rec("crowded", f, 0, "topaz", 0.65, 0.75, 0.55) for f in (0.05, 0.2)]
    out += [_rec("apoferritin", 0.05, 0, "unet/iteration 2", 0.9, 0.9, 0.9)]  # no Topaz row
    return out


def test_aggregate_means_and_spread():
    agg = matrix.aggregate(_records()[::-1])   # order of the input does not matter
    assert [(a["regime"], a["fraction"], a["row"]) for a in agg][:6] == [
        ("apoferritin", 0.05, "unet/iteration 2"),
        ("crowded", 0.05, "unet/baseline"), ("crowded", 0.05, "unet/iteration 1"),
        ("crowded", 0.05, "unet/iteration 2"), ("crowded", 0.05, "fixmatch"),
        ("crowded", 0.05, "topaz")]
    it2 = next(a for a in agg if a["row"] == "unet/iteration 2" and a["regime"] == "crowded")
    assert it2["n_runs"] == 2 and it2["seeds"] == [0, 1]
    assert it2["best_f1"] == dict(mean=pytest.approx(0.7), min=0.6, max=0.8, n=2)
    assert it2["pseudo_precision"]["mean"] == pytest.approx(0.85)
    it1 = next(a for a in agg if a["row"] == "unet/iteration 1")
    assert it1["pseudo_precision"] is None
    topaz = next(a for a in agg if a["row"] == "topaz")
    assert topaz["n_runs"] == 1 and topaz["ap"]["mean"] == 0.75


def test_summary_default_minus_topaz_and_table():
    agg = matrix.aggregate(_records())
    summary = {s["regime"]: s for s in matrix.summarize(agg, "unet/final", "topaz")}
    crowded = summary["crowded"]
    assert [p["default_row"] for p in crowded["per_fraction"]] == ["unet/iteration 2"] * 2
    assert crowded["per_fraction"][0]["best_f1"] == pytest.approx(0.7 - 0.65)
    assert crowded["per_fraction"][1]["ap"] == pytest.approx(0.6 - 0.75)
    assert crowded["mean"]["ap"] == pytest.approx(-0.15)
    assert summary["apoferritin"]["per_fraction"][0]["best_f1"] is None
    line = matrix.summary_line(crowded)
    assert line.startswith("crowded: cryopick default (U-Net iteration 2) minus Topaz")
    assert "best F1 +0.050 / +0.050" in line and "AP -0.150 / -0.150" in line
    assert "at 5% / 20% labels" in line
    assert "n/a" in matrix.summary_line(summary["apoferritin"])
    # another default is one argument away
    fm = {s["regime"]: s for s in matrix.summarize(agg, "fixmatch")}["crowded"]
    assert fm["per_fraction"][0]["best_f1"] == pytest.approx(0.05)

    text = matrix.table(agg, "unet/final")
    assert "| crowded | 5% (10) | U-Net iteration 2 (default) | 2 | 0.700 (0.600-0.800) |" in text
    row_it1 = next(line for line in text.splitlines() if "U-Net iteration 1 |" in line)
    assert row_it1.count("n/a") == 3                       # pseudo-label files absent
    row_it2 = next(line for line in text.splitlines()
                   if "crowded | 5% (10) | U-Net iteration 2" in line)
    assert "| 0.500 | 100 | 0.850 (0.800-0.900) | 0.500 | 60 |" in row_it2
    row_topaz = next(line for line in text.splitlines() if "| Topaz |" in line)
    assert "| 1 | 0.650 | 0.750 | 0.550 | - | - | - |" in row_topaz


def test_scorecard_checks_the_aims():
    agg = matrix.aggregate(_records())
    lines = matrix.scorecard(agg, matrix.summarize(agg, "unet/final", "topaz"), "unet/final")
    # the default (iteration 2: best F1 0.7, AP 0.6) against Topaz (0.65, 0.75): behind in
    # AP, so not ahead in both; apoferritin has no Topaz row and is not counted
    assert lines[0] == ("- 5% labels: ahead of the reference in best F1 and AP in 0 of 1 "
                        "regimes (not: crowded); mean difference best F1 +0.050, AP -0.150")
    assert lines[1].startswith("- 20% labels: ahead of the reference in best F1 and AP in 0")
    # own threshold: F1 0.5 against best 0.7 on crowded; apoferritin's 0.9 against 0.9
    assert lines[2] == ("- F1 at the default's own threshold within 0.03 of its best F1 in "
                        "1 of 3 regime-budgets (not: crowded 5% 0.200, crowded 20% 0.200)")
    # self-training: last round AP 0.6 against baseline 0.2; pseudo-precision 0.85 < 0.9
    assert lines[3] == ("- U-Net self-training (last round against its baseline, AP): ahead "
                        "in 2 of 2; pseudo-positive precision >= 0.9 in 0 of 2 (not: "
                        "crowded 5% 0.85, crowded 20% 0.85)")


def test_quick_defaults():
    a = matrix.parse_args(["--quick"])
    assert a.regimes == list(QUICK_REGIMES) and a.fractions == [0.2] and a.seeds == [0]
    assert a.profile == "quick" and a.out.endswith("matrix_quick")
    b = matrix.parse_args([])
    assert b.regimes == list(REGIMES) and b.fractions == [0.05, 0.2, 0.5]
    assert b.seeds == [0, 1] and b.topaz_seeds == [0, 1] and b.profile == "full"
    assert matrix.parse_args(["--seeds", "1", "--topaz-seeds", "0"]).topaz_seeds == [0]
    assert matrix.parse_args(["--quick"]).topaz_seeds == [0]
    assert (b.jobs, b.threads) == (2, 1) and matrix.parse_args(["--jobs", "1"]).jobs == 1
    assert b.methods == ["unet", "fixmatch", "ensemble", "topaz"]
    assert b.default_method == "ensemble"
    assert matrix.parse_args(["--methods", "unet", "fixmatch"]).methods == ["unet", "fixmatch"]
    with pytest.raises(SystemExit):
        matrix.parse_args(["--regimes", "nonsense"])


def test_the_single_set_benchmark_runs_what_the_matrix_measured():
    """`python -m benchmarks.run` (a user's own micrographs, and `make bench`) trains the
    matrix's full profile, runs the same methods by default (the ensemble is the default
    pipeline) and trains Topaz as long."""
    from benchmarks import run, topaz

    full = matrix.PROFILES["full"]
    assert full["unet_args"] == () and full["fixmatch_args"] == ()
    for n_train in range(1, 9):  # the same crops per epoch for any training set
        settings = run.unet_settings(full["unet_config"], n_train)
        assert settings["crops_per_image"] == run.crops_per_image(n_train,
                                                                  full["crops_per_epoch"])
    assert run.unet_settings("cpu", 2)["crops_per_image"] == 16
    assert run.unet_settings("smoke", 2)["crops_per_image"] == 2  # a configuration's own
    assert full["topaz"] == topaz.CONFIGS["cpu"]
    assert run.parse_args(["--data", "d"]).methods == matrix.parse_args([]).methods


def test_resume_reuses_only_matching_finished_pieces(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(records=[], pseudo={1: dict(precision=0.5)}, errors=[], wall_s=1.0)

    path = str(tmp_path / "cell" / "cryopick.json")
    sig = dict(profile=dict(args=("--a", "1")), seed=0)
    first, reused = matrix._cell(path, sig, compute, resume=True)
    assert not reused and len(calls) == 1
    again, reused = matrix._cell(path, sig, compute, resume=True)
    assert reused and len(calls) == 1 and again["pseudo"] == {1: dict(precision=0.5)}
    matrix._cell(path, dict(sig, seed=1), compute, resume=True)       # other settings
    matrix._cell(path, dict(sig, seed=1), compute, resume=False)      # no --resume
    assert len(calls) == 3


def test_reuse_from_takes_matching_pieces_of_an_earlier_run(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(records=[dict(row="topaz", ap=0.5)], errors=[], wall_s=1.0)

    earlier = str(tmp_path / "old" / "crowded" / "topaz.json")
    path = str(tmp_path / "new" / "crowded" / "topaz.json")
    sig = dict(topaz=dict(num_epochs=2), seed=0)
    matrix._cell(earlier, sig, compute, resume=False)
    cell, reused = matrix._cell(path, sig, compute, resume=False, earlier=earlier)
    assert reused and len(calls) == 1 and cell["records"] == [dict(row="topaz", ap=0.5)]
    with open(path) as fh:  # this run's own copy: a later --resume finds it here
        assert json.load(fh)["signature"] == sig
    other = str(tmp_path / "new2" / "topaz.json")
    _, reused = matrix._cell(other, dict(sig, seed=1), compute, resume=False, earlier=earlier)
    assert not reused and len(calls) == 2  # other settings: run again
    args = matrix.parse_args(["--reuse-from", str(tmp_path / "old")])
    assert args.reuse_from == [str(tmp_path / "old")]


def test_reuse_from_a_results_json_whose_folder_is_gone(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return dict(records=[dict(row="unet/final", ap=0.7)], errors=[], wall_s=2.0,
                    pseudo={1: dict(precision=0.9)})

    sig = dict(profile=dict(unet_args=("--initial-epochs", "80")), seed=0)
    cell, _ = matrix._cell(str(tmp_path / "old" / "cryopick.json"), sig, compute, False)
    results = tmp_path / "results.json"
    results.write_text(json.dumps(dict(cells=[dict(regime="crowded", reused=False,
                                                   saved=matrix._saved_copy(cell))])))
    reusable = matrix._saved_cells(str(results))
    key = json.dumps(matrix._as_saved(sig), sort_keys=True)  # tuples saved as lists
    path = str(tmp_path / "new" / "cryopick.json")
    again, reused = matrix._cell(path, sig, compute, False, earlier=reusable.get(key))
    assert reused and len(calls) == 1
    assert again["records"] == [dict(row="unet/final", ap=0.7)]
    assert again["pseudo"] == {1: dict(precision=0.9)}
    with open(path) as fh:  # this run's own copy, for its --resume
        assert json.load(fh)["signature"] == matrix._as_saved(sig)
    other = json.dumps(matrix._as_saved(dict(sig, seed=1)), sort_keys=True)
    assert reusable.get(other) is None  # other settings: nothing to take


def test_topaz_cells_do_not_depend_on_cryopick_settings():
    a = matrix.parse_args([])
    b = matrix.parse_args(["--unet-args", "--initial-epochs 5"])
    profile = matrix.PROFILES["full"]
    other = dict(profile, unet_args=("--retrain-epochs", "1"))

    def sig(group, args, prof):
        return matrix.cell_signature(group, "/data", 0.2, 0, ["x"], prof, args)

    # another U-Net setting reruns cryopick's cells only
    assert sig("topaz", a, profile) == sig("topaz", b, other)
    assert sig("cryopick", a, profile) != sig("cryopick", b, profile)
    assert sig("cryopick", a, profile) != sig("cryopick", a, other)
    # another Topaz setting reruns Topaz
    slower = dict(profile, topaz=dict(profile["topaz"], num_epochs=3))
    assert sig("topaz", a, profile) != sig("topaz", a, slower)
    assert sig("cryopick", a, profile) == sig("cryopick", a, slower)


def test_topaz_updates_set_its_training_length_and_its_pieces():
    full = matrix.PROFILES["full"]
    epochs = full["topaz"]["num_epochs"]
    assert matrix.with_topaz_updates(full, None) is full
    longer = matrix.with_topaz_updates(full, 3000)
    # whole epochs of the profile's size (100 updates); nothing else of the profile moves
    assert longer["topaz"]["num_epochs"] * longer["topaz"]["epoch_size"] == 3000
    assert longer["topaz"]["num_epochs"] != epochs
    assert dict(longer, topaz=None) == dict(full, topaz=None)
    assert full["topaz"]["num_epochs"] == epochs  # the profile itself is untouched
    assert matrix.with_topaz_updates(full, 10)["topaz"]["num_epochs"] == 1
    args = matrix.parse_args(["--topaz-updates", "3000"])
    assert args.topaz_updates == 3000

    def sig(group, prof):
        return matrix.cell_signature(group, "/data", 0.2, 0, ["x"], prof, args)

    assert sig("topaz", longer) != sig("topaz", full)       # Topaz runs again
    assert sig("cryopick", longer) == sig("cryopick", full)  # cryopick's pieces stay
    with pytest.raises(SystemExit):
        matrix.parse_args(["--topaz-updates", "0"])


def test_cryopick_cells_are_reused_only_from_the_same_code(tmp_path, monkeypatch):
    """The hash covers the engine and the CLI: a changed default (not a setting of the
    matrix) makes cryopick's pieces run again; Topaz's stay."""
    for rel in ("cryopick_plugin/engine/picking/views.py", "cryopick_plugin/cli.py",
                "benchmarks/run.py", "cryopick_plugin/tests/test_x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("PICK_VIEWS = 4\n")
    before = matrix.cryopick_code_hash(str(tmp_path))
    (tmp_path / "cryopick_plugin/tests/test_x.py").write_text("changed tests only\n")
    assert matrix.cryopick_code_hash(str(tmp_path)) == before
    (tmp_path / "cryopick_plugin/engine/picking/views.py").write_text("PICK_VIEWS = 1\n")
    changed = matrix.cryopick_code_hash(str(tmp_path))
    assert changed != before
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda: before)
    old_code = matrix.parse_args([])
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda: changed)
    new_code, profile = matrix.parse_args([]), matrix.PROFILES["full"]

    def sig(group, args):
        return matrix.cell_signature(group, "/data", 0.2, 0, ["x"], profile, args)

    assert sig("cryopick", old_code) != sig("cryopick", new_code)
    assert sig("topaz", old_code) == sig("topaz", new_code)


def test_reuse_from_several_sources_and_an_unfinished_runs_cells_json(tmp_path):
    """Pieces of a matrix made over several sessions: each run's cells.json (written after
    every piece) and an --out folder are taken together; a missing source is an error."""
    calls = []

    def compute():
        calls.append(1)
        return dict(records=[dict(row="topaz", ap=0.5 + len(calls))], errors=[], wall_s=1.0)

    sigs = [dict(topaz=dict(num_epochs=2), seed=s) for s in (0, 1, 2)]
    first = dict(cells=[dict(saved=matrix._saved_copy(
        dict(matrix._cell(str(tmp_path / "a" / "0.json"), sigs[0], compute, False)[0],
             signature=matrix._as_saved(sigs[0]))))])
    (tmp_path / "cells.json").write_text(json.dumps(first))
    folder = tmp_path / "old"
    matrix._cell(str(folder / "x" / "topaz.json"), sigs[1], compute, False)
    args = matrix.parse_args(["--reuse-from", str(tmp_path / "cells.json"), str(folder)])
    saved, folders = matrix._reuse_sources(args.reuse_from)
    assert folders == [str(folder)] and len(saved) == 1
    key = json.dumps(matrix._as_saved(sigs[0]), sort_keys=True)
    from_file, reused = matrix._cell(str(tmp_path / "n" / "0.json"), sigs[0], compute, False,
                                     earlier=[saved[key], str(folder / "x" / "0.json")])
    assert reused and from_file["records"] == [dict(row="topaz", ap=1.5)]
    from_folder, reused = matrix._cell(str(tmp_path / "n" / "x" / "topaz.json"), sigs[1],
                                       compute, False,
                                       earlier=[str(folder / "x" / "topaz.json")])
    assert reused and from_folder["records"] == [dict(row="topaz", ap=2.5)]
    _, reused = matrix._cell(str(tmp_path / "n" / "2.json"), sigs[2], compute, False,
                             earlier=[saved[key], str(folder / "x" / "topaz.json")])
    assert not reused and len(calls) == 3  # no source has these settings
    with pytest.raises(SystemExit, match="nowhere"):
        matrix._reuse_sources([str(tmp_path / "nowhere")])


def _three_micrographs_instead_of_simulating(tmp_path, monkeypatch):
    """matrix.main on a fake regime of three micrographs: nothing simulated, nothing read."""
    ds = Dataset({f"m{i}": f"m{i}.mrc" for i in range(3)},
                 {f"m{i}": np.array([[10.0, 10.0, 1.0], [40.0, 40.0, 1.0]]) for i in range(3)},
                 diameter_px=10.0)
    monkeypatch.setattr(matrix, "simulate", lambda *a, **k: (str(tmp_path / "data"), None))
    monkeypatch.setattr(matrix.Dataset, "from_folder", classmethod(lambda cls, root: ds))


def test_an_interrupted_matrix_leaves_its_finished_pieces_for_the_next_run(tmp_path,
                                                                           monkeypatch):
    """cells.json grows after every piece, so a run cut short (a session's end) still hands
    its pieces to the next run's --reuse-from, which then computes only the rest."""
    _three_micrographs_instead_of_simulating(tmp_path, monkeypatch)
    computed = []

    def fake_group(group, methods, ds, train, test, labels, work, key, *rest, **kw):
        computed.append((group, key["seed"]))
        if len(computed) == 3:
            raise KeyboardInterrupt  # the run is stopped during its third piece
        return dict(records=[], pseudo={}, errors=[], timings={}, wall_s=1.0, cpu_s=1.0)

    monkeypatch.setattr(matrix, "run_group", fake_group)
    first = tmp_path / "first"
    argv = ["--out", str(first), "--regimes", "crowded", "--fractions", "0.5", "--seeds", "0",
            "1", "--jobs", "1"]
    with pytest.raises(KeyboardInterrupt):
        matrix.main(argv)
    assert computed == [("cryopick", 0), ("topaz", 0), ("cryopick", 1)]
    saved = json.loads((first / "cells.json").read_text())["cells"]
    assert [(c["group"], c["seed"]) for c in saved] == [("cryopick", 0), ("topaz", 0)]
    computed.clear()
    second = tmp_path / "second"
    assert matrix.main(argv[:1] + [str(second)] + argv[2:] +
                       ["--reuse-from", str(first / "cells.json")]) == 0
    # Topaz runs on every cryopick label seed by default: seed 1's was never started
    assert computed == [("cryopick", 1), ("topaz", 1)]
    result = json.loads((second / "results.json").read_text())
    assert [c["reused"] for c in result["cells"]] == [True, True, False, False]


def test_reuse_groups_measures_cryopick_afresh_beside_stored_topaz_runs(tmp_path,
                                                                         monkeypatch):
    """--reuse-groups topaz: an earlier run's Topaz pieces are taken, its cryopick pieces
    (same settings, same code) are not: cryopick is measured again."""
    _three_micrographs_instead_of_simulating(tmp_path, monkeypatch)
    computed = []

    def fake_group(group, methods, ds, train, test, labels, work, key, *rest, **kw):
        computed.append(group)
        return dict(records=[], pseudo={}, errors=[], timings={}, wall_s=1.0, cpu_s=1.0)

    monkeypatch.setattr(matrix, "run_group", fake_group)
    argv = ["--regimes", "crowded", "--fractions", "0.5", "--seeds", "0", "--jobs", "1"]
    assert matrix.main(argv + ["--out", str(tmp_path / "first")]) == 0
    assert computed == ["cryopick", "topaz"]
    computed.clear()
    earlier = ["--reuse-from", str(tmp_path / "first" / "results.json")]
    assert matrix.main(argv + ["--out", str(tmp_path / "second")] + earlier) == 0
    assert computed == []  # both groups by default
    assert matrix.main(argv + ["--out", str(tmp_path / "third"), "--reuse-groups", "topaz"] +
                       earlier) == 0
    assert computed == ["cryopick"]


def test_timing_table_without_cpu_times():
    """Runs made side by side (--jobs) have no CPU time of their own: n/a, not a crash."""
    cells = [dict(regime="crowded", wall_s=100.0,
                  timings={"U-Net": dict(wall_s=90.0, cpu_s=None)}),
             dict(regime="crowded", wall_s=120.0,
                  timings={"U-Net": dict(wall_s=110.0, cpu_s=None)})]
    text = matrix.timing_table(cells)
    assert "| crowded | U-Net | 2 | 100 | n/a |" in text
    assert "| crowded | all (simulation 0 s) | | 220 | |" in text


def test_rerun_ensemble_replaces_only_the_ensemble_row(tmp_path, monkeypatch):
    """--rerun-ensemble: the ensemble row is made again from the cell's saved members and
    scored like any row; the other rows stay; a failure keeps the old row and says so."""
    ds = Dataset({}, {"m": np.array([[10.0, 10.0], [50.0, 50.0]])}, diameter_px=10.0)
    key = dict(regime="crowded", fraction=0.2, seed=0, n_labels=1)
    old = [dict(key, row="unet/final", ap=0.3), dict(key, row="ensemble", ap=0.1)]
    cell = dict(records=old, pseudo={}, errors=[], wall_s=5.0, timings={}, signature={})
    seen = {}

    def fake_ensemble(ds, train, test, labels, work, unet_model, classifier_model, device,
                      threads, expected=None):
        seen.update(unet=unet_model, classifier=classifier_model)
        return dict(method="U-Net + classifier ensemble", model="final + EMA teacher",
                    threshold=0.5, picks={"m": np.array([[10.0, 11.0, 0.9], [80, 80, 0.2]])},
                    train_s=1.0, pick_s_per_mic=0.1, peak_mb=100.0)

    monkeypatch.setattr(matrix.run, "run_ensemble", fake_ensemble)
    args = matrix.parse_args(["--resume", "--rerun-ensemble"])
    work = str(tmp_path / "cell")
    new = matrix.rerun_ensemble(cell, ds, ["t"], ["m"], {}, work, key, args, lambda m: None)
    assert seen == dict(unet=os.path.join(work, "unet", "model", "final_model.pt"),
                        classifier=os.path.join(work, "fixmatch", "model",
                                                "best_model_ema.pt"))
    assert [r["row"] for r in new["records"]] == ["unet/final", "ensemble"]
    assert new["records"][0] == old[0]
    ens = new["records"][1]
    assert (ens["precision"], ens["recall"]) == (1.0, 0.5) and ens["ap"] == pytest.approx(0.5)
    assert "ensemble" in new["timings"] and not new["errors"]

    def broken(*a, **k):
        raise RuntimeError("no model")

    monkeypatch.setattr(matrix.run, "run_ensemble", broken)
    kept = matrix.rerun_ensemble(cell, ds, ["t"], ["m"], {}, work, key, args, lambda m: None)
    assert kept["records"] == old and "no model" in kept["errors"][0]
    with pytest.raises(SystemExit):  # it needs a finished run
        matrix.parse_args(["--rerun-ensemble"])


def test_rerun_ensemble_takes_members_made_by_other_code(tmp_path, monkeypatch):
    """After a change to how the members are combined, --resume --rerun-ensemble keeps the
    cells whose members an earlier code made (the signature's code becomes this run's, the
    members' is kept); a plain --resume after a code change trains them again."""
    _three_micrographs_instead_of_simulating(tmp_path, monkeypatch)
    trained, remade = [], []

    def fake_group(group, methods, ds, train, test, labels, work, key, *rest, **kw):
        trained.append(key["seed"])
        return dict(records=[], pseudo={}, errors=[], timings={}, wall_s=1.0, cpu_s=1.0)

    def fake_rerun(cell, *rest):
        remade.append(cell["signature"]["code"])
        return dict(cell, records=[])

    monkeypatch.setattr(matrix, "run_group", fake_group)
    monkeypatch.setattr(matrix, "rerun_ensemble", fake_rerun)
    out = tmp_path / "out"
    argv = ["--out", str(out), "--regimes", "crowded", "--fractions", "0.5", "--seeds", "0",
            "--methods", "unet", "fixmatch", "ensemble", "--jobs", "1"]
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda root=None: "old")
    assert matrix.main(argv) == 0 and trained == [0] and not remade
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda root=None: "new")
    assert matrix.main(argv + ["--resume", "--rerun-ensemble"]) == 0
    assert trained == [0] and remade == ["old"]  # not trained again: the ensemble remade
    cell = json.loads((out / "crowded" / "labels_50" / "seed_0" / "cryopick.json").read_text())
    assert cell["signature"]["code"] == "new" and cell["members_code"] == "old"
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda root=None: "newer")
    assert matrix.main(argv + ["--resume", "--rerun-ensemble"]) == 0
    cell = json.loads((out / "crowded" / "labels_50" / "seed_0" / "cryopick.json").read_text())
    assert cell["signature"]["code"] == "newer" and cell["members_code"] == "old"  # kept
    monkeypatch.setattr(matrix, "cryopick_code_hash", lambda root=None: "newest")
    assert matrix.main(argv + ["--resume"]) == 0
    assert trained == [0, 0]  # another code, and no --rerun-ensemble: trained again


def test_unet_teacher_trains_the_classifier_first_and_hands_it_to_the_unet(tmp_path,
                                                                            monkeypatch):
    """--unet-teacher: the label set's classifier is trained before the U-Net (even when
    only the U-Net's rows are asked for) and reaches train-unet as --teacher; without a
    classifier the U-Net is not trained untaught in its place."""
    calls = []

    def fake_fixmatch(ds, train, test, labels, work, config, device, threads, extra,
                      expected=None):
        calls.append(("fixmatch", list(extra)))
        return [dict(method="Selective FixMatch")], "/models/classifier.pt"

    def fake_unet(ds, train, test, labels, work, config, device, threads, extra,
                  expected=None):
        calls.append(("unet", list(extra)))
        return [dict(method="U-Net", model="final")]

    monkeypatch.setattr(matrix.run, "run_fixmatch", fake_fixmatch)
    monkeypatch.setattr(matrix.run, "run_unet", fake_unet)
    ds = Dataset({}, {}, diameter_px=10.0)
    profile = matrix.PROFILES["quick"]

    def cell(argv, methods):
        errors = []
        rows, _ = matrix.run_cryopick(ds, ["t"], ["m"], {}, str(tmp_path), methods, profile,
                                      0, matrix.parse_args(argv), errors, lambda m: None)
        return rows, errors

    rows, errors = cell(["--unet-teacher"], ["unet"])
    assert [c[0] for c in calls] == ["fixmatch", "unet"] and not errors
    unet_flags = calls[1][1]
    assert unet_flags[unet_flags.index("--teacher") + 1] == "/models/classifier.pt"
    assert rows == [dict(method="U-Net", model="final")]  # the classifier's rows not asked

    calls.clear()
    cell([], ["unet"])  # untaught: no classifier, no --teacher
    assert [c[0] for c in calls] == ["unet"] and "--teacher" not in calls[0][1]

    calls.clear()

    def broken_fixmatch(*a, **k):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(matrix.run, "run_fixmatch", broken_fixmatch)
    rows, errors = cell(["--unet-teacher"], ["unet"])
    assert calls == [] and rows == []
    assert errors[-1] == "U-Net: no classifier to teach it (FixMatch failed)"


def test_count_estimated_tells_cryopick_no_particle_count(tmp_path, monkeypatch):
    """--count estimated: the classifier, the U-Net and combine are told 0 particles per
    micrograph (they estimate it, as for a user who leaves the field empty); by default
    None (benchmarks.run then gives the true mean). Only cryopick's pieces depend on it."""
    told = {}

    unet_flags = {}

    def member(name, result):
        def fake(*a, expected="missing", **k):
            told[name] = expected
            if name == "unet":
                unet_flags[expected] = list(a[8])  # run_unet's extra flags
            return result
        return fake

    monkeypatch.setattr(matrix.run, "run_fixmatch", member(
        "fixmatch", ([dict(method="Selective FixMatch")], "/models/classifier.pt")))
    monkeypatch.setattr(matrix.run, "run_unet", member("unet", [dict(method="U-Net")]))
    monkeypatch.setattr(matrix.run, "run_ensemble", member("ensemble", dict(method="E")))
    ds = Dataset({}, {}, diameter_px=10.0)
    for argv, expected in (([], None), (["--count", "estimated"], 0)):
        told.clear()
        errors = []
        matrix.run_cryopick(ds, ["t"], ["m"], {}, str(tmp_path), ["unet", "ensemble"],
                            matrix.PROFILES["quick"], 0, matrix.parse_args(argv), errors,
                            lambda m: None)
        assert not errors
        assert told == dict(fixmatch=expected, unet=expected, ensemble=expected)
    # without a count, the U-Net is counted for by the classifier of the same labels
    flags = unet_flags[0]
    assert flags[flags.index("--count-classifier") + 1] == "/models/classifier.pt"
    assert "--count-classifier" not in unet_flags[None]
    true, estimated = matrix.parse_args([]), matrix.parse_args(["--count", "estimated"])
    profile = matrix.PROFILES["full"]

    def sig(group, args):
        return matrix.cell_signature(group, "/data", 0.2, 0, ["x"], profile, args)

    assert sig("cryopick", true) != sig("cryopick", estimated)
    assert sig("topaz", true) == sig("topaz", estimated)
    assert "count" not in sig("cryopick", true)  # earlier runs' pieces stay reusable


def test_the_ensemble_row_calibrates_its_threshold_on_the_test_micrographs(tmp_path):
    """benchmarks.run.run_ensemble runs `cryopick combine` as a user would with the
    micrographs to pick: the count is kept on the test micrographs (their picks, not their
    labels), and the row's own threshold is the one the model file holds."""
    from benchmarks import run
    from cryopick_plugin.engine.io.files import read_torch_file
    from cryopick_plugin.tests.tiny_data import tiny_labelled_set, untrained_members

    data = tiny_labelled_set(tmp_path / "data", n_micrographs=3)
    mics = {p.stem: str(p) for p in (tmp_path / "data" / "micrographs").iterdir()}
    ds = Dataset(mics, data["truth"], data["diameter"])
    train, test = ds.split(1)
    unet, classifier = untrained_members(data["diameter"])
    unet.save(str(tmp_path / "unet.pt"))
    classifier.save(str(tmp_path / "classifier.pt"))
    work = tmp_path / "ensemble"
    row = run.run_ensemble(ds, train, test, {train[0]: data["truth"][train[0]][:5]},
                           str(work), str(tmp_path / "unet.pt"),
                           str(tmp_path / "classifier.pt"), "cpu", 1, expected=4)
    model = read_torch_file(str(work / "ensemble_model.pt"))
    assert model["extra"]["threshold_origin"] == "count on unseen micrographs"
    assert row["threshold"] == model["threshold"]
    log = (work / "combine.log").read_text()
    assert "Calibrating on 2 micrographs without hand-picked particles" in log
    assert set(row["picks"]) <= set(test)


def test_data_seed_simulates_fresh_micrographs_of_the_same_regimes(tmp_path, monkeypatch):
    """--data-seed N hands simulate.py seed N for every regime (its own cache folder, the
    same regime otherwise); by default seed 0, the micrographs every earlier run used."""
    _three_micrographs_instead_of_simulating(tmp_path, monkeypatch)
    simulated = []
    monkeypatch.setattr(matrix, "simulate", lambda regime, *a, **k: (
        simulated.append(regime) or str(tmp_path / "data"), None))
    monkeypatch.setattr(matrix, "run_group", lambda *a, **k: dict(
        records=[], pseudo={}, errors=[], timings={}, wall_s=1.0, cpu_s=1.0))
    argv = ["--regimes", "crowded", "--fractions", "0.5", "--seeds", "0", "--jobs", "1"]
    assert matrix.main(argv + ["--out", str(tmp_path / "usual")]) == 0
    assert matrix.main(argv + ["--out", str(tmp_path / "fresh"), "--data-seed", "7"]) == 0
    usual, fresh = simulated
    assert usual == REGIMES["crowded"] and usual.seed == 0
    assert fresh.seed == 7 and dataclasses.replace(fresh, seed=0) == usual
    assert usual.folder("/d") != fresh.folder("/d")
    args = fresh.simulate_args("/sim", "/out")
    assert args[args.index("--seed") + 1] == "7"


def test_unet_from_trains_only_the_classifier_beside_the_earlier_cells_unet(tmp_path,
                                                                           monkeypatch):
    """--unet-from: each cell's U-Net rows, pseudo-particle scores and model come from the
    same cell of an earlier run; only the classifier and the ensemble are made, the ensemble
    with the earlier U-Net. A cell made with other U-Net settings, or missing, stops the run
    before any work, naming the file."""
    _three_micrographs_instead_of_simulating(tmp_path, monkeypatch)
    calls = []
    picks = {f"m{i}": np.array([[10.0, 10.0, 0.9], [70.0, 70.0, 0.4]]) for i in range(3)}

    def row(method, model):
        return dict(method=method, model=model, threshold=0.5, picks=dict(picks), train_s=1.0,
                    pick_s_per_mic=0.1, peak_mb=10.0)

    def fake_unet(ds, train, test, labels, work, *a, **k):
        calls.append("unet")
        os.makedirs(os.path.join(work, "model"))
        open(os.path.join(work, "model", "final_model.pt"), "w").close()
        return [row("U-Net self-training", "final")]

    def fake_fixmatch(ds, train, test, labels, work, *a, **k):
        calls.append("fixmatch")
        return [row("Selective FixMatch", "EMA teacher")], "/new/classifier.pt"

    def fake_ensemble(ds, train, test, labels, work, unet_model, classifier_model, *a, **k):
        calls.append(("ensemble", unet_model, classifier_model))
        return row("U-Net + classifier ensemble", "final + EMA teacher")

    monkeypatch.setattr(matrix.run, "run_unet", fake_unet)
    monkeypatch.setattr(matrix.run, "run_fixmatch", fake_fixmatch)
    monkeypatch.setattr(matrix.run, "run_ensemble", fake_ensemble)
    monkeypatch.setattr(matrix, "score_pseudo_labels", lambda *a: {1: dict(precision=1.0)})
    argv = ["--regimes", "crowded", "--fractions", "0.5", "--seeds", "0", "--methods", "unet",
            "fixmatch", "ensemble", "--jobs", "1"]
    first, second = tmp_path / "first", tmp_path / "second"
    assert matrix.main(argv + ["--out", str(first)]) == 0
    earlier_model = str(first / "crowded" / "labels_50" / "seed_0" / "unet" / "model" /
                        "final_model.pt")
    assert calls[-1] == ("ensemble", earlier_model, "/new/classifier.pt")
    before = json.loads((first / "crowded" / "labels_50" / "seed_0" / "cryopick.json")
                        .read_text())

    calls.clear()
    assert matrix.main(argv + ["--out", str(second), "--unet-from", str(first)]) == 0
    assert calls == ["fixmatch", ("ensemble", earlier_model, "/new/classifier.pt")]
    cell = json.loads((second / "crowded" / "labels_50" / "seed_0" / "cryopick.json")
                      .read_text())
    assert [r["row"] for r in cell["records"]] == ["unet/final", "fixmatch", "ensemble"]
    assert cell["records"][0] == before["records"][0] and cell["pseudo"] == before["pseudo"]
    assert cell["unet_from"]["code"] == before["signature"]["code"]
    assert cell["signature"]["unet_from"] == str(first)

    calls.clear()  # other U-Net settings: refused before any work
    with pytest.raises(SystemExit, match="unet_args"):
        matrix.main(argv + ["--out", str(tmp_path / "third"), "--unet-from", str(first),
                            "--unet-args=--seed-rule"])
    with pytest.raises(SystemExit, match="seed_1.*does not exist"):  # not in the earlier run
        matrix.main(["--regimes", "crowded", "--fractions", "0.5", "--seeds", "1", "--jobs", "1",
                     "--methods", "fixmatch", "ensemble", "--out", str(tmp_path / "fourth"),
                     "--unet-from", str(first)])
    assert calls == []
    with pytest.raises(SystemExit):  # the U-Net's count would come from this classifier
        matrix.parse_args(["--unet-from", str(first), "--count", "estimated"])
