"""Referral sheets as files: one HTML page per place, one PDF of them all (Letter, printed by
headless Chromium through playwright), and one CSV of every row.

A sheet is made to be printed in black and white and read at a desk at 2 a.m.: per need, the
nearest services with their phone, hours, languages, who they are for, the drive time and
how the service is reached, then the lines and area listings; each listing's source and the
date it was last verified, stale or unverified ones marked. Everything from a listing is
HTML-escaped and printed as it is in the data (a phone number is never rewritten). A
confidential service shows its name, town ("location withheld") and public contact only:
the rows carry no street address and no service point (:mod:`gapmap.analysis.referral`).

Each sheet starts on a new page with its title, ``Referral sheet: <place>`` (French:
``Fiche d'orientation : <place>``), and fits one or two pages.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gapmap.io import write_csv, write_text
from gapmap.outputs.pdf import print_pdfs
from gapmap.taxonomy import BY_CODE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReferralMeta:
    """What every sheet's footer says about how it was made."""

    run_name: str
    generated: str
    version: str
    fingerprint: str
    data_vintage: str
    stale_after_days: int


WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Referral sheet", "colon": ": ", "region": "OPP region",
        "empty": "No placed police office in this run's scope: no referral sheet.",
        "division": "census division",
        "from": "Drive times from the office town's point on the run's road graph and "
                "local-road connectors: planning estimates, not routing.",
        "need": "Need", "service": "Service · town", "phone": "Phone",
        "time": "Drive · how", "details": "Hours · lang. · for whom",
        "source": "Source · last verified", "lines": "Lines (no point) serving this place",
        "needs": "Needs", "by_line": "By phone", "see_lines": "lines {numbers} above",
        "more_lines": "More lines, not verified or not recently",
        "none": "No listed service of this need reachable by road.",
        "withheld": "location withheld",
        "no_phone": "–", "min": "min",
        "verified": "verified", "stale": "STALE", "unverified": "UNVERIFIED",
        "open_24_7": "24/7 (as listed)", "area": "Also listed for this area, no phone: ",
        "fly_in": "No all-season road: services in the community are listed first; "
                  "everything else is a flight, to {hub} here, or a winter road for a few "
                  "weeks. Times below are by road from {hub}.",
        "estimate": "The office point joins the road graph by a long local-road connector: "
                    "times are estimates.",
        "beyond": "The office point is beyond the road network: only services within local "
                  "reach are timed.",
        "legend": "Hours, languages and eligibility are printed as the listing gives them; "
                  "\u201c\u2013\u201d (phone too) means the listing does not say (not that "
                  "the service is closed or refuses anyone). STALE: last verified more than "
                  "{days} days before this run; UNVERIFIED: no verification date, or the "
                  "source itself doubts the entry. Lines reach everyone with a phone but "
                  "are not a bed, an exam or a court companion.",
        "footer": "gapmap {version} · run {run} · config {fingerprint} · generated "
                  "{generated} · data: {vintage}",
        "reached": {"road": "road", "local road": "local road",
                    "road (estimate)": "road (estimate)", "in community": "in community",
                    "by phone": "by phone", "listed for the area": "listed for the area"},
        "fly": "fly to {hub}, then {how}",
    },
    "fr": {
        "title": "Fiche d'orientation", "colon": " : ", "region": "région de la PPO",
        "division": "division de recensement",
        "from": "Temps de route depuis le point de la ville du bureau, sur le réseau routier "
                "du calcul et ses raccords locaux : estimations de planification, pas un "
                "itinéraire.",
        "need": "Besoin", "service": "Service · ville", "phone": "Téléphone",
        "time": "Route · accès", "details": "Heures · langues · pour qui",
        "source": "Source · dernière vérification",
        "lines": "Lignes (sans adresse) qui desservent ce lieu", "needs": "Besoins",
        "by_line": "Par téléphone", "see_lines": "lignes {numbers} ci-dessus",
        "more_lines": "Autres lignes, non vérifiées ou pas récemment",
        "none": "Aucun service de ce besoin accessible par la route dans la liste.",
        "withheld": "adresse confidentielle",
        "no_phone": "–", "min": "min",
        "verified": "vérifié", "stale": "PÉRIMÉ", "unverified": "NON VÉRIFIÉ",
        "open_24_7": "24 h/24, 7 j/7 (selon la liste)",
        "area": "Aussi listés pour cette région, sans téléphone : ",
        "fly_in": "Pas de route praticable toute l'année : les services de la communauté "
                  "viennent d'abord ; les autres sont à un vol, ici vers {hub}, ou par route "
                  "d'hiver quelques semaines. Les temps ci-dessous sont par la route depuis "
                  "{hub}.",
        "estimate": "Le point du bureau rejoint le réseau par un long raccord local : les "
                    "temps sont des estimations.",
        "beyond": "Le point du bureau est hors du réseau routier : seuls les services tout "
                  "proches sont chronométrés.",
        "legend": "Heures, langues et admissibilité telles que la liste les donne ; « \u2013 » "
                  "(téléphone aussi) : la liste ne le dit pas (ni fermé, ni refusé). PÉRIMÉ : "
                  "vérifié plus de {days} jours avant ce calcul ; NON VÉRIFIÉ : sans date de "
                  "vérification, ou la source elle-même en doute. Une ligne joint toute "
                  "personne qui a un téléphone, mais n'est ni un lit, ni un examen, ni un "
                  "accompagnement au tribunal.",
        "footer": "gapmap {version} · calcul {run} · configuration {fingerprint} · produit le "
                  "{generated} · données : {vintage}",
        "reached": {"road": "route", "local road": "route locale",
                    "road (estimate)": "route (estimation)",
                    "in community": "dans la communauté", "by phone": "par téléphone",
                    "listed for the area": "listé pour la région"},
        "fly": "vol vers {hub}, puis {how}",
    },
}

