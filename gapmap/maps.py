"""Maps: a folium HTML map of Ontario and one per OPP region.

Each map has a layer per need type (service markers), the OPP region and census-division
outlines, the communities outside each need's threshold (a layer per need, hidden at first),
the communities with no all-season road, and a list of the services that are listed for the
region without a point (area-level or unplaced). Every piece of listing text is HTML-escaped.

Confidential services arrive here already placed no finer than their town (ingest withholds
the street address, postal code and exact point); the popup says "location withheld". With
``maps.confidential = "hide"`` they are left off the maps entirely.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap.config import Config
from gapmap.geocode import POINT_PRECISIONS
from gapmap.io import write_text
from gapmap.regions import OPP_REGIONS, serves_region, slug
from gapmap.taxonomy import label

log = logging.getLogger(__name__)

NEED_COLOURS = {
    "crisis_support": "#d62728", "emergency_shelter": "#9467bd", "housing": "#8c564b",
    "sexual_assault_care": "#e377c2", "medical_care": "#1f77b4", "counselling": "#17becf",
    "addiction_mental_health": "#bcbd22", "legal_support": "#7f7f7f",
    "court_support": "#393b79", "indigenous_services": "#ff7f0e", "interpretation": "#637939",
    "settlement": "#2ca02c", "youth_services": "#843c39", "anti_trafficking": "#000000",
}


def _e(value: object) -> str:
    """HTML-escape listing text ("" for missing values)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _safe_url(url: str) -> str:
    url = (url or "").strip()
    return url if url.lower().startswith(("http://", "https://")) else ""


def service_popup(row: pd.Series) -> str:
    """Popup HTML for one service: every listing value escaped."""
    parts = [f"<b>{_e(row['name'])}</b>"]
    if row.get("organization"):
        parts.append(_e(row["organization"]))
    needs = ", ".join(label(n) for n in str(row["need_types"]).split(";") if n)
    parts.append(f"<i>{_e(needs)}</i>")
    if row.get("phone"):
        tel = "".join(c for c in str(row["phone"]).split(" (")[0] if c.isdigit() or c == "+")
        parts.append(f'Phone: <a href="tel:{_e(tel)}">{_e(row["phone"])}</a>')
    url = _safe_url(str(row.get("website", "")))
    if url:
        parts.append(f'<a href="{_e(url)}" target="_blank" rel="noopener">{_e(url)}</a>')
    if row.get("confidential"):
        parts.append("<b>Location withheld</b>: shown at its town only")
    elif row.get("address"):
        parts.append(_e(f"{row['address']}, {row.get('city', '')}"))
    parts.append(f"Location precision: {_e(row['geocode_precision'])}")
    return "<br>".join(parts)


def _travel_colour(minutes: float) -> str:
    if not np.isfinite(minutes):
        return "#4d004b"
    if minutes <= 90:
        return "#fdae61"
    if minutes <= 180:
        return "#f46d43"
    return "#a50026"


def gap_layer(gaps: pd.DataFrame, points: gpd.GeoSeries, need: str) -> gpd.GeoDataFrame:
    """Gap communities of one need as points with a radius (by population), a colour (by
    travel time) and popup HTML whose listing text is already escaped."""
    rows = []
    for _, r in gaps.iterrows():
        t = float(r["travel_min"])
        when = f"{t:.0f} min" if np.isfinite(t) else str(r["access"]).replace("_", " ")
        pop = int(r["pop2021"])
        rows.append({
            "radius": round(float(3 + np.sqrt(max(pop, 0)) / 15), 1),
            "colour": _travel_colour(t),
            "popup": f"<b>{_e(r['name'])}</b><br>pop. {pop:,}<br>{_e(label(need))}: "
                     f"{_e(when)}<br>{_e(r['note'])}",
        })
    geom = points.loc[gaps["demand_id"].to_numpy()].to_numpy()
    gdf = gpd.GeoDataFrame(rows, geometry=list(geom), crs=4326)
    gdf["geometry"] = gdf.geometry.set_precision(1e-5)
    return gdf


