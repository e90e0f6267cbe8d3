"""benchmarks.compare: two matrix runs paired by regime, budget, seed and row."""
import json

import pytest

from benchmarks import compare


def _rec(seed, row, best_f1, ap, f1=0.5, **extra):
    return dict(regime="crowded", fraction=0.05, seed=seed, row=row, best_f1=best_f1, ap=ap,
                f1=f1, **extra)


def test_pairs_by_seed_and_row_only():
    before = [_rec(0, "ensemble", 0.70, 0.60), _rec(1, "ensemble", 0.80, 0.70),
              _rec(0, "unet/iteration 2", 0.50, 0.40, pseudo_precision=0.6, pseudo_n=5)]
    after = [_rec(0, "ensemble", 0.75, 0.58), _rec(1, "ensemble", 0.90, 0.71),
             _rec(2, "ensemble", 0.10, 0.10),  # no seed 2 before: left out, not a pair
             _rec(0, "unet/iteration 2", 0.60, 0.50, pseudo_precision=0.8, pseudo_n=72)]
    out = {c["row"]: c for c in compare.paired(before, after)}
    ens = out["ensemble"]
    assert ens["n"] == 2
    assert ens["diff"]["best_f1"] == pytest.approx(((0.75 - 0.70) + (0.90 - 0.80)) / 2)
    assert ens["diff"]["ap"] == pytest.approx(((0.58 - 0.60) + (0.71 - 0.70)) / 2)
    assert ens["up"]["ap"] == 1 and ens["up"]["best_f1"] == 2
    assert ens["after"]["best_f1"] == pytest.approx((0.75 + 0.90) / 2)
    assert ens["diff"]["pseudo_precision"] is None  # the ensemble has no pseudo-labels
    unet = out["unet/iteration 2"]
    assert unet["diff"]["pseudo_precision"] == pytest.approx(0.2)
    assert unet["diff"]["pseudo_n"] == 67
    # only the rows asked for
    assert [c["row"] for c in compare.paired(before, after, rows={"ensemble"})] == ["ensemble"]


def test_table_and_command_line(tmp_path, capsys):
    before = tmp_path / "before.json"
    before.write_text(json.dumps({"results": [_rec(0, "ensemble", 0.70, 0.60)]}))
    # a run still going: its cells.json, records inside each finished piece
    after = tmp_path / "cells.json"
    after.write_text(json.dumps({"cells": [
        {"saved": {"records": [_rec(0, "ensemble", 0.75, 0.58)]}},
        {"reused": True}]}))
    assert compare.main([str(before), str(after)]) == 0
    printed = capsys.readouterr().out
    assert "| crowded | 5% | U-Net + classifier ensemble | 1 | 0.750 (+0.050, 1/1 up) | " \
           "0.580 (-0.020, 0/1 up) |" in printed
    with pytest.raises(SystemExit, match="no regime, budget, seed and row"):
        compare.main([str(before), str(after), "--rows", "fixmatch"])
