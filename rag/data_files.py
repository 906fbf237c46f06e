"""The data files shipped in ``rag/data`` (word lists, tables, glossary), read from the installed package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

__all__ = ["read_json", "read_text"]


def read_json(name: str) -> Any:
    """The JSON file ``rag/data/<name>``, parsed."""
    return json.loads(read_text(name))


def read_text(name: str) -> str:
    """The text file ``rag/data/<name>``."""
    return (resources.files("rag") / "data" / name).read_text(encoding="utf-8")
