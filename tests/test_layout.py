"""The README's stage table and layout name the tree as it is, and every package folder is a
package (so a built wheel carries it)."""

from __future__ import annotations

import re

from gapmap.pipeline import STAGES

from .conftest import ROOT

PKG = ROOT / "gapmap"


def _stage_table() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("| stage | module | in → out |", 1)[1].split("\n\n", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| (.+?) \|", table, re.M)}


def test_the_stage_table_names_every_stage_and_real_files():
    table = _stage_table()
    assert list(table) == list(STAGES)
    for stage, cell in table.items():
        named = re.findall(r"`([\w/.]+)`", cell)
        assert named[0] == f"gapmap/{stage}.py" or stage in ("maps",), (stage, named)
        for name in named:
            path = ROOT / name if name.startswith("gapmap/") else PKG / name
            assert path.exists(), f"README stage table: {name} (stage {stage}) does not exist"


def test_each_stage_has_a_module_at_the_top_and_every_module_is_named():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for stage in STAGES:
        assert (PKG / f"{stage}.py").is_file(), stage
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).as_posix()
        if path.name == "__init__.py" or rel == "__main__.py":
            continue
        short = rel if "/" in rel else path.name
        assert f"`{short}`" in readme or f"`gapmap/{rel}`" in readme, \
            f"gapmap/{rel} is named nowhere in the README's layout"


def test_every_package_folder_has_an_init():
    for folder in [PKG, *(p for p in PKG.rglob("*") if p.is_dir())]:
        if folder.name in ("__pycache__", "static"):
            continue
        assert (folder / "__init__.py").is_file(), f"{folder} is not a package"
