"""How topaz_fresh_seed1.json was made: Topaz's runs on the fresh micrographs (matrix
--data-seed 1), label seed 1, gathered from the runs that made them (crowded 20%: fresh_data;
irregular 20 / 50%: weight_50; apoferritin and large-carbon 20 / 50%, crowded 50%: this
session's two runs, whose results.json are given last).
Usage: merge_topaz_seed1.py OUT.json RESULTS.json ..."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks.compare import load_records  # noqa: E402  (the repository's loader)

here = os.path.dirname(os.path.abspath(__file__))
sources = [os.path.join(here, "..", "fresh_data_2026-12-06", "topaz_fresh_crowded20_seed1.json"),
           os.path.join(here, "..", "weight_50_2026-12-06",
                        "topaz_fresh_irregular_20_50pct_seed1.json")] + sys.argv[2:]
results = [r for path in sources for r in load_records(path)
           if r["row"] == "topaz" and r["seed"] == 1]
keys = [(r["regime"], r["fraction"]) for r in results]
assert len(keys) == len(set(keys)), "a cell twice"
with open(sys.argv[1], "w") as fh:
    json.dump(dict(sources=[os.path.basename(p) for p in sources], results=results), fh,
              indent=1)
print(f"{len(results)} Topaz runs: " + ", ".join(f"{r} {f:.0%}" for r, f in sorted(keys)))
