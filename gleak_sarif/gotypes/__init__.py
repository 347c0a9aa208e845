"""Declared types of Go expressions (resolve.py) and the standard-library type table (std.py, std.json)."""
