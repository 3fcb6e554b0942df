# The two Quick start commands: `make run` (the main job) and `make test` (the suite).
# Both create the virtual environment on first use. torch stays pinned to 2.13.0 so pip
# takes the local CPU wheel instead of pulling CUDA builds.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

.PHONY: setup run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: the experimenter daemon on the embedded defaults (offline planner, SQLite in
# data/, CPU), with a small learner so that the first skills are learned within minutes.
# Ctrl-C stops it safely; `make run` again continues the same experiment.
RUN_ARGS ?= --experiment quickstart --seed-skills none --hidden 128 --hidden 128 \
	--batch-size 128 --episode-steps 40 --random-steps 1000 --updates-per-step 1.0 \
	--collect-steps 1280

# The dashboard (http://127.0.0.1:8000) runs alongside the daemon and stops with it; the
# schema is migrated first so that the two never race to create it.
run: $(STAMP)
	$(BIN)/experimenter db upgrade
	@$(BIN)/experimenter serve & serve=$$!; \
	trap 'kill $$serve 2>/dev/null' EXIT INT TERM; \
	$(BIN)/experimenter run $(RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/arena.py
	$(BIN)/python benchmarks/primitives.py
	$(BIN)/python benchmarks/library.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
