"""``gapmap.xlsx``: the run's tables in one workbook a planner can hand over.

Sheets: ``Summary`` (a headline sentence per need for the area the run covers, and the people
beyond each need's threshold per OPP region), one sheet per OPP region (its headlines, its
needs ranked, its largest gap communities with their nearest service), ``Gap communities``,
``Coverage``, ``Wraparound``, ``Eligibility`` (who the services are for) and ``French access``
(the French Language Services Act's designated areas) as the gaps stage wrote them,
``Access`` and ``Suggestions`` (when the plan stage has run),
``Data quality``, ``Dictionary`` (every shared column's labels and meaning) and ``Method and
sources`` (the method, the data's sources and licences, the run's provenance).

Every table has labelled columns (the data dictionary's English labels), a frozen header, set
widths and number formats; every cell goes through :func:`gapmap.io.neutralise`, as the CSVs
do. The figures are the CSVs' own, read back from them (:class:`Handover`): the workbook's
totals equal the CSVs'.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gapmap.io import atomic_path, neutralise, neutralise_text
from gapmap.outputs.dictionary import label_en
from gapmap.taxonomy import BY_CODE

REGION_FR = {"North East": "Nord-Est", "North West": "Nord-Ouest", "East": "Est",
             "West": "Ouest", "Central": "Centre"}
"""The OPP regions' names in French (as the OPP's French pages name them)."""


@dataclass(frozen=True)
class Handover:
    """What the workbook and the regional reports are made of: the shared CSVs as read back,
    and the run's facts.

    ``total`` is the ``opp_region`` of the total rows (:func:`gapmap.gaps.total_label`);
    ``regions`` the OPP regions with a coverage row, in the table's order; ``sources`` the
    rows of ``LICENSE-DATA.md`` (``licence``, ``file``, ``product``, ``used``); ``metadata``
    the run's provenance (``run_metadata.json``).
    """

    coverage: pd.DataFrame
    gaps: pd.DataFrame
    wraparound: pd.DataFrame
    data_quality: pd.DataFrame
    dictionary: pd.DataFrame
    sources: pd.DataFrame
    metadata: Mapping[str, Any]
    total: str
    run_name: str
    generated: str
    suggestions: pd.DataFrame | None = None
    access: pd.DataFrame | None = None
    french: pd.DataFrame | None = None
    eligibility: pd.DataFrame | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def regions(self) -> list[str]:
        return [r for r in dict.fromkeys(self.coverage["opp_region"]) if r != self.total]


def need_label(code: str, language: str = "en") -> str:
    need = BY_CODE.get(code)
    if need is None:
        return code
    return need.label_fr if language == "fr" else need.label_en


def region_name(region: str, language: str = "en") -> str:
    return REGION_FR.get(region, region) if language == "fr" else region


def needs_ranked(coverage: pd.DataFrame, region: str) -> pd.DataFrame:
    """A region's needs, most people beyond the threshold first: ``need_type``,
    ``threshold_min``, ``pop2021``, ``pop_beyond`` (pop2021 - pop_covered: more than the
    threshold by road, no all-season road, or beyond the road network), ``pct_beyond``
    (100 - pct_covered), ``pop_no_all_season_road``, ``services_placed``,
    ``services_area_level``, and how the people beyond are reached otherwise (issue 16's
    columns, 0 when the table has none): ``pop_outreach_only``, ``pop_line_only``,
    ``pop_not_reached``."""
    rows = coverage[coverage["opp_region"] == region]
    out = pd.DataFrame({
        "need_type": rows["need_type"], "threshold_min": rows["threshold_min"],
        "pop2021": rows["pop2021"].astype(int),
        "pop_beyond": (rows["pop2021"] - rows["pop_covered"]).astype(int),
        "pct_beyond": (100.0 - rows["pct_covered"]).round(1),
        "pop_no_all_season_road": rows["pop_no_all_season_road"].astype(int),
        "services_placed": rows["services_placed"].astype(int),
        "services_area_level": rows["services_area_level"].astype(int),
        **{c: (rows[c] if c in rows.columns else pd.Series(0, index=rows.index)).astype(int)
           for c in ("pop_outreach_only", "pop_line_only", "pop_not_reached")},
    })
    return out.sort_values(["pop_beyond", "need_type"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def fmt_int(value: int, language: str = "en") -> str:
    text = f"{int(value):,}"
    return text.replace(",", " ") if language == "fr" else text


def fmt_pct(value: float, language: str = "en") -> str:
    text = f"{float(value):.1f} %"
    return text.replace(".", ",") if language == "fr" else text


def headline(row: pd.Series, region: str, language: str = "en") -> str:
    """One need's sentence: "Emergency shelter: 447,432 people, 80.3 % of North East, are not
    within 60 min by road of a listed service." (people in communities with no all-season
    road included: :func:`fly_in_note` says how many), then how many of them are reached
    only by outreach or only by a line, when any are."""
    n, pct = fmt_int(row["pop_beyond"], language), fmt_pct(row["pct_beyond"], language)
    t = f"{float(row['threshold_min']):g}"
    where = region_name(region, language)
    if language == "fr":
        return (f"{need_label(row['need_type'], 'fr')} : {n} personnes, {pct} de {where}, "
                f"ne sont pas à {t} min ou moins par la route d'un service listé."
                + _otherwise(row, language))
    return (f"{need_label(row['need_type'])}: {n} people, {pct} of {where}, are not within "
            f"{t} min by road of a listed service." + _otherwise(row, language))


def _otherwise(row: pd.Series, language: str) -> str:
    """" Of them, N are reached only by outreach and M only by a phone or online line."
    ("" when none are)."""
    fr = language == "fr"
    kinds = (("pop_outreach_only", "only by outreach", "seulement par des services itinérants"),
             ("pop_line_only", "only by a phone or online line",
              "seulement par une ligne téléphonique ou en ligne"))
    parts = [(fmt_int(int(row.get(c, 0) or 0), language), f if fr else e)
             for c, e, f in kinds if int(row.get(c, 0) or 0)]
    if not parts:
        return ""
    verb = "sont jointes" if fr else "are reached"
    (n, how), *rest = parts
    sentence = f"{n} {verb} {how}" + "".join(
        (" et " if fr else " and ") + f"{m} {words}" for m, words in rest)
    return (" Parmi elles, " if fr else " Of them, ") + sentence + "."


def fly_in_note(ranked: pd.DataFrame, language: str = "en") -> str:
    """The sentence on the people with no all-season road, counted in every need's figure
    ("" when there are none)."""
    fly = int(ranked["pop_no_all_season_road"].max()) if len(ranked) else 0
    if not fly:
        return ""
    if language == "fr":
        return (f"Ces chiffres comptent {fmt_int(fly, 'fr')} personnes de communautés sans "
                "route praticable toute l'année (avion ou route d'hiver).")
    return (f"These figures count {fmt_int(fly)} people in communities with no all-season "
            "road (fly-in or winter road).")


# -- writing -----------------------------------------------------------------------------------

_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")


def _sheet_title(name: str) -> str:
    return _BAD_SHEET.sub("-", name)[:31]


def _format(column: str, dtype: Any) -> str | None:
    if column in ("lat", "lon"):
        return "0.00000"
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_integer_dtype(dtype):
        return "#,##0"
    if pd.api.types.is_float_dtype(dtype):
        return "0.00" if column.startswith(("access_", "mean_needs")) else "#,##0.0"
    return None


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def write_table(ws: Any, df: pd.DataFrame, *, file: str = "", row: int = 1,
                labels: Mapping[str, str] | None = None, freeze: bool = True) -> int:
    """Write ``df`` at ``row`` of ``ws``: a bold header of the columns' labels (``labels``,
    else the data dictionary's for ``file``), the cells neutralised, number formats by
    column, widths to fit (up to 60), the header frozen (``freeze``). Returns the next free
    row."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    safe = neutralise(df)
    head = [neutralise_text((labels or {}).get(str(c)) or label_en(str(c), file))
            for c in df.columns]
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    for j, text in enumerate(head, 1):
        cell = ws.cell(row=row, column=j, value=text)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    formats = [_format(str(c), df[c].dtype) for c in df.columns]
    for i, values in enumerate(safe.itertuples(index=False), row + 1):
        for j, (value, number) in enumerate(zip(values, formats, strict=True), 1):
            cell = ws.cell(row=i, column=j, value=_cell(value))
            if number:
                cell.number_format = number
    for j, c in enumerate(df.columns, 1):
        longest = max([len(str(head[j - 1]))] + [len(str(v)) for v in safe[c].head(500)])
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0,
                                                 min(60, max(8, longest + 2)))
    if freeze:
        ws.freeze_panes = ws.cell(row=row + 1, column=1)
    return row + len(df) + 2


