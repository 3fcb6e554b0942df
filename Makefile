# The two Quick start commands: `make run` (the main job) and `make test` (the suite).
# Both install the system packages they need when missing (Debian/Ubuntu, apt-get, as root
# or through password-less sudo; otherwise they say what to run) and create the virtual
# environment on first use. torch stays pinned to 2.13.0 so pip takes the local CPU wheel
# instead of pulling CUDA builds.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

.PHONY: setup system system-run run test lint bench clean

# --- system packages ------------------------------------------------------------------------
# Each check adds the Debian packages it lacks to $$missing; nothing is installed when
# nothing is missing, so on a prepared machine these targets do nothing and print nothing.
LDCONFIG := { ldconfig -p || /sbin/ldconfig -p; } 2>/dev/null
# make run: the venv module (Debian splits it out of its Python) and Mesa's EGL and GL
# libraries for MuJoCo's headless rendering.
CHECK_RUN = \
	command -v $(PYTHON) >/dev/null || missing="$$missing python3"; \
	$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	$(LDCONFIG) | grep -q 'libEGL.so.1' || missing="$$missing libegl1 libgl1"; \
	$(LDCONFIG) | grep -q 'libEGL_mesa' || missing="$$missing libegl-mesa0";
# make test, besides: PostgreSQL's server binaries (the storage tests start a throw-away
# server) and Debian's Chromium (the dashboard's browser tests; Playwright cannot download
# its own here).
CHECK_TEST = $(CHECK_RUN) \
	{ ls /usr/lib/postgresql/*/bin/initdb || command -v initdb; } >/dev/null 2>&1 \
		|| missing="$$missing postgresql"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium";
INSTALL_MISSING = \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else \
		echo "make: missing system packages:$$missing" >&2; \
		echo "  install them as root, then run make again:" >&2; \
		echo "  sudo apt-get install -y$$missing   (or: sudo make system)" >&2; \
		exit 1; \
	fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "make: missing system packages:$$missing (Debian names); no apt-get here:" \
			"install their equivalents, then run make again" >&2; \
		exit 1; \
	fi; \
	echo "installing system packages:$$missing"; \
	$$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing

# What `make run` needs from the system.
system-run:
	@missing=""; $(CHECK_RUN) $(INSTALL_MISSING)

# What `make test` needs from the system (everything).
system:
	@missing=""; $(CHECK_TEST) $(INSTALL_MISSING)

# --- the virtual environment ----------------------------------------------------------------
# system-run is order-only: checked on every call, it never makes pip run again.
$(STAMP): pyproject.toml | system-run
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,ray]'
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

test: system $(STAMP) lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python benchmarks/arena.py
	$(BIN)/python benchmarks/primitives.py
	$(BIN)/python benchmarks/library.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
