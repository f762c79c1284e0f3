# 시퀀스 모델 강의 노트 — one entry point for build, test, lint and benchmark.
#   make book     build the HTML book (creates .venv on first use)
#   make test     lint + unit tests + nbval over every notebook + the student run in a fresh venv
#                 + built-HTML and JupyterLab checks in Chromium
#   make pdf      the PDF edition (XeLaTeX + kotex), linked from the HTML book
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
export SEQNOTES_PROGRESS := 0
export OMP_NUM_THREADS   := 1
export MKL_NUM_THREADS   := 1
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# The student's run (make test-student): a kernel from a fresh venv (.venv-student) that has only
# what the package declares (`pip install .` + ipykernel, no requirements.txt, no constraints), none
# of the variables above and another seed offset for every random draw. Every cell must run without
# error, i.e. every assert must hold. Outputs are not compared (--nbval-lax).
# STUDENT_ATEN=default also switches torch to another CPU kernel path (it stands in for another CPU;
# checked before a release, not in every `make test`: it makes the run about 30 % slower).
STUDENT_SEED ?= 1
STUDENT_ATEN ?=
SVENV  := .venv-student
SSTAMP := $(SVENV)/.installed
STUDENT_KERNEL := seqnotes-student
PACKAGE_SOURCES := $(shell find src -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
# pip picks a multi-GB CUDA build for an unpinned torch on Linux: install the CPU wheel first
# (the same pin as requirements.txt), then the package, whose `torch>=2.4` it already satisfies.
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)

NBVAL := $(BIN)/pytest --nbval --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

.PHONY: help venv student-venv book test test-unit test-notebooks test-student test-html test-lab lint format \
	execute lab serve bench lock chromium pdf test-pdf latex clean screenshots

help:
	@echo "make book            build the HTML book into _build/html (creates .venv if missing)"
	@echo "make test            lint, unit tests, nbval, the student run, browser checks of the HTML and JupyterLab"
	@echo "make test-student    every notebook in a fresh venv (pip install .) with another seed [STUDENT_ATEN=default]"
	@echo "make test-lab        JupyterLab in headless Chromium: a training cell's progress bar"
	@echo "make screenshots     the built-HTML check, keeping a full-page PNG of every page in _build/screenshots"
	@echo "make execute [NB=..] re-execute notebooks in place (the only way outputs get written)"
	@echo "make pdf             the PDF edition into _build/html/seqnotes.pdf (XeLaTeX + kotex)"
	@echo "make test-pdf        check the PDF: chapter titles, fonts embedded, images, no tofu"
	@echo "make lab             JupyterLab on book/ from the same environment (progress bars on)"
	@echo "make serve           serve _build/html on http://127.0.0.1:8000"
	@echo "make lint            ruff over src, tests, tools and the notebooks; actionlint over .github"
	@echo "make bench           every notebook under nbval alone and the whole make test, against the budgets"
	@echo "make lock            re-pin transitive dependencies into constraints.txt"
	@echo "make clean           remove _build"

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt
	@touch $@

venv: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -n -W --keep-going
	@echo "책: $(CURDIR)/_build/html/index.html"

# Two things at a time where they do not compete for the notebooks' two cores: the book, lint, unit
# tests and the student venv side by side; then the two notebook runs (each two notebooks at a time);
# then the two browser checks side by side.
test:
	$(MAKE) --no-print-directory -j2 -O book lint test-unit student-venv
	$(MAKE) --no-print-directory test-notebooks
	$(MAKE) --no-print-directory test-student
	$(MAKE) --no-print-directory -j2 -O test-html test-lab

test-unit: $(STAMP)
	$(BIN)/pytest tests --ignore=tests/browser --ignore=tests/test_pdf.py -q -p no:cacheprovider

test-notebooks: $(STAMP)
	$(NBVAL) -q -n $(JOBS) --dist loadfile $(NB)

