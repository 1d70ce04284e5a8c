"""The errors gapmap raises, and the exit status of the ``gapmap`` command for each.

Each error subclasses a built-in and :class:`GapmapError`. Its ``exit_code`` class attribute
is the status the CLI exits with (a subclass inherits its family's code); the CLI reads it
from the class, never from the message. The statuses that no error class carries are the
``EXIT_*`` constants below. The README's "Exit codes" table lists them all (a test holds the
two equal).
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
"""Every stage ran."""
EXIT_USAGE = 2
"""The command line was wrong (argparse's own status)."""
EXIT_INTERNAL = 70
"""An unexpected exception: a bug, or a failure gapmap does not yet explain (sysexits'
``EX_SOFTWARE``)."""
EXIT_INTERRUPTED = 130
"""Stopped with Ctrl-C (128 + SIGINT, as a shell reports it)."""


class GapmapError(Exception):
    """Base class of every error gapmap raises on purpose."""

    exit_code: ClassVar[int] = 1


class ConfigError(ValueError, GapmapError):
    """The run's configuration file is missing, not TOML, or has a bad key or value."""

    exit_code = 3


class InputFileError(FileNotFoundError, GapmapError):
    """An input file is missing or cannot be read."""

    exit_code = 4


class SchemaError(ValueError, GapmapError):
    """A table lacks a column, has duplicate ids, a missing CRS or a bad value.

    The message names the file, and where it can, the row and the field.
    """

    exit_code = 5


class StageFileError(SchemaError):
    """A stage file cannot be read or is not the table its stage declares: the message
    names the file, the stage that wrote it and the column or the problem."""


class ListingFileError(SchemaError):
    """A listing file cannot be read as a table: its encoding, delimiter, sheet, header or
    columns. The message names the file and the setting of its ``inputs.listings`` entry to
    change; ``[ingest] unreadable_files = "skip"`` skips such a file instead of stopping."""


class ConfidentialityError(SchemaError):
    """A confidential service reached an output with a location finer than its town.

    Ingest withholds those locations; this is the last guard before the file is written, so
    it means a bug upstream, and the file is not written.
    """


class GeocodeError(LookupError, GapmapError):
    """A place could not be geocoded."""

    exit_code = 6


class NetworkError(RuntimeError, GapmapError):
    """The road network could not be built or used."""

    exit_code = 7


class OutputExistsError(FileExistsError, GapmapError):
    """An output exists and the caller did not allow it to be replaced."""

    exit_code = 8


class MapAssetError(LookupError, GapmapError):
    """A map page refers to a script, stylesheet or image that cannot be inlined.

    Maps must open with no network: a resource gapmap has no local copy of is an error,
    never a link left to a CDN.
    """

    exit_code = 8


class PdfEngineError(RuntimeError, GapmapError):
    """The headless Chromium that prints a PDF (the referral sheets) is missing or failed:
    ``make chromium`` installs Debian's, ``referral.browser`` names another."""

    exit_code = 8


def exit_codes() -> dict[int, list[type[GapmapError]]]:
    """Every exit status an error class carries, with the classes that carry it."""
    out: dict[int, list[type[GapmapError]]] = {}
    todo: list[type[GapmapError]] = [GapmapError]
    while todo:
        cls = todo.pop(0)
        out.setdefault(cls.exit_code, []).append(cls)
        todo.extend(cls.__subclasses__())
    return dict(sorted(out.items()))
