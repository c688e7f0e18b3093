# The README's two commands are `make lab` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The series: solutions in notebooks/source/NN_name.ipynb, students' copies in notebooks/.
SOLUTION_NOTEBOOKS := $(sort $(wildcard notebooks/source/[0-9]*.ipynb))
FIRST_NOTEBOOK := $(firstword $(sort $(wildcard notebooks/[0-9]*.ipynb)))
SHARED_NHANES := $(abspath ../shared/data/nhanesi)
SHARED_CXR := $(abspath ../shared/data/cxr_samples)

# Quiet TensorFlow's C++ start-up logging in tests and benchmarks.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow
# A checkout with ../shared beside it reads the data from there instead of downloading.
ifneq ($(wildcard $(SHARED_NHANES)/NHANESI_subset_X.csv),)
export MEDINTERP_DATA_DIR ?= $(SHARED_NHANES)
endif
ifneq ($(wildcard $(SHARED_CXR)/images/00000075_000.png),)
export MEDINTERP_CXR_SAMPLES_DIR ?= $(SHARED_CXR)
endif

.PHONY: lab test test-latest lock lint format bench classroom model evaluate evaluate-saliency examples release autograde execute clean

# uv installs the environment from uv.lock, the one lock every install uses (make lock).
UV_VERSION := 0.13.9
UV := $(BIN)/uv
# --compile-bytecode: uv, unlike pip, writes no bytecode at install. Without it every kernel
# compiles TensorFlow's modules again wherever Python may not write the cache
# (PYTHONDONTWRITEBYTECODE, a read-only venv): import tensorflow took 18 s of CPU, not 7.
SYNC := UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --inexact --quiet --compile-bytecode
# A throw-away venv for make test-latest.
LATEST_VENV := .venv-latest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.uv-$(UV_VERSION): | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	touch $@

# --locked: fail, rather than re-resolve, when uv.lock is stale against pyproject.toml.
$(VENV)/.installed: pyproject.toml uv.lock $(VENV)/.uv-$(UV_VERSION)
	$(SYNC)
	touch $@

$(VENV)/.installed-test: pyproject.toml uv.lock $(VENV)/.installed
	$(SYNC) --extra test
	touch $@

# nbgrader, for instructors (the test extra includes it: the autograde tests need it).
$(VENV)/.installed-instructor: pyproject.toml uv.lock $(VENV)/.installed
	$(SYNC) --extra instructor
	touch $@

# Jupyter refuses to run as root unless told (containers and CI machines run as root).
# default_url makes the URL JupyterLab prints (and opens) the first notebook of the series,
# not the launcher.
lab: $(VENV)/.installed
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
		--LabApp.default_url=/lab/tree/$(FIRST_NOTEBOOK)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Unit, grader, widget and browser tests, then every solution notebook under nbval (cells
# tagged nbval-check-output must print what they printed when committed).
test: lint
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
		$(SOLUTION_NOTEBOOKS)

# Re-lock after editing pyproject.toml's ranges (UPGRADE=1: newest releases they allow, after
# make test-latest passed) and rewrite binder/requirements.txt and environment.yml from it.
lock: $(VENV)/.installed-test
	$(BIN)/python build_tools/lock.py $(if $(UPGRADE),--upgrade)

# The maintainer's step before a semester and before make lock UPGRADE=1: the newest releases
# the ranges allow, in a throw-away venv, run the whole suite; lists what differs from the lock.
test-latest: $(VENV)/.installed-test
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(LATEST_VENV)/bin/uv pip install --quiet --python $(LATEST_VENV)/bin/python \
		--resolution highest -e '.[test]'
	$(BIN)/python build_tools/lock.py --diff $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pytest -p no:cacheprovider
	$(LATEST_VENV)/bin/python -m pytest -p no:cacheprovider --nbval-lax \
		--nbval-sanitize-with notebooks/sanitize.cfg $(SOLUTION_NOTEBOOKS)
	$(BIN)/python build_tools/lock.py --diff $(LATEST_VENV)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

# K = 1, 2, 4 students run the series at once (about 7 minutes on 2 cores); writes the
# classroom section of benchmarks/RESULTS.md (docs/teaching-at-scale.md sizes a hub from it).
classroom: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks.classroom

model: $(VENV)/.installed
	$(BIN)/python -m medinterp.train_xray --output medinterp/assets

evaluate: $(VENV)/.installed
	$(BIN)/python -m medinterp.evaluate_xray --output medinterp/assets/MODEL_CARD.md

# The card's saliency section (six methods, three baselines; about 20 minutes on 2 busy
# cores); run make evaluate afterwards to put it in MODEL_CARD.md.
evaluate-saliency: $(VENV)/.installed
	$(BIN)/python -m medinterp.saliency_evaluation --n-images 60 \
		--output medinterp/assets/model_card_saliency.md

# Re-render the shipped example phantoms (a test checks they match the generator).
examples: $(VENV)/.installed
	$(BIN)/python -m medinterp.examples medinterp/assets/examples

# The students' notebooks are generated from the solution notebooks by nbgrader's
# generate_assignment (configured in nbgrader_config.py); never edit them by hand.
release: $(VENV)/.installed-instructor
	$(BIN)/python -m medinterp.instructor.release notebooks/source notebooks

# Grade a class: SUBMISSIONS=DIR holds DIR/<student_id>/<notebook>.ipynb (or nbgrader's
# submitted/ layout); writes DIR/grades.csv and DIR/feedback/<student_id>/*.html.
# CELL_TIMEOUT (seconds) overrides nbgrader_config.py's per-cell limit.
# Each submission is graded in its own sandbox, JOBS at once; SHARD=i/N grades one share of
# the class (a batch job's task) and MERGE=N writes grades.csv from the N shares.
autograde: $(VENV)/.installed-instructor
	@test -n "$(SUBMISSIONS)" || { echo "usage: make autograde SUBMISSIONS=DIR [JOBS=N] [CELL_TIMEOUT=120] [SHARD=i/N | MERGE=N] [CHECK_POINTS=FILE.json]"; exit 2; }
	$(BIN)/python -m medinterp.instructor.autograde "$(SUBMISSIONS)" \
		$(if $(CELL_TIMEOUT),--timeout $(CELL_TIMEOUT)) $(if $(JOBS),--jobs $(JOBS)) \
		$(if $(SHARD),--shard $(SHARD)) $(if $(MERGE),--merge $(MERGE)) \
		$(if $(CHECK_POINTS),--check-points $(CHECK_POINTS))

# Re-execute the solution notebooks in place (their outputs are what nbval compares).
execute: $(VENV)/.installed-test
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(SOLUTION_NOTEBOOKS)

clean:
	rm -rf $(VENV) $(LATEST_VENV) .pytest_cache .ruff_cache test-artifacts