# The fresh venv is made anew when pyproject.toml changes (a dependency may have been dropped) and
# the package is reinstalled (not editable) when src/ changes. Its kernelspec stays in its own prefix
# (found through JUPYTER_PATH), so `make lab` offers no second kernel.
$(SVENV)/.created: pyproject.toml
	rm -rf $(SVENV)
	$(PYTHON) -m venv $(SVENV)
	$(SVENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile "$(TORCH_PIN)"
	$(SVENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile . ipykernel
	@touch $@

$(SSTAMP): $(SVENV)/.created $(PACKAGE_SOURCES) | $(STAMP)
	$(SVENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall .
	rm -rf build  # setuptools' in-tree build directory
	$(SVENV)/bin/python -m ipykernel install --prefix $(abspath $(SVENV)) --name $(STUDENT_KERNEL) \
		--display-name "seqnotes (student venv)"
	@touch $@

student-venv: $(SSTAMP)

test-student: $(STAMP) $(SSTAMP)
	env -u OMP_NUM_THREADS -u MKL_NUM_THREADS -u SEQNOTES_PROGRESS \
		SEQNOTES_SEED=$(STUDENT_SEED) $(if $(STUDENT_ATEN),ATEN_CPU_CAPABILITY=$(STUDENT_ATEN)) JUPYTER_PATH=$(abspath $(SVENV))/share/jupyter \
		$(BIN)/pytest --nbval-lax --nbval-kernel-name $(STUDENT_KERNEL) \
		-p no:cacheprovider -q -n $(JOBS) --dist loadfile $(NB)

test-html: $(STAMP) chromium
	@test -f _build/html/index.html || { echo "no _build/html: run 'make book' first"; exit 1; }
	$(BIN)/pytest tests/browser --ignore=tests/browser/test_lab.py -q -p no:cacheprovider -rs

# The same check, keeping a full-page screenshot of every page in _build/screenshots/ (to look at)
screenshots: $(STAMP) chromium
	@test -f _build/html/index.html || { echo "no _build/html: run 'make book' first"; exit 1; }
	SEQNOTES_SCREENSHOTS=1 $(BIN)/pytest tests/browser --ignore=tests/browser/test_lab.py -q -p no:cacheprovider -rs

# JupyterLab as `make lab` starts it, driven by headless Chromium: a training cell's progress bar
test-lab: $(STAMP) chromium
	$(BIN)/pytest tests/browser/test_lab.py -q -p no:cacheprovider -rs

lint: $(STAMP)
	$(BIN)/ruff check src tests tools book
	$(BIN)/ruff format --check src tests tools
	$(BIN)/actionlint

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
	SEQNOTES_PROGRESS=1 $(BIN)/jupyter lab --notebook-dir=book \
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
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -ci nanum >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=none; fi; \
		if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
			echo "!!! cannot install chromium + fonts-nanum here (no root/apt): the browser check will be SKIPPED"; \
		else \
			echo "installing chromium and fonts-nanum (Debian packages)"; \
			$$SUDO apt-get update -qq >/dev/null && \
			DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-nanum >/dev/null; \
		fi; \
	fi

# The PDF edition: Sphinx's LaTeX builder, then XeLaTeX with kotex (Debian packages, see `latex`).
# The PDF is also copied next to the HTML site, which links it from every page's header.
# Built under _build/pdf (its own doctrees: an HTML build may run beside it).
PDF_BUILD ?= _build/pdf
LATEX_DIR := $(PDF_BUILD)/_build/latex
PDF := $(LATEX_DIR)/book.pdf
export SEQNOTES_PDF := $(abspath $(PDF))
pdf: $(STAMP) latex
	rm -rf $(PDF_BUILD)
	$(BIN)/jupyter-book build . --builder latex -n --keep-going -q --path-output $(PDF_BUILD)
	LATEXOPTS="-interaction=nonstopmode -halt-on-error" $(MAKE) -C $(LATEX_DIR) all-pdf \
		LATEXMKOPTS="-silent" >$(LATEX_DIR)/xelatex.out 2>&1 \
		|| { tail -40 $(LATEX_DIR)/xelatex.out; exit 1; }
	mkdir -p _build/html && cp $(PDF) _build/html/seqnotes.pdf
	@echo "PDF: $(abspath $(PDF)) ($$(du -h $(PDF) | cut -f1))"

test-pdf: $(STAMP) latex
	@test -f $(PDF) || { echo "no $(PDF): run 'make pdf' first"; exit 1; }
	$(BIN)/pytest tests/test_pdf.py -q -p no:cacheprovider -rs

# XeLaTeX, kotex, latexmk, the Korean/CJK/DejaVu fonts and poppler-utils (pdftotext, pdffonts) for the
# PDF edition; Debian packages (texlive-fonts-recommended brings pzdr for hyperref).
LATEX_PACKAGES := texlive-xetex texlive-lang-korean texlive-latex-extra texlive-fonts-recommended latexmk \
	fonts-nanum fonts-noto-cjk fonts-dejavu-core fonts-dejavu-extra poppler-utils
latex:
	@if ! command -v xelatex >/dev/null 2>&1 || ! command -v latexmk >/dev/null 2>&1 \
		|| ! command -v pdffonts >/dev/null 2>&1 || ! kpsewhich kotex.sty >/dev/null 2>&1 \
		|| ! fc-list 2>/dev/null | grep -c "Noto Sans Mono CJK KR" >/dev/null || ! fc-list 2>/dev/null | grep -ci nanummyeongjo >/dev/null \
		|| ! fc-list 2>/dev/null | grep -c "DejaVu Serif" >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=none; fi; \
		if [ "$$SUDO" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
			echo "!!! cannot install the LaTeX packages here (no root/apt): install $(LATEX_PACKAGES)"; exit 1; \
		fi; \
		echo "installing XeLaTeX, kotex and fonts (Debian packages, a few minutes)"; \
		$$SUDO apt-get update -qq >/dev/null && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(LATEX_PACKAGES) >/dev/null; \
	fi

clean:
	rm -rf _build
