"""The command's failures: one line each, a documented exit code per family, tracebacks with
-v, progress silenced by -q. Each exit code comes from a real failure of a real stage."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import gapmap.cli
import gapmap.demand
from gapmap import errors
from gapmap.cli import main
from gapmap.config import Config
from gapmap.errors import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    ConfidentialityError,
    ConfigError,
    GapmapError,
    GeocodeError,
    InputFileError,
    MapAssetError,
    NetworkError,
    SchemaError,
    exit_codes,
)
from gapmap.io import read_parquet, write_parquet
from gapmap.outputs import webassets
from gapmap.pipeline import STAGES

from .conftest import DATA, ROOT, write_config

TRACEBACK = "Traceback (most recent call last)"


@pytest.fixture(autouse=True)
def _restore_logging():
    """main() sets the log levels, as a command does; put them back for the other tests."""
    root, pkg = logging.getLogger(), logging.getLogger("gapmap")
    levels = root.level, pkg.level
    yield
    root.setLevel(levels[0])
    pkg.setLevel(levels[1])


def _config(tmp_path: Path, listings: Path = DATA / "listings_small.csv", extra: str = "") -> str:
    return str(write_config(tmp_path, [listings], extra=extra))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- one failure per exit code ---------------------------------------------------------------
# Each builds the failure and returns the command line; the message must name ``names``.

def _missing_config(tmp_path: Path) -> list[str]:
    return ["ingest", "--config", str(tmp_path / "nowhere.toml")]


def _bad_toml(tmp_path: Path) -> list[str]:
    bad = tmp_path / "bad.toml"
    bad.write_text("[run\nname = 'x'\n", encoding="utf-8")
    return ["ingest", "--config", str(bad)]


def _missing_listings(tmp_path: Path) -> list[str]:
    return ["ingest", "--config", _config(tmp_path, tmp_path / "missing_listings.csv")]


def _corrupt_listings(tmp_path: Path) -> list[str]:
    corrupt = tmp_path / "corrupt_listings.csv"
    # binary, not a table (a latin-1 file is read since issue 14: its encoding is detected)
    corrupt.write_bytes(bytes(range(256)) * 4)
    return ["ingest", "--config", _config(tmp_path, corrupt)]


def _unusable_geocoder_cache(tmp_path: Path) -> list[str]:
    junk = tmp_path / "junk_cache.sqlite"
    junk.write_bytes(b"this is not SQLite\n" * 200)
    cfg = _config(tmp_path, extra=f"""
[geocode.nominatim]
mode = "cached"
user_agent = "gapmap-tests (tests@example.org)"
cache = "{junk}"
""")
    assert main(["-q", "ingest", "--config", cfg]) == EXIT_OK
    return ["geocode", "--config", cfg]


def _unreadable_road_file(tmp_path: Path) -> list[str]:
    junk = tmp_path / "junk_roads.osm.pbf"
    junk.write_bytes(bytes(range(256)) * 4)
    return ["network", "--config",
            _config(tmp_path, extra=f'[network]\nsource = "osm_file"\npath = "{junk}"\n')]


FAILURES: list[tuple[str, Callable[[Path], list[str]], type[GapmapError], str]] = [
    ("missing config", _missing_config, ConfigError, "nowhere.toml"),
    ("bad TOML", _bad_toml, ConfigError, "bad.toml"),
    ("missing input file", _missing_listings, InputFileError, "missing_listings.csv"),
    ("corrupt input file", _corrupt_listings, SchemaError, "corrupt_listings.csv"),
    ("unusable geocoder cache", _unusable_geocoder_cache, GeocodeError, "junk_cache.sqlite"),
    ("unreadable road file", _unreadable_road_file, NetworkError, "junk_roads.osm.pbf"),
]


@pytest.mark.parametrize(("failure", "expected", "names"),
                         [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_a_failure_is_one_line_with_its_familys_code(tmp_path, capsys, failure, expected,
                                                      names):
    argv = failure(tmp_path)
    capsys.readouterr()
    code, _, err = _run(capsys, *argv)
    assert code == expected.exit_code
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gapmap: error: ") and names in lines[0]
    assert TRACEBACK not in err


@pytest.fixture
def copied_run(small_run: Config, tmp_path: Path) -> str:
    """A config in ``tmp_path`` whose output folders hold a copy of the small run's: a test
    may break them without touching the session's run."""
    cfg = _config(tmp_path)
    for folder in ("interim_dir", "processed_dir"):
        shutil.copytree(getattr(small_run.outputs, folder), tmp_path / folder.split("_")[0])
    return cfg


