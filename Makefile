# The README's two commands are `make lab` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUDENT_NOTEBOOK := notebooks/model_interpretation.ipynb
SOLUTION_NOTEBOOK := notebooks/source/model_interpretation_solution.ipynb
SHARED_NHANES := $(abspath ../shared/data/nhanesi)

# Quiet TensorFlow's C++ start-up logging in tests and benchmarks.
export TF_CPP_MIN_LOG_LEVEL ?= 2
export KERAS_BACKEND ?= tensorflow
# A checkout with ../shared beside it reads the data from there instead of downloading.
ifneq ($(wildcard $(SHARED_NHANES)/NHANESI_subset_X.csv),)
export MEDINTERP_DATA_DIR ?= $(SHARED_NHANES)
endif

.PHONY: lab test lint format bench model evaluate release execute clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Jupyter refuses to run as root unless told (containers and CI machines run as root).
lab: $(VENV)/.installed
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(STUDENT_NOTEBOOK)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Unit, grader, widget and browser tests, then the solution notebook under nbval.
test: lint
	$(BIN)/python -m pytest
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
		$(SOLUTION_NOTEBOOK)

bench: $(VENV)/.installed-test
	$(BIN)/python -m benchmarks

model: $(VENV)/.installed
	$(BIN)/python -m medinterp.train_xray --output medinterp/assets

evaluate: $(VENV)/.installed
	$(BIN)/python -m medinterp.evaluate_xray

# The student notebook is generated from the solution notebook; never edit it by hand.
release: $(VENV)/.installed
	$(BIN)/python -m medinterp.release $(SOLUTION_NOTEBOOK) $(STUDENT_NOTEBOOK)

# Re-execute the solution notebook in place (its outputs are what nbval compares).
execute: $(VENV)/.installed-test
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(SOLUTION_NOTEBOOK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
