# gapmap: `make` lists the targets; `make all` runs the pipeline; `make test` runs the tests.
# Both create .venv and install what they need when it is missing.

.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/ontario.toml
GAPMAP := $(BIN)/gapmap --config $(CONFIG)
INTERIM := data/interim
PROCESSED := data/processed
RAW := data/raw
SRC := $(wildcard gapmap/*.py)
REGIONS := north-east north-west east west central

LISTINGS := $(RAW)/ontario/services_curated.csv $(RAW)/ontario/services_curated_more.csv \
            $(RAW)/ontario/healthcare_facilities_odhf_v1.1.csv
REFERENCE := $(wildcard $(RAW)/ontario/*.csv $(RAW)/ontario/*.geojson $(RAW)/gpl-3.0/*.csv)
HIGHWAYS := $(RAW)/gpl-3.0/highways_kings_fpa.geojson
MAPS := maps/ontario.html $(foreach r,$(REGIONS),maps/$(r).html)

.PHONY: help all install chromium test lint typecheck check clean distclean run ottawa catchments bench

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  (CONFIG=$(CONFIG); outputs: $(PROCESSED)/, maps/)"

# -- set-up ---------------------------------------------------------------------------
$(BIN)/gapmap: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/gapmap ## create .venv and install gapmap with its test tools

chromium: ## install Debian's chromium for the browser tests when missing (needs root)
	command -v chromium >/dev/null || (apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# -- the pipeline, as real file targets: a rerun redoes only what changed ----------------
$(INTERIM)/services.parquet: $(LISTINGS) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) ingest

$(INTERIM)/services_geocoded.parquet: $(INTERIM)/services.parquet $(REFERENCE)
	$(GAPMAP) geocode

$(INTERIM)/services_located.parquet: $(INTERIM)/services_geocoded.parquet
	$(GAPMAP) regions

$(INTERIM)/demand.parquet: $(REFERENCE) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) demand

$(INTERIM)/network_edges.parquet: $(HIGHWAYS) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) network

$(INTERIM)/travel.parquet: $(INTERIM)/network_edges.parquet $(INTERIM)/demand.parquet \
                           $(INTERIM)/services_located.parquet
	$(GAPMAP) travel

$(PROCESSED)/catchments.gpkg: $(INTERIM)/network_edges.parquet \
                              $(INTERIM)/services_located.parquet
	$(GAPMAP) catchments

catchments: $(PROCESSED)/catchments.gpkg ## travel-time polygons per service and band

$(PROCESSED)/coverage_by_region.csv: $(INTERIM)/travel.parquet
	$(GAPMAP) gaps

# one rule writes every map: a grouped target
$(MAPS) &: $(PROCESSED)/coverage_by_region.csv $(wildcard gapmap/static/*)
	$(GAPMAP) maps

$(PROCESSED)/gapmap.gpkg: $(PROCESSED)/coverage_by_region.csv $(PROCESSED)/catchments.gpkg
	$(GAPMAP) report

all: $(MAPS) $(PROCESSED)/gapmap.gpkg ## run the whole pipeline on the shipped Ontario data
	@echo "maps in maps/, tables and GeoPackage in $(PROCESSED)/"

run: | $(BIN)/gapmap ## rerun every stage, whatever changed
	$(GAPMAP) run

ottawa: | $(BIN)/gapmap ## run the City of Ottawa at street level (configs/ottawa.toml)
	$(BIN)/gapmap --config configs/ottawa.toml run

# -- checks ---------------------------------------------------------------------------
test: $(BIN)/gapmap chromium ## run the test suite (browser tests in chromium included)
	$(BIN)/python -m pytest -q

lint: $(BIN)/gapmap ## ruff
	$(BIN)/ruff check gapmap tests bench

typecheck: $(BIN)/gapmap ## mypy
	$(BIN)/mypy gapmap

check: lint typecheck test ## lint, type-check and test

bench: $(BIN)/gapmap ## benchmark (not a test): gapmap vs osmnx+networkx, ~20 min
	$(BIN)/python bench/bench_travel.py

clean: ## remove the rebuilt outputs (never data/raw)
	rm -rf $(INTERIM)/*.parquet $(INTERIM)/*.json $(PROCESSED)/*.csv $(PROCESSED)/*.gpkg \
	       $(PROCESSED)/*.json maps/*.html $(INTERIM)/ottawa $(PROCESSED)/ottawa maps/ottawa

distclean: clean ## also remove .venv
	rm -rf $(VENV) *.egg-info
