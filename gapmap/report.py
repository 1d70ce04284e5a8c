"""Report: the shared outputs planners take away.

* ``coverage_by_region.csv``: population coverage per OPP region and need type
  (columns in :mod:`gapmap.gaps`);
* ``gap_communities.csv``: the communities outside each need's threshold, ranked;
* ``services.csv``: every service with its need types, location precision and region
  (confidential ones at their town, address withheld);
* ``gapmap.gpkg``: one GeoPackage with every layer: ``services``, ``demand``,
  ``gap_communities``, ``remote_communities``, ``census_divisions``, ``opp_regions`` (with
  coverage per need as columns), ``highways``, the ``coverage_by_region`` table and, when the
  catchments stage has run, ``need_catchments`` (see :mod:`gapmap.catchments`);
* ``run_metadata.json``: how the outputs were made (config, input hashes, version);
* with ``[outputs] reports`` (the default), what planners hand over (:func:`write_handover`):
  ``data_dictionary.csv`` (every shared CSV's columns labelled in English and French),
  ``gapmap.xlsx`` (:mod:`gapmap.outputs.workbook`) and ``reports/``, a report per OPP region
  in English and French, HTML and PDF (:mod:`gapmap.outputs.region_report`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gapmap.config import Config
from gapmap.gaps import total_label
from gapmap.io import write_geopackage
from gapmap.outputs.geopackage import coverage_layer, layer_descriptions
from gapmap.outputs.tables import shared_services
from gapmap.outputs.workbook import Handover, write_workbook

log = logging.getLogger(__name__)

def write_reports(*, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                  coverage: pd.DataFrame, gaps: pd.DataFrame, cds: gpd.GeoDataFrame,
                  remote: gpd.GeoDataFrame, highways: gpd.GeoDataFrame,
                  config: Config, extra_layers: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the GeoPackage (the CSVs are written by the gaps stage).

    ``extra_layers`` are added as they are (e.g. ``need_catchments``).
    """
    shared = shared_services(services)
    gap_pts = gaps.merge(demand[["demand_id", "geometry"]], on="demand_id", how="left")
    gap_gdf = gpd.GeoDataFrame(gap_pts, geometry="geometry", crs=4326)
    rem = remote.copy()
    rem["csduids"] = rem["csduids"].map(";".join)
    dem = demand.copy()
    path = config.outputs.processed_dir / "gapmap.gpkg"
    layers = {
        "services": shared[shared.geometry.notna()],
        "services_without_point": pd.DataFrame(shared[shared.geometry.isna()]
                                               .drop(columns="geometry")),
        "demand": dem,
        "gap_communities": gap_gdf[gap_gdf.geometry.notna()],
        "remote_communities": rem[rem.geometry.notna()],
        "census_divisions": cds,
        "opp_regions": coverage_layer(
            cds, coverage[coverage["opp_region"] != total_label(config)]),
        "highways": highways,
        "coverage_by_region": coverage,
        **(extra_layers or {}),
    }
    write_geopackage(layers, path, descriptions=layer_descriptions(
        {name: [str(c) for c in df.columns] for name, df in layers.items()}))
    log.info("wrote %s", path)
    return path


# -- what planners hand over: the dictionary, the workbook, a report per OPP region -------------

DICTIONARY_FILE = "data_dictionary.csv"
WORKBOOK_FILE = "gapmap.xlsx"
REPORTS_FOLDER = "reports"
"""The regional reports' folder, under ``outputs.processed_dir``."""


DICTIONARY_COLUMNS = ("file", "column", "label_en", "label_fr", "meaning")


def shared_columns(config: Config) -> list[tuple[str, list[str]]]:
    """Each CSV a run shares and its columns: every CSV of the processed folder as written
    (the dictionary as declared), then the referral stage's two, as declared (the referral
    stage runs after this one)."""
    from gapmap.analysis.referral import REFERRAL_COLUMNS
    from gapmap.outputs.dictionary import csv_columns
    from gapmap.referral import OFFICE_COLUMNS

    files = {p.name: csv_columns(p) for p in sorted(config.outputs.processed_dir.glob("*.csv"))}
    files[DICTIONARY_FILE] = list(DICTIONARY_COLUMNS)
    files["referral_sheets.csv"] = list(REFERRAL_COLUMNS)
    files["offices.csv"] = list(OFFICE_COLUMNS)
    return list(files.items())


