"""Access read from listings' own words (issue 16): delivery, hours, languages, eligibility.

The strings are the shipped data's own (Toronto, Kingston, the curated listings, the HSDS
fixtures) plus the forms the issue names; each expected value is worked out by hand.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd
import pytest

from gapmap.config import load_config
from gapmap.geocode import Gazetteer
from gapmap.ingest import ACCESS_UNPARSED_COLUMNS, UNKNOWN_DELIVERY, ingest
from gapmap.sources.access import (
    FULL_WEEK,
    delivery_from_hours,
    delivery_from_name,
    format_weekly,
    listing_access,
    parse_delivery,
    parse_eligibility,
    parse_hours,
    parse_languages,
    schedule_hours,
    weekly_intervals,
)
from gapmap.sources.hsds import read_hsds

from .conftest import DATA, RAW, write_config


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


WEEKDAYS_9_5 = "; ".join(f"{d} 09:00-17:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri"))


@pytest.mark.parametrize(("text", "expected"), [
    ("in person", "in_person"), ("En personne", "in_person"), ("on-site", "in_person"),
    ("Walk-in", "in_person"), ("outreach", "outreach"), ("Équipe mobile", "outreach"),
    ("service itinérant", "outreach"), ("home visits", "outreach"),
    ("phone; text; chat", "virtual"), ("Ligne d'écoute", "virtual"),
    ("en ligne et téléphone", "virtual"), ("video", "virtual"), ("helpline", "virtual"),
    ("in_person;virtual", "in_person;virtual"),
    ("In person, outreach and by phone", "in_person;outreach;virtual"),
    ("", ""), ("NA", ""),
])
def test_delivery_words_english_and_french(text, expected):
    assert parse_delivery(text) == (expected, "")


def test_delivery_that_names_no_mode_is_unknown_with_its_problem():
    modes, problem = parse_delivery("by appointment")
    assert modes == "" and "no delivery mode" in problem
    # a mobile phone is not a mobile team
    assert parse_delivery("mobile phone")[0] == "virtual"


@pytest.mark.parametrize(("name", "expected"), [
    ("Kids Help Phone", "virtual"), ("Victim Support Line (VSL)", "virtual"),
    ("Geneva Centre for Autism (Virtual)", "virtual"), ("Trans Lifeline", "virtual"),
    ("CDK Family Medicine and Walk-In Clinic", "in_person"),
    ("St. Mary's Cathedral Drop-In Centre", "in_person"),
    # an outreach word in an organisation's name is not its delivery
    ("Lunch by George (Outreach St. George's Kingston)", ""),
    ("Women's College Hospital", ""),
])
def test_delivery_a_name_states(name, expected):
    assert delivery_from_name(name) == expected


def test_delivery_from_hours_reads_labels_only():
    assert delivery_from_hours("Phone: 24/7, 365 days/year. Text: 24/7. Live Chat: Daily "
                               "7:00 PM to Midnight ET.") == "virtual"
    assert delivery_from_hours("Drop-in: Mon-Fri 8:30 AM - 4:30 PM") == "in_person"
    assert delivery_from_hours("Office -- Mon-Fri 8:30 am-4:30 pm * Helpline -- Mon-Sun "
                               "24 hours") == "virtual"
    # "telephone" in a remark after the label is no line the service runs
    assert delivery_from_hours("Mon-Fri 9 am-5 pm * after hours -- telephone answered by "
                               "volunteers") == ""


@pytest.mark.parametrize(("text", "weekly"), [
    ("24/7", FULL_WEEK), ("24 hours", FULL_WEEK), ("24 h/24, 7 j/7", FULL_WEEK),
    ("24 hours a day, 7 days a week.", FULL_WEEK), ("Mon-Sun 24 hours", FULL_WEEK),
    ("Phone & Chat: 24 hours a day, 7 days a week.", FULL_WEEK),
    ("Mon-Fri 9-5", WEEKDAYS_9_5), ("lun.-ven. 9 h à 17 h", WEEKDAYS_9_5),
    ("du lundi au vendredi de 9 h à 17 h", WEEKDAYS_9_5),
    ("Mon-Fri 9 am-5 pm", WEEKDAYS_9_5), ("Mon-Fri: 9:00 AM – 5:00 PM.", WEEKDAYS_9_5),
    ("Monday to Friday 8:30 a.m. - 4:30 p.m.; Sat 10-2",
     "; ".join(f"{d} 08:30-16:30" for d in ("Mon", "Tue", "Wed", "Thu", "Fri"))
     + "; Sat 10:00-14:00"),
    ("Mon-Fri 9-5; Sat closed", WEEKDAYS_9_5),
    ("Mon-Fri 8:30am-6pm (Closed 12:30pm-2pm)",
     "; ".join(f"{d} 08:30-12:30,14:00-18:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri"))),
    ("Mon, Thu-Fri 9 am-5 pm, Tue-Wed 9 am-8 pm",
     "Mon 09:00-17:00; Tue 09:00-20:00; Wed 09:00-20:00; Thu 09:00-17:00; Fri 09:00-17:00"),
    # overnight: Friday 10 p.m. to Saturday 2 a.m.; daily evenings wrap Sunday into Monday
    ("Fri 10 pm - 2 am", "Fri 22:00-24:00; Sat 00:00-02:00"),
    ("Sat 22:00-06:00", "Sat 22:00-24:00; Sun 00:00-06:00"),
    ("Daily: 6:00 PM – 2:00 AM.", "; ".join(
        f"{d} 00:00-02:00,18:00-24:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
                                                  "Sun"))),
    ("Reception hours: Mon-Fri 12noon-5pm",
     "; ".join(f"{d} 12:00-17:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri"))),
    ("Hotline: Monday to Friday, 2:00 PM – 10:00 PM ET.",
     "; ".join(f"{d} 14:00-22:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri"))),
])
def test_hours_read_into_weekly_intervals(text, weekly):
    got = parse_hours(text)
    assert (got.weekly, got.problem) == (weekly, "")
    assert got.open_24_7 == ("yes" if weekly == FULL_WEEK else "no")


def test_hours_of_several_parts_are_their_union():
    # Toronto: an office and a 24-hour helpline answer at all hours between them
    got = parse_hours("Office -- Mon-Fri 8:30 am-4:30 pm * Helpline -- Mon-Sun 24 hours")
    assert got.open_24_7 == "yes"
    got = parse_hours("Office -- Mon-Fri 9 am-5 pm * programs Tue-Thu 9 am-9 pm")
    assert got.weekly.startswith("Mon 09:00-17:00; Tue 09:00-21:00")
    # a remark with no days or times is passed over
    assert parse_hours("Mon-Fri 9 am-5 pm * evening groups available").weekly == WEEKDAYS_9_5


@pytest.mark.parametrize("text", [
    "Crisis Line: 24/",  # Kingston, cut off
    "Thu 7pm",  # a time, no range
    "Answering machine, calls usually returned within 48 hours",
    "Mon-Fri 8:30 am-4:30 pm * doctor on call 24 hours",  # on call is not open
    "Sunday: 9:00 AM – 2:00 PM (May-Oct); 9:00 AM – 1:00 PM (Nov-Apr).",  # seasonal
    "Varies (e.g., Seniors Assoc Tue 10-1) ",
    "Pickup: 3rd Thursday of month. Office: Mon-Fri 8:30-4:30.",
    "Inpatient: 24/7. Outpatient clinics: Mon-Fri Business Hours.",
    "By Appointment Only",
])
def test_unreadable_hours_are_unknown_never_guessed(text):
    got = parse_hours(text)
    assert (got.weekly, got.open_24_7) == ("", "unknown")
    assert got.problem


def test_no_hours_given_is_unknown_without_a_problem():
    for text in ("", "NA", "n/a"):
        assert parse_hours(text) == parse_hours("")
        assert (parse_hours(text).open_24_7, parse_hours(text).problem) == ("unknown", "")


@pytest.mark.parametrize("weekly", [
    FULL_WEEK, WEEKDAYS_9_5, "Fri 22:00-24:00; Sat 00:00-02:00",
    "Mon 08:30-12:00,13:00-16:30; Sun 00:00-24:00", "Sat 00:00-24:00; Sun 00:00-24:00"])
def test_weekly_hours_round_trip(weekly):
    assert format_weekly(weekly_intervals(weekly)) == weekly


def test_weekly_hours_parser_refuses_text_that_is_not_canonical():
    for bad in ("Mon-Fri 9-5", "Mon 09:00-25:00", "Mon 17:00-09:00", "Xyz 09:00-10:00"):
        with pytest.raises(ValueError, match="not canonical"):
            weekly_intervals(bad)


def test_hsds_schedules_into_the_same_intervals():
    # HSDS 3.0 (tests/data/hsds/hsds3_gapmap_small/schedules.csv): every day 00:00-23:59
    rows = _rows(DATA / "hsds" / "hsds3_gapmap_small" / "schedules.csv")
    shelter = schedule_hours([r for r in rows if r["service_id"] == "svc-shelter"])
    youth = schedule_hours([r for r in rows if r["service_id"] == "svc-youth"])
    assert (shelter.weekly, shelter.open_24_7) == (FULL_WEEK, "yes")
    assert (youth.weekly, youth.open_24_7) == (WEEKDAYS_9_5, "no")
    # HSDS 1.1 (ilao's regular_schedules.csv): weekday names, a location's week
    rows = _rows(DATA / "hsds" / "hsds1.1_ilao_real" / "regular_schedules.csv")
    lib = schedule_hours([r for r in rows if r["location_id"] == "135831"])
    assert lib.weekly.startswith("Mon 09:00-22:00; Tue 09:00-22:00")
    assert lib.weekly.endswith("Sun 11:00-20:00") and lib.open_24_7 == "no"
    # 1.1 numeric weekdays from Monday, an overnight close, a monthly rule refused
    assert schedule_hours([{"weekday": "5", "opens_at": "22:00", "closes_at": "02:00"}]
                          ).weekly == "Fri 22:00-24:00; Sat 00:00-02:00"
    monthly = schedule_hours([{"byday": "MO", "freq": "MONTHLY", "opens_at": "09:00",
                               "closes_at": "17:00"}])
    assert (monthly.open_24_7, bool(monthly.problem)) == ("unknown", True)


@pytest.mark.parametrize(("text", "codes"), [
    ("English", "en"), ("Anglais et français", "en;fr"), ("Bilingual", "en;fr"),
    ("Bilingue (anglais/français)", "en;fr"),
    ("English;French;Cree;Ojibway;Inuktitut", "cr;en;fr;iu;oj"),  # Kingston
    ("Cree, Oji-Cree, Ojibwe", "cr;oj;ojs"),
    ("English ; Arabic ; Gujarati ; Hindi ; Punjabi ; Tamil ; Urdu", "ar;en;gu;hi;pa;ta;ur"),
    ("English ; Farsi ; Spanish ; Interpretation for other languages arranged", "en;es;fa"),
    # interpretation offered is not a language the service works in
    ("English ; Access to trained interpreters available for French and other languages",
     "en"),
    ("Chinese, Vietnamese, Khmer, Laotian", "km;lo;vi;zh"),
    ("", ""),
])
def test_languages_as_iso_639(text, codes):
    assert parse_languages(text) == parse_languages(text)  # cached names, same answer
    assert parse_languages(text).codes == codes
    assert parse_languages(text).problem == ""


def test_language_codes_a_directory_gives_and_names_not_known():
    assert parse_languages("English; French", ["en", "fr"]).codes == "en;fr"  # not 'enc'
    assert parse_languages("Ojibwe", ["oj"]).codes == "oj"
    got = parse_languages("English ; some Aboriginal languages")
    assert got.codes == "en" and "some aboriginal languages" in got.problem


@pytest.mark.parametrize(("text", "gender", "groups", "ages"), [
    ("Women", "women", "", (None, None)),  # Toronto shelter sectors
    ("Men", "men", "", (None, None)),
    ("Mixed Adult", "any", "", (None, None)),
    ("Co-ed", "any", "", (None, None)),
    ("Youth", "", "youth", (None, None)),
    ("Families", "", "families", (None, None)),
    ("Men;Women", "any", "", (None, None)),
    ("Women only", "women", "", (None, None)),
    ("women and children", "women", "women_with_children", (None, None)),
    ("youth 16-24", "", "youth", (16, 24)),
    ("ages 16+", "", "", (16, None)),
    ("femmes", "women", "", (None, None)),
    ("hommes", "men", "", (None, None)),
    ("jeunes de 16 à 24 ans", "", "youth", (16, 24)),
    ("2SLGBTQ+ youth ages 29 and under in Ontario.", "", "2slgbtq;youth", (None, 29)),
    ("Inclusion: Survivors of sexual violence (12+). All genders. Exclusion: None.", "any", "",
     (12, None)),
    # the exclusion part is not read: men excluded does not make it a men's service
    ("Inclusion: Women and children escaping violence/abuse. Exclusion: Men (Refer to other "
     "shelters).", "women", "women_with_children", (None, None)),
    ("Inclusion: Youth 16-24. Housing, employment. Exclusion: Adults 25+.", "", "youth",
     (16, 24)),
    ("Employable men 18 years and older who are alcohol or drug users", "men", "", (18, None)),
    ("Street involved and homeless youth only * 24 years and under (no minimum age)", "",
     "youth", (None, 24)),
    ("Indigenous women", "women", "indigenous", (None, None)),
    # hours in an eligibility text are no ages
    ("Inclusion: Anyone needing a listening ear. 6pm-2am. Exclusion: None.", "any", "",
     (None, None)),
])
def test_eligibility(text, gender, groups, ages):
    got = parse_eligibility(text)
    assert (got.gender_limit, got.groups, got.problem) == (gender, groups, "")
    assert [None if math.isnan(a) else a for a in (got.age_min, got.age_max)] == list(ages)


def test_eligibility_that_says_nothing_readable_is_listed():
    got = parse_eligibility("Persons with severe and persistent mental illness")
    assert got.gender_limit == "" and got.groups == "" and got.problem
    assert parse_eligibility("NA").problem == ""
    # "women 16+ ... and children under 6" is no single age range: no ages, a problem
    got = parse_eligibility("Women 16 years and older and their children 6 years and under")
    assert math.isnan(got.age_min) and "one range" in got.problem


def test_listing_access_columns_and_problems():
    row = {"name": "Example Shelter", "beds": "12", "hours": "24/7",
           "languages": "English; Gibberishese", "eligibility": "Women and children"}
    got = listing_access(row)
    assert (got.delivery, got.open_24_7, got.language_codes, got.gender_limit,
            got.eligible_groups) == ("in_person", "yes", "en", "women", "women_with_children")
    assert [p[0] for p in got.problems] == ["languages"]
    # a delivery cell wins over the name, and an unreadable one stays unknown
    assert listing_access({"name": "Help Line", "delivery": "outreach"}).delivery == \
        "outreach"
    assert listing_access({"name": "Help Line", "delivery": "sometimes"}).delivery == ""


def test_hsds_gives_delivery_by_location_type_and_hours_from_schedules():
    read = read_hsds(DATA / "hsds" / "hsds3_gapmap_small")
    by_id = {s["service_id"]: s for s in read.accepted}
    assert by_id["svc-line"]["delivery"] == "virtual"
    assert by_id["svc-shelter"]["delivery"] == "in_person"
    assert by_id["svc-shelter"]["open_24_7"] == "yes"
    assert by_id["svc-shelter"]["language_codes"] == "en;fr"
    assert by_id["svc-line"]["language_codes"] == "oj"
    assert by_id["svc-youth@loc-youth-a"]["hours_weekly"] == WEEKDAYS_9_5
    assert (by_id["svc-youth@loc-youth-a"]["age_min"],
            by_id["svc-youth@loc-youth-a"]["age_max"]) == (16.0, 24.0)


def test_shipped_curated_listings_state_delivery_with_its_basis():
    rows = {}
    for name in ("services_curated.csv", "services_curated_more.csv"):
        with open(RAW / "ontario" / name, encoding="utf-8", newline="") as f:
            rows.update({r["id"]: r for r in csv.DictReader(f)})
    for r in rows.values():
        assert bool(r["delivery"]) == bool(r["delivery_basis"]), r["id"]
        assert set(filter(None, r["delivery"].split(";"))) <= {"in_person", "outreach",
                                                              "virtual"}
    assert rows["line-04"]["delivery"] == "virtual"  # Fem'aide, a line
    assert rows["aht-16"]["delivery"] == "in_person"  # residential, listed by its area
    assert rows["sadvtc-01"]["delivery"] == "in_person;outreach"  # "team mobile"
    assert rows["vcao-02"]["delivery"] == ""  # its note says nothing: unknown
    assert all(r["delivery"] == "in_person" for k, r in rows.items() if k.startswith("vwap"))


@pytest.fixture(scope="module")
def ontario_ingest(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access")
    listings = [RAW / "ontario" / "services_curated.csv",
                RAW / "ontario" / "services_curated_more.csv",
                RAW / "kingston" / "services_flat.csv"]
    config = load_config(write_config(tmp, listings, hospitals=True))
    return config, ingest(config)


def test_ingest_fills_access_and_lists_what_it_could_not_read(ontario_ingest):
    _config, result = ontario_ingest
    s = result.services.set_index("service_id")
    assert s.at["line-04", "open_24_7"] == "yes" and s.at["line-04", "language_codes"] == "fr"
    assert s.at["line-04", "gender_limit"] == "women"
    assert s.at["aht-16", "age_min"] == 16 and s.at["aht-16", "age_max"] == 24
    assert (s.loc[s.index.str.startswith("odhf-"), "delivery"] == "in_person").all()
    u = result.unparsed
    assert list(u.columns) == ACCESS_UNPARSED_COLUMNS
    unknown = set(s.index[s["delivery"] == ""])
    assert set(u.loc[u["field"] == "delivery", "service_id"]) == unknown
    assert (u.loc[u["field"] == "delivery", "problem"] == UNKNOWN_DELIVERY).all()
    hours = u[u["field"] == "hours"].set_index("service_id")
    assert "amhs-kfla-crisis-line" in hours.index  # "Crisis Line: 24/"
    assert s.at["amhs-kfla-crisis-line", "open_24_7"] == "unknown"
    assert "access: delivery known for" in result.summary()


def test_service_area_codes_from_the_gazetteer(ontario_ingest):
    config, _ = ontario_ingest
    gaz = Gazetteer(config)
    assert gaz.service_area_codes("Province-wide") == ["ON"]
    assert gaz.service_area_codes("Ontario") == ["ON"]
    assert gaz.service_area_codes("Thunder Bay District") == ["3558"]
    assert gaz.service_area_codes("Stormont, Dundas and Glengarry") == ["3501"]
    assert gaz.service_area_codes("Mississauga / Brampton") == ["3521005", "3521010"]
    assert gaz.service_area_codes("Guelph / Wellington County") == ["3523008", "3523"]
    # a region of the province is not the province; a name it does not know gives nothing
    assert gaz.service_area_codes("Northwestern Ontario") == []
    assert gaz.service_area_codes("Nowhere Particular") == []


def test_unparsed_file_is_written_by_the_ingest_stage(tmp_path):
    from gapmap.pipeline import stage_ingest

    config = load_config(write_config(tmp_path, [RAW / "kingston" / "services_flat.csv"]))
    stage_ingest(config)
    u = pd.read_csv(config.outputs.interim_dir / "access_unparsed.csv", dtype=str,
                    keep_default_na=False)
    assert list(u.columns) == ACCESS_UNPARSED_COLUMNS and len(u)
    assert "Crisis Line: 24/" in set(u["text"])
