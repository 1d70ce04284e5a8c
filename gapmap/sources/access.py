"""How a service is reached and by whom, read from a listing's own words (issue 16).

Pure parsers, English and French, each returning what it read and, when the text says
something it cannot read, a ``problem`` (ingest lists those in ``access_unparsed.csv``).
None of them guesses: text it cannot read gives "" / ``unknown``, never a likely value.

Delivery (:func:`parse_delivery`)
    ``;``-joined sorted subset of :data:`DELIVERY_MODES`: ``in_person`` ("in person", "en
    personne", "on site", "sur place", "walk-in", "drop-in"), ``outreach`` ("outreach",
    "mobile", "itinérant", "home visits", "visites à domicile"), ``virtual`` ("phone",
    "helpline", "hotline", "line", "text", "chat", "online", "virtual", "video", "ligne",
    "téléphone", "en ligne", "clavardage"). The mode is read from words, never from how
    precisely a listing was placed.

Hours (:func:`parse_hours`, :func:`schedule_hours`)
    Weekly open intervals in the canonical form :func:`format_weekly` writes and
    :func:`weekly_intervals` reads back: one part per open day, ``"Mon 09:00-17:00; Tue
    09:00-12:00,13:00-17:00"``, times in 24-hour clock, an interval that runs past midnight
    split at it (``"Fri 22:00-24:00; Sat 00:00-02:00"``), and the whole week written
    ``"Mon-Sun 00:00-24:00"``. ``open_24_7`` is ``yes`` when the intervals cover the whole
    week, ``no`` when they do not, ``unknown`` when no hours are given or they cannot be
    read. A text of several parts ("Office -- Mon-Fri 9-5 * Helpline -- Mon-Sun 24 hours")
    gives the union of its parts: the hours at which some part of the service answers.
    A part naming days or times that cannot be read makes the whole text unreadable; a
    part naming neither ("evening groups available") is a remark and is passed over.

Languages (:func:`parse_languages`)
    ISO 639 codes, 639-1 where the language has one (``en``, ``fr``, ``oj``, ``cr``), else
    639-3 (``ojs`` Oji-Cree, ``csw`` Swampy Cree); names in English or French (from
    pycountry's ISO 639-3 names and their French translations, plus :data:`LANGUAGE_ALIASES`
    for the names Ontario listings use), "bilingual"/"bilingue" = ``en;fr``. Offers of
    interpretation are remarks, not languages offered.

Eligibility (:func:`parse_eligibility`)
    ``gender_limit`` (``women`` | ``men`` | ``any``, "" when not stated), the groups a
    listing limits itself to (:data:`GROUPS`), and ``age_min``/``age_max``. Only what the
    listing includes is read: an "Exclusion: ..." part is passed over.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache

import pycountry

DELIVERY_MODES = ("in_person", "outreach", "virtual")
"""How a service reaches people (a service may do several)."""
WEEK_MIN = 7 * 24 * 60
"""Minutes in a week; intervals are minutes from Monday 00:00."""
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
FULL_WEEK = "Mon-Sun 00:00-24:00"
"""The canonical hours of a service open at all times."""
GROUPS = ("youth", "children", "families", "women_with_children", "indigenous", "2slgbtq",
          "newcomers", "seniors")
"""The groups :func:`parse_eligibility` reads (``eligible_groups``)."""
NOT_GIVEN = {"", "na", "n/a", "n a", "none", "unknown", "nil", "-", "s o", "s/o", "inconnu"}
"""Cell values that give nothing (``NA`` in the Toronto files)."""

Interval = tuple[int, int]


def _fold(text: str) -> str:
    """Lower case, accents stripped, dashes straight, space squeezed (hyphens kept)."""
    t = unicodedata.normalize("NFKD", str(text or ""))
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"[\u2010-\u2015\u2212]", "-", t).replace("\u2019", "'")
    return re.sub(r"\s+", " ", t).strip()


def not_given(text: str) -> bool:
    """True for a blank cell or one that says nothing (``NA``, ``n/a``, ``unknown``)."""
    return _fold(text).strip(" .") in NOT_GIVEN


# -- delivery ---------------------------------------------------------------------------------
_IN_PERSON = (r"\bin[- ]?person\b|\ben personne\b|\bon[- ]site\b|\bsur place\b|"
              r"\bwalk[- ]?ins?\b|\bdrop[- ]?ins?\b|\bsans rendez-vous\b")
_OUTREACH = (r"\boutreach\b|\bmobile\b(?!\s*(?:phone|number|app))|\bitinerante?s?\b|"
             r"\bhome visits?\b|\bvisites? a domicile\b|\ba domicile\b")
_VIRTUAL = (r"\b(?:tele)?phones?\b|\btelephon\w*|\bhelp ?lines?\b|\bhot ?lines?\b|"
            r"\blines?\b|\blifeline\b|\byouthline\b|\binfoline\b|\btext(?:ing)?\b|\bsms\b|"
            r"\bchat\b|\bonline\b|\bvirtual(?:ly)?\b|\bvideo\b|\bligne\b|\ben ligne\b|"
            r"\bclavardage\b|\btexto\b|\bvirtuel(?:le)?s?\b|\btty\b")
_MODE_PATTERNS = {"in_person": re.compile(_IN_PERSON), "outreach": re.compile(_OUTREACH),
                  "virtual": re.compile(_VIRTUAL)}
_MODE_TOKENS = {"in_person": "in_person", "in person": "in_person", "outreach": "outreach",
                "virtual": "virtual"}


def delivery_modes(text: str) -> list[str]:
    """The delivery modes a text names (sorted; empty when it names none)."""
    t = _fold(text)
    found = {m for tok in re.split(r"[;,|/]", t) if (m := _MODE_TOKENS.get(tok.strip()))}
    found |= {mode for mode, pat in _MODE_PATTERNS.items() if pat.search(t)}
    return sorted(found)


def parse_delivery(text: str) -> tuple[str, str]:
    """A delivery cell -> (``;``-joined modes, problem).

    >>> parse_delivery("En personne; ligne téléphonique")
    ('in_person;virtual', '')
    >>> parse_delivery("by appointment")
    ('', 'no delivery mode named (in person, outreach, virtual)')
    """
    if not_given(text):
        return "", ""
    modes = delivery_modes(text)
    if not modes:
        return "", "no delivery mode named (in person, outreach, virtual)"
    return ";".join(modes), ""


_LINE_NAME = re.compile(r"\bhelp ?line\b|\bhot ?line\b|\bhelp phone\b|\blifeline\b|"
                        r"\byouthline\b|\binfoline\b|\b(?:crisis|support|distress|text|"
                        r"health|safety|navigation|information|info) line\b|"
                        r"\bligne (?:d'ecoute|d'aide|de crise)\b|\(virtual\)|\bonline\b")
_WALK_IN_NAME = re.compile(r"\bwalk[- ]in\b|\bdrop[- ]in\b|\bsans rendez-vous\b")


def delivery_from_name(name: str) -> str:
    """The modes a service's own name states: a line (``"Kids Help Phone"``, ``"Victim
    Support Line"``) is ``virtual``; a walk-in or drop-in is ``in_person``; else ""."""
    t = _fold(name)
    modes = {"virtual"} if _LINE_NAME.search(t) else set()
    if _WALK_IN_NAME.search(t):
        modes.add("in_person")
    return ";".join(sorted(modes))


