# Two commands set everything up on a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8001
# The Cloud Run service or Fly app to deploy to, and the site's public origin
# (https://example.org): every absolute link is built from it. Without it the site
# lives at the platform's own address (https://$(SERVICE).fly.dev, or Cloud Run's
# https://$(SERVICE)-PROJECT_NUMBER.REGION.run.app).
SERVICE ?= left-behind-neighbourhoods
ORIGIN ?=

.PHONY: serve complete-build build test bench load audit install venv clean metadata readme lock publish-cloudrun publish-fly

# The Python the project needs (pyproject.toml's requires-python): a command exits 0 with it.
NEEDS_PYTHON := 3.11
PYTHON_IS_RECENT := -c 'import sys; sys.exit(sys.version_info < (3, 11))'
VENV_OPTIONS ?=

# .venv is made by $(PYTHON), and made again when its own Python no longer runs or is
# older than $(NEEDS_PYTHON) (an install that failed under Python 3.10 leaves one behind;
# reusing it would fail the same way for ever, whatever Python is given next time).
venv:
	@if ! $(BIN)/python $(PYTHON_IS_RECENT) 2>/dev/null; then \
	  $(PYTHON) $(PYTHON_IS_RECENT) 2>/dev/null || { \
	    echo "make: this project needs Python $(NEEDS_PYTHON) or later, and PYTHON=$(PYTHON) is" \
	      "$$($(PYTHON) --version 2>&1 || echo 'not found'): run make again with PYTHON=python$(NEEDS_PYTHON)" \
	      "(or the path of any Python $(NEEDS_PYTHON)+)" >&2; exit 1; }; \
	  if [ -e $(VENV) ]; then \
	    echo "make: $(VENV) was made by $$($(BIN)/python --version 2>&1 || echo 'a Python that no longer runs'), not Python $(NEEDS_PYTHON)+: making it again with $(PYTHON)"; \
	    rm -rf $(VENV); \
	  fi; \
	  $(PYTHON) -m venv $(VENV_OPTIONS) $(VENV); \
	fi

# A .venv that needs making again makes the install run again, whatever the file times say.
ifneq ($(shell $(BIN)/python $(PYTHON_IS_RECENT) 2>/dev/null && echo ok),ok)
.PHONY: $(BIN)/datasette
endif

# The locked versions first (the container installs exactly these), then the project
# and its test tools; a test checks that what is installed is what is locked. uv installs
# them, from the same lock with the same hashes, in seconds where pip took 45-80 s of CI's
# run (it downloads in parallel); pip installs uv itself, pinned by hash.
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python
$(BIN)/datasette: pyproject.toml requirements.lock requirements-uv.txt
	@$(MAKE) --no-print-directory venv PYTHON='$(PYTHON)'
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-uv.txt
	$(UV) --require-hashes --no-deps -r requirements.lock
	$(UV) -e '.[test]'
	touch $(BIN)/datasette

install: $(BIN)/datasette

# build_db.py writes postcodes.db beside leftbehind.db (a minute more; --no-postcodes skips it).
leftbehind.db: $(BIN)/datasette build_db.py leftbehind/*.py data/*.yml
	$(BIN)/python build_db.py leftbehind.db

build: leftbehind.db

# Regenerate the tables part of metadata.yml from leftbehind/tables.py.
metadata: $(BIN)/datasette
	$(BIN)/python -m leftbehind.metadata

# Rewrite the counts README.md states from the built database (leftbehind/readme.py).
readme: leftbehind.db
	$(BIN)/python -m leftbehind.readme

# A leftbehind.db newer than its inputs but not a complete build (empty, cut short, damaged:
# leftbehind/database_check.py says which) is built again before it is served or published.
complete-build: leftbehind.db
	@$(BIN)/python -m leftbehind.database_check leftbehind.db || $(BIN)/python build_db.py leftbehind.db

serve: complete-build
	$(BIN)/python -m leftbehind.serve serve --port $(PORT)

# Rewrite requirements.lock (every dependency pinned, with hashes) from pyproject.toml.
lock: $(BIN)/datasette
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --build-deps-for wheel \
		--no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml

# Deploy the container image (Dockerfile) with the platform's own tool; without the
# tool or its login, these print the commands they would run and stop.
publish-cloudrun: complete-build
	$(BIN)/python -m leftbehind.serve publish cloudrun $(SERVICE) $(if $(ORIGIN),--origin $(ORIGIN))

publish-fly: complete-build
	$(BIN)/python -m leftbehind.serve publish fly $(SERVICE) $(if $(ORIGIN),--origin $(ORIGIN))

# One worker per core (pytest-xdist); each test file runs whole on one worker (its group, but
# for the accessibility sweep's parts), so the database, the server and the browser are set up
# once per worker, not once per test; the slowest files first (tests/conftest.py, run_order).
test: $(BIN)/datasette
	$(BIN)/python -m pytest -n auto --dist loadgroup --no-loadscope-reorder

# Benchmarks print figures (docs/benchmarks.md says what they mean); outputs go to
# the git-ignored bench/out/. They read the sources like the build: set
# LEFTBEHIND_SOURCES_DIR, or they are downloaded once into .cache/sources/.
bench: $(BIN)/datasette
	$(BIN)/python bench/build.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/page_costs.py
	$(BIN)/python bench/map.py
	$(BIN)/python bench/growth.py
	$(BIN)/python bench/transfer.py
	$(BIN)/python bench/postcode_answer.py

# Lighthouse scores of the home page, the map, a ward page and the dashboard, served
# locally with the publishing profile (docs/lighthouse.md; not a gate). Lighthouse is
# installed from tools/lighthouse/package-lock.json into its git-ignored node_modules;
# it needs Node 18.16 or later (Debian 12's nodejs and npm) and /usr/bin/chromium.
LIGHTHOUSE := tools/lighthouse/node_modules/.bin/lighthouse

$(LIGHTHOUSE): tools/lighthouse/package.json tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund
	touch $(LIGHTHOUSE)

audit: $(BIN)/datasette $(LIGHTHOUSE)
	$(BIN)/python bench/audit.py

# Mixed load with hostile requests, then each attack class of issue 10 alone
# (figures in docs/load-test.md).
load: $(BIN)/datasette
	$(BIN)/python bench/hostile_load.py

# Everything made here: the database, the venv, the caches of the tests (not the downloaded
# sources in .cache/, which are pinned by sha256 and slow to fetch again).
clean:
	rm -rf leftbehind.db .leftbehind.db.* postcodes.db .postcodes.db.* inspect-data.json .pytest_cache .hypothesis .ci-test.log $(VENV)
