"""The need-type vocabulary shared by listings, thresholds, reports and maps.

The vocabulary is a CSV shipped with the package (``gapmap/vocabulary/need_types.csv``):
one row per term, columns ``need_type``, ``kind`` (``label``, ``description``, ``synonym``,
``taxonomy``), ``language`` (``en``, ``fr``), ``term`` and ``source``. Each need type has an
English and a French label and an English description; synonyms and directory taxonomy
terms name it too. An analyst's own file (``[ingest] vocabulary``, the same columns, only
``need_type`` and ``term`` required) adds terms to it (:meth:`Vocabulary.extended`); it
cannot add need types, which the thresholds and maps share.

Listings may name a need type by its code (``crisis_support``), a label, a synonym or a
taxonomy term, in any case, with or without accents; :meth:`Vocabulary.normalise` maps each
to the code, and raises for anything else so that a typo never silently drops a service
from the analysis.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from gapmap.errors import SchemaError

VOCABULARY_COLUMNS = ("need_type", "kind", "language", "term", "source")
"""The columns of a vocabulary file (an analyst's file needs ``need_type`` and ``term``)."""
TERM_KINDS = ("label", "description", "synonym", "taxonomy")
SHIPPED_VOCABULARY = "vocabulary/need_types.csv"
"""The shipped vocabulary, as package data of ``gapmap``."""
NEED_LIST_SEPARATORS = re.compile(r"[;|,\n]")
"""What separates need types in one field: ``;``, ``|``, ``,`` or a line break."""


@dataclass(frozen=True)
class NeedType:
    code: str
    label_en: str
    label_fr: str
    covers: str


def fold(text: str) -> str:
    """Lower-case, strip accents, turn ``_``/``-`` into spaces, curly apostrophes straight,
    and squeeze whitespace: the form terms are compared in."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("_", " ").replace("-", " ").replace("\u2019", "'")
    return re.sub(r"\s+", " ", text).strip()


_fold = fold


@dataclass(frozen=True)
class Vocabulary:
    """Need types and every term that names one (folded term -> code)."""

    need_types: tuple[NeedType, ...]
    lookup: dict[str, str] = field(repr=False)
    sources: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(n.code for n in self.need_types)

    @classmethod
    def shipped(cls) -> Vocabulary:
        """The vocabulary shipped with gapmap."""
        text = resources.files("gapmap").joinpath(SHIPPED_VOCABULARY).read_text("utf-8")
        rows = _vocabulary_rows(text, SHIPPED_VOCABULARY)
        need_types = []
        for code in dict.fromkeys(r["need_type"] for r in rows):
            mine = [r for r in rows if r["need_type"] == code]

            def first(kind: str, lang: str, mine: list[dict[str, str]] = mine) -> str:
                return next(r["term"] for r in mine
                            if r["kind"] == kind and r["language"] == lang)

            need_types.append(NeedType(code, first("label", "en"), first("label", "fr"),
                                       first("description", "en")))
        vocab = cls(tuple(need_types), {}, (SHIPPED_VOCABULARY,))
        return vocab._with_terms(rows, SHIPPED_VOCABULARY)

    def extended(self, path: str | Path) -> Vocabulary:
        """This vocabulary with the terms of an analyst's file added.

        Raises
        ------
        SchemaError
            The file lacks ``need_type`` or ``term``, names an unknown need type (with the
            nearest), or gives a term already meaning another need type; the message names
            the file and line.
        """
        from gapmap.errors import InputFileError

        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"vocabulary file not found: {path}")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SchemaError(f"{path}: the vocabulary file must be UTF-8 ({exc})") from exc
        rows = _vocabulary_rows(text, str(path))
        return self._with_terms(rows, str(path))

    def _with_terms(self, rows: list[dict[str, str]], where: str) -> Vocabulary:
        lookup = dict(self.lookup)
        codes = self.codes
        for r in rows:
            code = r["need_type"].strip()
            if code not in codes:
                from gapmap.config import nearest  # config imports this module

                near = nearest(code, codes)
                hint = f"did you mean {near}?" if near else f"need types: {', '.join(codes)}"
                raise SchemaError(f"{where} line {r['line']}: need_type {code!r} is not a need "
                                  f"type; {hint}")
            if r["kind"] == "description":
                continue
            key = fold(r["term"])
            if not key:
                continue
            if lookup.get(key, code) != code:
                raise SchemaError(f"{where} line {r['line']}: term {r['term']!r} already means "
                                  f"{lookup[key]}, not {code}")
            lookup[key] = code
        for code in codes:
            lookup[fold(code)] = code
        return Vocabulary(self.need_types, lookup, tuple(dict.fromkeys(
            (*self.sources, where))))

    def normalise(self, token: str) -> str:
        """Return the need-type code for a code, label, synonym or taxonomy term.

        Raises
        ------
        KeyError
            If the token names no need type; the message lists the vocabulary.
        """
        key = fold(token)
        if key in self.lookup:
            return self.lookup[key]
        raise KeyError(f"unknown need type {token!r} (known: {', '.join(self.codes)})")

    def split(self, text: str) -> tuple[list[str], list[str]]:
        """A need-type field as (codes, unknown terms): separated by ``;``, ``|``, ``,`` or
        line breaks; codes in order, each once."""
        codes: list[str] = []
        unknown: list[str] = []
        for tok in NEED_LIST_SEPARATORS.split(text or ""):
            tok = tok.strip()
            if not tok:
                continue
            code = self.lookup.get(fold(tok))
            if code is None:
                unknown.append(tok)
            elif code not in codes:
                codes.append(code)
        return codes, unknown


def _vocabulary_rows(text: str, where: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip() for f in reader.fieldnames or []]
    missing = [c for c in ("need_type", "term") if c not in fields]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {', '.join(missing)} (a vocabulary file "
                          f"has {', '.join(VOCABULARY_COLUMNS)}); found: {', '.join(fields)}")
    rows = []
    for line, raw in enumerate(reader, 2):
        r = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        r.setdefault("kind", "synonym")
        r["kind"] = r["kind"] or "synonym"
        if r["kind"] not in TERM_KINDS:
            raise SchemaError(f"{where} line {line}: kind {r['kind']!r} is not one of "
                              f"{', '.join(TERM_KINDS)}")
        r.setdefault("language", "")
        r["line"] = str(line)
        rows.append(r)
    return rows


VOCABULARY = Vocabulary.shipped()
"""The shipped vocabulary."""
NEED_TYPES: tuple[NeedType, ...] = VOCABULARY.need_types
NEED_CODES: tuple[str, ...] = VOCABULARY.codes
BY_CODE: dict[str, NeedType] = {n.code: n for n in NEED_TYPES}


def normalise_need(token: str) -> str:
    """:meth:`Vocabulary.normalise` with the shipped vocabulary."""
    return VOCABULARY.normalise(token)


def split_needs(field: str) -> list[str]:
    """Split a need-type field (``;``, ``|``, ``,`` or line breaks) into codes with the
    shipped vocabulary, keeping order, no repeats.

    Raises ``KeyError`` naming the first unknown token.
    """
    codes, unknown = VOCABULARY.split(field)
    if unknown:
        raise KeyError(f"unknown need type {unknown[0]!r} (known: {', '.join(NEED_CODES)})")
    return codes


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


def offers_any(need_types: pd.Series, needs: Sequence[str]) -> pd.Series:
    """True where a ``;``-joined ``need_types`` field lists one of ``needs`` at least."""
    wanted = set(needs)
    return _listed(need_types).map(lambda codes: bool(wanted.intersection(codes))).astype(bool)


def label(code: str) -> str:
    """English label of a need-type code."""
    return BY_CODE[code].label_en