def write_dictionary(config: Config) -> Path:
    """``data_dictionary.csv``: every column of every shared CSV (:func:`shared_columns`)
    with its labels and meaning (:mod:`gapmap.outputs.dictionary`)."""
    from gapmap.io import write_csv
    from gapmap.outputs.dictionary import dictionary

    return write_csv(dictionary(shared_columns(config)),
                     config.outputs.processed_dir / DICTIONARY_FILE)


def data_sources(metadata: Mapping[str, Any]) -> pd.DataFrame:
    """The rows of the shipped data's ``LICENSE-DATA.md`` (``licence``: the section's
    heading, ``file``, ``product``) and whether this run read the file (``used``), from the
    inputs its stages recorded (``<data>/...`` paths)."""
    import re

    from gapmap.config import data_dir

    read: set[str] = set()
    for meta in [metadata, *metadata.get("stages", {}).values()]:
        read |= {k.removeprefix("<data>/") for k in meta.get("inputs", {})}
    path = data_dir() / "LICENSE-DATA.md"
    rows = []
    section = ""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not section or not line.startswith("|") or len(cells) != 2 or \
                cells[0] in ("file", "") or set(cells[0]) <= {"-"}:
            continue
        files = re.findall(r"[\w./-]+\.\w+", cells[0])
        used = any(f in read or any(r.endswith(f) for r in read) for f in files)
        rows.append((section, cells[0], cells[1], "yes" if used else "no"))
    return pd.DataFrame(rows, columns=["licence", "file", "product", "used"])


def method_notes(config: Config, data_quality: pd.DataFrame, region: str,
                 language: str = "en") -> list[tuple[str, str]]:
    """The method and caveats for ``region`` (an OPP region, or the data-quality table's
    ``all regions``), as (title, text) in ``language``: the thresholds, the population, how
    complete the region's listings are (from its rows of the data-quality table), the road
    model, confidentiality, the suggestions."""
    from gapmap.analysis.data_quality import ALL_REGIONS

    cov = config.coverage
    special = ", ".join(f"{n} {m:g} min" for n, m in sorted(cov.thresholds_min.items()))
    special = f" ({special})" if special else ""
    dq = data_quality[data_quality["opp_region"] == region]
    n = {c: int(dq[c].sum()) for c in ("services", "town_or_coarser", "area_only",
                                         "with_phone", "verified_stale", "unverified")}
    t, net = f"{cov.default_threshold_min:g}", config.network.source
    where = "Ontario" if region == ALL_REGIONS else region
    if language == "fr":
        return [
            ("Seuil", f"Un besoin est atteint à {t} min ou moins par la route d'un service "
             f"listé de ce besoin{special}."),
            ("Population", "Population du Recensement de 2021 (Statistique Canada) des "
             "subdivisions et secteurs de recensement ; les réserves non dénombrées en 2021 "
             "comptent pour 0 (leur population manque)."),
            ("Listes de services", f"{where}, un service compté une fois par besoin : "
             f"{n['services']} ; {n['town_or_coarser']} localisés seulement à leur ville ou "
             f"moins précisément, {n['area_only']} listés seulement pour une région (non "
             f"comptés), {n['with_phone']} avec un téléphone, {n['verified_stale']} vérifiés "
             f"il y a longtemps, {n['unverified']} non vérifiés. Un service absent des listes "
             "crée un écart qui n'existe pas : lire la qualité des données avant de citer un "
             "écart."),
            ("Modèle routier", f"Temps de route sur le réseau du calcul ({net}) avec des "
             "raccords locaux à vitesse fixe : des estimations de planification, pas un "
             "itinéraire. Les communautés sans route praticable toute l'année sont comptées "
             "à part (avion ou route d'hiver)."),
            ("Services confidentiels", "Montrés à leur ville au plus, jamais à une adresse."),
            ("Suggestions", "Un site suggéré est l'endroit où un service de plus ajoute le "
             "plus de personnes dans le seuil ; il ne tient compte ni de la capacité, ni du "
             "personnel, ni des souhaits de la communauté."),
        ]
    return [
        ("Threshold", f"A need counts as reached within {t} min by road of a listed service "
         f"of that need{special}."),
        ("Population", "2021 Census population (Statistics Canada) of census subdivisions and "
         "tracts; reserves not enumerated in 2021 count as 0 (their people are missing)."),
        ("Listings", f"{where}, a service counted once per need it lists: {n['services']}; "
         f"{n['town_or_coarser']} placed only at their town or coarser, {n['area_only']} "
         f"listed only for an area (not counted), {n['with_phone']} with a phone, "
         f"{n['verified_stale']} verified long ago, {n['unverified']} unverified. A service "
         "missing from the listings makes a gap that is not real: read the data quality "
         "table before quoting a gap."),
        ("Road model", f"Drive times on the run's road graph ({net}) with local-road "
         "connectors at set speeds: planning estimates, not routing. Communities with no "
         "all-season road are counted apart (fly-in or winter road)."),
        ("Confidential services", "Shown at their town at most, never at a street address."),
        ("Suggestions", "A suggested site is where one more service adds the most people "
         "within the threshold; it does not weigh capacity, staff or the community's wishes."),
    ]


