# Two commands set everything up on a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8001

.PHONY: serve build test install clean

$(BIN)/datasette: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/datasette

install: $(BIN)/datasette

leftbehind.db: $(BIN)/datasette build_db.py leftbehind/*.py data/*.yml
	$(BIN)/python build_db.py leftbehind.db

build: leftbehind.db

serve: leftbehind.db
	$(BIN)/python -m leftbehind.serve --port $(PORT)

test: $(BIN)/datasette
	$(BIN)/python -m pytest

clean:
	rm -rf leftbehind.db inspect-data.json .pytest_cache
