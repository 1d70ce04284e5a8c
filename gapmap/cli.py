"""The ``gapmap`` command: one subcommand per stage, plus ``run`` and ``make-vars`` (the
Makefile's view of the config).

Logging is configured here only (``-v`` for detail, ``-q`` for errors only). A
:class:`~gapmap.errors.GapmapError` ends the command with a one-line message and status 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from gapmap import __version__
from gapmap.config import load_config
from gapmap.errors import GapmapError
from gapmap.pipeline import STAGES, make_variables

_HELP = {
    "ingest": "read the listings (and ODHF hospitals) into one services table; "
              "rejected rows go to rejected_rows.csv",
    "geocode": "place every service (listed point > overrides > Nominatim if enabled > "
               "postal code > town > rural FSA > area); geocode_report.csv lists what to fix",
    "regions": "give every service its census division and OPP region",
    "demand": "build the population points (census tracts + subdivisions, or a file of "
              "areas such as dissemination blocks)",
    "network": "build the road graph ([network] source: King's Highways, an OSM file, "
               "a Road Network File or an osmnx download)",
    "travel": "drive time from every community to the nearest service of each need",
    "catchments": "travel-time polygons per service and band, and their union per need type",
    "gaps": "coverage per OPP region and need; gap communities ranked by population",
    "maps": "write the HTML maps (Ontario and one per OPP region)",
    "report": "write the GeoPackage with every layer and the run metadata",
    "run": "run every stage in order",
    "make-vars": "print the Make variables of the config (output folders, maps, input files) "
                 "that the Makefile's file targets use",
}


def _add_common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Shared options, accepted before or after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--config", "-c", default=default if suppress else "configs/ontario.toml",
                        help="run settings (TOML); default: configs/ontario.toml")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true",
                           default=default if suppress else False, help="show detail")
    verbosity.add_argument("-q", "--quiet", action="store_true",
                           default=default if suppress else False, help="show errors only")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    parser = argparse.ArgumentParser(
        prog="gapmap", description="Map where the supports for survivors of human trafficking "
        "in Ontario are out of reach, by need.")
    parser.add_argument("--version", action="version", version=f"gapmap {__version__}")
    _add_common(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in _HELP.items():
        sub.add_parser(name, parents=[common], help=text, description=text)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        logging.getLogger("gapmap").setLevel(logging.INFO)
    echo = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, flush=True))
    try:
        config = load_config(args.config)
        if args.command == "make-vars":
            print(make_variables(config), end="")
            return 0
        names = list(STAGES) if args.command == "run" else [args.command]
        for i, name in enumerate(names, 1):
            t0 = time.perf_counter()
            if len(names) > 1:
                echo(f"[{i}/{len(names)}] {name} ...")
            message = STAGES[name](config)
            echo(f"{message}  ({time.perf_counter() - t0:.1f} s)")
    except GapmapError as exc:
        print(f"gapmap: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
