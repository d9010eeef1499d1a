"""Helpers shared by the Python test scripts (process, fault, fuzz-corpus tools)."""
