# The README's two commands live here so that a fresh machine needs only Python 3.11+, Java 17,
# Maven, unzip and make. Everything else (Python packages, the Kafka jars, Keycloak) is installed
# on first use.

VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test unit lint fuzz broker-start broker-stop keycloak-start keycloak-stop clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --editable '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	deploy/kafka/kafka-local start
	$(VENV)/bin/mappa demo

# Two pytest-xdist workers, as many as the CI machine has cores: much of the suite waits on
# brokers, databases and subprocesses. tests/conftest.py says which tests share a worker.
TEST_WORKERS ?= 2
test: $(STAMP) lint
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# The pure and in-memory tests alone (no broker, no database server), for the edit-test loop:
# well under a minute. Tests that simulate whole area-years (the `year` mark) are left to `test`.
unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit -m "not year" -q

# The parser and the feed readers, 100,000 inputs per property (several minutes): a dedicated
# job, not part of `make test`, which runs a few hundred of each.
fuzz: $(STAMP)
	MAPPA_FUZZ_EXAMPLES=100000 $(VENV)/bin/pytest -m fuzz -q -p no:cacheprovider --hypothesis-show-statistics

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

broker-start:
	deploy/kafka/kafka-local start

broker-stop:
	deploy/kafka/kafka-local stop

keycloak-start:
	deploy/keycloak/keycloak-local start

keycloak-stop:
	deploy/keycloak/keycloak-local stop

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
