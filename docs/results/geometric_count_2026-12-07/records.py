"""The scored rows of every finished cell under matrix --out folders, as one
{"results": [...]} file (what benchmarks.compare.load_records and status.py read): a run
stopped, resumed for some regimes only, or split over folders.
Usage: records.py OUT.json FOLDER [FOLDER ...]"""
import glob
import json
import os
import sys

rows = []
for folder in sys.argv[2:]:
    for path in sorted(glob.glob(os.path.join(folder, "*", "labels_*", "seed_*",
                                              "cryopick.json"))):
        rows += json.load(open(path))["records"]
with open(sys.argv[1], "w") as fh:
    json.dump({"results": rows}, fh, indent=1)
print(f"{len(rows)} rows from {len({(r['regime'], r['fraction'], r['seed']) for r in rows})} "
      "cells")