_LABEL = re.compile(r"^\s*([^:\d]{2,60}?)\s*(?::|--)\s*(?=\S)")


def delivery_from_hours(text: str) -> str:
    """The modes the labels of an hours text name: ``"Phone: 24/7. Text: 24/7"`` ->
    ``virtual``; ``"Drop-in: Mon-Fri ..."`` -> ``in_person``. Only a part's label counts
    (the words before ``:`` or ``--``), never the rest of its words."""
    modes: set[str] = set()
    for part in _segments(_normalise_hours(text)):
        m = _LABEL.match(part)
        if not m:
            continue
        label = m.group(1)
        if re.search(_VIRTUAL, label):
            modes.add("virtual")
        if re.search(_IN_PERSON, label):
            modes.add("in_person")
    return ";".join(sorted(modes))


def join_modes(*values: str) -> str:
    """Several ``;``-joined mode sets -> one, sorted."""
    return ";".join(sorted({m for v in values for m in v.split(";") if m}))


# -- hours ------------------------------------------------------------------------------------
_DAY_WORDS = {
    "mon": 0, "monday": 0, "lun": 0, "lundi": 0,
    "tue": 1, "tues": 1, "tuesday": 1, "mar": 1, "mardi": 1,
    "wed": 2, "wednesday": 2, "mer": 2, "mercredi": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "jeu": 3, "jeudi": 3,
    "fri": 4, "friday": 4, "ven": 4, "vendredi": 4,
    "sat": 5, "saturday": 5, "sam": 5, "samedi": 5,
    "sun": 6, "sunday": 6, "dim": 6, "dimanche": 6,
}
_DAY = r"(?:" + "|".join(sorted(_DAY_WORDS, key=len, reverse=True)) + r")\b\.?"
_ALL_DAYS_WORDS = (r"daily|every ?day|7 days(?: a| per|/)? ?week|7 ?days|7 ?j(?:ours)?"
                   r"(?: ?/ ?7| sur 7)|tous les jours|chaque jour|365 days(?: a| per|/)? ?year")
