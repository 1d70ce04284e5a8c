"""The data dictionary: every column gapmap shares, labelled in English and French, with what
it means. One declared source (:data:`COLUMNS`) for the CSVs' ``data_dictionary.csv``, the
workbook's column headers and the GeoPackage's ``gpkg_data_columns``.

A column is labelled by its name; a few names mean something else in one file and are
labelled for that file (``"<file>:<column>"``). ``pct_<need>`` columns (the GeoPackage's
``opp_regions`` layer) are labelled from the taxonomy, and ``rejected_rows.csv`` carries
the listing's own columns beyond its first four, labelled as such. A column with no label
is written with blank labels and logged; a test holds every column of every shared CSV
labelled, so a new column is labelled the day it appears.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Label:
    """A column's labels and meaning."""

    en: str
    fr: str
    meaning: str


# column | English label | French label | meaning (a line starting with spaces goes on)
_TABLE = """
opp_region | OPP region | Région de la PPO | Ontario Provincial Police region (the region's row
    "Ontario" or the run's name: all regions in scope)
need_type | Need | Besoin | the need type's code (gapmap/vocabulary; its label is in the workbook)
threshold_min | Threshold (min) | Seuil (min) | the drive time within which a need counts as
    reached, in minutes
pop2021 | Population 2021 | Population 2021 | population, 2021 Census (Statistics Canada)
pop_covered | Population within threshold | Population dans le seuil | people within the threshold
    by road of a placed service of the need (estimates included)
pct_covered | % within threshold | % dans le seuil | pop_covered as a percentage of pop2021
pop_covered_estimate | Within threshold (estimate) | Dans le seuil (estimation) | of pop_covered,
    people whose time is an estimate (long local-road connector)
pop_outside | Beyond threshold by road | Au-delà du seuil par la route | people with a road time
    above the threshold, or no road path to a service
pop_no_all_season_road | No all-season road | Sans route praticable toute l'année | people in
    communities with no all-season road (fly-in or winter road)
pop_beyond_road_network | Beyond road network | Hors du réseau routier | people too far from the
    run's road graph to be given a drive time
points_not_enumerated | Reserves not enumerated | Réserves non dénombrées | reserves not enumerated
    in the 2021 Census: their people are missing from pop2021
services_placed | Services placed | Services localisés | services of the need placed at a point
    (they count for coverage)
services_area_level | Services listed for an area | Services listés pour une région | services of
    the need listed only for an area (no point; not counted for coverage)
need_threshold | The need's threshold | Seuil du besoin | True on the row whose threshold_min is
    the need's own threshold
pop_in_person | In person | En personne | people within threshold_min by road of a service
    they can walk into, or with one inside their fly-in community
pct_in_person | % in person | % en personne | pop_in_person as a percentage of
    pop2021
pop_estimate | Within (estimate) | Dans le seuil (estimation) | of pop_in_person, people whose time
    is an estimate
pop_no_time | No drive time | Sans temps de route | people with no drive time to any placed service
    of the need
mean_travel_min | Mean drive time (min) | Temps moyen (min) | population-weighted mean drive time
    to the nearest service, timed people only
p90_travel_min | 90th percentile drive time (min) | 90e centile du temps (min) | 90 % of the timed
    people are within this many minutes
demand_id | Community id | Identifiant de la communauté | the demand point's id (csd- census
    subdivision, ct- census tract, ...)
name | Name | Nom | the community's or the service's name
census_code | Census code | Code de recensement | Statistics Canada code of the community (CSD or
    CT)
kind | Kind of community | Type de communauté | subdivision, tract, block or reserve point
cd_name | Census division | Division de recensement | the census division's name
rank | Rank | Rang | 1 = the largest gap (gap communities) or the first suggestion
enumerated | Enumerated in 2021 | Dénombrée en 2021 | False: a reserve not enumerated in the 2021
    Census (population missing)
travel_min | Drive time (min) | Temps de route (min) | drive time to the nearest service of the
    need, minutes (blank: no time)
minutes_beyond | Minutes beyond threshold | Minutes au-delà du seuil | travel_min minus
    threshold_min
gap_score | Gap score | Indice d'écart | population times minutes beyond the threshold: the ranking
service_id | Service id | Identifiant du service | gapmap's id of the service
service_name | Nearest service | Service le plus proche | the nearest service's name
service_town | Nearest service's town | Ville du service le plus proche | the nearest service's
    town (a confidential service is never more precise)
access | Access | Accès | how the community is reached: road, estimate, beyond_road_network,
    no_all_season_road, unreachable, no_service
air_hub | Air hub | Plaque tournante aérienne | where people of a fly-in community fly to for
    services
note | Note | Remarque | what to know about the row
needs_counted | Needs counted | Besoins comptés | needs with a threshold, counted for wraparound
needs_reached | Needs reached | Besoins atteints | needs whose nearest service is within their
    threshold
needs_missing | Needs not reached | Besoins non atteints | the needs not reached, by code
pct_pop | % of population | % de la population | share of the region's people with exactly this
    number of needs reached
pct_pop_at_least | % reaching at least | % en atteignant au moins | share of the region's people
    with at least this number of needs reached
mean_needs_reached | Mean needs reached | Moyenne des besoins atteints | population-weighted mean
    number of needs reached
services_within | Services within threshold | Services dans le seuil | placed services of the need
    within the threshold
access_2sfca | Access (2SFCA) | Accès (2SFCA) | two-step floating catchment access: services per
    100,000 people within reach
access_e2sfca | Access (E2SFCA) | Accès (E2SFCA) | enhanced 2SFCA, drive time weighted by distance
    bands
supply_basis | Supply counted | Offre comptée | what counts as a service's supply (one per service,
    or capacity)
supply | Supply counted | Offre comptée | what counts as supply (beds and rooms)
locations_within | Locations within threshold | Lieux dans le seuil | shelter locations within the
    threshold
capacity_within | Capacity within threshold | Capacité dans le seuil | beds and rooms within the
    threshold
method | Method | Méthode | exact (maximal covering, PuLP) or greedy
site | Suggested site | Site suggéré | a candidate place (town or police office) where one more
    service adds the most people
site_kind | Kind of site | Type de site | town or police office
lat | Latitude | Latitude | WGS 84 latitude (a confidential service: its town's point)
lon | Longitude | Longitude | WGS 84 longitude (a confidential service: its town's point)
pop_added | People added | Personnes ajoutées | people newly within the threshold with this site
    and those ranked before it
pop_added_alone | People added alone | Personnes ajoutées seules | people newly within the
    threshold with this site alone
pct_covered_before | % within before | % dans le seuil avant | the region's coverage before the
    suggestions
pct_covered_after | % within after | % dans le seuil après | the region's coverage with the
    suggestions up to this rank
services_not_placed | Services not placed | Services non localisés | services of the need with no
    point (not counted)
services_coarse | Services placed coarsely | Services localisés grossièrement | services placed
    only at their town or coarser
caveat | Caveat | Mise en garde | what the suggestion does not account for
services | Services | Services | services of the need listed in the region
with_phone | With phone | Avec téléphone | of them, with a phone number
with_hours | With hours | Avec heures | of them, with opening hours
with_languages | With languages | Avec langues | of them, with languages of service
with_capacity | With capacity | Avec capacité | of them, with a capacity
town_or_coarser | At town or coarser | À la ville ou moins précis | of them, placed only at their
    town or coarser
area_only | Area only | Région seulement | of them, listed only for an area
unplaced | Not placed | Non localisés | of them, with no location
with_verified_date | With verification date | Avec date de vérification | of them, with a date last
    verified
verified_stale | Verified long ago | Vérification ancienne | of them, last verified longer ago than
    ingest.stale_after_days
confidential | Confidential | Confidentiel | True: a confidential service (its location is its town
    at most)
unverified | Unverified | Non vérifiés | of them, that the source itself marks unverified
organization | Organization | Organisme | the organization running the service
need_types | Needs | Besoins | the service's need types, by code, separated by ;
address | Address | Adresse | street address as listed (withheld for a confidential service)
city | Town | Ville | the town as listed
phone | Phone | Téléphone | phone as listed
website | Website | Site web | website as listed
hours | Hours | Heures | opening hours as listed
languages | Languages | Langues | languages as listed
eligibility | Who it serves | Pour qui | eligibility as listed
capacity | Capacity | Capacité | capacity as listed
service_area | Area served | Région desservie | areas the listing says it serves
last_verified | Last verified | Dernière vérification | the date the listing was last verified
verification | Verification | Vérification | verified, stale or unverified
geocode_precision | Location precision | Précision de la localisation | exact, street, postal, fsa,
    town, rural_fsa, area or none
geocode_source | Located by | Localisé par | the source of the point (listing, gazetteer,
    Nominatim, override)
geocode_note | Location note | Note de localisation | how the point was found or why it was not
area_name | Area | Région | the area an area-level listing names
cduid | Census division code | Code de division de recensement | Statistics Canada census division
    code
region_confidence | Region confidence | Fiabilité de la région | how sure the region assignment is
region_method | Region assigned by | Région attribuée par | within (point in polygon), nearest,
    listing, area or none
source | Source | Source | the listing or file the row comes from
source_row | Source row | Ligne source | the row in the source file
source_url | Source URL | URL source | the listing's own source page
term | Term | Terme | a listing's need-type term gapmap did not map
rows | Rows | Nombre de lignes | rows using the term
lines | Lines | Numéros de ligne | the source lines using the term
kept_id | Kept id | Identifiant conservé | the service kept when two listings are the same service
merged_id | Merged id | Identifiant fusionné | the listing merged into it
rule | Rule | Règle | why they were taken as the same service
distance_m | Distance (m) | Distance (m) | distance between the two listings' points, metres
merged_name | Merged name | Nom fusionné | the merged listing's name
kept_source | Kept source | Source conservée | the kept listing's source
merged_source | Merged source | Source fusionnée | the merged listing's source
postal_code | Postal code | Code postal | postal code as listed
precision | Precision | Précision | the precision reached
issue | Issue | Problème | why the row needs review (failed, ambiguous, disagrees, ...)
reason | Reason | Raison | the reason in words
candidates | Candidates | Candidats | places the name could be
line | Line | Ligne | line of the overrides file
action | Action | Action | what the override does
field | Field | Champ | the field concerned
value | Value | Valeur | the value given
outcome | Outcome | Résultat | applied, or why not
detail | Detail | Détail | more about the row
place_id | Place id | Identifiant du lieu | the referral sheet's place
place | Place | Lieu | the police office town
place_access | Place access | Accès du lieu | road, estimate, beyond_road_network or
    no_all_season_road
section | Section | Section | nearest, line or area
town | Town | Ville | the service's town
open_24_7 | Open 24/7 | Ouvert 24 h/24, 7 j/7 | stated open 24 hours, 7 days
reached | How reached | Accès | road, local road, by phone, fly to a hub, ...
office_kind | Office kind | Type de bureau | detachment or satellite office
placed | Placed | Localisé | True: the office has a point
csduid | Census subdivision code | Code de subdivision de recensement | Statistics Canada census
    subdivision code
csduids | Census subdivision codes | Codes de subdivision de recensement | the community's census
    subdivisions, separated by ;
cma_name | Metropolitan area | Région métropolitaine | census metropolitan area or agglomeration
is_reserve | Reserve | Réserve | True: an Indian reserve
remote_community | Remote community | Communauté éloignée | the remote community the point belongs
    to
community | Community | Communauté | the remote community's name
fpa_place_name | Map place name | Nom du lieu (carte) | the community's name in the places file
population | Population | Population | the community's population as compiled
CDUID | Census division code | Code de division de recensement | Statistics Canada census division
    code
CDNAME | Census division | Division de recensement | the census division's name
category | Category | Catégorie | the highway's class
label | Label | Étiquette | the highway's number
n_services | Services | Services | services in the catchment
area_km2 | Area (km²) | Superficie (km²) | the catchment's area
basis | Basis | Base | how the catchment was drawn (road, local, ...)
snap_access | Access at the service | Accès au service | how the service joins the road graph
pop_outreach_only | Reached only by outreach | Joint seulement par des services itinérants | people
    with no service in person within the threshold, inside an outreach service's area
pct_outreach_only | % only by outreach | % seulement par services itinérants | pop_outreach_only as
    a percentage of pop2021
pop_line_only | Reached only by a line | Joint seulement par une ligne | people reached neither in
    person nor by outreach, but by a phone, text or video line serving their area or Ontario
pct_line_only | % only by a line | % seulement par une ligne | pop_line_only as a percentage of
    pop2021
pop_hours_unknown | Hours unknown | Heures inconnues | for a need that must be open 24/7: people
    whose best way in is a service whose hours are not listed (neither covered nor a gap)
pop_not_reached | Not reached | Non joints | people no service reaches in person, by outreach or
    by a line
requires_24_7 | 24/7 required | 24 h/24 exigé | True: only services open 24/7 counted for this
    need ([access] need_24_7)
for_group | For whom | Pour qui | the group the run is for ([access] for_group; default women
    with their children)
pop_in_person_for_group | In person, for the group | En personne, pour le groupe | pop_in_person
    counting only services that admit the run's group
pop_outreach_only_for_group | Only by outreach, for the group | Seulement itinérant, pour le
    groupe | pop_outreach_only counting only services that admit the run's group
pop_line_only_for_group | Only by a line, for the group | Seulement par une ligne, pour le
    groupe | pop_line_only counting only services that admit the run's group
pop_hours_unknown_for_group | Hours unknown, for the group | Heures inconnues, pour le groupe |
    pop_hours_unknown counting only services that admit the run's group
pop_not_reached_for_group | Not reached, for the group | Non joints, pour le groupe | people no
    service that admits the run's group reaches
services_delivery_unknown | Services, delivery unknown | Services, mode inconnu | services of the
    need whose listing does not say how they are delivered (counted in person when placed)
services_outreach | Outreach services | Services itinérants | services of the need that do
    outreach over an area
services_virtual | Lines | Lignes | services of the need reached by phone, text or video
services_hours_unknown | Services, hours unknown | Services, heures inconnues | services of the
    need whose hours are not listed or could not be read
services_eligibility_unknown | Services, eligibility unknown | Services, admissibilité inconnue |
    services that do not say whom they serve (counted for the group)
services_exclude_group | Services that turn the group away | Services excluant le groupe |
    services whose stated limits exclude the run's group (e.g. a men's shelter)
services_restricted | Services with limits | Services avec restrictions | services that state
    whom they serve (gender, age, group)
restricted_to | Restricted to | Réservé à | each stated limit and how many services have it
services_admit_group | Services that admit the group | Services admettant le groupe | services
    whose stated limits admit the run's group
restricted_services | Each service with its limit | Chaque service et sa restriction | each
    restricting service with its limit
pop_designated | Population of designated areas | Population des régions désignées | people in
    areas designated under the French Language Services Act ('most' and 'part' areas count their
    whole 2021 subdivision)
pop_designated_partial | Of which partly designated | Dont partiellement désignées | of
    pop_designated, people in subdivisions only most or part of which is designated
pop_fr_in_person | French, in person | En français, en personne | designated-area people within
    the threshold of a service that states French
pop_fr_outreach_only | French, only by outreach | En français, seulement itinérant | reached in
    French only by an outreach service
pop_fr_line_only | French, only by a line | En français, seulement par une ligne | reached in
    French only by a line
pop_fr_language_unknown | Language unknown | Langue inconnue | best reached by a service whose
    listing names no language: it may offer French (not a gap)
pop_fr_none | No French service | Aucun service en français | no service that offers or may offer
    French reaches them
pct_fr_in_person | % French in person | % en français en personne | pop_fr_in_person as a
    percentage of pop_designated
services_in_french | Services in French | Services en français | services of the need that state
    French
services_language_unknown | Services, language unknown | Services, langue inconnue | services of
    the need whose listing names no language
reached_by | Reached instead by | Joint plutôt par | what reaches a community beyond the threshold:
    outreach, a line, or none
delivery | Delivery | Mode de prestation | in_person, outreach, virtual (;-separated); blank when
    the listing does not say
hours_weekly | Weekly hours | Heures par semaine | the hours read into weekly open intervals; blank
    when none or unreadable
language_codes | Language codes | Codes de langue | ISO 639 codes of the languages offered (fr =
    French)
gender_limit | Gender limit | Restriction de genre | women, men or any, as stated; blank when not
    stated
eligible_groups | Groups served | Groupes servis | the groups a listing limits itself to (youth,
    families, ...)
age_min | Minimum age | Âge minimum | the youngest age served, as stated
age_max | Maximum age | Âge maximum | the oldest age served, as stated
service_area_codes | Service area codes | Codes de la zone desservie | census divisions (4 digits)
    and subdivisions (7 digits) the listing says it serves; ON for all of Ontario
"""