def test_a_confidential_service_placed_finely_stops_regions_with_code_5(copied_run, tmp_path,
                                                                        capsys):
    geocoded = tmp_path / "interim" / "services_geocoded.parquet"
    services = read_parquet(geocoded)
    services.loc[services["service_id"] == "conf-test-01", "geocode_precision"] = "exact"
    write_parquet(services, geocoded)
    code, _, err = _run(capsys, "regions", "--config", copied_run)
    assert code == ConfidentialityError.exit_code == SchemaError.exit_code
    assert err.count("\n") == 1 and err.startswith("gapmap: error: ")
    assert "conf-test-01" in err
    shared = pd.read_csv(tmp_path / "processed" / "services.csv", dtype=str)
    assert shared.set_index("service_id").at["conf-test-01", "geocode_precision"] == "town"


def test_a_map_asset_missing_from_the_install_stops_maps_with_code_8(copied_run, tmp_path,
                                                                     capsys, monkeypatch):
    monkeypatch.setitem(webassets.ASSETS, webassets.GAPMAP_JS,
                        webassets.Asset("gapmap", "map-removed.js"))
    code, _, err = _run(capsys, "maps", "--config", copied_run)
    assert code == MapAssetError.exit_code == 8
    assert err.count("\n") == 1 and "map-removed.js" in err
    assert not (tmp_path / "maps").exists() or not list((tmp_path / "maps").iterdir())


def test_an_unexpected_exception_names_the_stage_on_one_line(tmp_path, capsys, monkeypatch):
    def broken(config):
        raise RuntimeError("no column geo_lat\n  (a message on two lines)")

    monkeypatch.setattr(gapmap.demand, "build_demand", broken)
    code, _, err = _run(capsys, "demand", "--config", _config(tmp_path))
    assert code == EXIT_INTERNAL
    assert err == ("gapmap: internal error in stage demand: RuntimeError: no column geo_lat (a "
                   "message on two lines) (run with -v for the traceback)\n")


def test_an_unexpected_exception_while_reading_the_config_names_it(tmp_path, capsys,
                                                                   monkeypatch):
    def broken(path):
        raise TypeError("unhashable type: 'list'")

    monkeypatch.setattr(gapmap.cli, "load_config", broken)
    code, _, err = _run(capsys, "ingest", "--config", _config(tmp_path))
    assert code == EXIT_INTERNAL
    assert err.startswith("gapmap: internal error in stage config: TypeError: unhashable")


def test_ctrl_c_exits_130_naming_the_stage(tmp_path, capsys, monkeypatch):
    def interrupted(config):
        raise KeyboardInterrupt

    monkeypatch.setattr(gapmap.demand, "build_demand", interrupted)
    code, _, err = _run(capsys, "demand", "--config", _config(tmp_path))
    assert code == EXIT_INTERRUPTED == 130
    assert err == "gapmap: interrupted in stage demand\n"


def test_usage_error_is_argparses_code_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-stage"])
    assert exc.value.code == EXIT_USAGE == 2
    assert "invalid choice" in capsys.readouterr().err


# -- -v and -q ---------------------------------------------------------------------------------

def test_verbose_shows_the_traceback_of_an_unexpected_exception(tmp_path, capsys, monkeypatch):
    def broken(config):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(gapmap.demand, "build_demand", broken)
    code, _, err = _run(capsys, "-v", "demand", "--config", _config(tmp_path))
    assert code == EXIT_INTERNAL
    assert TRACEBACK in err and "in broken" in err
    assert err.splitlines()[-1] == ("gapmap: internal error in stage demand: "
                                    "ZeroDivisionError: division by zero")