_DASH = r"\s*(?:-|\bto\b|\bthrough\b|\bthru\b|\ba\b|\bau\b|\bjusqu'a\b)\s*"
_DAY_RANGE = rf"{_DAY}(?:{_DASH}{_DAY})?"
_DAYSPEC = (rf"(?P<days>{_DAY_RANGE}(?:\s*(?:,|&|/|\band\b|\bet\b)\s*{_DAY_RANGE})*"
            rf"|{_ALL_DAYS_WORDS}|weekdays|weekends|semaine|fin de semaine)")
_TIME = r"(?:\d{1,2}(?:\s*[:h]\s*\d{2}|\s*h\b)?\s*(?:am|pm)?)"
_RANGE = rf"(?P<range>{_TIME}{_DASH}{_TIME})"
_FULL24 = (r"(?P<full>24\s*/\s*7(?:\s*/\s*365)?|24\s*h(?:eures?)?\s*(?:/|sur)\s*24|"
           r"(?<!within )(?<!dans les )\b24[- ]?(?:hours?|hrs?|heures?|h)\b"
           r"(?:\s*(?:a|per|par)\s*(?:day|jour))?|around the clock|jour et nuit)")
_CLOSED = r"(?P<closed>\bclosed\b|\bferme(?:e|s)?\b)"
_TOKEN = re.compile(rf"{_FULL24}|{_RANGE}|{_DAYSPEC}|{_CLOSED}")
_DIGIT_OR_DAY = re.compile(rf"\d|\b{_DAY}")
_UNCERTAIN = re.compile(
    r"\bvar(?:y|ies|ie|iable)\b|\be\.?g\b|\bexample\b|\bexcept\b|\bbi-?weekly\b|"
    r"\bmonth(?:ly)?\b|\bacademic\b|\bseason|\bsummer\b|\bwinter\b|\bfall\b|\bspring\b|"
    r"\b(?:january|february|april|may|june|july|august|september|october|november|"
    r"december|jan|feb|apr|jun|jul|aug|sept?|oct|nov|dec|janvier|fevrier|avril|mai|juin|"
    r"juillet|aout|septembre|octobre|novembre|decembre|ete|hiver)\b")
"""Words that make the days and times beside them uncertain (seasons, months, "varies")."""


@dataclass(frozen=True)
class Hours:
    """Parsed hours: the canonical weekly intervals, whether they cover the week, and
    why the text could not be read ("" when it could, or when none was given)."""

    weekly: str = ""
    open_24_7: str = "unknown"
    problem: str = ""


def _normalise_hours(text: str) -> str:
    t = _fold(text)
    t = re.sub(r"\[\d+\]", " ", t)                             # footnote marks
    t = re.sub(r"\b([ap])\.\s?m\.", r"\1m", t)                # a.m. / p.m.
    t = re.sub(r"\b([ap]) m\b", r"\1m", t)                     # a m
    t = re.sub(rf"\b({'|'.join(_DAY_WORDS)})\.", r"\1", t)     # lun. -> lun
    t = re.sub(r"\b(?:12\s*)?(?:noon|midi)\b", "12:00pm", t)
    t = re.sub(r"\b(?:12\s*)?(?:midnight|minuit)\b", "12:00am", t)
    t = re.sub(r"(\d)\s*h\s*(\d{2})", r"\1:\2", t)             # 8 h 30 -> 8:30
    t = re.sub(r"\b(et|est|edt|heure de l'est)\b(?=\s*(?:[.;*]|$))", "", t)  # time zone
    return t


def _segments(text: str) -> list[str]:
    parts = re.split(r"\s\*\s|\n|;|\.(?:\s|$)|\s--?\s(?=[a-z]+\s--)", text)
    return [p.strip(" .,") for p in parts if p.strip(" .,")]


def _minutes(token: str) -> tuple[int, int, str, bool]:
    """(hour, minute, am/pm or "", written on a 24-hour clock) of one time token."""
    m = re.match(r"(\d{1,2})(?:\s*[:h]\s*(\d{2})|\s*(h))?\s*(am|pm)?", token.strip())
    if not m:
        raise ValueError(token)
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    return hour, minute, m.group(4) or "", bool(m.group(3)) or hour > 12 or (
        m.group(1).startswith("0") and len(m.group(1)) == 2) or hour == 0


def _range_minutes(text: str) -> Interval:
    """A time range -> (start, end) minutes of the day; end may exceed 1440 (past
    midnight). ``9-5`` reads as 09:00-17:00, ``10-2`` as 10:00-14:00."""
    a, b = re.split(_DASH, text, maxsplit=1)
    h1, m1, ap1, clock1 = _minutes(a)
    h2, m2, ap2, clock2 = _minutes(b)
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(text)
    if ap2 and not ap1:  # "11-2 pm": the start takes the end's half of the day if it can
        ap1 = ap2 if (h1 % 12) <= (h2 % 12) else ("am" if ap2 == "pm" else "pm")
    if ap1 and not ap2:
        ap2 = ap1 if (h2 % 12) >= (h1 % 12) else ("pm" if ap1 == "am" else "am")

    def to_min(h: int, m: int, ap: str) -> int:
        if ap:
            if h > 12:
                raise ValueError(text)
            h = h % 12 + (12 if ap == "pm" else 0)
        return h * 60 + m

    start, end = to_min(h1, m1, ap1), to_min(h2, m2, ap2)
    if not (ap1 or ap2 or clock1 or clock2) and end <= start and h2 < 12:
        end += 12 * 60  # "9-5": afternoon close
    if end <= start:
        end += 24 * 60  # past midnight
    if start == end or end - start > 24 * 60:
        raise ValueError(text)
    return start, end


