# rnn-course: one target a job. `make` alone lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rnn-course-installed
TORCH  := torch==2.13.0
TORCH_PIP_ARGS ?=
PORT   ?= 8888
LAB_ARGS ?=
ASSIGNMENT ?= rnn_from_scratch

.PHONY: help setup lab quiz test test-fast lint format docs bench bench-widgets bench-browser bench-autograde bench-scale \
        assignments collect autograde feedback export mistakes demo reset clean check-python

help: ## list every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "rnn-course needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo missing). Run: make PYTHON=python3.11 <target>"; exit 1; }

# A new environment is built aside in $(VENV).new and swapped in only when every install step succeeded, so a
# failed reinstall (offline after a `git pull` touched pyproject.toml, say) keeps the working $(VENV). Scripts
# in bin/ name their venv's path, so they are pointed at $(VENV) before the swap.
NEW    := $(VENV).new
PACKAGE ?= -e .[dev]

$(STAMP): pyproject.toml | check-python
	@echo "==> building a new environment in $(NEW) (torch first, then the package with dev extras)"
	@rm -rf $(NEW)
	@$(PYTHON) -m venv $(NEW) && $(NEW)/bin/python -m pip install -q $(TORCH_PIP_ARGS) $(TORCH) && \
	  $(NEW)/bin/python -m pip install -q $(PACKAGE) || \
	  { rm -rf $(NEW); echo "install failed; $(if $(wildcard $(BIN)/python),$(VENV) was kept as it was,no $(VENV) was made)"; exit 1; }
	@grep -rlF "$(abspath $(NEW))" $(NEW)/bin | xargs -r sed -i "s|$(abspath $(NEW))|$(abspath $(VENV))|g"
	@touch $(NEW)/.rnn-course-installed
	@rm -rf $(VENV).old && { [ ! -e $(VENV) ] || mv $(VENV) $(VENV).old; } && mv $(NEW) $(VENV) && rm -rf $(VENV).old
	@echo "==> $(VENV) replaced by the new environment"

setup: check-python $(STAMP) ## create .venv and install torch, the course package and its dev tools (idempotent)
	@echo "==> $(VENV) is ready"

lab: setup ## open JupyterLab on the course notebooks (the learner's main job)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  $(LAB_ARGS) notebooks/01_rnn_syntax.ipynb

quiz: setup ## take the practice quiz in the terminal (SET=test for the 10+ question test)
	$(BIN)/rnn-course quiz $${SET:-practice}

lint: setup ## ruff over the package, tests, benchmarks and notebooks
	$(BIN)/ruff check .

format: setup ## format the code with ruff
	$(BIN)/ruff format src tests benchmarks

test: setup ## every tier: lint, unit, clean notebooks, executed notebooks, grading, browser, scale
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: setup ## unit tests only (no notebooks, grading or browser)
	$(BIN)/python -m pytest tests/unit

docs: setup ## build the documentation site from docs/ into site/, in strict mode (a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

bench: bench-widgets bench-browser ## every latency benchmark: in-kernel widgets, then end to end in the browser

bench-widgets: setup ## widget update latency in the kernel, against a naive full re-plot
	$(BIN)/python benchmarks/bench_widgets.py

bench-browser: setup ## key press to new plot image in JupyterLab + Chromium (median of 20)
	$(BIN)/python benchmarks/bench_browser.py

bench-autograde: setup ## 40 generated submissions: stock nbgrader autograde against ours
	$(BIN)/python benchmarks/bench_autograde.py

bench-scale: setup ## 200 generated submissions, 1 then 2 Dask workers, PostgreSQL: throughput, where time goes
	$(BIN)/python benchmarks/bench_scale.py

assignments: setup ## generate the student release of the assignment and check it
	$(BIN)/rnn-course grade release $(ASSIGNMENT)

collect: setup ## map an LMS zip or a folder (FROM=...) onto grader/submitted/ through the roster
	@[ -n "$(FROM)" ] || { echo "make collect FROM=<the LMS's submissions zip, or a folder>"; exit 2; }
	$(BIN)/rnn-course grade collect "$(FROM)" --assignment $(ASSIGNMENT)

autograde: setup ## autograde every submission in grader/submitted/
	$(BIN)/rnn-course grade autograde $(ASSIGNMENT)

feedback: setup ## write HTML feedback for every graded submission
	$(BIN)/rnn-course grade feedback $(ASSIGNMENT)

export: setup ## write grader/grades.csv
	$(BIN)/rnn-course grade export

mistakes: setup ## count the graded submissions that made each known mistake; write grader/mistakes.csv
	$(BIN)/rnn-course grade mistakes $(ASSIGNMENT)

demo: setup ## release, collect the demo submissions, autograde, feedback, export and print the grades
	$(BIN)/rnn-course grade demo $(ASSIGNMENT)

reset: setup ## remove the demo students (gradebook, submitted/, autograded/, feedback/, grades.csv)
	$(BIN)/rnn-course grade reset

clean: ## remove generated files (keeps .venv; use `make clean VENV_TOO=1` to drop it)
	rm -rf grader/release grader/submitted grader/autograded grader/feedback grader/gradebook.db \
	       grader/grades.csv grader/mistakes.csv grader/.runs grader/lms.json grader/collect-*.csv \
	       grader/moodle-*.csv grader/canvas-*.csv grader/feedback-*.zip .pytest_cache .ruff_cache test-artifacts
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	@if [ -n "$(VENV_TOO)" ]; then rm -rf $(VENV) $(NEW) $(VENV).old; fi
