# Two commands for a newcomer: `make run` (the platform with demo data) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run test bench lint format check-migrations messages ci clean

help:
	@echo "make run             la plateforme avec les données de démonstration sur http://$(HOST):$(PORT)"
	@echo "make test            toute la suite de tests (SQLite ; PostgreSQL si DATABASE_URL est défini)"
	@echo "make bench           chiffrement et réception des plis, recherche d'annonces, rush de la date limite (DATABASE_URL PostgreSQL)"
	@echo "make install         environnement virtuel et dépendances"
	@echo "make lint            ruff check + ruff format --check"
	@echo "make check-migrations  vérifie qu'aucune migration ne manque"
	@echo "make ci              lint, migrations, tests"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 ou plus récent est requis"'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo "La plateforme est servie sur http://$(HOST):$(PORT) (Ctrl+C pour l'arrêter)."
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/deposit_crypto.py
	$(BIN)/python bench/deposit_ingest.py
	@test -n "$(DATABASE_URL)" || { echo "make bench demande DATABASE_URL=postgres://… (le banc d'essai mesure PostgreSQL)"; exit 2; }
	$(BIN)/python bench/notices_search.py
	$(BIN)/python bench/deadline_rush.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install
	$(BIN)/python manage.py makemigrations --check --dry-run

# English is translated by hand in locale/en; French, the source language, has a catalogue of
# its own only for its plural rule (« 0 fichier »): every msgstr is its msgid (msgen).
MESSAGES_IGNORE := --ignore '.venv/*' --ignore 'var/*' --ignore 'static/vendor/*' --ignore 'tests/*' --ignore 'bench/*'
FR_CATALOGUE := locale/fr/LC_MESSAGES/django.po

messages: install
	$(BIN)/python manage.py makemessages --locale en --locale fr $(MESSAGES_IGNORE) --no-obsolete
	msgattrib --clear-fuzzy --clear-previous $(FR_CATALOGUE) -o $(FR_CATALOGUE)
	msgfilter --keep-header -i $(FR_CATALOGUE) -o $(FR_CATALOGUE) sed -e d
	msgen $(FR_CATALOGUE) -o $(FR_CATALOGUE)
	sed -i 's/^"Plural-Forms: .*\\n"$$/"Plural-Forms: nplurals=2; plural=(n > 1);\\n"/; s/^"Language: \\n"$$/"Language: fr\\n"/' $(FR_CATALOGUE)
	$(BIN)/python manage.py compilemessages --locale en --locale fr --ignore '.venv/*'

ci: lint check-migrations test

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