def _days(spec: str) -> list[int]:
    s = spec.strip()
    if re.fullmatch(_ALL_DAYS_WORDS, s):
        return list(range(7))
    if s == "weekdays" or s == "semaine":
        return list(range(5))
    if s in ("weekends", "fin de semaine"):
        return [5, 6]
    out: list[int] = []
    for part in re.split(r"\s*(?:,|&|/|\band\b|\bet\b)\s*", s):
        ends = [w for w in re.findall(_DAY, part)]
        if not ends:
            continue
        first = _DAY_WORDS[ends[0].rstrip(".")]
        last = _DAY_WORDS[ends[-1].rstrip(".")]
        span = range(first, last + 1) if last >= first else [*range(first, 7),
                                                              *range(0, last + 1)]
        out += [d for d in span if d not in out]
    return out


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Week intervals clipped to the week (a span past Sunday midnight wraps to Monday),
    sorted and merged."""
    pieces: list[Interval] = []
    for a, b in intervals:
        if b > WEEK_MIN:
            pieces += [(a, WEEK_MIN), (0, b - WEEK_MIN)]
        else:
            pieces.append((a, b))
    out: list[Interval] = []
    for a, b in sorted(p for p in pieces if p[1] > p[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _subtract(intervals: list[Interval], cut: Iterable[Interval]) -> list[Interval]:
    out = list(intervals)
    for c0, c1 in cut:
        nxt: list[Interval] = []
        for a, b in out:
            if c1 <= a or c0 >= b:
                nxt.append((a, b))
                continue
            if a < c0:
                nxt.append((a, c0))
            if c1 < b:
                nxt.append((c1, b))
        out = nxt
    return out


class _Unreadable(ValueError):
    pass


def _segment_intervals(seg: str) -> tuple[list[Interval], bool]:
    """One part of an hours text -> (week intervals, whether it said anything). Raises
    :class:`_Unreadable` when it names days or times it does not read."""
    tokens = list(_TOKEN.finditer(seg))
    gaps, pos = [], 0
    for m in tokens:
        gaps.append(seg[pos:m.start()])
        pos = m.end()
    gaps.append(seg[pos:])
    for gap in gaps:
        if _DIGIT_OR_DAY.search(gap):
            raise _Unreadable(f"cannot read {seg!r}")
    if not tokens:
        return [], False
    if _UNCERTAIN.search(seg):
        raise _Unreadable(f"hours that vary in {seg!r}")
    if re.search(r"\bon[- ]call\b|\bde garde\b|\bsur appel\b", seg):
        raise _Unreadable(f"on-call hours are not opening hours: {seg!r}")
    days: list[int] | None = None
    after_full = False
    used = True  # the current days got hours (or a 'closed')
    closing = False
    opened: list[Interval] = []
    cuts: list[Interval] = []
    for m in tokens:
        if m.group("days") is not None and after_full and days is None and \
                re.fullmatch(_ALL_DAYS_WORDS, m.group("days")):
            continue  # "24 hours a day, 7 days a week": the week restated
        after_full = m.group("full") is not None
        if m.group("days") is not None:
            if not used:
                if closing:  # "closed Mon-Tue": nothing open those days
                    closing = False
                else:
                    raise _Unreadable(f"days without hours in {seg!r}")
            days, used = _days(m.group("days")), False
        elif m.group("closed") is not None:
            closing, used = True, True
        elif m.group("full") is not None:
            for d in range(7) if days is None else days:
                opened.append((d * 1440, (d + 1) * 1440))
            used = True
        else:
            try:
                start, end = _range_minutes(m.group("range"))
            except ValueError:
                raise _Unreadable(f"cannot read the times {m.group('range')!r}") from None
            if days is None and not closing:
                raise _Unreadable(f"times without days in {seg!r}")
            target = cuts if closing else opened
            for d in range(7) if days is None else days:
                target.append((d * 1440 + start, d * 1440 + end))
            used = True
    if not used and not closing:
        raise _Unreadable(f"days without hours in {seg!r}")
    return _subtract(_merge(opened), _merge(cuts)), True


def format_weekly(intervals: Iterable[Interval]) -> str:
    """Week intervals (minutes from Monday 00:00) -> the canonical text (see the module's
    docstring); "" for none."""
    merged = _merge(intervals)
    if merged == [(0, WEEK_MIN)]:
        return FULL_WEEK
    parts = []
    for d in range(7):
        lo, hi = d * 1440, (d + 1) * 1440
        day = [(max(a, lo) - lo, min(b, hi) - lo) for a, b in merged if a < hi and b > lo]
        if day:
            parts.append(f"{DAYS[d]} " + ",".join(
                f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in day))
    return "; ".join(parts)


def weekly_intervals(weekly: str) -> list[Interval]:
    """The canonical text :func:`format_weekly` writes -> merged week intervals (minutes
    from Monday 00:00), so that ``format_weekly(weekly_intervals(s)) == s``.

    Raises
    ------
    ValueError
        The text is not in the canonical form.
    """
    if not weekly:
        return []
    if weekly == FULL_WEEK:
        return [(0, WEEK_MIN)]
    out: list[Interval] = []
    for part in weekly.split("; "):
        m = re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ((?:\d\d:\d\d-\d\d:\d\d,?)+)", part)
        if not m or m.group(2).endswith(","):
            raise ValueError(f"not canonical weekly hours: {part!r} in {weekly!r}")
        d = DAYS.index(m.group(1)) * 1440
        for span in m.group(2).split(","):
            a, b = (int(x[:2]) * 60 + int(x[3:]) for x in span.split("-"))
            if not 0 <= a < b <= 1440:
                raise ValueError(f"not canonical weekly hours: {span!r} in {weekly!r}")
            out.append((d + a, d + b))
    return _merge(out)


def is_open_24_7(intervals: Iterable[Interval]) -> bool:
    return _merge(intervals) == [(0, WEEK_MIN)]


def hours_from_intervals(intervals: Iterable[Interval]) -> Hours:
    merged = _merge(intervals)
    return Hours(format_weekly(merged), "yes" if is_open_24_7(merged) else "no")


def parse_hours(text: str) -> Hours:
    """An hours text (English or French) -> :class:`Hours`.

    >>> parse_hours("Mon-Fri 9-5").weekly.split("; ")[0]
    'Mon 09:00-17:00'
    >>> parse_hours("24 h/24, 7 j/7")
    Hours(weekly='Mon-Sun 00:00-24:00', open_24_7='yes', problem='')
    >>> parse_hours("Crisis Line: 24/").open_24_7
    'unknown'
    """
    if not_given(text):
        return Hours()
    opened: list[Interval] = []
    said = False
    for seg in _segments(_normalise_hours(text)):
        try:
            got, spoke = _segment_intervals(seg)
        except _Unreadable as exc:
            return Hours(problem=str(exc))
        opened += got
        said = said or spoke
    if not said:
        return Hours(problem="no days or times")
    return hours_from_intervals(opened)


_BYDAY = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}


def _clock(text: str) -> int | None:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", (text or "").strip())
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        return None
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    return 1440 if minutes == 23 * 60 + 59 else minutes  # 23:59 closes at the day's end


def _weekday_index(text: str) -> int | None:
    t = (text or "").strip()
    if t.isdigit():
        return int(t) - 1 if 1 <= int(t) <= 7 else None
    return _DAY_WORDS.get(_fold(t).rstrip("."))


def schedule_hours(rows: Iterable[Mapping[str, str]]) -> Hours:
    """HSDS schedule rows -> :class:`Hours`: 1.1 ``regular_schedules`` (``weekday`` as a
    name or 1-7 from Monday, ``opens_at``, ``closes_at``) and 3.0 ``schedules``
    (``byday`` such as ``MO,TU``, ``opens_at``, ``closes_at``; ``freq`` blank or
    ``WEEKLY``). A closing time of 23:59 means the end of the day; one before the opening
    time runs past midnight. A row with only a ``description`` is read as text
    (:func:`parse_hours`); a row neither way readable makes the whole schedule unknown."""
    opened: list[Interval] = []
    texts: list[str] = []
    for r in rows:
        days: list[int] = []
        if r.get("weekday"):
            d = _weekday_index(r["weekday"])
            if d is None:
                return Hours(problem=f"weekday {r['weekday']!r}")
            days = [d]
        elif r.get("byday"):
            codes = [c.strip().upper() for c in r["byday"].split(",") if c.strip()]
            if any(c not in _BYDAY for c in codes):
                return Hours(problem=f"byday {r['byday']!r}")
            days = [_BYDAY[c] for c in codes]
        if r.get("freq", "") not in ("", "WEEKLY", "weekly"):
            return Hours(problem=f"freq {r['freq']!r} (only weekly schedules are read)")
        opens, closes = _clock(r.get("opens_at", "")), _clock(r.get("closes_at", ""))
        if days and opens is not None and closes is not None:
            end = closes if closes > opens else closes + 1440
            opened += [(d * 1440 + opens, d * 1440 + end) for d in days]
        elif r.get("description"):
            texts.append(r["description"])
        elif days and not (r.get("opens_at") or r.get("closes_at")):
            continue  # a day listed with no times: closed that day
        else:
            return Hours(problem=f"opens_at {r.get('opens_at', '')!r} closes_at "
                                 f"{r.get('closes_at', '')!r}")
    for text in texts:
        parsed = parse_hours(text)
        if parsed.problem or not parsed.weekly:
            return Hours(problem=parsed.problem or f"cannot read {text!r}")
        opened += weekly_intervals(parsed.weekly)
    if not opened:
        return Hours()
    return hours_from_intervals(opened)


# -- languages --------------------------------------------------------------------------------
LANGUAGE_ALIASES: dict[str, str] = {
    # names Ontario listings use that ISO 639's own names do not give
    "ojibway": "oj", "ojibwe": "oj", "anishinaabemowin": "oj", "anishinaabe": "oj",
    "ojibwe (anishinaabemowin)": "oj", "oji-cree": "ojs", "oji cree": "ojs",
    "anishininiimowin": "ojs", "swampy cree": "csw", "mushkegowuk": "csw",
    "mohawk": "moh", "kanien'keha": "moh", "mi'kmaq": "mic", "mandarin": "cmn",
    "cantonese": "yue", "punjabi": "pa", "farsi": "fa", "persan": "fa", "filipino": "fil",
    "tagalog": "tl", "laotian": "lo", "asl": "ase", "american sign language": "ase",
    "langue des signes quebecoise": "fcs", "lsq": "fcs", "dari": "prs",
    "somali": "so", "amharic": "am", "tigrinya": "ti", "swahili": "sw",
    "english": "en", "anglais": "en", "french": "fr", "francais": "fr",
}
_BILINGUAL = re.compile(r"^(?:bilingual|bilingue)(?:\s*\(?(?:en|english|anglais)?\s*"
                        r"(?:/|and|et|-)?\s*(?:fr|french|francais)?\)?)?$")
_LANGUAGE_REMARK = re.compile(
    r"interpret|translat|tradu|other languages?|autres langues|varies|may be|call|"
    r"available|disponible|on request|sur demande|\d+\+?\s*languages?|\d+\+?\s*langues?")


@cache
def _language_names() -> dict[str, str]:
    """Folded ISO 639-3 names, English and French, -> code (639-1 where one exists)."""
    fr = gettext.translation("iso639-3", pycountry.LOCALES_DIR, languages=["fr"],
                             fallback=True)
    out: dict[str, str] = {}
    for lang in pycountry.languages:
        code = getattr(lang, "alpha_2", None) or lang.alpha_3
        for name in (lang.name, getattr(lang, "common_name", None),
                     getattr(lang, "inverted_name", None)):
            if name:
                out.setdefault(_fold(name), code)
                out.setdefault(_fold(fr.gettext(name)), code)
    return out


def language_code(text: str) -> str | None:
    """One language name or ISO 639 code -> its code (639-1 where one exists), or None.

    >>> language_code("Français"), language_code("Cree"), language_code("Oji-Cree")
    ('fr', 'cr', 'ojs')
    """
    t = _fold(text).strip(" .()")
    t = re.sub(r"\s+(?:only|seulement|uniquement)$", "", t)
    if not t:
        return None
    if t in LANGUAGE_ALIASES:
        return LANGUAGE_ALIASES[t]
    if re.fullmatch(r"[a-z]{2}", t):  # a 639-1 code ("en" is a code before it is a name)
        lang = pycountry.languages.get(alpha_2=t)
        return None if lang is None else t
    named = _language_names().get(t)
    if named:
        return named
    if re.fullmatch(r"[a-z]{2,3}", t):
        lang = pycountry.languages.get(alpha_2=t) if len(t) == 2 else \
            pycountry.languages.get(alpha_3=t)
        if lang is not None:
            return getattr(lang, "alpha_2", None) or lang.alpha_3
    return None


@dataclass(frozen=True)
class Languages:
    codes: str = ""
    problem: str = ""


def parse_languages(text: str, codes: Iterable[str] = ()) -> Languages:
    """A languages cell -> ``;``-joined ISO 639 codes, sorted; ``codes`` adds codes a
    directory gives beside the names (HSDS 3.0 ``languages.code``). Names it does not know
    are named in ``problem`` (the codes it knows are kept).

    >>> parse_languages("English ; Access to trained interpreters available for French")
    Languages(codes='en', problem='')
    >>> parse_languages("Bilingue")
    Languages(codes='en;fr', problem='')
    """
    found: set[str] = {c for c in (language_code(x) for x in codes if x) if c}
    unknown: list[str] = []
    if not not_given(text):
        for segment in re.split(r"[;|\n]", text):
            seg = _fold(segment).strip(" .")
            if not seg or _LANGUAGE_REMARK.search(seg):
                continue
            for part in re.split(r"\s*(?:,|/|&|\+|\band\b|\bet\b|\bor\b|\bou\b)\s*", seg):
                part = part.strip(" .()")
                if not part:
                    continue
                if _BILINGUAL.match(part):
                    found |= {"en", "fr"}
                    continue
                code = language_code(part)
                if code:
                    found.add(code)
                else:
                    unknown.append(part)
    problem = f"language(s) not recognised: {', '.join(unknown)}" if unknown else ""
    return Languages(";".join(sorted(found)), problem)


# -- eligibility ------------------------------------------------------------------------------
_WOMEN = re.compile(r"\b(?:women|woman|female|females|femmes?|filles?|girls?|mothers?|"
                    r"meres?)\b")
_MEN = re.compile(r"\b(?:men|man|male|males|hommes?|garcons?|boys?|fathers?|peres?)\b")
_ANY_GENDER = re.compile(
    r"\ball genders?\b|\bany gender\b|\bgender[- ]inclusive\b|\bco-?ed\b|\bmixed\b|"
    r"\btous les genres\b|\btoutes identites de genre\b|\bno restrictions?\b|"
    r"\baucune restriction\b|\bopen to (?:all|anyone|everyone)\b|\banyone\b|\beveryone\b|"
    r"\bouvert a tous\b|\btout le monde\b|\bopen to the public\b|\bgeneral public\b")
_GROUP_PATTERNS: dict[str, re.Pattern[str]] = {
    "women_with_children": re.compile(
        r"\b(?:women|mothers|femmes|meres)\s*(?:and|with|et|avec)\s*(?:their\s+|leurs\s+)?"
        r"(?:children|kids|enfants)\b|\bwomen \(with (?:their )?children\)"),
    "youth": re.compile(r"\byouths?\b|\byoung (?:people|adults|persons|women|men)\b|"
                        r"\bjeunes?\b|\badolescents?\b|\bteens?\b|\bteenagers?\b"),
    "children": re.compile(r"\bchild(?:ren)?\b|\bkids\b|\benfants?\b"),
    "families": re.compile(r"\bfamilies\b|\bfamilles\b"),
    "indigenous": re.compile(r"\bindigenous\b|\baboriginal\b|\bfirst nations?\b|\binuit\b|"
                             r"\bmetis\b|\bautochtones?\b|\bnative\b|\bpremieres nations\b"),
    "2slgbtq": re.compile(r"(?<!including )\b(?:2s)?lgbt\w*\+?|(?<!including )\bqueer\b|"
                          r"(?<!including )\btrans(?:gender)?\b(?! ?(?:fer|it|port))|"
                          r"\btwo-spirit\b|\bnon-binary\b|\bbispirituel"),
    "newcomers": re.compile(r"\bnewcomers?\b|\bimmigrants?\b|\brefugees?\b|"
                            r"\bnouveaux arrivants\b|\brefugies?\b"),
    "seniors": re.compile(r"\bseniors?\b|\belders?\b|\belderly\b|\baines?\b|\bolder adults\b"),
}
_AGE = r"(\d{1,2})"
_YEARS = r"\s*(?:years?(?: old)?|yrs?|ans)?"
_AGE_RANGE = re.compile(rf"(?<![\d:$/.]){_AGE}\s*(?:-|to|a)\s*{_AGE}(?![\d:])(?!\s*(?:am|pm|h\b))"
                        rf"{_YEARS}")
_AGE_MIN = re.compile(rf"(?<![\d:$/]){_AGE}\s*\+|(?<![\d:$]){_AGE}{_YEARS}\s*(?:and|or|&|et)\s*"
                      r"(?:older|over|up|plus)|(?:ages?|aged|over|plus de)\s*" + _AGE +
                      r"\s*(?:and|or)\s*(?:older|over|up)|\b(?:over|plus de)\s*" + _AGE)
_AGE_MAX = re.compile(rf"(?<![\d:$]){_AGE}{_YEARS}\s*(?:and|or|&|et)\s*(?:under|younger|moins)|"
                      rf"\b(?:up to|jusqu'a)\s*{_AGE}{_YEARS}")
_AGE_CONTEXT = re.compile(r"\bages?\b|\baged\b|\byears?\b|\byrs?\b|\bans\b|youth|jeunes|"
                          r"children|enfants|adults?|adultes?|\(|\bwomen\b|\bmen\b|"
                          r"\bfemmes\b|\bhommes\b|individuals|people|persons|survivors")


@dataclass(frozen=True)
class Eligibility:
    gender_limit: str = ""
    groups: str = ""
    age_min: float = float("nan")
    age_max: float = float("nan")
    problem: str = ""


def _inclusion(text: str) -> str:
    """The part of an eligibility text that says who is included (an "Exclusion:" part
    and what follows it is cut)."""
    return re.split(r"\bexclusions?\s*:|\bexclus\s*:|\bnot eligible\b", text)[0]


def _ages(text: str) -> tuple[float, float]:
    mins: list[int] = []
    maxs: list[int] = []
    for m in _AGE_RANGE.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        if a < b <= 99 and _AGE_CONTEXT.search(text[max(0, m.start() - 25):m.end() + 12]):
            mins.append(a)
            maxs.append(b)
    for m in _AGE_MIN.finditer(text):
        mins.append(int(next(g for g in m.groups() if g)))
    for m in _AGE_MAX.finditer(text):
        maxs.append(int(next(g for g in m.groups() if g)))
    return (float(min(mins)) if mins else float("nan"),
            float(max(maxs)) if maxs else float("nan"))


def parse_eligibility(text: str) -> Eligibility:
    """An eligibility text (or Toronto's shelter ``sectors``) -> :class:`Eligibility`.

    >>> e = parse_eligibility("Inclusion: Youth 16-24. Exclusion: Adults 25+.")
    >>> e.groups, e.age_min, e.age_max
    ('youth', 16.0, 24.0)
    >>> parse_eligibility("Women and children escaping violence").gender_limit
    'women'
    """
    if not_given(text):
        return Eligibility()
    t = _inclusion(_fold(text).replace(";", "; "))
    t = re.sub(r"\bmixed adults?\b", "mixed adult", t)
    women, men = bool(_WOMEN.search(t)), bool(_MEN.search(t))
    groups = [g for g, pat in _GROUP_PATTERNS.items() if pat.search(t)]
    if "women_with_children" in groups and "children" in groups:
        groups.remove("children")
    gender = ""
    if (women and men) or _ANY_GENDER.search(t):
        gender = "any"
    elif women:
        gender = "women"
    elif men:
        gender = "men"
    age_min, age_max = _ages(t)
    if age_min > age_max:  # "women 16+ ... and their children under 6": not one range
        return Eligibility(gender, ";".join(sorted(groups)), problem=(
            f"ages that do not make one range ({age_min:g}+ and up to {age_max:g})"))
    said = gender or groups or age_min == age_min or age_max == age_max or re.search(
        r"\ball ages\b|\btous (?:les )?ages\b", t)
    return Eligibility(gender, ";".join(sorted(groups)), age_min, age_max,
                       "" if said else "no gender, age or group that gapmap reads")


# -- one listing's access columns -------------------------------------------------------------
@dataclass
class Access:
    """The services table's access columns for one row (see :mod:`gapmap.ingest`)."""

    delivery: str = ""
    hours_weekly: str = ""
    open_24_7: str = "unknown"
    language_codes: str = ""
    gender_limit: str = ""
    eligible_groups: str = ""
    age_min: float = float("nan")
    age_max: float = float("nan")
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    """(field, text, problem) for each text that could not be read."""

    def columns(self) -> dict[str, object]:
        return {"delivery": self.delivery, "hours_weekly": self.hours_weekly,
                "open_24_7": self.open_24_7, "language_codes": self.language_codes,
                "gender_limit": self.gender_limit, "eligible_groups": self.eligible_groups,
                "age_min": self.age_min, "age_max": self.age_max}


def listing_access(row: Mapping[str, str]) -> Access:
    """A listing row's access columns from its ``delivery``, ``hours``, ``languages`` and
    ``eligibility`` cells. Without a delivery cell, the modes its name states
    (:func:`delivery_from_name`) and its hours' labels state (:func:`delivery_from_hours`),
    and ``in_person`` when it lists beds or rooms (a bed is where it is); else unknown."""
    out = Access()
    delivery, problem = parse_delivery(row.get("delivery", ""))
    if problem:
        out.problems.append(("delivery", row.get("delivery", ""), problem))
    if not delivery and not_given(row.get("delivery", "")):
        beds = any(_positive(row.get(c, "")) for c in ("beds", "rooms"))
        delivery = join_modes(delivery_from_name(row.get("name", "")),
                              delivery_from_hours(row.get("hours", "")),
                              "in_person" if beds else "")
    out.delivery = delivery
    hours = parse_hours(row.get("hours", ""))
    out.hours_weekly, out.open_24_7 = hours.weekly, hours.open_24_7
    if hours.problem:
        out.problems.append(("hours", row.get("hours", ""), hours.problem))
    langs = parse_languages(row.get("languages", ""))
    out.language_codes = langs.codes
    if langs.problem:
        out.problems.append(("languages", row.get("languages", ""), langs.problem))
    elig = parse_eligibility(row.get("eligibility", ""))
    out.gender_limit, out.eligible_groups = elig.gender_limit, elig.groups
    out.age_min, out.age_max = elig.age_min, elig.age_max
    if elig.problem:
        out.problems.append(("eligibility", row.get("eligibility", ""), elig.problem))
    return out


def _positive(text: str) -> bool:
    try:
        return float(str(text).replace(",", ".")) > 0
    except ValueError:
        return False
