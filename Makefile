# gapmap: `make` lists the targets; `make all` runs the pipeline; `make test` runs the tests.
# Both create .venv and install what they need when it is missing. CONFIG picks the run:
# `make all CONFIG=configs/ottawa.toml` builds Ottawa's outputs where its config puts them.

.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= configs/ontario.toml
GAPMAP := $(BIN)/gapmap --config $(CONFIG)
SRC := $(wildcard gapmap/*.py gapmap/*/*.py gapmap/vocabulary/*.csv)

# The config knows its output folders and input files: `gapmap make-vars` writes them as Make
# variables (INTERIM, PROCESSED, MAPS_DIR, REFERRAL_DIR, MAPS, LISTINGS, REFERENCE, HIGHWAYS,
# GEOCODE_INPUTS, DEMAND_INPUTS, NETWORK_INPUTS, OFFICES, PLAN_INPUTS, GAPS_INPUTS) to
# $(MAKEVARS), remade when the config or the code changes. Targets that build no pipeline file do without it.
MAKEVARS ?= build/make/$(subst /,_,$(CONFIG)).mk
NO_PIPELINE := help install chromium test lint typecheck check bench bench-maps docs clean \
               distclean run ottawa scenario
ifneq ($(filter-out $(NO_PIPELINE),$(MAKECMDGOALS)),)
include $(MAKEVARS)
endif

.PHONY: help all install chromium test lint typecheck check clean distclean run ottawa catchments referral plan report scenario bench bench-maps docs

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  (CONFIG=$(CONFIG): the run's settings, input files and output folders)"

$(MAKEVARS): $(CONFIG) $(SRC) | $(BIN)/gapmap
	@mkdir -p $(@D)
	$(GAPMAP) make-vars > $@.tmp && mv $@.tmp $@

# -- set-up ---------------------------------------------------------------------------
$(BIN)/gapmap: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/gapmap ## create .venv and install gapmap with its test tools

NEED_CHROMIUM = command -v chromium >/dev/null || (apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

chromium: ## install Debian's chromium (referral PDF, reports, browser tests) when missing (needs root)
	@$(NEED_CHROMIUM)

# -- the pipeline, as real file targets: a rerun redoes only what changed ----------------
$(INTERIM)/services.parquet: $(LISTINGS) $(REFERENCE) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) ingest

$(INTERIM)/services_geocoded.parquet: $(INTERIM)/services.parquet $(REFERENCE) $(GEOCODE_INPUTS)
	$(GAPMAP) geocode

$(INTERIM)/services_located.parquet: $(INTERIM)/services_geocoded.parquet
	$(GAPMAP) regions

$(INTERIM)/demand.parquet: $(REFERENCE) $(DEMAND_INPUTS) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) demand

$(INTERIM)/network_edges.parquet: $(NETWORK_INPUTS) $(CONFIG) $(SRC) | $(BIN)/gapmap
	$(GAPMAP) network

$(INTERIM)/travel.parquet: $(INTERIM)/network_edges.parquet $(INTERIM)/demand.parquet \
                           $(INTERIM)/services_located.parquet
	$(GAPMAP) travel

$(PROCESSED)/catchments.gpkg: $(INTERIM)/network_edges.parquet \
                              $(INTERIM)/services_located.parquet
	$(GAPMAP) catchments

catchments: $(PROCESSED)/catchments.gpkg ## travel-time polygons per service and band

$(PROCESSED)/coverage_by_region.csv: $(INTERIM)/travel.parquet $(GAPS_INPUTS)
	$(GAPMAP) gaps

$(PROCESSED)/suggestions.csv: $(INTERIM)/travel.parquet $(PLAN_INPUTS) $(CONFIG) $(SRC)
	$(GAPMAP) plan

plan: $(PROCESSED)/suggestions.csv ## capacity-aware access, suggested sites, a [scenario]'s comparison

# one rule writes every map: a grouped target
$(MAPS) &: $(PROCESSED)/coverage_by_region.csv $(PROCESSED)/catchments.gpkg $(HIGHWAYS) \
           $(PROCESSED)/suggestions.csv \
           $(wildcard gapmap/outputs/static/*)
	$(GAPMAP) maps

# one rule writes the GeoPackage, the workbook, the data dictionary and the regional reports
# (<PROCESSED>/reports/, HTML and PDF: printed by headless chromium, installed when missing;
# not a prerequisite, so that `make -q` of these files asks only about them)
$(PROCESSED)/gapmap.gpkg $(PROCESSED)/gapmap.xlsx &: $(PROCESSED)/coverage_by_region.csv \
                          $(PROCESSED)/catchments.gpkg $(PROCESSED)/suggestions.csv \
                          $(HIGHWAYS)
	@$(NEED_CHROMIUM)
	$(GAPMAP) report

report: $(PROCESSED)/gapmap.xlsx ## GeoPackage, gapmap.xlsx, data dictionary, a report per OPP region

# the PDF is printed by headless chromium: installed when missing, as for the tests
$(REFERRAL_DIR)/referral_sheets.pdf: $(INTERIM)/services_located.parquet \
                                     $(INTERIM)/network_edges.parquet $(OFFICES) $(CONFIG) \
                                     $(SRC) | chromium $(BIN)/gapmap
	$(GAPMAP) referral

referral: $(REFERRAL_DIR)/referral_sheets.pdf ## referral sheets per police office town (HTML, PDF, CSV)

all: $(MAPS) $(PROCESSED)/gapmap.gpkg $(PROCESSED)/gapmap.xlsx $(PROCESSED)/suggestions.csv \
     $(REFERRAL_DIR)/referral_sheets.pdf ## run the pipeline: the shipped Ontario data, or CONFIG=...
	@echo "maps in $(MAPS_DIR)/, tables, GeoPackage and gapmap.xlsx in $(PROCESSED)/, regional \
	reports in $(PROCESSED)/reports/, referral sheets in $(REFERRAL_DIR)/"

run: | $(BIN)/gapmap ## rerun every stage, whatever changed
	$(GAPMAP) run

ottawa: ## the City of Ottawa at street level (make all CONFIG=configs/ottawa.toml)
	$(MAKE) all CONFIG=configs/ottawa.toml

scenario: ## the example scenario against the baseline (make all CONFIG=configs/scenario_example.toml)
	$(MAKE) all CONFIG=configs/scenario_example.toml

# -- checks ---------------------------------------------------------------------------
test: $(BIN)/gapmap chromium ## run the test suite (browser tests in chromium included)
	$(BIN)/python -m pytest -q

lint: $(BIN)/gapmap ## ruff
	$(BIN)/ruff check gapmap tests bench

typecheck: $(BIN)/gapmap ## mypy
	$(BIN)/mypy gapmap

check: lint typecheck test ## lint, type-check and test

docs: $(BIN)/gapmap ## regenerate docs/settings.md from the settings' models (a test holds them equal)
	$(BIN)/python -m gapmap.config > docs/settings.md.tmp && mv docs/settings.md.tmp docs/settings.md

bench: $(BIN)/gapmap bench-maps ## benchmark (not a test): gapmap vs osmnx+networkx, ~7 min; then the maps
	$(BIN)/python bench/bench_travel.py

bench-maps: $(BIN)/gapmap chromium ## the maps' sizes and time to ready in headless chromium (after make all)
	$(BIN)/python bench/bench_maps.py --config $(CONFIG)

clean: ## remove the shipped configs' rebuilt outputs (never data/raw)
	rm -rf data/interim/*.parquet data/interim/*.json data/interim/*.csv data/processed/*.csv \
	       data/processed/*.gpkg data/processed/*.json data/processed/*.xlsx \
	       data/processed/reports maps/*.html data/interim/ottawa \
	       data/processed/ottawa maps/ottawa referral data/interim/scenario-example \
	       data/processed/scenario-example maps/scenario-example build/make

distclean: clean ## also remove .venv
	rm -rf $(VENV) *.egg-info
