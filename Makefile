# The README names these targets. Only Python 3.11 and make are needed on the machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

export DEBUG ?= 1

.PHONY: install run test lint migrate seed messages docs clean bench

$(STAMP): requirements.txt requirements-dev.txt
	@echo "Installing the pinned requirements into $(VENV) (about a minute on a fresh machine)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -r requirements-dev.txt 2>&1 \
		| grep --line-buffered -v -e "is ignored" -e "already satisfied" || true
	@$(BIN)/python -m pip check >/dev/null
	@test -f .env || printf '# Local development settings (not committed). Production sets real variables.\nDEBUG=1\n' > .env
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

# Seeds demo data once (the command does nothing when orders exist), then serves HTTP and
# websockets with the scheduler beside it. Without REDIS_URL tasks run in-process. The last line
# before the server's own names the back office and every demo person: it is printed once the
# helpers beside the server are up (the scheduler without its banner, the Twilio fake answering),
# so their start-up lines come before it, and output is unbuffered so nothing arrives late.
# Links in messages and the Twilio fake's callbacks name the address being served.
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: export PYTHONUNBUFFERED = 1
run: migrate
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py seed_demo_sources
	$(BIN)/python manage.py seed_demo_messages
	$(BIN)/python manage.py seed_demo_portal
	$(BIN)/python manage.py seed_notification_rules
	$(BIN)/python manage.py seed_demo_backoffice
	@trap 'kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config --quiet beat --loglevel=warning --pidfile= & \
	$(BIN)/python manage.py fake_twilio & \
	$(BIN)/python manage.py seed_demo_backoffice --start-line --url http://$(HOST):$(PORT)/; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# Compiled catalogues (.mo) are committed, so no gettext tools are needed here.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

seed: migrate
	$(BIN)/python manage.py seed_demo

messages: install
	$(BIN)/python manage.py makemessages -l de -l fr -l es --ignore=.venv --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .hypothesis staticfiles

# The line state machine for the procedure documentation (source-fact transitions only; the
# override and the split-parent rollup may reach any status). Render with: dot -Tsvg -O <file>
docs: install
	$(BIN)/python manage.py graph_transitions -e override,take_rollup_status,take_decided_status orders.OrderLine \
		| $(BIN)/python -c "import sys; l=sys.stdin.read().splitlines(); print('\n'.join(l[:3]+sorted(l[3:-2])+l[-2:]))" \
		> docs/line-state-machine.dot

# Throughput of the inbound pipeline on this machine: webhook, workers, raw PostgreSQL ceiling;
# and the walk (orders walked through apply_status_update). One of them: BENCH_ARGS="--scenario walk".
# Needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL, else local defaults); see bench/__init__.py.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)
