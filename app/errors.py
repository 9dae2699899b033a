"""The small family of errors Verbatim raises for things a user can fix.

Every message names the bad value and what to do about it, in one line.
"""

from __future__ import annotations


class VerbatimError(Exception):
    """Base class: a problem the user can act on (shown without a traceback)."""


class CorpusError(VerbatimError):
    """A corpus folder or file is missing, unreadable, undecodable or too large."""


class DocumentRefused(CorpusError):
    """One document of the corpus cannot be read or indexed (`doc`: its corpus-relative name); the rest can."""

    def __init__(self, doc: str, message: str) -> None:
        super().__init__(message)
        self.doc = doc


class IndexNotFoundError(VerbatimError):
    """No index exists where one was expected."""


class IndexCorruptError(VerbatimError):
    """Index files are missing, truncated, or disagree with each other."""


class IndexStaleError(VerbatimError):
    """The index was built from another corpus, model or settings than the ones in use."""


class QuestionError(VerbatimError):
    """A question is empty, too long, or otherwise unusable."""


class IndexBuildError(VerbatimError):
    """A build produced chunks or sentences that break an offset invariant; nothing was swapped in."""