def _text(ws: Any, row: int, text: str, *, bold: bool = False, size: float = 11) -> int:
    from openpyxl.styles import Font

    cell = ws.cell(row=row, column=1, value=neutralise_text(text))
    cell.font = Font(bold=bold, size=size)
    return row + 1


NEEDS_LABELS = {"need_type": "Need", "pop_beyond": "People not within threshold",
                "pct_beyond": "% not within threshold",
                "pop_outreach_only": "Of all, reached only by outreach",
                "pop_line_only": "Of all, reached only by a line",
                "pop_not_reached": "Of all, reached by nothing listed"}


def _needs_table(h: Handover, region: str) -> pd.DataFrame:
    ranked = needs_ranked(h.coverage, region)
    return ranked.assign(need_type=ranked["need_type"].map(need_label))


def _summary(wb: Any, h: Handover) -> None:
    ws = wb.active
    ws.title = "Summary"
    row = _text(ws, 1, f"gapmap: {h.run_name}, generated {h.generated}", bold=True, size=14)
    row = _text(ws, row, f"Needs in {h.total}, most people beyond the threshold first. "
                "Population: 2021 Census; drive times on the run's road model.")
    row += 1
    ranked = needs_ranked(h.coverage, h.total)
    for _, r in ranked.iterrows():
        row = _text(ws, row, headline(r, h.total))
    if fly_in_note(ranked):
        row = _text(ws, row, fly_in_note(ranked))
    row += 1
    row = _text(ws, row, f"{h.total}: needs ranked", bold=True)
    row = write_table(ws, _needs_table(h, h.total), row=row, labels=NEEDS_LABELS,
                      freeze=False)
    if h.regions:
        row = _text(ws, row, "People not within each need's threshold, by OPP region",
                    bold=True)
        wide = (h.coverage.assign(pop_beyond=(h.coverage["pop2021"]
                                              - h.coverage["pop_covered"]).astype(int))
                .pivot(index="need_type", columns="opp_region", values="pop_beyond")
                [[*h.regions, h.total]].reset_index())
        wide["need_type"] = wide["need_type"].map(need_label)
        write_table(ws, wide, row=row, labels={"need_type": "Need"}, freeze=False)
    ws.column_dimensions["A"].width = 34


