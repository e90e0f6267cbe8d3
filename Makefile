# Two entry points (see README): `make demo` and `make test`. Both create the virtual
# environment on first use (about 2 minutes: torch is the large part).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_output

.PHONY: setup demo test clean bench

setup: $(VENV)/.installed

# One resolver run for everything, so Scipion's numpy pin holds (see setup.py).
$(VENV)/.installed: setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip check
	touch $@

demo: setup
	$(PY) -m cryopick_plugin.demo_project --out $(DEMO_OUT)

test: setup
	$(PY) -m pytest -q -p no:cacheprovider cryopick_plugin/tests

clean:
	rm -rf $(VENV) $(DEMO_OUT) *.egg-info

# Benchmark (not part of CI): simulated apoferritin micrographs from ../shared/bench, then
# the label-budget benchmark. BENCH_DATA can point to any dataset folder instead.
BENCH_DATA ?= benchmark_data
SIMULATOR ?= ../shared/bench

$(BENCH_DATA)/micrographs:
	$(PY) $(SIMULATOR)/simulate.py --model $(SIMULATOR)/6z6u.pdb --out $(BENCH_DATA) \
		--n-micrographs 12 --size 1024 --apix 1.5 --seed 0

bench: setup $(BENCH_DATA)/micrographs
	$(PY) -m benchmarks.run --data $(BENCH_DATA) --n-train 4 --fractions 0.05 0.2 0.5 \
		--out benchmark_output
