"""The errors gapmap raises. Each subclasses a built-in and :class:`GapmapError`.

The CLI turns any :class:`GapmapError` into a one-line message and exit status 1.
"""

from __future__ import annotations


class GapmapError(Exception):
    """Base class of every error gapmap raises on purpose."""


class ConfigError(ValueError, GapmapError):
    """The run's configuration file is missing a setting or has a bad value."""


class InputFileError(FileNotFoundError, GapmapError):
    """An input file is missing or cannot be read."""


class SchemaError(ValueError, GapmapError):
    """A table lacks a column, has duplicate ids, a missing CRS or a bad value.

    The message names the file, and where it can, the row and the field.
    """


class GeocodeError(LookupError, GapmapError):
    """A place could not be geocoded."""


class NetworkError(RuntimeError, GapmapError):
    """The road network could not be built or used."""


class OutputExistsError(FileExistsError, GapmapError):
    """An output exists and the caller did not allow it to be replaced."""


class MapAssetError(LookupError, GapmapError):
    """A map page refers to a script, stylesheet or image that cannot be inlined.

    Maps must open with no network: a resource gapmap has no local copy of is an error,
    never a link left to a CDN.
    """
