"""Particle-level metrics on small, hand-checked cases."""
import numpy as np
import pytest

from cryopick_plugin.engine.errors import CryopickInputError
from cryopick_plugin.engine.picking.metrics import (average_precision, count_matches, evaluate,
                                            format_table, ranked_matches)


def test_truth_against_itself_is_perfect():
    rng = np.random.default_rng(1)
    truth = {"a": rng.uniform(0, 500, (40, 2)), "b": rng.uniform(0, 500, (7, 2))}
    r = evaluate(truth, truth, radius=5)["overall"]
    assert (r["precision"], r["recall"], r["f1"], r["ap"]) == (1.0, 1.0, 1.0, 1.0)
    assert r["n_matched"] == 47


def test_hand_checked_counts():
    truth = {"m": np.array([[10, 10], [50, 50], [90, 90]])}
    # one exact hit, one within radius (distance 5), one too far (distance 7.1), one far away
    picks = {"m": np.array([[10, 10, 0.9], [53, 54, 0.8], [95, 95, 0.7], [200, 200, 0.6]])}
    o = evaluate(picks, truth, radius=6)["overall"]
    assert o["n_matched"] == 2
    assert o["precision"] == pytest.approx(2 / 4)
    assert o["recall"] == pytest.approx(2 / 3)
    assert o["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    # ranked: hits at ranks 1 and 2 -> AP = (1/1 + 2/2) / 3
    assert o["ap"] == pytest.approx(2 / 3)


def test_ap_rewards_good_ranking():
    truth = {"m": np.array([[10, 10], [50, 50]])}
    good = {"m": np.array([[10, 10, 0.9], [50, 50, 0.8], [300, 300, 0.1]])}
    bad = {"m": np.array([[10, 10, 0.1], [50, 50, 0.2], [300, 300, 0.9]])}
    assert evaluate(good, truth, 5)["overall"]["ap"] == pytest.approx(1.0)
    # false pick first: precisions 1/2 and 2/3 at the two hits -> (0.5 + 0.6667) / 2
    assert evaluate(bad, truth, 5)["overall"]["ap"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_one_to_one_two_picks_on_one_particle():
    truth = np.array([[100, 100]])
    picks = np.array([[101, 100, 0.9], [99, 100, 0.8]])
    assert count_matches(picks, truth, 5) == 1
    scores, hits = ranked_matches(picks, truth, 5)
    assert hits.tolist() == [True, False]


def test_hungarian_beats_greedy_nearest():
    # Greedy nearest matching would pair pick 0 with truth 1 and leave truth 0 unmatched;
    # the optimal assignment matches both.
    truth = np.array([[0, 0], [4, 0]])
    picks = np.array([[3, 0], [7.5, 0]])
    assert count_matches(picks, truth, 4) == 2


def test_empty_sides():
    truth = {"m": np.array([[1, 1]])}
    o = evaluate({}, truth, 3)["overall"]
    assert (o["precision"], o["recall"], o["ap"]) == (0.0, 0.0, 0.0)
    o = evaluate({"m": np.array([[1, 1, 0.5]])}, {"m": np.zeros((0, 2))}, 3)["overall"]
    assert o["precision"] == 0.0 and o["n_truth"] == 0
    assert average_precision([], 0) == 1.0


def test_per_micrograph_and_table():
    truth = {"a": np.array([[10, 10]]), "b": np.array([[10, 10], [40, 40]])}
    picks = {"a": np.array([[10, 11]]), "b": np.array([[40, 40]])}
    res = evaluate(picks, truth, 3)
    assert res["per_micrograph"]["a"]["recall"] == 1.0
    assert res["per_micrograph"]["b"]["recall"] == 0.5
    table = format_table(res)
    assert "| a | 1 | 1 | 1 |" in table and "**all**" in table


def test_bad_radius():
    with pytest.raises(CryopickInputError, match="radius"):
        evaluate({}, {}, 0)