CSS = """
@page { size: Letter; margin: 0.35in 0.4in 0.35in 0.4in; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 7pt;
       color: #000; background: #fff; margin: 0; line-height: 1.18; }
.sheet { break-before: page; }
.sheet:first-child { break-before: auto; }
h1 { font-size: 13pt; margin: 0 0 2pt 0; }
.sub { font-size: 7.6pt; margin: 0 0 4pt 0; }
.box { border: 1.2pt solid #000; padding: 3pt 5pt; margin: 0 0 4pt 0; }
.box b { font-weight: bold; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border-bottom: 0.5pt solid #777; padding: 0.8pt 2.5pt; vertical-align: top;
         text-align: left; overflow-wrap: anywhere; }
thead th { border-bottom: 1.2pt solid #000; font-size: 7pt; }
tr.need td { border-top: 1.2pt solid #000; border-bottom: 0.5pt solid #000;
             font-weight: bold; font-size: 8.2pt; padding-top: 2.5pt; background: #fff; }
tr { break-inside: avoid; }
td.phone { font-weight: bold; white-space: normal; }
.mark { font-weight: bold; }
.nw { white-space: nowrap; }
.muted { font-style: italic; }
.small { font-size: 6.8pt; }
col.c1 { width: 47%; } col.c2 { width: 12%; } col.c3 { width: 11%; }
col.c4 { width: 8%; } col.c5 { width: 22%; }
col.m1 { width: 55%; } col.m2 { width: 12%; } col.m3 { width: 11%; } col.m4 { width: 22%; }
.details { font-size: 6.6pt; }
table.lines { margin-bottom: 2pt; }
.more { font-size: 6.6pt; margin: 0 0 4pt 0; }
table.lines td, table.lines th { border-bottom: 0.5pt solid #777; }
.legend { font-size: 6.3pt; margin-top: 2pt; break-inside: avoid; }
.foot { font-size: 6.2pt; margin: 1pt 0 0 0; }
"""


def _e(value: object) -> str:
    return html.escape(str(value if value is not None else ""), quote=True)


def _reached(row: pd.Series, w: dict[str, Any]) -> str:
    how = str(row["reached"])
    m = re.match(r"^fly to (.+), then (.+)$", how) or re.match(r"^fly out, then (.+)$", how)
    if m and len(m.groups()) == 2:
        return w["fly"].format(hub=m.group(1), how=w["reached"].get(m.group(2), m.group(2)))
    return w["reached"].get(how, how)


def _details(row: pd.Series, w: dict[str, Any]) -> str:
    """Hours, languages, eligibility as listed; "–" for each one the listing does not give
    (all three missing: one "–")."""
    hours = str(row["hours"]) or (w["open_24_7"] if row["open_24_7"] else "")
    parts = [hours, str(row["languages"]), str(row["eligibility"])]
    if not any(parts):
        return "–"
    return " · ".join(_e(p or "–") for p in parts)


def _source(row: pd.Series, w: dict[str, Any]) -> str:
    """The listing's source and the date it was last verified; a stale or unverified one
    marked in capitals (legible in black and white)."""
    status = str(row["verification"])
    when = _e(row["last_verified"]) if row["last_verified"] else ""
    mark = "" if status == "verified" else f' <span class="mark">{_e(w.get(status, status))}</span>'
    return f"{_e(row['source'])} {when}{mark}"


