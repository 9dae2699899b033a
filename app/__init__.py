"""Verbatim: ask a report questions, get answers quoted verbatim with exact citations."""

__version__ = "0.1.0"
