# Sendwell: `make run` to start, `make test` to test. Both set everything up
# first and skip whatever is already in place.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HTMX_VERSION := 2.0.11
HTMX_SHA256 := d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
HTMX := webapp/static/vendor/htmx.min.js
# axe-core runs in the browser tests only (tests/browser): fetched and checked like htmx.
AXE_VERSION := 4.14.1
AXE_SHA256 := 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c
AXE := tests/browser/vendor/axe.min.js
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 5000
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PO := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test setup i18n compile-catalogs browser set-password clean bench

run: setup
	SENDWELL_HOST=$(HOST) SENDWELL_PORT=$(PORT) $(VENV)/bin/gunicorn --config gunicorn.conf.py 'webapp:create_app()'

test: setup browser
	$(PY) -m pytest

setup: $(VENV)/.installed $(HTMX) $(AXE) $(MO)

$(VENV)/.installed: pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# htmx is fetched from the npm registry at the pinned version and never committed.
$(HTMX):
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent htmx.org@$(HTMX_VERSION) >/dev/null) && \
	  tar -xzf "$$tmp"/htmx.org-$(HTMX_VERSION).tgz -C "$$tmp" package/dist/htmx.min.js && \
	  echo "$(HTMX_SHA256)  $$tmp/package/dist/htmx.min.js" | sha256sum --check --quiet && \
	  cp "$$tmp"/package/dist/htmx.min.js $@

$(AXE):
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq npm >/dev/null; }
	mkdir -p $(@D)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  (cd "$$tmp" && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null) && \
	  tar -xzf "$$tmp"/axe-core-$(AXE_VERSION).tgz -C "$$tmp" package/axe.min.js && \
	  echo "$(AXE_SHA256)  $$tmp/package/axe.min.js" | sha256sum --check --quiet && \
	  cp "$$tmp"/package/axe.min.js $@

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile --domain messages --input-file $< --output-file $@

compile-catalogs: $(MO)

# Extract the English source texts, merge them into every catalog, compile.
# A catalog is rewritten only when its entries change (--check first), and
# without a new POT-Creation-Date, so an unchanged tree stays unchanged and a
# catalog diff shows only real changes (not the date or the Babel version).
PYBABEL_UPDATE := $(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date -i translations/messages.pot -d translations
i18n: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: --no-location --sort-output --project=Sendwell -o translations/messages.pot . >/dev/null
	for lang in sl sw it ja es; do \
	  if [ -f translations/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(PYBABEL_UPDATE) --check -l $$lang >/dev/null 2>&1 || $(PYBABEL_UPDATE) -l $$lang; \
	  else \
	    $(VENV)/bin/pybabel init -i translations/messages.pot -d translations -l $$lang; \
	  fi; \
	done
	$(MAKE) --no-print-directory compile-catalogs

browser:
	@[ -x $(CHROMIUM) ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

set-password: setup
	$(VENV)/bin/flask --app webapp set-password

clean:
	rm -rf $(VENV) $(HTMX) $(AXE) $(MO) instance

# Benchmarks (issue 7, bench/run.py): serves Sendwell and a hello-world baseline
# on loopback, measures, prints a table; fails when a target is missed.
bench: setup browser
	@[ -x /usr/bin/wrk ] || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	$(PY) bench/run.py
