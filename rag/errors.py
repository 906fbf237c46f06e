"""Project exceptions: each message says which file or service, where, and what was expected."""

from __future__ import annotations

from pathlib import Path


class IrchatError(Exception):
    """Base of every error irchat raises on purpose."""


class ParseError(IrchatError):
    """A record file could not be read or does not look like an investor-relations record."""

    def __init__(self, file: str | Path, message: str, *, line: int | None = None, page: int | None = None):
        self.file = str(file)
        self.reason = message
        self.line = line
        self.page = page
        where = ""
        if page is not None:
            where = f" (page {page})"
        elif line is not None:
            where = f" (line {line})"
        super().__init__(f"{self.file}{where}: {message}")


class ConflictError(IrchatError):
    """The same company and record number already came from a different file."""


class StoreError(IrchatError):
    """The vector store (embedded Chroma or a Chroma server) failed or cannot be reached."""


class EmbedderError(IrchatError):
    """The embedding model could not be found, converted or run."""


class ConfigError(IrchatError):
    """A setting is missing or inconsistent."""


class LockError(IrchatError):
    """Another ingest holds the index lock."""


class FetchError(IrchatError):
    """A remote source of records (cninfo) could not be reached, refused a request, or sent something unusable."""
