# 시퀀스 모델 강의 노트 — one entry point for build, test, lint and benchmark.
#   make book     build the HTML book (creates .venv on first use)
#   make test     lint + unit tests + nbval over every notebook + built-HTML check in Chromium
#   make help     everything else

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard book/*.ipynb))
NB ?= $(NOTEBOOKS)
# parallel nbval workers (one notebook per worker: --dist loadfile)
JOBS ?= 2

# Kernels that execute or test the notebooks: CPU, no progress bars, one BLAS thread each
# (two notebooks run side by side on a 2-core machine). book_setup() sets one torch thread
# itself, so a bare `pytest --nbval book/` gives the same answer as `make test`.
# No CPU code-path pins: nbval compares only what every CPU reproduces (data, counts, closed
# forms); outputs shaped by training are tagged nbval-ignore-output and checked by asserts.
export SEQNOTES_DEVICE   := cpu
export SEQNOTES_PROGRESS := 0
export OMP_NUM_THREADS   := 1
export MKL_NUM_THREADS   := 1
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The student's run (make test-student): another seed offset for every random draw and another
# torch kernel path (ATEN_CPU_CAPABILITY=default stands in for another CPU); every cell must run
# without error, i.e. every assert must hold. Outputs are not compared (--nbval-lax).
STUDENT_SEED ?= 1

NBVAL := $(BIN)/pytest --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: help venv book test test-unit test-notebooks test-student test-html lint format execute lab serve \
	bench lock chromium clean

help:
	@echo "make book            build the HTML book into _build/html (creates .venv if missing)"
	@echo "make test            lint, unit tests, nbval, the student run, browser check of the HTML"
	@echo "make test-student    every notebook with another seed (STUDENT_SEED=1) and kernel path; no errors"
	@echo "make execute [NB=..] re-execute notebooks in place (the only way outputs get written)"
	@echo "make lab             JupyterLab on book/ from the same environment (progress bars on)"
	@echo "make serve           serve _build/html on http://127.0.0.1:8000"
	@echo "make lint            ruff over src, tests, tools and the notebooks"
	@echo "make bench           time the build, every notebook under nbval and the whole test"
	@echo "make lock            re-pin transitive dependencies into constraints.txt"
	@echo "make clean           remove _build"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo "책: $(CURDIR)/_build/html/index.html"

test: book lint test-unit test-notebooks test-student test-html

test-unit: $(STAMP)
	$(BIN)/pytest tests --ignore=tests/browser -q -p no:cacheprovider

test-notebooks: $(STAMP)
	$(NBVAL) -q -n $(JOBS) --dist loadfile $(NB)

test-student: $(STAMP)
	SEQNOTES_SEED=$(STUDENT_SEED) ATEN_CPU_CAPABILITY=default $(BIN)/pytest --nbval-lax --nbval-current-env \
		-p no:cacheprovider -q -n $(JOBS) --dist loadfile $(NB)

test-html: $(STAMP) chromium
	@test -f _build/html/index.html || { echo "no _build/html: run 'make book' first"; exit 1; }
	$(BIN)/pytest tests/browser -q -p no:cacheprovider -rs

lint: $(STAMP)
	$(BIN)/ruff check src tests tools book
	$(BIN)/ruff format --check src tests tools

format: $(STAMP)
	$(BIN)/ruff format src tests tools
	$(BIN)/ruff check --fix src tests tools book

# Re-execute notebooks top to bottom and store their outputs (no timings in metadata).
execute: $(STAMP)
	@for nb in $(NB); do \
		echo "executing $$nb"; \
		$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.kernel_name=python3 \
			--ExecutePreprocessor.timeout=900 \
			--ExecutePreprocessor.record_timing=False --log-level=WARN "$$nb"; \
		$(BIN)/python tools/check_notebooks.py "$$nb"; \
	done

lab: $(STAMP)
	SEQNOTES_PROGRESS=1 SEQNOTES_DEVICE= $(BIN)/jupyter lab --notebook-dir=book \
		$(if $(filter 0,$(shell id -u)),--allow-root)

serve:
	@test -f _build/html/index.html || { echo "no _build/html: run 'make book' first"; exit 1; }
	$(PYTHON) -m http.server 8000 --bind 127.0.0.1 --directory _build/html

bench: $(STAMP) chromium
	$(BIN)/python tools/bench.py

lock: $(STAMP)
	{ echo "# Pins of every transitive dependency, from \`pip freeze\` (see \`make lock\`). torch is pinned in requirements.txt."; \
	  $(BIN)/pip freeze --exclude-editable | grep -viE '^(-e |torch==|setuptools==|wheel==|pip==)'; } > constraints.txt

# Headless Chromium (and a Hangul font) for the built-HTML check; Debian packages.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi nanum; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=none; fi; \
		if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
			echo "!!! cannot install chromium + fonts-nanum here (no root/apt): the browser check will be SKIPPED"; \
		else \
			echo "installing chromium and fonts-nanum (Debian packages)"; \
			$$SUDO apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-nanum >/dev/null; \
		fi; \
	fi

clean:
	rm -rf _build
