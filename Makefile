# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export TF_CPP_MIN_LOG_LEVEL := 2
export TF_USE_LEGACY_KERAS := 1

.PHONY: demo test lint bench venv test-venv clean protos stress fuzz

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
	$(PY) -m ruff check numkeras tests bench fuzz
	$(PY) -m pytest -n 2 -q

bench: $(VENV)/.test
	$(PY) -m bench

# atheris on every parser, FUZZ_SECONDS each (default 5 min); crashes/hangs are written as
# crash-*/timeout-* files in fuzz/findings/; every target runs, then make fails if any found one.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS = h5_weights h5_model weights_h5 keras_model keras_weights weights_json \
	tf_index tf_data tf_state config_json inspect_h5 inspect_keras safetensors npz \
	keras_metadata saved_model_pb read_weights convert
$(VENV)/.fuzz: $(VENV)/.test
	$(PY) -m pip install -q -e ".[test,interop,fuzz]"
	touch $@

fuzz: $(VENV)/.fuzz
	mkdir -p fuzz/findings
	failed=""; for t in $(FUZZ_TARGETS); do \
		echo "== fuzz $$t ($(FUZZ_SECONDS) s)"; \
		$(PY) -m fuzz $$t -max_total_time=$(FUZZ_SECONDS) -timeout=60 -rss_limit_mb=4096 \
			-artifact_prefix=fuzz/findings/$$t- -print_final_stats=1 || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "make fuzz: findings in$$failed (fuzz/findings/)"; exit 1; fi

# SIGKILL at random instants while re-saving in place: 200 kills per format (make test: 40).
stress: $(VENV)/.test
	NUMKERAS_STRESS_KILLS=200 $(PY) -m pytest -q tests/robustness/test_sigkill_stress.py

protos:
	numkeras/saving/tf_checkpoint/protos/regen.sh

clean:
	rm -rf $(VENV) build *.egg-info
