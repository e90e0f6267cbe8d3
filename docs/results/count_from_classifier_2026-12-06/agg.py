"""Aggregate of a (possibly unfinished) matrix run's cells.json, as results.json's."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from benchmarks import matrix
cells = json.load(open(sys.argv[1]))["cells"]
records = [r for c in cells for r in c["saved"]["records"]]
json.dump({"aggregate": matrix.aggregate(records)}, open(sys.argv[2], "w"), default=float)