_FILE_TABLE = """
referral_sheets.csv:name | Service | Service | the service's name
referral_sheets.csv:rank | Rank | Rang | the service's rank by drive time for the need
referral_sheets.csv:travel_min | Drive time (min) | Temps de route (min) | from the office town (or
    its air hub), minutes
data_dictionary.csv:file | File | Fichier | the CSV the column is in
data_dictionary.csv:column | Column | Colonne | the column's name in the file
data_dictionary.csv:label_en | Label (English) | Libellé (anglais) | the column's label in English
data_dictionary.csv:label_fr | Label (French) | Libellé (français) | the column's label in French
data_dictionary.csv:meaning | Meaning | Signification | what the column holds
offices.csv:lat | Latitude | Latitude | the office town's point
offices.csv:lon | Longitude | Longitude | the office town's point
"""

_REJECTED_OWN = Label("(listing column)", "(colonne de la liste)",
                      "the rejected row's own column, as the listing gives it")
_REJECTED_FIXED = ("source", "source_row", "field", "reason")


def _parse(table: str) -> dict[str, Label]:
    entries: list[str] = []
    for line in table.strip().splitlines():
        if line.startswith(" ") and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    out = {}
    for entry in entries:
        key, en, fr, meaning = (part.strip() for part in entry.split(" | "))
        out[key] = Label(en, fr, meaning)
    return out


