# Two entry points (see README): `make demo` and `make test`. Both create the virtual
# environment on first use (about 2 minutes: torch is the large part).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_output

.PHONY: setup demo test clean

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
