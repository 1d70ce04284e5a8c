"""Self-contained map pages: every script, stylesheet and image inlined from local files.

folium writes ``<script src=…>`` and ``<link rel=stylesheet href=…>`` tags that point at CDNs.
:func:`inline_assets` replaces each one it knows with the file's text, taken from a PyPI
package (the XStatic packages of Leaflet, Leaflet.markercluster and jQuery) or from
``gapmap/outputs/static``; images that a stylesheet names become ``data:`` URIs and source-map
comments are dropped. A resource it has no local copy of raises :class:`MapAssetError`, and
:func:`check_self_contained` then proves that nothing in the page would load from elsewhere.

jQuery is inlined only when a script of the page calls it (folium's ``Popup`` does); the maps
gapmap writes build their popups in their own script and do without it.
"""

from __future__ import annotations

import base64
import importlib
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from gapmap.errors import MapAssetError

STATIC = Path(__file__).resolve().parent / "static"


@dataclass(frozen=True)
class Asset:
    """One local file that stands in for a URL.

    ``package`` is an XStatic module (its files under ``BASE_DIR``) or ``"gapmap"`` (files in
    ``gapmap/outputs/static``); ``version`` is the upstream major.minor the URL asks for.
    """

    package: str
    file: str
    version: str = ""

    @property
    def path(self) -> Path:
        return _base_dir(self.package) / self.file


LEAFLET_JS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"
LEAFLET_CSS = "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"
JQUERY_JS = "https://code.jquery.com/jquery-3.7.1.min.js"
_MC = "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/"
MARKERCLUSTER_JS = _MC + "leaflet.markercluster.js"
MARKERCLUSTER_CSS = _MC + "MarkerCluster.css"
MARKERCLUSTER_DEFAULT_CSS = _MC + "MarkerCluster.Default.css"
GAPMAP_JS = "gapmap:static/map.js"
GAPMAP_CSS = "gapmap:static/map.css"

# folium's URLs (folium 0.17-0.20 pin Leaflet 1.9.3 and jQuery 3.7.1) and gapmap's own files.
# folium.plugins.MarkerCluster asks for markercluster 1.1.0: 1.4.1 keeps its API.
ASSETS: dict[str, Asset] = {
    LEAFLET_JS: Asset("xstatic.pkg.leaflet", "leaflet.js", "1.9"),
    LEAFLET_CSS: Asset("xstatic.pkg.leaflet", "leaflet.css", "1.9"),
    JQUERY_JS: Asset("xstatic.pkg.jquery", "jquery.min.js", "3.7"),
    MARKERCLUSTER_JS: Asset("xstatic.pkg.leaflet_markercluster", "leaflet.markercluster.js",
                            "1.4"),
    MARKERCLUSTER_CSS: Asset("xstatic.pkg.leaflet_markercluster", "MarkerCluster.css", "1.4"),
    MARKERCLUSTER_DEFAULT_CSS: Asset("xstatic.pkg.leaflet_markercluster",
                                     "MarkerCluster.Default.css", "1.4"),
    GAPMAP_JS: Asset("gapmap", "map.js"),
    GAPMAP_CSS: Asset("gapmap", "map.css"),
}

MAP_JS: list[tuple[str, str]] = [("leaflet", LEAFLET_JS), ("markercluster", MARKERCLUSTER_JS),
                                 ("gapmap", GAPMAP_JS)]
"""The scripts a gapmap page loads, in order (folium's Map ``default_js``)."""
MAP_CSS: list[tuple[str, str]] = [("leaflet_css", LEAFLET_CSS),
                                  ("markercluster_css", MARKERCLUSTER_CSS),
                                  ("markercluster_default_css", MARKERCLUSTER_DEFAULT_CSS),
                                  ("gapmap_css", GAPMAP_CSS)]
"""The stylesheets a gapmap page loads (folium's Map ``default_css``)."""

_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml",
         ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".woff2": "font/woff2",
         ".woff": "font/woff", ".ttf": "font/ttf"}
_SCRIPT_TAG = re.compile(r"<script\b([^>]*)\bsrc\s*=\s*[\"']([^\"']+)[\"']([^>]*)>\s*</script>",
                         re.I)
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.I)
_HREF = re.compile(r"\bhref\s*=\s*[\"']([^\"']+)[\"']", re.I)
_CSS_URL = re.compile(r"url\(\s*([\"']?)([^\"')]+)\1\s*\)", re.I)
_SOURCE_MAP = re.compile(r"^\s*(//[#@] sourceMappingURL=\S*|/\*[#@] sourceMappingURL=.*?\*/)\s*$",
                         re.M)
_USES_JQUERY = re.compile(r"(?<![\w$.])(\$|jQuery)\s*\(")


@cache
def _base_dir(package: str) -> Path:
    if package == "gapmap":
        return STATIC
    try:
        mod = importlib.import_module(package)
    except ImportError as exc:
        raise MapAssetError(f"the map needs {package} (pip install "
                            f"{package.split('.')[-1].replace('_', '-')}): {exc}") from exc
    return Path(mod.BASE_DIR)