COLUMNS: dict[str, Label] = _parse(_TABLE)
"""Labels by column name."""
FILE_COLUMNS: dict[str, Label] = _parse(_FILE_TABLE)
"""Labels for a column that means something else in one file (``"<file>:<column>"``)."""


def label(column: str, file: str = "") -> Label | None:
    """A column's labels and meaning (``file`` a file name, e.g. ``"suggestions.csv"``), or
    None when it has none."""
    from gapmap.taxonomy import BY_CODE

    if f"{file}:{column}" in FILE_COLUMNS:
        return FILE_COLUMNS[f"{file}:{column}"]
    if column in COLUMNS:
        return COLUMNS[column]
    if column.startswith("pct_") and column[4:] in BY_CODE:
        need = BY_CODE[column[4:]]
        return Label(f"% within threshold: {need.label_en}",
                     f"% dans le seuil : {need.label_fr}",
                     f"pct_covered for {need.code} in the region")
    if file == "rejected_rows.csv" and column not in _REJECTED_FIXED:
        return _REJECTED_OWN
    return None


def label_en(column: str, file: str = "") -> str:
    """The English label, or the column's own name when it has none."""
    found = label(column, file)
    return found.en if found else column


def dictionary(files: Iterable[tuple[str, Iterable[str]]]) -> pd.DataFrame:
    """Rows ``file, column, label_en, label_fr, meaning`` for each (file name, its columns);
    a column with no label gets blank labels and is logged."""
    rows = []
    for file, columns in files:
        for column in columns:
            found = label(column, file)
            if found is None:
                log.warning("data dictionary: %s column %s has no label", file, column)
                found = Label("", "", "")
            rows.append((file, column, found.en, found.fr, found.meaning))
    return pd.DataFrame(rows, columns=["file", "column", "label_en", "label_fr", "meaning"])


def csv_columns(path: Path) -> list[str]:
    """A CSV's header as written (with or without a byte-order mark)."""
    return list(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
