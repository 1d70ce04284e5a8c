"""HTML documents printed to PDF by headless Chromium through playwright: the engine the
referral sheets and the regional reports share.

The browser is Debian's ``chromium`` (``make chromium``; never ``playwright install``); it is
launched once for all the documents of a call, loads nothing from outside the document (every
request but ``about:`` and ``data:`` is aborted), and the PDF's date stamps are fixed so that
the same inputs give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from gapmap.errors import PdfEngineError
from gapmap.io import atomic_path

_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def print_pdfs(documents: Sequence[tuple[str, Path]], *, browser: str,
               what: str = "the PDF", background: bool = False) -> list[Path]:
    """Print each ``(html, path)`` to a PDF at ``path`` (page size from the document's
    ``@page`` rule, Letter otherwise), atomically, in one browser session; ``background``
    prints the documents' background colours (the referral sheets are black and white).

    Raises
    ------
    PdfEngineError
        The browser is missing or fails (``make chromium`` installs Debian's); ``what``
        names the output in the message.
    """
    if not documents:
        return []
    if not Path(browser).is_file():
        raise PdfEngineError(f"{browser}: no Chromium to print {what}; `make chromium` "
                             "installs Debian's (or set referral.browser)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    done: list[Path] = []
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=browser, args=_ARGS)
            try:
                for document, path in documents:
                    with atomic_path(path) as tmp:
                        page = b.new_page()
                        page.route("**/*", lambda route: route.abort()
                                   if not route.request.url.startswith(("about:", "data:"))
                                   else route.continue_())
                        page.set_content(document, wait_until="load")
                        page.pdf(path=str(tmp), format="Letter", print_background=background,
                                 prefer_css_page_size=True)
                        page.close()
                        _fix_dates(tmp)
                    done.append(path)
            finally:
                b.close()
    except PlaywrightError as exc:
        raise PdfEngineError(f"{documents[len(done)][1]}: Chromium could not print {what}: "
                             f"{str(exc).splitlines()[0]}") from exc
    return done


def _fix_dates(path: Path) -> None:
    """Chromium stamps the PDF with the time of printing; the same inputs should give the
    same bytes, so the stamps are set to a fixed date of the same length (the byte offsets
    of the file's cross-reference table do not move)."""
    data = path.read_bytes()
    fixed = re.sub(rb"\(D:\d{14}[^)]*\)", lambda m: b"(D:" + b"0" * (len(m.group()) - 4)
                   + b")", data)
    if fixed != data:
        path.write_bytes(fixed)
