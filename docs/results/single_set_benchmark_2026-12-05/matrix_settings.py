"""The parsed train-unet / train-fixmatch settings and Topaz's settings the matrix's full
profile gives each regime (n_train 2, 4, 5, 6), as JSON: run before and after a change.
Run at 1538987 (matrix_settings_before.json) and at cf223ea (matrix_settings_after.json),
from the repository with PYTHONPATH=.; the files drop the parsed command's function
address, the only difference between processes."""
import json, sys
from benchmarks import run, matrix
from cryopick_plugin.cli import build_parser
out = {}
prof = matrix.PROFILES["full"]
for n_train in (2, 4, 5, 6):
    # as matrix.run_cryopick + run.run_unet build them
    extra = [*prof["unet_args"], "--crops-per-image", str(max(1, prof["crops_per_epoch"] // n_train)),
             "--seed", "1"]
    cfg = run.CONFIGS[prof["unet_config"]]
    argv = ["train-unet", "--image-dir", "i", "--coords-file", "c", "--output-dir", "o",
            "--particle-diameter", "27", "--device", "cpu", "--threads", "1", "--expected-particles", "10",
            *[str(a) for a in sum(([f"--{k.replace('_', '-')}", v] for k, v in cfg.items()), [])], *extra]
    out[f"unet n_train {n_train}"] = {k: str(v) for k, v in sorted(vars(build_parser().parse_args(argv)).items())}
out["fixmatch"] = [run.FIXMATCH_CONFIGS[prof["fixmatch_config"]], list(prof["fixmatch_args"])]
out["topaz"] = prof["topaz"]
json.dump(out, open(sys.argv[1], "w"), indent=1, sort_keys=True)