def test_verbose_shows_the_traceback_of_a_gapmap_error(tmp_path, capsys):
    code, _, err = _run(capsys, "ingest", "--config", _config(tmp_path, tmp_path / "gone.csv"),
                        "-v")
    assert code == InputFileError.exit_code
    assert TRACEBACK in err and "read_rows" in err
    assert err.splitlines()[-1] == f"gapmap: error: input file not found: {tmp_path}/gone.csv"


def test_quiet_silences_progress_but_not_errors(tmp_path, capsys):
    cfg = _config(tmp_path)
    code, out, err = _run(capsys, "ingest", "--config", cfg)
    assert code == EXIT_OK and out.startswith("read 16 rows") and err == ""
    code, out, err = _run(capsys, "-q", "ingest", "--config", cfg)
    assert code == EXIT_OK and out == "" and err == ""
    code, out, err = _run(capsys, "ingest", "-q", "--config", str(tmp_path / "gone.toml"))
    assert code == ConfigError.exit_code and out == "" and err.startswith("gapmap: error: ")


def test_run_shows_each_stage_and_names_the_one_that_failed(tmp_path, capsys, monkeypatch):
    def ok(config):
        return "done"

    def broken(config):
        raise ValueError("bad value")

    for name in STAGES:
        monkeypatch.setitem(STAGES, name, broken if name == "regions" else ok)
    code, out, err = _run(capsys, "run", "--config", _config(tmp_path))
    assert code == EXIT_INTERNAL
    assert out.splitlines()[:3] == [f"[1/{len(STAGES)}] ingest ...", "done  (0.0 s)",
                                    f"[2/{len(STAGES)}] geocode ..."]
    assert "regions ..." in out and "network" not in out
    assert err.startswith("gapmap: internal error in stage regions: ValueError: bad value")
    code, out, _ = _run(capsys, "run", "-q", "--config", _config(tmp_path))
    assert code == EXIT_INTERNAL and out == ""


def test_the_installed_command_exits_with_the_code(tmp_path):
    """The status reaches the shell (``sys.exit(main())``), not just main's return value."""
    proc = subprocess.run([sys.executable, "-m", "gapmap.cli", "ingest", "--config",
                           str(tmp_path / "nowhere.toml")], capture_output=True, text=True)
    assert proc.returncode == ConfigError.exit_code
    assert proc.stderr.count("\n") == 1 and "nowhere.toml" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "gapmap.cli", "bogus"], capture_output=True,
                          text=True)
    assert proc.returncode == EXIT_USAGE


# -- the table of codes ------------------------------------------------------------------------

def _all_error_classes() -> list[type[GapmapError]]:
    return [c for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, GapmapError)]


def test_each_family_has_its_own_code_and_none_collides_with_the_commands():
    codes = {c: c.exit_code for c in _all_error_classes()}
    assert codes[ConfidentialityError] == codes[SchemaError]  # a family shares its code
    families = [ConfigError, InputFileError, SchemaError, GeocodeError, NetworkError,
                MapAssetError]
    assert len({codes[c] for c in families}) == len(families)
    reserved = {EXIT_OK, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED}
    assert not reserved & set(codes.values())
    assert all(0 < code < 126 for code in codes.values())
    assert sorted({c for cs in exit_codes().values() for c in cs}, key=str) == sorted(
        codes, key=str)


def test_the_readme_lists_every_exit_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = {int(m.group(1)): m.group(2)
            for m in re.finditer(r"^\| (\d+) \|(.*)\|$", section, re.M)}
    expected = {EXIT_OK, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED, *exit_codes()}
    assert set(rows) == expected
    for code, classes in exit_codes().items():
        for cls in classes:
            assert f"`{cls.__name__}`" in rows[code], (code, cls.__name__)
