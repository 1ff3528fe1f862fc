# tracker: `make run` sets up and serves the demo; `make test` sets up the tests and runs them all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Two workers: the suite runs every database test on SQLite and on PostgreSQL.
PYTEST_ARGS ?= -n 2 --dist loadgroup
# Debian packages the tests need: headless Chromium, PDF text, fonts for WeasyPrint, a PostgreSQL server, gettext.
DEB_PACKAGES := chromium poppler-utils fonts-dejavu-core fonts-noto-core postgresql libharfbuzz-subset0 gettext
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test system-packages translations demo db clean messages lock

# Exact versions of everything the venv gets (the test extra and pip included), for Python 3.11 on Debian 12.
# `make lock` regenerates it from setup.cfg; commit the result.
LOCK := requirements/lock.txt
# Every install keeps to the lock; PIP_CONSTRAINT pins the build dependencies (setuptools, wheel, Babel) too.
PIP_INSTALL = PIP_CONSTRAINT=$(abspath $(LOCK)) $(BIN)/pip install --quiet --constraint $(LOCK)
UV_VERSION ?= 0.13.9
# What `make lock` passes to the resolver: --upgrade takes the newest release allowed by setup.cfg for every
# package; `make lock LOCK_ARGS=` keeps the current pins and only adds what is new, and
# `make lock LOCK_ARGS="--upgrade-package flask"` moves one package.
LOCK_ARGS ?= --upgrade

$(BIN)/python:
	@echo "==> [1/4] Creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py pyproject.toml $(LOCK)
	@echo "==> [2/4] Installing tracker and its pinned dependencies from $(LOCK) (about a minute the first time)"
	$(PIP_INSTALL) --editable .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg $(LOCK)
	@echo "==> Installing the test dependencies from $(LOCK)"
	$(PIP_INSTALL) --editable '.[test]'
	touch $@

# Regenerate the lock on purpose (uv resolves setup.cfg with the test extra for this machine's Python), then
# reinstall from it. The lock is never rewritten by `make run` or `make test`.
lock: $(BIN)/python
	$(BIN)/pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile setup.cfg requirements/tools.in --extra test --python $(BIN)/python --python-version 3.11 \
		--custom-compile-command 'make lock' --quiet $(LOCK_ARGS) -o $(LOCK)
	@echo "$(LOCK) regenerated: review 'git diff $(LOCK)', run 'make test' and commit it."

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	@if ls tracker/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d tracker/translations; fi

db: install
	@echo "==> [3/4] Bringing the database up to date"
	$(BIN)/tracker db upgrade

demo: db
	@echo "==> [4/4] Loading the demo data"
	$(BIN)/tracker demo
	$(BIN)/tracker flags refresh

# The demo serves plain HTTP on loopback, so its session cookie cannot be Secure-only.
# HOST and PORT choose where it listens (`make run HOST=0.0.0.0 PORT=8080`); the URL printed is the one served.
run: demo
	@url_host=$(HOST); [ "$$url_host" = 0.0.0.0 ] && url_host=127.0.0.1; \
	echo; echo "==> tracker is starting: open http://$$url_host:$(PORT)/ (Ctrl+C stops it)"; \
	[ "$(HOST)" = 0.0.0.0 ] && echo "    It also answers on this machine's other addresses, port $(PORT)."; \
	echo; true
	TRACKER_SESSION_COOKIE_SECURE=false TRACKER_REMEMBER_COOKIE_SECURE=false \
		$(BIN)/tracker run --host $(HOST) --port $(PORT)

system-packages:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages present."; fi

test: system-packages install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache

# Re-extract the strings, merge them into the Serbian Latin catalogue, regenerate the Cyrillic one
# from it and compile both; then translate the new (empty) entries of sr_Latn and run it again.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_pgettext:1c,2 --add-comments=TRANSLATORS: --project=tracker \
		-o tracker/translations/messages.pot .
	$(BIN)/pybabel update -i tracker/translations/messages.pot -d tracker/translations -l sr_Latn --no-fuzzy-matching
	$(BIN)/python scripts/translit_po.py
	$(BIN)/pybabel compile --statistics -d tracker/translations
