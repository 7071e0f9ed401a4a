# Houseful: `make run` and `make test` each set up everything they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run run-loadtarget test stop services browser haproxy pdf-libraries bench clean screenshots cluster cluster-stop

# WeasyPrint (PDF tickets, docs/messages.md) draws with Pango and needs a font; Debian packages.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

services: $(STAMP) pdf-libraries
	$(PY) scripts/services.py up

pdf-libraries:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES); }

# Serve the demo at http://127.0.0.1:8080 (creates the database, migrates, loads demo data, ensures an admin).
run: services
	HOUSEFUL_ADMIN_EMAIL=$${HOUSEFUL_ADMIN_EMAIL:-admin@houseful.local} $(PY) run.py serve --demo

# The demo server prepared as a load-test target: registrations and logins from one IP unlimited, cheap
# argon2 (the load tool registers and logs in thousands of customers), two workers. Never for production.
run-loadtarget: services
	HOUSEFUL_ADMIN_EMAIL=$${HOUSEFUL_ADMIN_EMAIL:-admin@houseful.local} \
	HOUSEFUL_AUTH_REGISTRATIONS_PER_HOUR=10000000 HOUSEFUL_AUTH_LOGIN_IP_MAX_FAILURES=1000000 \
	HOUSEFUL_AUTH_ARGON2_MEMORY_KIB=256 \
	HOUSEFUL_AUTH_ARGON2_ROUNDS=1 $(PY) run.py serve --demo --workers $${WORKERS:-2}

# Debian's Chromium for the browser tests (test tools cannot download their own browser here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# Debian's HAProxy for the multi-node deployment (make cluster) and its test.
haproxy:
	@command -v haproxy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; }

# Optional: two nodes behind HAProxy with TLS on https://127.0.0.1:8443, on a local 6-node Redis Cluster
# (REDIS=single: on config.yaml's Redis instead; docs/operations.md).
cluster: services pdf-libraries haproxy
	HOUSEFUL_ADMIN_EMAIL=$${HOUSEFUL_ADMIN_EMAIL:-admin@houseful.local} $(PY) scripts/cluster.py up --demo --nodes $${NODES:-2} --workers $${WORKERS:-1} --redis $${REDIS:-cluster}

cluster-stop:
	$(PY) scripts/cluster.py down

test: services browser haproxy
	$(PY) -m pytest $(PYTEST_ARGS)

# Refresh docs/screenshots from the browser tests.
screenshots: services browser
	HOUSEFUL_SCREENSHOTS=1 $(PY) -m pytest tests/browser

stop:
	$(PY) scripts/services.py down

bench: services
	$(PY) -m bench.run
	$(PY) -m bench.forecast_backtest

clean: stop
	rm -rf $(VENV) .data