def read_handover(config: Config) -> Handover:
    """The shared CSVs as written, and the run's facts, for the workbook and reports."""
    import json

    from gapmap.contracts import (
        ACCESS_BY_COMMUNITY,
        COVERAGE,
        ELIGIBILITY_BY_NEED,
        FRENCH_ACCESS,
        GAP_COMMUNITIES,
        SUGGESTIONS,
        WRAPAROUND_BY_REGION,
        read_stage,
    )
    from gapmap.io import generated_on, read_table
    from gapmap.pipeline import StagePaths

    p = StagePaths.of(config)
    quality = read_table(config.outputs.processed_dir / "data_quality_by_region.csv")
    for c in quality.columns[2:]:
        quality[c] = pd.to_numeric(quality[c]).astype(int)
    metadata = json.loads(p.metadata.read_text(encoding="utf-8")) if p.metadata.is_file() \
        else {}
    return Handover(
        coverage=read_stage(p.coverage, COVERAGE), gaps=read_stage(p.gaps, GAP_COMMUNITIES),
        wraparound=read_stage(p.wraparound_regions, WRAPAROUND_BY_REGION),
        data_quality=quality,
        dictionary=read_table(config.outputs.processed_dir / DICTIONARY_FILE),
        sources=data_sources(metadata), metadata=metadata, total=total_label(config),
        run_name=config.name, generated=generated_on(),
        suggestions=read_stage(p.suggestions, SUGGESTIONS) if p.suggestions.is_file()
        else None,
        access=read_stage(p.access, ACCESS_BY_COMMUNITY) if p.access.is_file() else None,
        french=read_stage(p.french, FRENCH_ACCESS) if p.french.is_file() else None,
        eligibility=(read_stage(p.eligibility, ELIGIBILITY_BY_NEED)
                     if p.eligibility.is_file() else None))


def write_handover(config: Config, *, cds: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
                   services: gpd.GeoDataFrame) -> list[Path]:
    """The dictionary, ``gapmap.xlsx`` and, in ``<processed_dir>/reports/``, a report per OPP
    region in English and French (HTML and PDF, with their chart and map images)."""
    import functools

    from gapmap.analysis.data_quality import ALL_REGIONS
    from gapmap.outputs.region_report import write_region_reports

    written = [write_dictionary(config)]
    handover = read_handover(config)
    notes = functools.partial(method_notes, config, handover.data_quality)
    written.append(write_workbook(handover, config.outputs.processed_dir / WORKBOOK_FILE,
                                  top=config.outputs.report_communities,
                                  method=notes(ALL_REGIONS)))
    written += write_region_reports(
        handover, config.outputs.processed_dir / REPORTS_FOLDER, cds=cds, demand=demand,
        services=shared_services(services), top=config.outputs.report_communities,
        method=notes, browser=config.referral.browser,
        stale_before=config.maps.stale_before, far_min=config.maps.far_min)
    return written
