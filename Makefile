# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_USE_LEGACY_KERAS := 1

.PHONY: demo test lint bench venv test-venv clean protos stress

$(VENV)/.base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.base pyproject.toml
	$(PY) -m pip install -q -e ".[test,interop]"
	touch $@

venv: $(VENV)/.base
test-venv: $(VENV)/.test

demo: $(VENV)/.base
	$(PY) -m numkeras demo

test: $(VENV)/.test
	$(PY) -m ruff check numkeras tests bench
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.test
	$(PY) -m bench

# SIGKILL at random instants while re-saving in place: 200 kills per format (make test: 40).
stress: $(VENV)/.test
	NUMKERAS_STRESS_KILLS=200 $(PY) -m pytest -q tests/robustness/test_sigkill_stress.py

protos:
	numkeras/saving/tf_checkpoint/protos/regen.sh

clean:
	rm -rf $(VENV) build *.egg-info
