# rnn-course: one target a job. `make` alone lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.rnn-course-installed
# torch is installed first, on its own, so that TORCH_PIP_ARGS (a CPU wheel index, say) apply to it alone;
# its version is the one in constraints.txt (a test checks).
TORCH  := torch==2.13.0
TORCH_PIP_ARGS ?=
PORT   ?= 8888
LAB_ARGS ?=
ASSIGNMENT ?= rnn_from_scratch

.PHONY: help setup constraints lab quiz test test-fast lint format docs config-reference bench bench-widgets \
        bench-browser bench-autograde bench-scale assignments collect autograde feedback export mistakes similar demo \
        reset hub clean check-python

help: ## list every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || \
	  { echo "rnn-course needs Python 3.11 or newer; '$(PYTHON)' is $$($(PYTHON) -V 2>&1 || echo missing). Run: make PYTHON=python3.11 <target>"; exit 1; }

# The environment is built in place, so its scripts name their final path and nothing is rewritten. The
# previous $(VENV) waits in $(OLD) meanwhile and comes back if any step fails (offline after a `git pull`
# touched pyproject.toml, say), so a failed reinstall keeps the working $(VENV). A rebuild that was cut off
# (Ctrl-C) leaves $(OLD) and a $(VENV) without the stamp: the next run brings $(OLD) back first.
# Versions: the ranges in pyproject.toml, the exact course environment in constraints.txt (`make constraints`).
OLD    := $(VENV).old
CONSTRAINTS := constraints.txt
PACKAGE ?= -e .[lab,worker,postgres,dev]

$(STAMP): pyproject.toml $(CONSTRAINTS) | check-python
	@if [ -d $(OLD) ] && [ ! -e $(STAMP) ]; then rm -rf $(VENV) && mv $(OLD) $(VENV); fi; rm -rf $(OLD)
	@echo "==> building $(VENV) (torch first, then the package with its lab, worker, postgres and dev extras)"
	@{ [ ! -e $(VENV) ] || mv $(VENV) $(OLD); } && $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/python -m pip install -q $(TORCH_PIP_ARGS) -c $(CONSTRAINTS) $(TORCH) && \
	  $(BIN)/python -m pip install -q -c $(CONSTRAINTS) $(PACKAGE) || \
	  { rm -rf $(VENV); if [ -d $(OLD) ]; then mv $(OLD) $(VENV); echo "install failed; $(VENV) was kept as it was"; \
	    else echo "install failed; no $(VENV) was made"; fi; exit 1; }
	@rm -rf $(OLD) && touch $(STAMP)
	@echo "==> $(VENV) is built"

setup: check-python $(STAMP) ## create .venv: torch, the course package with its extras, the dev tools (idempotent)
	@echo "==> $(VENV) is ready"

# The lock step: pyproject.toml's ranges resolved afresh in a scratch environment (without the old
# constraints), frozen to exact versions. Run it to move the course to newer releases, then `make test`.
LOCK   := $(VENV).lock

constraints: check-python ## resolve pyproject.toml's ranges afresh and write the exact versions to constraints.txt
	@echo "==> resolving pyproject.toml's ranges in $(LOCK)"
	@rm -rf $(LOCK) && $(PYTHON) -m venv $(LOCK) && \
	  $(LOCK)/bin/python -m pip install -q $(TORCH_PIP_ARGS) $(TORCH) && \
	  $(LOCK)/bin/python -m pip install -q $(PACKAGE) && \
	  { echo "# The course environment's exact versions: what pyproject.toml names (with the extras that"; \
	    echo "# \`make setup\` installs) and their dependencies. \`make setup\` installs with \`pip install -c\`"; \
	    echo "# this file; \`make constraints\` writes it anew from pyproject.toml's ranges. Do not edit by hand."; \
	    $(LOCK)/bin/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]+)[+].*/\1/'; \
	  } > $(CONSTRAINTS).new && mv $(CONSTRAINTS).new $(CONSTRAINTS); status=$$?; rm -rf $(LOCK) $(CONSTRAINTS).new; \
	  [ $$status -eq 0 ] && echo "==> wrote $(CONSTRAINTS); \`make setup\` installs it" || { echo "resolving failed; $(CONSTRAINTS) was kept"; exit 1; }

lab: setup ## open JupyterLab on the course notebooks (the learner's main job)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --ServerApp.kernel_websocket_connection_class=rnn_course.lab_socket.NoDelayConnection \
	  $(LAB_ARGS) notebooks/01_rnn_syntax.ipynb

