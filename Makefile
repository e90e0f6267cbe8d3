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

# Single-set benchmark (benchmarks/run.py): the matrix's training and methods (both members,
# their ensemble, Topaz for 1000 updates) on one simulated apoferritin set, 3 label budgets.
bench: setup $(BENCH_DATA)/micrographs
	$(PY) -m benchmarks.run --data $(BENCH_DATA) --n-train 4 --fractions 0.05 0.2 0.5 \
		--out benchmark_output

# Benchmark matrix (not part of CI; benchmarks/matrix.py): cryopick against Topaz on four
# simulated regimes (crowded 27 px particles at SNR 0.03, apoferritin, a large particle on
# carbon, an irregular particle) at 5 / 20 / 50% labels, two label seeds for both; about
# 76-77 min of cryopick on 2 CPU cores (Intel Xeon with AMX; AMD EPYC, from a fresh clone,
# 2026-12-05; 2 h there with other runs sharing the cores), two runs at a time (SIZING in benchmarks/matrix.py).
# The simulated micrographs are cached under BENCH_DATA_ROOT.
# bench-matrix-quick: a few minutes, one small regime and budget (checks the whole chain).
# MATRIX_REUSE: earlier runs whose finished pieces with the same settings are taken over,
# of the groups in MATRIX_REUSE_GROUPS. Default: Topaz's 24 runs stored in docs/results
# (about 4 h to run again), cryopick measured afresh; MATRIX_REUSE= runs everything.
BENCH_DATA_ROOT ?= ../bench_data
MATRIX_OUT ?= benchmark_output/matrix
MATRIX_REUSE ?= docs/results/matrix_member_ranks_2026-12-04.json
MATRIX_REUSE_GROUPS ?= topaz
MATRIX_ARGS = --simulator $(SIMULATOR) --data-root $(BENCH_DATA_ROOT) \
	$(if $(MATRIX_REUSE),--reuse-from $(MATRIX_REUSE) --reuse-groups $(MATRIX_REUSE_GROUPS))

.PHONY: bench-matrix bench-matrix-quick

bench-matrix: setup
	$(PY) -m benchmarks.matrix $(MATRIX_ARGS) --out $(MATRIX_OUT)

bench-matrix-quick: setup
	$(PY) -m benchmarks.matrix --quick $(MATRIX_ARGS) --out $(MATRIX_OUT)_quick

# Picking speed and memory (not part of CI; benchmarks/speed.py): the U-Net, the classifier
# and Topaz (preprocess + extract) on the same 1k and 4k micrographs, whole processes.
.PHONY: bench-speed
bench-speed: setup
	$(PY) -m benchmarks.speed --out benchmark_output/speed
