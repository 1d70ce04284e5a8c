"""The ``gapmap`` command: one subcommand per stage, plus ``run`` and ``make-vars`` (the
Makefile's view of the config).

Logging is configured here only (``-v`` for detail and tracebacks, ``-q`` for errors only).
A :class:`~gapmap.errors.GapmapError` ends the command with ``gapmap: error: <message>`` on
one line and the status its class carries (``exit_code``); any other exception with one line
naming the stage it stopped and :data:`~gapmap.errors.EXIT_INTERNAL`; Ctrl-C with
:data:`~gapmap.errors.EXIT_INTERRUPTED`. See the README's "Exit codes".
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback

from gapmap import __version__
from gapmap.config import load_config
from gapmap.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, GapmapError
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
    "gaps": "coverage per OPP region and need (and at 30/60/90 min); gap communities ranked "
            "by gap score; wraparound: how many needs each community reaches",
    "plan": "capacity-aware access (2SFCA/E2SFCA); where one more service helps most (MCLP); "
            "a [scenario] compared with the baseline",
    "maps": "write the HTML maps (Ontario and one per OPP region)",
    "report": "write the GeoPackage with every layer and the run metadata",
    "referral": "write a referral sheet per police office town (HTML each, one PDF, one CSV), "
                "or with --at LAT,LON or --town NAME one sheet for that place",
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
        cmd = sub.add_parser(name, parents=[common], help=text, description=text)
        if name == "referral":
            where = cmd.add_mutually_exclusive_group()
            where.add_argument("--at", type=_lat_lon, metavar="LAT,LON",
                               help="one sheet for this point (decimal degrees)")
            where.add_argument("--town", metavar="NAME", help="one sheet for this town")
    return parser


def _lat_lon(text: str) -> tuple[float, float]:
    """``"48.38,-89.25"`` -> (48.38, -89.25); argparse reports anything else."""
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give LAT,LON in decimal degrees, e.g. "
                                         "48.38,-89.25") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"{text!r}: latitude or longitude out of range")
    return lat, lon


def one_line(text: str) -> str:
    """A message on one line: its lines joined, runs of blanks made one space."""
    return " ".join(text.split())


def _configure_logging(*, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level)
    logging.getLogger("gapmap").setLevel(logging.INFO if verbose else logging.NOTSET)


def _report(exc: BaseException, *, stage: str, verbose: bool) -> int:
    """Print what stopped the command and return its exit status."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, GapmapError):
        print(f"gapmap: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    hint = "" if verbose else " (run with -v for the traceback)"
    print(f"gapmap: internal error in stage {stage}: {type(exc).__name__}: "
          f"{one_line(str(exc))}{hint}", file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(verbose=args.verbose, quiet=args.quiet)
    echo = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, flush=True))
    stage = "config"
    try:
        config = load_config(args.config)
        if args.command == "make-vars":
            stage = "make-vars"
            print(make_variables(config), end="")
            return EXIT_OK
        if args.command == "referral" and (args.at or args.town):
            from gapmap.referral import write_lookup_sheet

            stage = "referral"
            t0 = time.perf_counter()
            result = write_lookup_sheet(config, at=args.at, town=args.town)
            echo(f"{result.summary()}  ({time.perf_counter() - t0:.1f} s)")
            return EXIT_OK
        names = list(STAGES) if args.command == "run" else [args.command]
        for i, stage in enumerate(names, 1):
            t0 = time.perf_counter()
            if len(names) > 1:
                echo(f"[{i}/{len(names)}] {stage} ...")
            message = STAGES[stage](config)
            echo(f"{message}  ({time.perf_counter() - t0:.1f} s)")
    except KeyboardInterrupt:
        print(f"gapmap: interrupted in stage {stage}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        return _report(exc, stage=stage, verbose=args.verbose)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