def _region_sheet(wb: Any, h: Handover, region: str, top: int) -> None:
    ws = wb.create_sheet(_sheet_title(region))
    row = _text(ws, 1, f"OPP region {region}", bold=True, size=14)
    ranked = needs_ranked(h.coverage, region)
    if len(ranked):
        row = _text(ws, row, f"Population 2021: {fmt_int(ranked['pop2021'].iloc[0])}")
    row += 1
    for _, r in ranked.iterrows():
        row = _text(ws, row, headline(r, region))
    if fly_in_note(ranked):
        row = _text(ws, row, fly_in_note(ranked))
    row += 1
    row = _text(ws, row, "Needs ranked by the people not within the threshold", bold=True)
    row = write_table(ws, _needs_table(h, region), row=row, labels=NEEDS_LABELS,
                      freeze=False)
    row = _text(ws, row, f"Largest gap communities, top {top} per need, with their nearest "
                "service", bold=True)
    gaps = h.gaps[(h.gaps["opp_region"] == region) & (h.gaps["rank"] <= top)]
    cols = ["need_type", "rank", "name", "cd_name", "pop2021", "travel_min", "threshold_min",
            "minutes_beyond", "service_name", "service_town", "access", "note"]
    write_table(ws, gaps[cols].assign(need_type=gaps["need_type"].map(need_label)),
                file="gap_communities.csv", row=row, freeze=False)
    ws.column_dimensions["A"].width = 34