def build_map(region: str | None, services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
              gaps: pd.DataFrame, cds: gpd.GeoDataFrame, config: Config) -> folium.Map:
    """One map: all of Ontario (``region=None``) or one OPP region."""
    if region:
        cds_here = cds[cds["opp_region"] == region]
        svc = services[serves_region(services["opp_region"], region)]
        dem = demand[demand["opp_region"] == region]
        gp = gaps[gaps["opp_region"] == region]
    else:
        cds_here, svc, dem, gp = cds, services, demand, gaps
    if config.confidential_display == "hide":
        svc = svc[~svc["confidential"].astype(bool)]
    minx, miny, maxx, maxy = cds_here.total_bounds
    title = f"gapmap: {region or 'Ontario'}"
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=6,
                   tiles="OpenStreetMap", control_scale=True)
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<title>{_e(title)}</title>"))
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    outlines = cds_here[["CDUID", "CDNAME", "opp_region", "region_confidence", "geometry"]].copy()
    outlines["geometry"] = outlines.geometry.simplify(0.005)
    folium.GeoJson(outlines, name="Census divisions",
                   style_function=lambda _f: {"color": "#555", "weight": 1, "fill": False},
                   tooltip=folium.GeoJsonTooltip(["CDNAME", "opp_region", "region_confidence"],
                                                 aliases=["Census division", "OPP region",
                                                          "Region confidence"])).add_to(m)
    reg = cds_here.dissolve(by="opp_region", as_index=False)[["opp_region", "geometry"]]
    reg["geometry"] = reg.geometry.simplify(0.005)
    folium.GeoJson(reg, name="OPP region outline",
                   style_function=lambda _f: {"color": "#000", "weight": 3, "fill": False}
                   ).add_to(m)
    placed = svc[svc["geocode_precision"].isin(POINT_PRECISIONS) & svc.geometry.notna()]
    for need in config.need_types:
        fg = folium.FeatureGroup(name=f"Services: {label(need)}", show=True)
        has = placed[placed["need_types"].str.split(";").map(lambda n, need=need: need in n)]
        for _, r in has.iterrows():
            folium.CircleMarker(
                [r.geometry.y, r.geometry.x], radius=6, color=NEED_COLOURS[need], fill=True,
                fill_opacity=0.8, weight=2 if r["confidential"] else 1,
                dash_array="3" if r["confidential"] else None,
                popup=folium.Popup(service_popup(r), max_width=320),
                tooltip=_e(r["name"])).add_to(fg)
        fg.add_to(m)
    dem_pts = dem.set_index("demand_id").geometry
    for need in config.need_types:
        g = gp[(gp["need_type"] == need) & (gp["access"] != "no_all_season_road")]
        g = g[g["demand_id"].isin(dem_pts.index)]
        if not len(g):
            continue
        layer = gap_layer(g, dem_pts, need)
        name = f"Gaps: {label(need)} (> {config.coverage.threshold(need):g} min)"
        folium.GeoJson(
            layer, name=name, show=False,
            marker=folium.CircleMarker(fill=True, fill_opacity=0.6, weight=1),
            style_function=lambda f: {"radius": f["properties"]["radius"],
                                      "color": f["properties"]["colour"],
                                      "fillColor": f["properties"]["colour"]},
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(m)
    remote = dem[dem["access"] == "no_all_season_road"]
    if len(remote):
        fg = folium.FeatureGroup(name="No all-season road", show=True)
        for _, r in remote.iterrows():
            pop = f"pop. {r['pop2021']:,}" if r["enumerated"] else "not enumerated in 2021"
            folium.Marker(
                [r.geometry.y, r.geometry.x],
                icon=folium.DivIcon(html='<div style="font-size:16px;color:#4d004b">✈</div>'),
                popup=folium.Popup(f"<b>{_e(r['name'])}</b> ({_e(r['remote_community'])})<br>"
                                   f"{_e(pop)}<br>No all-season road: no drive time. "
                                   f"Nearest air hub: {_e(r['air_hub'])}", max_width=300)
            ).add_to(fg)
        fg.add_to(m)
    unplaced = svc[~svc.index.isin(placed.index)]
    items = "".join(f"<li>{_e(r['name'])} ({_e(r['city'] or 'no town')})"
                    f"{' – ' + _e(r['phone']) if r['phone'] else ''}</li>"
                    for _, r in unplaced.iterrows())
    legend = (
        '<div style="position:fixed;bottom:20px;left:10px;z-index:9999;background:white;'
        'padding:6px;font:12px sans-serif;max-height:40%;overflow:auto;max-width:340px;'
        f'border:1px solid #999"><b>{_e(title)}</b><br>Circles: services by need (dashed: '
        'confidential, shown at its town). Gap layers: communities beyond the threshold, '
        'orange ≤ 90 min, red ≤ 180, dark red farther, purple no time. ✈: no all-season '
        f'road.<details><summary>{len(unplaced)} services listed without a point</summary>'
        f'<ul>{items}</ul></details><small>Data: {_e(config.data_vintage)}; config '
        f'{_e(config.name)} ({config.fingerprint()})</small></div>')
    m.get_root().html.add_child(folium.Element(legend))  # type: ignore[attr-defined]
    folium.LayerControl(collapsed=True).add_to(m)
    return m


_FOLIUM_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def render_deterministic(m: folium.Map) -> str:
    """Render a map with folium's random element ids replaced by sequential ones.

    The same inputs then give a byte-identical file, so reruns are idempotent and diffs of
    two runs show only what changed.
    """
    text = m.get_root().render()
    ids: dict[str, str] = {}
    return _FOLIUM_ID.sub(lambda mt: ids.setdefault(mt.group(0), f"{len(ids):032x}"), text)


def write_maps(services: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, gaps: pd.DataFrame,
               cds: gpd.GeoDataFrame, config: Config) -> list[Path]:
    """Write ``ontario.html`` and one map per OPP region into the maps folder."""
    out_dir = config.outputs.maps_dir
    written = []
    regions = list(config.opp_regions_in_scope or OPP_REGIONS)
    for region in [None, *regions]:
        m = build_map(region, services, demand, gaps, cds, config)
        path = out_dir / f"{slug(region) if region else 'ontario'}.html"
        write_text(render_deterministic(m), path)
        log.info("map %s: %.1f MB", path, path.stat().st_size / 1e6)
        written.append(path)
    return written
