"""gapmap: where the supports for survivors of human trafficking in Ontario are out of reach.

The package follows the pipeline, one module per stage::

    ingest -> geocode -> regions -> demand -> network -> travel -> gaps -> maps / report

Each stage is a plain function over GeoDataFrames with documented columns; the CLI
(:mod:`gapmap.cli`) and the Makefile are thin layers over it.
"""

__version__ = "0.1.0"

STORAGE_CRS = "EPSG:4326"
"""Geometry is stored in WGS 84 longitude/latitude."""

PROJECTED_CRS = "EPSG:3347"
"""Statistics Canada Lambert: lengths, buffers and areas are measured here."""
