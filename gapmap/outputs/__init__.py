"""Outputs: what writes the files people open (maps and their assets, tables, the GeoPackage;
next, workbooks, reports and referral sheets). They take frames and plain settings, not the
Config: the stage modules build those."""
