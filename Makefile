# delayhub: `make demo` runs the whole path on the embedded default; `make test` runs the tests.
SHELL := /bin/bash
VENV := .venv
export DELAYHUB_ROOT := $(CURDIR)
export AIRFLOW_HOME := $(CURDIR)/var/airflow
export AIRFLOW_CONFIG := $(CURDIR)/airflow.cfg

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock setup.cfg pyproject.toml scripts/setup.sh
	./scripts/setup.sh

demo: setup
	$(VENV)/bin/delayhub demo

# Airflow's UI and REST API on http://localhost:8080 with the scheduler, DAG processor and triggerer;
# user admin, password in var/airflow/simple_auth_manager_passwords.json.generated. Ctrl-C stops it.
.PHONY: airflow
airflow: setup
	$(VENV)/bin/python plugins/delayhub_airflow/standalone.py

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

bench: setup
	for b in bench/[!_]*.py; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf var/
