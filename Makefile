# The two commands a newcomer needs: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PORT
PIP_FLAGS := --quiet --disable-pip-version-check

.PHONY: run test check lint install install-dev lock clean bench-mail bench-api

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; $(PYTHON) is " + sys.version.split()[0] + ". Set PYTHON=python3.11 (or newer).")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

.env:
	cp .env.example .env

install: $(VENV)/.installed-run .env
install-dev: $(VENV)/.installed-dev .env

## run: install, migrate, load the demo coalition, then start web, worker and beat (Ctrl-C stops all)
run: install
	@$(BIN)/python manage.py preflight
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py collectstatic --noinput -v 0
	@$(BIN)/python manage.py seed_demo
	@echo
	@echo "  The coalition CRM is starting at  http://127.0.0.1:$(PORT)/"
	@echo "  Conveners sign in at              http://127.0.0.1:$(PORT)/admin/  (login above)"
	@echo "  Health check                      http://127.0.0.1:$(PORT)/healthz"
	@echo "  Ctrl-C stops the web server, the Celery worker and Celery beat."
	@echo
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile -p $(PORT)

## test: install and run the whole test suite (in TEST_WORKERS processes, then the tests that
## start real workers and kill them, one at a time)
TEST_WORKERS ?= auto
test: install-dev
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not integration"
	$(BIN)/pytest -p no:xdist -m integration

## check: lint, missing migrations and the production deploy check
check: install-dev
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_DEBUG=false DJANGO_SECRET_KEY=check-deploy-$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
		DJANGO_ALLOWED_HOSTS=crm.example.org $(BIN)/python manage.py check --deploy --fail-level WARNING

## bench-mail: a 10,000-recipient mailing on PostgreSQL, Redis, a worker and a local SMTP sink
bench-mail: install-dev
	$(BIN)/python bench/mailing_send.py

## bench-api: a partner's full sync (10,000 contacts, 100,000 signatures) through the API on gunicorn
bench-api: install-dev
	$(BIN)/python bench/api_sync.py

## lock: re-pin requirements*.txt from requirements*.in
lock:
	bin/lock

clean:
	rm -rf $(VENV) var