def _method(wb: Any, h: Handover, method: Sequence[tuple[str, str]]) -> None:
    ws = wb.create_sheet("Method and sources")
    row = _text(ws, 1, "Method and caveats", bold=True, size=14)
    for title, text in method:
        ws.cell(row=row, column=1, value=neutralise_text(title)).font = _bold()
        ws.cell(row=row, column=2, value=neutralise_text(text))
        row += 1
    row += 1
    row = _text(ws, row, "Sources and licences (data/raw/LICENSE-DATA.md)", bold=True)
    row = write_table(ws, h.sources, row=row, freeze=False, labels={
        "licence": "Licence or source", "file": "File", "product": "Product",
        "used": "Used by this run"})
    row = _text(ws, row, "Provenance (run_metadata.json)", bold=True)
    meta = h.metadata
    facts = [("gapmap version", meta.get("gapmap_version", "")),
             ("config file", meta.get("config_file", "")),
             ("config fingerprint", meta.get("config_fingerprint", "")),
             ("data vintage", meta.get("data_vintage", "")), ("generated", h.generated)]
    facts += [(f"input {k}", f"sha256 {v}") for k, v in sorted(meta.get("inputs", {}).items())]
    write_table(ws, pd.DataFrame(facts, columns=["what", "value"]), row=row, freeze=False,
                labels={"what": "What", "value": "Value"})
    ws.column_dimensions["A"].width = 40
    ws.column_dimensions["B"].width = 100


def _bold() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def sheet_names(h: Handover) -> list[str]:
    """The workbook's sheets, in order."""
    names = ["Summary", *(_sheet_title(r) for r in h.regions), "Gap communities", "Coverage",
             "Wraparound"]
    names += ["Eligibility"] if h.eligibility is not None else []
    names += ["French access"] if h.french is not None else []
    names += ["Access"] if h.access is not None else []
    names += ["Suggestions"] if h.suggestions is not None else []
    return [*names, "Data quality", "Dictionary", "Method and sources"]


def write_workbook(h: Handover, path: Path, *, top: int,
                   method: Sequence[tuple[str, str]]) -> Path:
    """Write ``gapmap.xlsx`` (module docstring) atomically; ``top`` gap communities per need
    on each region's sheet; ``method`` the (title, text) rows of the method sheet."""
    from openpyxl import Workbook

    wb = Workbook()
    _summary(wb, h)
    for region in h.regions:
        _region_sheet(wb, h, region, top)
    tables: list[tuple[str, pd.DataFrame | None, str]] = [
        ("Gap communities", h.gaps, "gap_communities.csv"),
        ("Coverage", h.coverage, "coverage_by_region.csv"),
        ("Wraparound", h.wraparound, "wraparound_by_region.csv"),
        ("Eligibility", h.eligibility, "eligibility_by_need.csv"),
        ("French access", h.french, "french_access_by_region.csv"),
        ("Access", h.access, "access_by_community.csv"),
        ("Suggestions", h.suggestions, "suggestions.csv"),
        ("Data quality", h.data_quality, "data_quality_by_region.csv"),
        ("Dictionary", h.dictionary, "data_dictionary.csv"),
    ]
    for title, df, file in tables:
        if df is not None:
            write_table(wb.create_sheet(title), df, file=file)
    _method(wb, h, method)
    import datetime as dt

    wb.properties.creator = "gapmap"
    # the run's date, not the time of writing: the same inputs give the same workbook
    wb.properties.created = wb.properties.modified = dt.datetime.fromisoformat(h.generated)
    with atomic_path(path) as tmp:
        _save_dated(wb, tmp, dt.date.fromisoformat(h.generated))
    return path


def _save_dated(wb: Any, path: Path, day: Any) -> None:
    """Save ``wb`` with every part of the file and its "modified" property dated ``day`` (the
    zip stamps each part with the time of writing, openpyxl the property with the time of
    saving): the same inputs give the same bytes."""
    import zipfile

    buffer = io.BytesIO()
    wb.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(day.year, day.month, day.day,
                                                              0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = info.external_attr
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets "modified" as it saves
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*",
                              rb"\g<1>" + f"{day.isoformat()}T00:00:00Z".encode(), data)
            dst.writestr(fixed, data)
