# What score_rules.py and count_estimators.py share (offline record scripts, not a tool):
# a matrix cell's saved ensemble (classifier weight 50 / n), its test micrographs' member
# maps (cached by fusion_constants_fresh_2026-12-06/offline.py), the ensemble's picks on
# them, and the command line that runs a study over cells into a JSON-lines file.
import importlib.util
import json
import os
import sys
from dataclasses import replace

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name, rel):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "..", rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


offline = _load("offline", "fusion_constants_fresh_2026-12-06/offline.py")  # sys.path too
rounds = _load("rounds", "unet_rounds_2026-12-06/rounds_offline.py")  # its SETS (50 / n)

from benchmarks.datasets import Dataset  # noqa: E402
from cryopick_plugin.engine.ensemble import EnsemblePicker  # noqa: E402
from cryopick_plugin.engine.picking.thresholds import (CALIBRATION_MICROGRAPHS,  # noqa: E402
                                                       spread_sample)


def load_cell(set_name, regime, pct, seed):
    """dict(cell folder, key, ens, ds, test, calibration, truth, radius, picks): ``picks``
    are the ensemble's candidates on the test micrographs, scored as the matrix scored."""
    data_seed, root = rounds.SETS[set_name]
    reg = replace(dict(offline.REGIMES, **offline.EXTRA_REGIMES)[regime], seed=data_seed)
    ds = Dataset.from_folder(reg.folder(offline.DATA))
    _, test = ds.split(reg.n_train)
    folder = f"{root}/{regime}/labels_{pct}/seed_{seed}"
    ens = EnsemblePicker.load(f"{folder}/ensemble/ensemble_model.pt")
    key = f"{set_name}_{regime}_{pct}_{seed}"
    maps = offline.member_maps(ens, ds, test, key)
    calibration = sorted(spread_sample({n: n for n in test}, CALIBRATION_MICROGRAPHS))
    return dict(folder=folder, key=key, ens=ens, ds=ds, test=test, calibration=calibration,
                truth={n: ds.truth[n] for n in test}, radius=ds.diameter_px / 2,
                picks=offline.picks_for(ens, maps, calibration, offline.CURRENT))


def main(run, line):
    """argv: OUT.jsonl SET:REGIME:PCT:SEED ...; ``run(set, regime, pct, seed)`` gives each
    cell's result, appended to OUT; ``line(res)`` says it on stdout."""
    out = sys.argv[1]
    for cell in sys.argv[2:]:
        set_name, regime, pct, seed = cell.split(":")
        res = run(set_name, regime, pct, int(seed))
        with open(out, "a") as f:
            f.write(json.dumps(dict(set=set_name, regime=regime, pct=int(pct), seed=int(seed),
                                    res=res)) + "\n")
        print(set_name, regime, pct, seed, line(res), flush=True)
