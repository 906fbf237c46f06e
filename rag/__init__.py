"""irchat's core: retrieval and cited answers. ``from rag import Assistant`` is the entry point."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.figures import Figure, extract_figures
    from rag.rehearsal import DraftCheck, RecordGroup, Rehearsal, SentenceCheck

__all__ = ["Assistant", "DraftCheck", "Figure", "RecordGroup", "Rehearsal", "SentenceCheck", "extract_figures"]

# Where each lazily exported name lives.
_LAZY = {
    "Assistant": "rag.assistant",
    "Rehearsal": "rag.rehearsal",
    "DraftCheck": "rag.rehearsal",
    "SentenceCheck": "rag.rehearsal",
    "RecordGroup": "rag.rehearsal",
    "Figure": "rag.figures",
    "extract_figures": "rag.figures",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that importing rag.types or rag.settings does not pull in torch and chromadb.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