def _service_cell(row: pd.Series, w: dict[str, Any]) -> str:
    town = w["withheld"] if row["confidential"] else ""
    where = ", ".join(x for x in (str(row["town"]), town) if x)
    org = str(row["organization"])
    show_org = org and org.lower() not in str(row["name"]).lower()
    org_text = f' <span class="small">({_e(org)})</span>' if show_org else ""
    return f"{_e(row['name'])}{org_text} · <i>{_e(where)}</i>"


def _phone(phone: str) -> str:
    """A phone field exactly as listed, breakable only at its spaces (never inside a
    number)."""
    return " ".join(f'<span class="nw">{_e(part)}</span>' for part in phone.split(" "))


def _phone_cell(row: pd.Series, w: dict[str, Any]) -> str:
    phone = str(row["phone"])
    return _phone(phone) if phone else f'<span class="muted">{_e(w["no_phone"])}</span>'


def _time_cell(row: pd.Series, w: dict[str, Any]) -> str:
    minutes = row["travel_min"]
    text = "" if pd.isna(minutes) else f"{float(minutes):.0f} {w['min']} · "
    return text + _e(_reached(row, w))


def _row(row: pd.Series, w: dict[str, Any]) -> str:
    """A nearest service: its hours, languages and eligibility, when listed, on a second line
    under its name, as wide as the name (a narrow column of its own made long texts run
    down the page)."""
    details = _details(row, w)
    extra = f'<br><span class="details">{details}</span>' if details != "–" else ""
    return (f'<tr><td>{_service_cell(row, w)}{extra}</td>'
            f'<td class="phone">{_phone_cell(row, w)}</td><td>{_time_cell(row, w)}</td>'
            f"<td class=\"small\">{_source(row, w)}</td></tr>")


def _line_order(lines: pd.DataFrame) -> pd.DataFrame:
    """The lines in the order the sheet numbers them: verified before unverified or stale,
    stated 24/7 first within each, then by name."""
    return lines.assign(_u=lines["verification"].astype(str) != "verified",
                        _x=~lines["open_24_7"].astype(bool)).sort_values(["_u", "_x", "name"])


def _lines_table(lines: pd.DataFrame, rows: pd.DataFrame, w: dict[str, Any], language: str) -> str:
    """The lines serving the place, once each and numbered (stated 24/7 first): phone, the
    needs they serve, hours and languages as listed, source and last verified."""
    body, compact = [], []
    for number, (_, r) in enumerate(_line_order(lines).iterrows(), 1):
        needs = rows.loc[(rows["service_id"] == r["service_id"])
                         & (rows["section"] == "line"), "need_type"]
        labels = ", ".join(_e(_need_label(n, language)) for n in dict.fromkeys(needs))
        if str(r["verification"]) != "verified":
            # unverified or stale: one run-in entry each, after the verified lines' table
            compact.append(f"{number}. {_e(r['name'])} <b>{_phone(str(r['phone']))}</b> "
                           f"({labels}; {_source(r, w)})")
            continue
        body.append(f'<tr><td>{number}. {_e(r["name"])} · <i>{_e(r["town"])}</i></td>'
                    f'<td class="phone">{_phone_cell(r, w)}</td><td>{labels}</td>'
                    f"<td>{_details(r, w)}</td><td class=\"small\">{_source(r, w)}</td></tr>")
    head = "".join(f"<th>{_e(w[k])}</th>" for k in ("lines", "phone", "needs", "details",
                                                    "source"))
    cols = "".join(f'<col class="c{i}">' for i in range(1, 6))
    table = (f'<table class="lines"><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>'
             f"<tbody>{''.join(body)}</tbody></table>") if body else ""
    more = (f'<p class="more"><b>{_e(w["more_lines"])}:</b> ' + "; ".join(compact) + "</p>"
            if compact else "")
    return table + more


def _need_label(code: str, language: str) -> str:
    need = BY_CODE[code]
    return need.label_fr if language == "fr" else need.label_en


