# `make run` and `make test` need only Python 3.11: they build .venv themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make run serves the demo as production does (DEBUG off: the product's own 404 and 500 pages,
# static files by WhiteNoise), with a secret key made for this checkout and emails written to
# db/emails/. Only seed_demo, which prints passwords, needs DJANGO_DEBUG=1.
DEMO_SECRET := db/demo-secret-key
PORT ?= 8000
DEMO := DJANGO_DEBUG=0 SECRET_KEY="$$(cat $(DEMO_SECRET))" ALLOWED_HOSTS=127.0.0.1,localhost \
	EMAIL_URL=filemail:///db/emails SITE_URL=http://127.0.0.1:$(PORT) \
	GUNICORN_BIND=127.0.0.1:$(PORT) GUNICORN_WORKERS=2 PATH="$(CURDIR)/$(BIN):$$PATH"

.PHONY: run test test-fast lint bench soak loadtest setup clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

setup: $(STAMP)

run: $(STAMP)
	@mkdir -p db/emails
	@test -s $(DEMO_SECRET) || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > $(DEMO_SECRET)
	@$(DEMO) $(BIN)/python manage.py migrate --noinput --verbosity 0
	@$(DEMO) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@$(DEMO) DJANGO_DEBUG=1 $(BIN)/python manage.py seed_demo
	@# Web and worker together; Ctrl-C stops both.
	@$(DEMO) $(BIN)/honcho start web worker

# The whole suite, browser tests included, on every core (pytest-xdist).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto -p no:cacheprovider $(PYTEST_ARGS)

# The suite without the browser tests, on every core (pytest-xdist): the check before each commit.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not browser" -n auto -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Races through gunicorn on PostgreSQL for a bounded time (DATABASE_URL required; see README, Soak).
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# HTTP against gunicorn with wrk (bench/loadtest.py says how); installs wrk from Debian when absent.
loadtest: $(STAMP)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BIN)/python -m bench.loadtest

clean:
	rm -rf $(VENV) db staticfiles .pytest_cache .ruff_cache
