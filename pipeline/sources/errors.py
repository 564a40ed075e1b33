"""Errors a preset raises when a whole file cannot be read (as opposed to a bad row)."""

from __future__ import annotations


class SourceError(Exception):
    """The file cannot be read as this preset: the message says why."""


class MissingColumnsError(SourceError):
    """Columns the preset or the config mapping needs are not in the file's header."""


class LayoutError(MissingColumnsError):
    """A header row where the preset expects none, or data where it expects one."""
