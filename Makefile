# tracker: `make run` sets up and serves the demo; `make test` sets up the tests and runs them all.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Two workers: the suite runs every database test on SQLite and on PostgreSQL.
PYTEST_ARGS ?= -n 2
# Debian packages the tests need: headless Chromium, PDF text, fonts for WeasyPrint, a PostgreSQL server, gettext.
DEB_PACKAGES := chromium poppler-utils fonts-dejavu-core fonts-noto-core postgresql libharfbuzz-subset0 gettext
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test system-packages translations demo db clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet --editable .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $@

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

translations: $(VENV)/.installed
	@if ls tracker/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel -q compile -d tracker/translations; fi

db: install
	$(BIN)/tracker db upgrade

demo: db
	$(BIN)/tracker demo
	$(BIN)/tracker flags refresh

# The demo serves plain HTTP on loopback, so its session cookie cannot be Secure-only.
run: demo
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
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Re-extract the strings, merge them into the Serbian Latin catalogue, regenerate the Cyrillic one
# from it and compile both; then translate the new (empty) entries of sr_Latn and run it again.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: --project=tracker \
		-o tracker/translations/messages.pot .
	$(BIN)/pybabel update -i tracker/translations/messages.pot -d tracker/translations -l sr_Latn --no-fuzzy-matching
	$(BIN)/python scripts/translit_po.py
	$(BIN)/pybabel compile --statistics -d tracker/translations
