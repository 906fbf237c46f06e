"""irchat's core: retrieval and cited answers. ``from rag import Assistant`` is the entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.assistant import Assistant

__all__ = ["Assistant"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing rag.types or rag.settings does not pull in torch and chromadb.
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