def sheet_html(place: pd.Series, rows: pd.DataFrame, need_types: Sequence[str], *,
               language: str, meta: ReferralMeta) -> str:
    """One sheet (a ``<section class="sheet">``): ``place`` a row of the places table, ``rows``
    its rows of :data:`gapmap.analysis.referral.REFERRAL_COLUMNS`."""
    w = WORDS[language]
    region = f"{w['region']} {place['opp_region']}" if place["opp_region"] else ""
    division = f"{w['division']} {place['cd_name']}" if place["cd_name"] else ""
    detail = str(place.get("detail", "") or "")
    detail = "" if detail == place["place"] else detail
    sub = " · ".join(_e(x) for x in (detail, region, division) if x)
    boxes = []
    lines = rows[rows["section"] == "line"].drop_duplicates("service_id")
    line_number = {sid: n for n, sid in enumerate(_line_order(lines)["service_id"], 1)}
    if len(lines):
        boxes.append(_lines_table(lines, rows, w, language))
    access = str(place["access"])
    if access == "no_all_season_road":
        boxes.append(f'<div class="box"><b>{_e(w["fly_in"].format(hub=place["air_hub"]))}'
                     "</b></div>")
    elif access in ("estimate", "beyond_road_network"):
        key = "estimate" if access == "estimate" else "beyond"
        boxes.append(f'<div class="box">{_e(w[key])}</div>')
    body = []
    for need in need_types:
        mine = rows[rows["need_type"] == need]
        body.append(f'<tr class="need"><td colspan="4">{_e(_need_label(need, language))}'
                    "</td></tr>")
        near = mine[mine["section"] == "nearest"].sort_values("rank")
        if not len(near):
            body.append(f'<tr><td colspan="4" class="muted">{_e(w["none"])}</td></tr>')
        body += [_row(r, w) for _, r in near.iterrows()]
        on_line = mine[mine["section"] == "line"]
        if len(on_line):
            # the lines table above gives each line's number in full; here, which serve it
            numbers = ", ".join(str(n) for n in sorted(line_number[s]
                                                       for s in on_line["service_id"]))
            body.append(f'<tr><td colspan="4"><b>{_e(w["by_line"])}:</b> '
                        f'{_e(w["see_lines"].format(numbers=numbers))}</td></tr>')
        area = mine[mine["section"] == "area"]
        if len(area):
            names = "; ".join(_e(n) for n in area["name"])
            body.append(f'<tr><td colspan="4" class="small">{_e(w["area"])}{names}</td></tr>')
    head = "".join(f"<th>{_e(w[k])}</th>" for k in ("service", "phone", "time", "source"))
    cols = "".join(f'<col class="m{i}">' for i in range(1, 5))
    foot = w["footer"].format(version=meta.version, run=meta.run_name,
                              fingerprint=meta.fingerprint, generated=meta.generated,
                              vintage=meta.data_vintage)
    return (f'<section class="sheet" lang="{language}">'
            f"<h1>{_e(w['title'])}{_e(w['colon'])}{_e(place['place'])}</h1>"
            f'<p class="sub">{sub}<br>{_e(w["from"])}</p>{"".join(boxes)}'
            f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
            f'<p class="legend">{_e(w["legend"].format(days=meta.stale_after_days))}</p>'
            f'<p class="foot">{_e(foot)}</p></section>')


def page_html(sections: Sequence[str], *, title: str, language: str) -> str:
    """A whole HTML document of sheets, self-contained (no script, no outside resource)."""
    lang = "fr" if language == "fr" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(sections) + "</body></html>\n")


def _languages(language: str) -> list[str]:
    return ["en", "fr"] if language == "both" else [language]


def print_pdf(document: str, path: Path, *, browser: str) -> Path:
    """Print an HTML document to a Letter PDF with headless Chromium, atomically
    (:func:`gapmap.outputs.pdf.print_pdfs`, the engine the regional reports share).

    Raises
    ------
    PdfEngineError
        The browser is missing or fails (``make chromium`` installs Debian's).
    """
    return print_pdfs([(document, path)], browser=browser, what="the referral PDF")[0]


def write_referral(rows: pd.DataFrame, places: pd.DataFrame, folder: Path, *,
                   need_types: Sequence[str], basename: str, meta: ReferralMeta,
                   language: str, browser: str, per_place_html: bool) -> list[Path]:
    """Write ``<basename>.pdf`` (every sheet), ``<basename>.csv`` (every row) and, with
    ``per_place_html``, ``<place_id>.html`` per place (else one ``<basename>.html``)."""
    written: list[Path] = []
    sections: list[str] = []
    for _, place in places.iterrows():
        mine = rows[rows["place_id"] == place["place_id"]]
        own = [sheet_html(place, mine, need_types, language=lang, meta=meta)
               for lang in _languages(language)]
        sections += own
        if per_place_html:
            written.append(write_text(page_html(own, title=str(place["place"]),
                                                language=language),
                                      folder / f"{place['place_id']}.html"))
    document = page_html(sections, title=f"Referral sheets: {meta.run_name}",
                         language=language)
    if not per_place_html:
        written.append(write_text(document, folder / f"{basename}.html"))
    if not sections:  # still a PDF, so that a rerun finds its file and nothing is stale
        log.warning("no placed office in the run's scope: no referral sheet")
        document = page_html([f'<section class="sheet"><h1>{_e(WORDS["en"]["empty"])}</h1>'
                              "</section>"], title=meta.run_name, language="en")
    written.append(print_pdf(document, folder / f"{basename}.pdf", browser=browser))
    written.append(write_csv(rows, folder / f"{basename}.csv"))
    return written
