"""Bundled demo back offices: stand-ins for real agency systems, each in its own shape."""