def _asset(url: str) -> Asset:
    asset = ASSETS.get(url)
    if asset is None:
        raise MapAssetError(f"the map refers to {url}, which gapmap has no local copy of; "
                            "add it to gapmap.outputs.webassets.ASSETS or drop it from the map")
    if asset.version:
        have = str(importlib.import_module(asset.package).VERSION)
        if have.split(".")[:2] != asset.version.split(".")[:2]:
            raise MapAssetError(f"{url} asks for version {asset.version}, but the installed "
                                f"{asset.package} is {have}")
    if not asset.path.is_file():
        raise MapAssetError(f"{url}: local copy {asset.path} is missing")
    return asset


def data_uri(path: Path) -> str:
    """A file as a ``data:`` URI (images and fonts)."""
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise MapAssetError(f"{path}: no data-URI type for {path.suffix!r} files")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _css_text(path: Path) -> str:
    """A stylesheet with every ``url()`` it names turned into a data URI."""
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))

    def sub(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        if re.match(r"^([a-z][a-z0-9+.-]*:|//)", ref, re.I):
            raise MapAssetError(f"{path}: url({ref}) is not a local file")
        target = (path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            raise MapAssetError(f"{path}: url({ref}) names a file that is missing: {target}")
        return f'url("{data_uri(target)}")'

    text = _CSS_URL.sub(sub, text)
    if re.search(r"@import\b", text):
        raise MapAssetError(f"{path}: @import cannot be inlined")
    return text


def _js_text(path: Path) -> str:
    text = _SOURCE_MAP.sub("", path.read_text(encoding="utf-8"))
    if "<!--" in text:
        raise MapAssetError(f"{path}: '<!--' in a script would change how the page parses")
    # an inline script ends at the first "</script": keep it inside string literals
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def inline_assets(page: str) -> str:
    """Replace every external script and stylesheet of a rendered page by its text.

    Raises
    ------
    MapAssetError
        The page names a resource that has no local copy, or the local copy names one.
    """
    def body_scripts(text: str) -> str:
        return "\n".join(m.group(1) for m in re.finditer(
            r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", text, re.S | re.I))

    if JQUERY_JS in page and not _USES_JQUERY.search(body_scripts(page)):
        page = re.sub(r"<script\b[^>]*src=[\"']" + re.escape(JQUERY_JS) + r"[\"'][^>]*>"
                      r"\s*</script>\s*", "", page)

    def script(m: re.Match[str]) -> str:
        asset = _asset(m.group(2))
        return f"<script>/* {asset.package}/{asset.file} */\n{_js_text(asset.path)}\n</script>"

    def link(m: re.Match[str]) -> str:
        tag = m.group(0)
        href = _HREF.search(tag)
        if href is None:
            return tag
        if not re.search(r"\brel\s*=\s*[\"']?stylesheet", tag, re.I):
            raise MapAssetError(f"the map has a <link> that is not a stylesheet: {tag}")
        asset = _asset(href.group(1))
        css = _css_text(asset.path).replace("</style", "<\\/style")
        return f"<style>/* {asset.package}/{asset.file} */\n{css}\n</style>"

    page = _SCRIPT_TAG.sub(script, page)
    page = _LINK_TAG.sub(link, page)
    check_self_contained(page)
    return page


class _ResourceFinder(HTMLParser):
    """Collects every attribute and stylesheet reference that would make a browser fetch."""

    LOADING = {("script", "src"), ("link", "href"), ("img", "src"), ("img", "srcset"),
               ("iframe", "src"), ("source", "src"), ("source", "srcset"), ("video", "src"),
               ("video", "poster"), ("audio", "src"), ("embed", "src"), ("object", "data"),
               ("input", "src"), ("frame", "src")}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in self.LOADING and value is not None:
                self.found.append(f"<{tag} {name}={value[:80]!r}>")
            if name == "style" and value:
                self._css(value, f"<{tag} style>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data, "<style>")

    def _css(self, css: str, where: str) -> None:
        for m in _CSS_URL.finditer(css):
            if not m.group(2).strip().startswith(("data:", "#")):
                self.found.append(f"{where} url({m.group(2)[:80]})")
        if re.search(r"@import\b", css):
            self.found.append(f"{where} @import")


def check_self_contained(page: str) -> None:
    """Raise :class:`MapAssetError` if the page would fetch anything when opened.

    Links a reader may follow (``<a href>``) are fine; scripts, stylesheets, images, frames
    and CSS ``url()`` references other than ``data:`` URIs are not.
    """
    finder = _ResourceFinder()
    finder.feed(page)
    finder.close()
    if finder.found:
        raise MapAssetError("the map would load from outside the file: "
                            + "; ".join(finder.found[:5]))


def leaflet_icon_uris() -> dict[str, str]:
    """Leaflet's default marker images as data URIs (``L.Icon.Default`` options)."""
    base = _asset(LEAFLET_CSS).path.parent / "images"
    return {"iconUrl": data_uri(base / "marker-icon.png"),
            "iconRetinaUrl": data_uri(base / "marker-icon-2x.png"),
            "shadowUrl": data_uri(base / "marker-shadow.png")}


__all__ = ["ASSETS", "MAP_CSS", "MAP_JS", "Asset", "check_self_contained", "data_uri",
           "inline_assets", "leaflet_icon_uris"]
