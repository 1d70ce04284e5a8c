"""Package data: the need-type vocabulary (``need_types.csv``), read by
:mod:`gapmap.taxonomy`. A package so that a built wheel carries it."""
