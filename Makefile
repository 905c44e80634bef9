# Vigil's entry points. `make demo` and `make test` set everything up first (idempotently).
PY := .venv/bin/python
FAST := not spark and not kafka and not notebook

.PHONY: setup demo dashboard test test-fast lint bench kafka-start kafka-stop kafka-status clean

setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) -m scripts.demo

# The dashboard over the demo's serving database (run `make demo` first).
dashboard: setup
	@$(PY) -m dashboard --data-root .vigil/demo

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "$(FAST)"

lint: setup
	$(PY) -m ruff check .

bench: setup
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

kafka-start: setup
	@$(PY) -m scripts.kafka_broker start

kafka-stop:
	@$(PY) -m scripts.kafka_broker stop

kafka-status:
	@$(PY) -m scripts.kafka_broker status

# Local data only (tables, checkpoints, broker logs); set-up output stays.
clean: kafka-stop
	rm -rf .vigil test-output
