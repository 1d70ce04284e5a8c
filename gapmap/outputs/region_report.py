"""A report per OPP region, in English and in French, as HTML and PDF.

``<folder>/<region>.<language>.html`` and ``.pdf`` (``north-east.en.pdf``), with their images
beside them: ``<region>.<language>.chart.png`` (the needs ranked by the people not within the
threshold) and ``<region>.<language>.map.png`` (the region's census divisions, its gap
communities by the number of needs not reached, its placed services; drawn offline from the
run's own layers).
The HTML carries the images inline (``data:`` URIs), so one file is the whole report and
Chromium prints it without loading anything (:func:`gapmap.outputs.pdf.print_pdfs`).

A report holds: headline figures; a sentence per need and the needs ranked by the people not
within the threshold; the chart; the map; the largest gap communities per need with their
nearest service; the suggested sites with their caveats; a box on method and caveats; the
sources and licences of the data the run read; the run's provenance. Figures are the CSVs'
own (:class:`~gapmap.outputs.workbook.Handover`). Services are drawn from the shared view
(:func:`gapmap.outputs.tables.shared_services`): a confidential service at its town at most.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from gapmap.contracts import dated_before
from gapmap.io import write_text
from gapmap.outputs.dictionary import label
from gapmap.outputs.pdf import print_pdfs
from gapmap.outputs.workbook import (
    Handover,
    fly_in_note,
    fmt_int,
    fmt_pct,
    headline,
    need_label,
    needs_ranked,
    region_name,
)

LANGUAGES = ("en", "fr")

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Services for survivors of human trafficking: OPP region {region}",
        "sub": "gapmap run {run} · generated {generated} · population: 2021 Census",
        "figures": "Headline figures", "population": "Population 2021",
        "needs": "Needs leaving 10 % or more of the people beyond their threshold",
        "worst": "Largest gap", "needs_of": "{n} of {total}", "colour": "needs not reached",
        "ranked": "Needs ranked by the people not within the threshold",
        "chart": "People not within each need's threshold",
        "map": "Where the gaps are",
        "map_note": "Communities beyond the threshold of one need or more (size: population; "
                    "colour: needs not reached); + placed services (a confidential service "
                    "at its town); grey lines: census divisions.",
        "top": "Largest gap communities, top {n} per need, with their nearest service",
        "suggest": "Suggested sites (one more service of the need)",
        "no_suggest": "The plan stage has not run: no suggestions.",
        "method": "Method and caveats", "sources": "Sources and licences",
        "provenance": "Provenance",
        "need": "Need", "people": "People not within threshold",
        "pct": "% not within threshold", "threshold": "Threshold (min)",
        "fly": "No all-season road", "placed": "Services placed",
        "area": "Listed for an area", "outreach": "Only by outreach",
        "line": "Only by a line", "nothing": "Reached by nothing listed",
        "no_gap": "No community of this region is beyond a need's threshold.",
        "licence": "Licence or source", "file": "File", "used": "read by this run",
    },
    "fr": {
        "title": "Services aux personnes survivantes de la traite : région {region} de la PPO",
        "sub": "calcul gapmap {run} · produit le {generated} · population : Recensement de "
               "2021",
        "figures": "Chiffres clés", "population": "Population 2021",
        "needs": "Besoins laissant 10 % ou plus de la population au-delà du seuil",
        "worst": "Plus grand écart", "needs_of": "{n} sur {total}",
        "colour": "besoins non atteints",
        "ranked": "Besoins classés selon la population au-delà du seuil",
        "chart": "Personnes au-delà du seuil de chaque besoin",
        "map": "Où sont les écarts",
        "map_note": "Communautés au-delà du seuil d'au moins un besoin (taille : population ; "
                    "couleur : besoins non atteints) ; + services localisés (un service "
                    "confidentiel à sa ville) ; lignes grises : divisions de recensement.",
        "top": "Communautés aux plus grands écarts, {n} premières par besoin, et leur "
               "service le plus proche",
        "suggest": "Sites suggérés (un service de plus pour le besoin)",
        "no_suggest": "L'étape plan n'a pas été exécutée : pas de suggestions.",
        "method": "Méthode et mises en garde", "sources": "Sources et licences",
        "provenance": "Provenance",
        "need": "Besoin", "people": "Personnes au-delà du seuil",
        "pct": "% au-delà du seuil", "threshold": "Seuil (min)",
        "fly": "Sans route praticable toute l'année", "placed": "Services localisés",
        "area": "Listés pour une région", "outreach": "Seulement itinérant",
        "line": "Seulement par une ligne", "nothing": "Joints par aucun service listé",
        "no_gap": "Aucune communauté de la région n'est au-delà du seuil d'un besoin.",
        "licence": "Licence ou source", "file": "Fichier", "used": "lu par ce calcul",
    },
}

CSS = """
@page { size: Letter; margin: 0.5in 0.55in; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 8.6pt;
       color: #111; line-height: 1.3; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 2pt 0; } h2 { font-size: 11pt; margin: 12pt 0 4pt 0;
     border-bottom: 1pt solid #345; break-after: avoid; }
.sub { color: #444; margin: 0 0 8pt 0; }
.figures { display: flex; gap: 8pt; margin: 4pt 0; }
.figure { flex: 1; border: 1pt solid #345; padding: 4pt 6pt; }
.figure b { display: block; font-size: 13pt; }
ul.headlines { margin: 4pt 0; padding-left: 14pt; } ul.headlines li { margin: 1pt 0; }
table { border-collapse: collapse; width: 100%; margin: 2pt 0 6pt 0; }
th, td { border-bottom: 0.5pt solid #999; padding: 1.5pt 3pt; text-align: left;
         vertical-align: top; }
th { background: #dde4ee; border-bottom: 1pt solid #345; }
td.n { text-align: right; white-space: nowrap; } tr { break-inside: avoid; }
tr.need td { font-weight: bold; border-top: 1pt solid #345; background: #f2f4f7; }
img { max-width: 100%; } .map { break-inside: avoid; } .small { font-size: 7.4pt; }
.box { border: 1.2pt solid #345; background: #f6f8fb; padding: 4pt 8pt; margin: 8pt 0;
       break-inside: avoid; }
.box dt { font-weight: bold; } .box dd { margin: 0 0 3pt 10pt; }
.foot { font-size: 7pt; color: #444; margin-top: 10pt; }
"""


def slug(region: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", region.lower()).strip("-") or "region"


def _e(value: object) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def chart_png(ranked: pd.DataFrame, language: str) -> bytes:
    """A horizontal bar per need: the people not within its threshold, largest on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = ranked.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7.0, 0.28 * max(len(data), 3) + 0.8))
    ax.barh([need_label(n, language) for n in data["need_type"]], data["pop_beyond"],
            color="#c0504d")
    for y, (v, p) in enumerate(zip(data["pop_beyond"], data["pct_beyond"], strict=True)):
        ax.text(v, y, f" {fmt_int(v, language)} ({fmt_pct(p, language)})", va="center",
                fontsize=7)
    ax.set_xlabel(WORDS[language]["people"], fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda x, _: fmt_int(x, language)))
    ax.set_xlim(0, max(float(data["pop_beyond"].max()), 1.0) * 1.35)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _png(fig)


def map_png(region: str, h: Handover, *, cds: gpd.GeoDataFrame, demand: gpd.GeoDataFrame,
            services: gpd.GeoDataFrame, language: str) -> bytes:
    """The region's census divisions, its gap communities (size: population, colour: needs
    not reached) and its placed services (shared view: confidential ones at their town)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lam = 3347  # Statistics Canada Lambert: a map of Ontario as atlases draw it
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    mine = cds[cds["opp_region"] == region]
    (mine if len(mine) else cds).to_crs(lam).plot(ax=ax, facecolor="#f4f4f0",
                                                  edgecolor="#999", linewidth=0.5)
    gaps = h.gaps[h.gaps["opp_region"] == region]
    counts = gaps.groupby("demand_id").size().rename("needs_missing").reset_index()
    pts = demand[["demand_id", "pop2021", "geometry"]].merge(counts, on="demand_id")
    if len(pts):
        pts = gpd.GeoDataFrame(pts, geometry="geometry", crs=4326).to_crs(lam)
        pts = pts.sort_values("pop2021", ascending=False)
        size = 4 + 120 * (pts["pop2021"] / max(float(pts["pop2021"].max()), 1.0)) ** 0.5
        sc = ax.scatter(pts.geometry.x, pts.geometry.y, s=size, c=pts["needs_missing"],
                        cmap="OrRd", vmin=0, vmax=max(int(pts["needs_missing"].max()), 1),
                        edgecolor="#333", linewidth=0.3, alpha=0.85)
        bar = fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.01)
        bar.ax.tick_params(labelsize=7)
        bar.set_label(WORDS[language]["colour"], fontsize=8)
    placed = services[(services["opp_region"] == region) & services.geometry.notna()]
    if len(placed):
        sp = placed.to_crs(lam)
        ax.scatter(sp.geometry.x, sp.geometry.y, marker="+", s=22, c="#1f3b73",
                   linewidth=0.8)
    ax.set_axis_off()
    ax.set_aspect("equal")
    return _png(fig)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _needs_table(ranked: pd.DataFrame, w: dict[str, str], language: str) -> str:
    head = "".join(f"<th>{_e(w[k])}</th>" for k in ("need", "people", "pct", "threshold",
                                                    "outreach", "line", "nothing", "fly",
                                                    "placed", "area"))
    body = "".join(
        f"<tr><td>{_e(need_label(r.need_type, language))}</td>"
        f'<td class="n">{fmt_int(r.pop_beyond, language)}</td>'
        f'<td class="n">{fmt_pct(r.pct_beyond, language)}</td>'
        f'<td class="n">{float(r.threshold_min):g}</td>'
        f'<td class="n">{fmt_int(r.pop_outreach_only, language)}</td>'
        f'<td class="n">{fmt_int(r.pop_line_only, language)}</td>'
        f'<td class="n">{fmt_int(r.pop_not_reached, language)}</td>'
        f'<td class="n">{fmt_int(r.pop_no_all_season_road, language)}</td>'
        f'<td class="n">{r.services_placed}</td><td class="n">{r.services_area_level}</td>'
        "</tr>" for r in ranked.itertuples())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _col(column: str, language: str, file: str) -> str:
    found = label(column, file)
    if found is None:
        return column
    return found.fr if language == "fr" else found.en


def _doubt(name: str, minutes: float, language: str, *, stale_before: int,
           far_min: float) -> str:
    """Why an answer is doubtful, in words ("" when it is not): a service named for a year
    before ``stale_before`` (:func:`gapmap.contracts.dated_before`), or a drive longer than
    ``far_min`` minutes. The maps' panel flags the same answers ([maps] settings)."""
    fr = language == "fr"
    out = []
    year = dated_before(name, stale_before)
    if year:
        out.append(f"nommé pour {year} : a pu prendre fin" if fr
                   else f"named for {year}: may have ended")
    if not pd.isna(minutes) and float(minutes) > far_min:
        hours = f"{far_min / 60:g}"
        out.append(f"plus de {hours} h : pas une réponse" if fr
                   else f"over {hours} h: not an answer")
    return "; ".join(out)


def _gaps_table(gaps: pd.DataFrame, order: Sequence[str], top: int, language: str,
                w: dict[str, str], *, stale_before: int = 0,
                far_min: float = math.inf) -> str:
    cols = ["rank", "name", "cd_name", "pop2021", "travel_min", "service_name", "service_town"]
    head = "".join(f"<th>{_e(_col(c, language, 'gap_communities.csv'))}</th>" for c in cols)
    body = []
    for need in order:
        rows = gaps[(gaps["need_type"] == need) & (gaps["rank"] <= top)].sort_values("rank")
        if not len(rows):
            continue
        body.append(f'<tr class="need"><td colspan="{len(cols)}">'
                    f"{_e(need_label(need, language))}</td></tr>")
        for r in rows.itertuples():
            minutes = "" if pd.isna(r.travel_min) else f"{float(r.travel_min):.0f}"
            note = (f' <span class="small">({_e(r.note)})</span>'
                    if isinstance(r.note, str) and r.note else "")
            why = _doubt(str(r.service_name or ""), r.travel_min, language,
                         stale_before=stale_before, far_min=far_min)
            doubt = f' <b class="doubt">({_e(why)})</b>' if why else ""
            body.append(
                f'<tr><td class="n">{r.rank}</td><td>{_e(r.name)}{note}</td>'
                f"<td>{_e(r.cd_name)}</td><td class=\"n\">{fmt_int(r.pop2021, language)}</td>"
                f'<td class="n">{minutes}</td><td>{_e(r.service_name)}{doubt}</td>'
                f"<td>{_e(r.service_town)}</td></tr>")
    if not body:
        return f"<p>{_e(w['no_gap'])}</p>"
    return (f'<table class="small"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            "</tbody></table>")


def _suggestions(h: Handover, region: str, order: Sequence[str], language: str,
                 w: dict[str, str]) -> str:
    s = h.suggestions
    if s is None:
        return f"<p>{_e(w['no_suggest'])}</p>"
    s = s[s["opp_region"] == region]
    method = "exact" if (s["method"] == "exact").any() else (s["method"].iloc[0] if len(s)
                                                             else "")
    s = s[s["method"] == method]
    cols = ["rank", "site", "cd_name", "pop_added", "pct_covered_before", "pct_covered_after"]
    head = "".join(f"<th>{_e(_col(c, language, 'suggestions.csv'))}</th>" for c in cols)
    body = []
    for need in order:
        rows = s[s["need_type"] == need].sort_values("rank")
        if not len(rows):
            continue
        caveat = str(rows["caveat"].iloc[0])
        body.append(f'<tr class="need"><td colspan="{len(cols)}">'
                    f"{_e(need_label(need, language))}"
                    f'<br><span class="small">{_e(caveat)}</span></td></tr>')
        body += [f'<tr><td class="n">{r.rank}</td><td>{_e(r.site)}</td><td>{_e(r.cd_name)}'
                 f'</td><td class="n">{fmt_int(r.pop_added, language)}</td>'
                 f'<td class="n">{fmt_pct(r.pct_covered_before, language)}</td>'
                 f'<td class="n">{fmt_pct(r.pct_covered_after, language)}</td></tr>'
                 for r in rows.itertuples()]
    if not body:
        return f"<p>{_e(w['no_suggest'])}</p>"
    return (f'<table class="small"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
            "</tbody></table>")


def report_html(region: str, h: Handover, *, language: str, chart: bytes, map_image: bytes,
                top: int, method: Sequence[tuple[str, str]], stale_before: int = 0,
                far_min: float = math.inf) -> str:
    """One region's report, a self-contained HTML document (module docstring)."""
    w = WORDS[language]
    ranked = needs_ranked(h.coverage, region)
    order = list(ranked["need_type"])
    where = region_name(region, language)
    pop = int(ranked["pop2021"].iloc[0]) if len(ranked) else 0
    wide = int((ranked["pct_beyond"] >= 10.0).sum())
    figures = [(w["population"], fmt_int(pop, language)),
               (w["needs"], w["needs_of"].format(n=wide, total=len(ranked)))]
    if len(ranked):
        top_need = ranked.iloc[0]
        figures.append((w["worst"], f"{need_label(top_need['need_type'], language)}: "
                        f"{fmt_int(top_need['pop_beyond'], language)} "
                        f"({fmt_pct(top_need['pct_beyond'], language)})"))
    boxes = "".join(f'<div class="figure">{_e(t)}<b>{_e(v)}</b></div>' for t, v in figures)
    lines = "".join(f"<li>{_e(headline(r, region, language))}</li>"
                    for _, r in ranked.iterrows())
    fly = fly_in_note(ranked, language)
    fly_note = f"<p>{_e(fly)}</p>" if fly else ""
    notes = "".join(f"<dt>{_e(t)}</dt><dd>{_e(text)}</dd>" for t, text in method)
    used = h.sources[h.sources["used"] == "yes"]
    sources = "".join(f"<tr><td>{_e(r.licence)}</td><td>{_e(r.file)}</td>"
                      f"<td>{_e(r.product)}</td></tr>" for r in used.itertuples())
    meta = h.metadata
    foot = (f"gapmap {meta.get('gapmap_version', '')} · config {meta.get('config_file', '')} "
            f"{meta.get('config_fingerprint', '')} · data: {meta.get('data_vintage', '')}")
    title = w["title"].format(region=where)
    gap_rows = _gaps_table(h.gaps[h.gaps["opp_region"] == region], order, top, language, w,
                           stale_before=stale_before, far_min=far_min)
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{_e(title)}</h1><p class=\"sub\">"
        f"{_e(w['sub'].format(run=h.run_name, generated=h.generated))}</p>"
        f"<h2>{_e(w['figures'])}</h2><div class=\"figures\">{boxes}</div>"
        f'<ul class="headlines">{lines}</ul>{fly_note}'
        f"<h2>{_e(w['ranked'])}</h2>{_needs_table(ranked, w, language)}"
        f"<h2>{_e(w['chart'])}</h2><img alt=\"{_e(w['chart'])}\" src=\"{_data_uri(chart)}\">"
        f'<div class="map"><h2>{_e(w["map"])}</h2><img alt="{_e(w["map"])}" '
        f'src="{_data_uri(map_image)}"><p class="small">{_e(w["map_note"])}</p></div>'
        f"<h2>{_e(w['top'].format(n=top))}</h2>"
        f"{gap_rows}"
        f"<h2>{_e(w['suggest'])}</h2>{_suggestions(h, region, order, language, w)}"
        f'<div class="box"><h2>{_e(w["method"])}</h2><dl>{notes}</dl></div>'
        f"<h2>{_e(w['sources'])}</h2><table class=\"small\"><thead><tr>"
        f"<th>{_e(w['licence'])}</th><th>{_e(w['file'])} ({_e(w['used'])})</th><th></th>"
        f"</tr></thead><tbody>{sources}</tbody></table>"
        f'<p class="foot">{_e(w["provenance"])}: {_e(foot)}</p></body></html>\n')


def write_region_reports(h: Handover, folder: Path, *, cds: gpd.GeoDataFrame,
                         demand: gpd.GeoDataFrame, services: gpd.GeoDataFrame, top: int,
                         method: Callable[[str, str], Sequence[tuple[str, str]]],
                         browser: str, stale_before: int = 0,
                         far_min: float = math.inf) -> list[Path]:
    """Write every OPP region's report (module docstring) into ``folder``; ``method(region,
    language)`` gives its method box's (title, text) rows; a gap community's nearest service
    named for a year before ``stale_before``, or farther than ``far_min`` minutes, is flagged
    (the maps' settings). Files of regions no longer in the run are removed, so the folder
    holds this run's reports only."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    documents: list[tuple[str, Path]] = []
    for region in h.regions:
        name = slug(region)
        ranked = needs_ranked(h.coverage, region)
        for language in LANGUAGES:
            image = map_png(region, h, cds=cds, demand=demand, services=services,
                            language=language)
            written.append(_write_bytes(image, folder / f"{name}.{language}.map.png"))
            chart = chart_png(ranked, language)
            written.append(_write_bytes(chart, folder / f"{name}.{language}.chart.png"))
            document = report_html(region, h, language=language, chart=chart,
                                   map_image=image, top=top,
                                   method=method(region, language),
                                   stale_before=stale_before, far_min=far_min)
            written.append(write_text(document, folder / f"{name}.{language}.html"))
            documents.append((document, folder / f"{name}.{language}.pdf"))
    written += print_pdfs(documents, browser=browser, what="the regional reports",
                          background=True)
    for stale in set(folder.iterdir()) - set(written):
        if stale.is_file() and not stale.name.startswith("."):
            stale.unlink()
    return written


def _write_bytes(data: bytes, path: Path) -> Path:
    from gapmap.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path
