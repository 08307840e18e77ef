# Studio: the only commands a developer must remember.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
TEST_ENV := DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/studio \
	REDIS_URL=redis://127.0.0.1:6379/14 SECRET_KEY=test-only-not-secret DEBUG=false \
	STUDIO_VAR_DIR=$(CURDIR)/var/test DJANGO_ALLOW_ASYNC_UNSAFE=true STUDIO_FAST_PASSWORD_HASHER=1

.PHONY: install run worker services oracles test test-fast e2e reliability lint fmt \
	migrations-check bench vendor clean prod-smoke

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Studio needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	@bash scripts/run.sh

worker: install
	$(VENV)/bin/celery -A studio worker -Q default,audio -c 1 -P prefork -l info

services:
	@bash scripts/services.sh

oracles:
	@bash scripts/oracles.sh

test: install services oracles lint
	$(TEST_ENV) $(PYTEST) -m "not slow and not e2e and not prod" -q
	$(MAKE) e2e

test-fast: install
	$(PYTEST) -p no:django --confcutdir=tests/audio/engine tests/audio/engine -m "not slow" -q

e2e: install services
	@bash scripts/e2e-deps.sh
	$(TEST_ENV) $(PYTEST) -m e2e -q tests/e2e

# The full-size cases; -rP prints what each passing one printed (its figures: the soak's
# requests, events and memory) and no other capture, also for a failure (its traceback and
# stdout show; rerun it alone for its logs).
reliability: install services
	$(TEST_ENV) $(PYTEST) -m slow -q -rP --show-capture=stdout
	L1_USERS=50 L1_SECONDS=300 $(MAKE) prod-smoke

# docker/compose.yaml's topology from distribution packages and the venv, and a user's journey
# through its nginx over TLS (tests/prod/test_journey.py); its figures print at the end.
prod-smoke: install
	@bash scripts/prod/smoke.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy studio sessions audio eventlog pages delivery reviewlinks songsheet bookings timesheets notifications
	$(VENV)/bin/mypy --strict audio/engine
	@bash scripts/lint-rules.sh

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

BENCH_ENV := DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/studio_bench \
	REDIS_URL=redis://127.0.0.1:6379/9 SECRET_KEY=bench-only-not-secret DEBUG=false \
	STUDIO_VAR_DIR=$(CURDIR)/var/bench STUDIO_FAST_PASSWORD_HASHER=1 OPENBLAS_NUM_THREADS=1

bench: install services oracles
	@PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = 'studio_bench'" | grep -q 1 \
		|| PGPASSWORD=postgres createdb -h 127.0.0.1 -U postgres studio_bench
	$(BENCH_ENV) $(PY) manage.py migrate -v0
	$(BENCH_ENV) $(PY) -m tests.bench

vendor:
	@bash scripts/vendor.sh

clean:
	rm -rf var/test test-results