quiz: setup ## take the practice quiz in the terminal (SET=test for the 10+ question test)
	$(BIN)/rnn-course quiz $${SET:-practice}

lint: setup ## ruff over the package, tests, benchmarks and notebooks, and the format check (lessons excepted)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup ## format the code with ruff (not the lesson notebooks: their code is laid out beside prose)
	$(BIN)/ruff format .

# The unit and notebook tiers share nothing, so they run on two processes (pytest-xdist); the tiers that
# start servers, time kernels or add local accounts (grading, browser, scale, hub) run one test at a time.
test: lint ## every tier: lint, then unit and notebooks on two processes, then grading, browser, scale, hub
	@status=0; \
	  $(BIN)/python -m pytest -n 2 tests/unit tests/notebooks || status=1; \
	  $(BIN)/python -m pytest tests/grading tests/browser tests/scale tests/hub || status=1; \
	  exit $$status

test-fast: setup ## the unit tier without its slow tests, on two processes (no system package needed)
	$(BIN)/python -m pytest -n 2 -m "not slow" tests/unit

config-reference: setup ## regenerate docs/instructors/config-reference.md from the settings' traits
	$(BIN)/python -m rnn_course.grading.config

docs: config-reference ## build the documentation site from docs/ into site/, in strict mode (a broken link fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

bench: bench-widgets bench-browser ## every latency benchmark: in-kernel widgets, then end to end in the browser

bench-widgets: setup ## each explorer's update in the kernel, against a naive alternative (target 10 ms)
	$(BIN)/python -m benchmarks.bench_widgets

bench-browser: setup ## every explorer control: key press to new picture painted, JupyterLab + Chromium at 2x
	$(BIN)/python -m benchmarks.bench_browser

bench-autograde: setup ## 40 generated submissions: stock nbgrader autograde against ours
	$(BIN)/python -m benchmarks.bench_autograde

bench-scale: setup ## 200 generated submissions, 1 then 2 Dask workers, PostgreSQL: throughput, where time goes
	$(BIN)/python -m benchmarks.bench_scale

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

similar: setup ## list the pairs of submissions whose answers are near-identical (a reason to look)
	$(BIN)/rnn-course grade similar $(ASSIGNMENT)

demo: setup ## release, collect the demo submissions, autograde, feedback, export and print the grades
	$(BIN)/rnn-course grade demo $(ASSIGNMENT)

reset: setup ## remove the demo students (gradebook, submitted/, autograded/, feedback/, grades.csv)
	$(BIN)/rnn-course grade reset

# The course's JupyterHub (docs/instructors/hub.md): run as root, from a checkout and a $(VENV) that every
# account can read. Its database and cookie secret live in HUB_STATE; the exchange in RNN_COURSE_EXCHANGE.
HUB_STATE ?= /srv/rnn-course-hub
EXCHANGE  ?= $(or $(RNN_COURSE_EXCHANGE),/srv/nbgrader/exchange)

hub: setup ## run the course's JupyterHub as root: PAM logins, a JupyterLab per learner, nbgrader's exchange
	@[ "$$(id -u)" -eq 0 ] || { echo "make hub runs as root: the hub starts each learner's server as that user"; exit 1; }
	@command -v configurable-http-proxy >/dev/null || \
	  { echo "configurable-http-proxy is missing; install it with: npm install -g configurable-http-proxy"; exit 1; }
	install -d -m 0777 $(EXCHANGE)
	install -d -m 0700 $(HUB_STATE)
	cd $(HUB_STATE) && RNN_COURSE_EXCHANGE=$(EXCHANGE) $(abspath $(BIN))/jupyterhub \
	  -f $(abspath grader/hub/jupyterhub_config.py)

clean: ## remove generated files (keeps .venv; use `make clean VENV_TOO=1` to drop it)
	rm -rf grader/release grader/submitted grader/autograded grader/feedback grader/gradebook.db \
	       grader/grades.csv grader/mistakes.csv grader/.runs grader/lms.json grader/collect-*.csv \
	       grader/moodle-*.csv grader/canvas-*.csv grader/feedback-*.zip .pytest_cache .ruff_cache test-artifacts
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
	@if [ -n "$(VENV_TOO)" ]; then rm -rf $(VENV) $(OLD) $(LOCK); fi
