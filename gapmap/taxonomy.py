"""The need-type vocabulary shared by listings, thresholds, reports and maps.

Listings may name a need type by its code (``crisis_support``), its English or French label,
or a common synonym; :func:`normalise_need` maps each to the code, and raises for anything
else so that a typo never silently drops a service from the analysis.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class NeedType:
    code: str
    label_en: str
    label_fr: str
    covers: str


NEED_TYPES: tuple[NeedType, ...] = (
    NeedType("crisis_support", "Crisis support", "Soutien en situation de crise",
             "immediate victim support after a crime (victim services, crisis lines)"),
    NeedType("emergency_shelter", "Emergency shelter", "Hébergement d'urgence",
             "a safe bed tonight (VAW shelters, anti-trafficking safe houses)"),
    NeedType("housing", "Transitional housing", "Logement de transition",
             "transitional and second-stage housing"),
    NeedType("sexual_assault_care", "Sexual assault care",
             "Soins aux victimes d'agression sexuelle",
             "hospital SA/DV treatment centres, sexual assault centres"),
    NeedType("medical_care", "Medical care", "Soins médicaux", "hospitals and clinics"),
    NeedType("counselling", "Counselling", "Counseling", "trauma counselling"),
    NeedType("addiction_mental_health", "Addiction and mental health",
             "Toxicomanie et santé mentale", "mental health and addiction services"),
    NeedType("legal_support", "Legal support", "Soutien juridique",
             "legal aid, community legal clinics, immigration law"),
    NeedType("court_support", "Court support", "Soutien judiciaire",
             "Victim/Witness Assistance Program at courthouses"),
    NeedType("indigenous_services", "Indigenous services", "Services autochtones",
             "Indigenous-led services, friendship centres, Indigenous health access centres"),
    NeedType("interpretation", "Interpretation", "Interprétation",
             "interpretation and translation"),
    NeedType("settlement", "Settlement", "Établissement", "newcomer settlement services"),
    NeedType("youth_services", "Youth services", "Services à la jeunesse",
             "services for children and youth"),
    NeedType("anti_trafficking", "Anti-trafficking", "Lutte contre la traite",
             "specialised anti-human-trafficking supports"),
)

NEED_CODES: tuple[str, ...] = tuple(n.code for n in NEED_TYPES)
BY_CODE: dict[str, NeedType] = {n.code: n for n in NEED_TYPES}

_SYNONYMS: dict[str, str] = {
    "victim services": "crisis_support",
    "crisis line": "crisis_support",
    "crisis": "crisis_support",
    "services aux victimes": "crisis_support",
    "shelter": "emergency_shelter",
    "vaw shelter": "emergency_shelter",
    "safe house": "emergency_shelter",
    "refuge": "emergency_shelter",
    "maison d'hebergement": "emergency_shelter",
    "second stage housing": "housing",
    "transitional housing": "housing",
    "logement": "housing",
    "sexual assault": "sexual_assault_care",
    "sa/dv": "sexual_assault_care",
    "agression sexuelle": "sexual_assault_care",
    "hospital": "medical_care",
    "health": "medical_care",
    "sante": "medical_care",
    "counseling": "counselling",
    "therapy": "counselling",
    "mental health": "addiction_mental_health",
    "addiction": "addiction_mental_health",
    "sante mentale": "addiction_mental_health",
    "legal aid": "legal_support",
    "legal": "legal_support",
    "aide juridique": "legal_support",
    "vwap": "court_support",
    "victim/witness assistance": "court_support",
    "indigenous": "indigenous_services",
    "friendship centre": "indigenous_services",
    "autochtone": "indigenous_services",
    "translation": "interpretation",
    "traduction": "interpretation",
    "newcomer": "settlement",
    "immigrant services": "settlement",
    "youth": "youth_services",
    "jeunesse": "youth_services",
    "human trafficking": "anti_trafficking",
    "traite de personnes": "anti_trafficking",
}


def _fold(text: str) -> str:
    """Lower-case, strip accents, turn ``_``/``-`` into spaces and squeeze whitespace."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("_", " ").replace("-", " ").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip()


_LOOKUP: dict[str, str] = {}
for _n in NEED_TYPES:
    for _name in (_n.code, _n.label_en, _n.label_fr):
        _LOOKUP[_fold(_name)] = _n.code
for _syn, _code in _SYNONYMS.items():
    _LOOKUP[_fold(_syn)] = _code


def normalise_need(token: str) -> str:
    """Return the need-type code for a code, label or synonym.

    Raises
    ------
    KeyError
        If the token names no need type; the message lists the vocabulary.
    """
    key = _fold(token)
    if key in _LOOKUP:
        return _LOOKUP[key]
    raise KeyError(f"unknown need type {token!r} (known: {', '.join(NEED_CODES)})")


def split_needs(field: str) -> list[str]:
    """Split a ``;``- or ``|``-separated need-type field into codes, keeping order, no repeats.

    Raises ``KeyError`` naming the first unknown token.
    """
    out: list[str] = []
    for tok in re.split(r"[;|]", field or ""):
        if tok.strip():
            code = normalise_need(tok)
            if code not in out:
                out.append(code)
    return out


def _listed(need_types: pd.Series) -> pd.Series:
    """Each ``;``-joined ``need_types`` field as its list of codes (missing = none)."""
    return need_types.fillna("").astype(str).str.split(";")


def offers(need_types: pd.Series, need: str) -> pd.Series:
    """True where a ``;``-joined ``need_types`` field lists ``need`` (missing = none)."""
    return _listed(need_types).map(lambda codes: need in codes).astype(bool)


def offers_each(need_types: pd.Series, needs: Sequence[str]) -> np.ndarray:
    """:func:`offers` for several needs at once: a boolean array (rows x needs), each field
    split once."""
    listed = _listed(need_types)
    return np.array([[need in codes for need in needs] for codes in listed],
                    dtype=bool).reshape(len(listed), len(needs))


def label(code: str) -> str:
    """English label of a need-type code."""
    return BY_CODE[code].label_en
