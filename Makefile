# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
SRC     := engine tests benchmarks experiments

.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with its dev tools

run: $(STAMP)  ## train on the bundled Complete Journey data; prints the MLflow run id and model location
	$(VENV)/bin/offers train

lint: $(STAMP)  ## ruff and mypy
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)
	$(VENV)/bin/mypy

test: lint  ## lint, type-check and run the whole test suite (starts nothing; Redis must answer on 6379)
	$(VENV)/bin/pytest

serve: $(STAMP)  ## serve challenges over HTTP on 127.0.0.1:8000
	$(VENV)/bin/offers serve

mlflow-ui: $(STAMP)  ## browse runs and models
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db

.PHONY: help install run lint test serve mlflow-ui
