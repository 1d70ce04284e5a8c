"""Contact fields of a listing, stored cleanly: phone numbers and websites.

:func:`parse_phones` finds every phone number in a phone field with ``phonenumbers``
(Canada as the default region) and returns the field with each number in national format
("(807) 684-6751 ext. 12"; a toll-free number as dialled, "1-888-579-2888"), the words
around them kept ("TTY", "crisis line"), and the numbers in E.164 with their extension
(``+18076846751;ext=12``, comma-separated) for internal use. :func:`check_website` accepts
an http(s) URL, adds ``https://`` to a bare ``www.example.org``, and refuses anything else;
it never touches the network.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers

DEFAULT_REGION = "CA"
"""Numbers written without a country code are read as Canadian (North American)."""
_BARE_DOMAIN = re.compile(r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:[/?#]\S*)?$",
                          re.I)
_POSTE = re.compile(r"\bposte\b", re.I)
_HOST = re.compile(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\.?(?::\d{1,5})?$", re.I)


def parse_phones(text: str, region: str = DEFAULT_REGION) -> tuple[str, str]:
    """(the field with each number in national format, the numbers in E.164 with extension).

    A field with no number that ``phonenumbers`` recognises (``211``, a word) is returned as
    it is, with no E.164 number.
    """
    text = (text or "").strip()
    if not text:
        return "", ""
    text = _POSTE.sub("ext.", text)  # French: "poste 12"
    out: list[str] = []
    e164: list[str] = []
    pos = 0
    for match in phonenumbers.PhoneNumberMatcher(text, region):
        number = match.number
        out.append(text[pos:match.start])
        out.append(_shown(number))
        canonical = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if number.extension:
            canonical += f";ext={number.extension}"
        e164.append(canonical)
        pos = match.end
    if not e164:
        return text, ""
    out.append(text[pos:])
    return re.sub(r"\s+", " ", "".join(out)).strip(), ", ".join(e164)


def _shown(number: phonenumbers.PhoneNumber) -> str:
    """A number as printed: national format ("(807) 684-6751"), except that a North
    American toll-free number keeps the 1 it is dialled with ("1-888-579-2888")."""
    if (number.country_code == 1
            and phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.TOLL_FREE):
        n = phonenumbers.national_significant_number(number)
        ext = f" ext. {number.extension}" if number.extension else ""
        return f"1-{n[:3]}-{n[3:6]}-{n[6:]}{ext}"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def check_website(text: str) -> tuple[str, str]:
    """(the website as an http(s) URL, or "", and the problem, or ""); an HTML link
    (``<a href="http://...">...</a>``) gives its target."""
    value = (text or "").strip()
    if not value:
        return "", ""
    anchor = re.match(r'^<a\s[^>]*href\s*=\s*["\']([^"\']+)["\'][^>]*>.*</a>$', value,
                      re.I | re.S)
    if anchor:  # an HTML link, as some open-data portals export one: its target
        value = anchor.group(1).strip()
    if "://" not in value and _BARE_DOMAIN.match(value):
        value = "https://" + value
    try:
        parts = urlsplit(value)
    except ValueError:
        return "", f"website is not an http(s) URL: {text!r}"
    if parts.scheme.lower() not in ("http", "https") or not _HOST.match(parts.netloc or "") \
            or re.search(r"\s", value):
        return "", f"website is not an http(s) URL: {text!r}"
    return value, ""
