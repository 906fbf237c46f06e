"""Small deterministic stand-ins for slow parts, for tests of the parts around them."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import numpy as np

from rag.types import Chunk


class HashEmbedder:
    """Bag of character bigrams hashed into 64 dimensions: similar texts get similar vectors, instantly."""

    name = "test-hash-embedder"
    dim = 64
    max_tokens = 512

    def __init__(self) -> None:
        self.calls = 0
        self.texts_embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for a, b in itertools.pairwise(text):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v + 1 / np.sqrt(self.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        return len(text) // 2 + 2


def qa_chunk(
    q: int, answer: str, *, code: str = "300001", short: str = "示例科技", date: str = "2024-08-30", **kw: object
) -> Chunk:
    """Pair ``q`` of a made-up company's record (``record``, default 2024-005) answering ``answer``; other Chunk
    fields as keywords."""
    record = str(kw.pop("record", "2024-005"))
    question = str(kw.pop("question_text", f"第{q}个问题？"))
    return Chunk(
        id=f"{code}:{record}:q{q}:p{kw.get('part', 0)}",
        kind=str(kw.pop("kind", "qa")),
        text=f"{short} {record}\n问：{question}\n答：{answer}",
        company=f"{short}股份有限公司",
        record=record,
        short_name=short,
        stock_code=code,
        question=q,
        question_text=question,
        answer_text=answer,
        date=date,
        date_end=date,
        **kw,  # type: ignore[arg-type]
    )


def record_pair(
    q: int,
    question: str,
    answer: str,
    *,
    code: str = "002415",
    short: str = "海康威视",
    company: str = "杭州海康威视数字技术股份有限公司",
    record: str = "2024-013",
    date: str = "2024-04-20",
) -> Chunk:
    """Pair ``q`` of one record (default 002415 2024-013, 2024-04-20) with this question and answer, its text the
    bare 问/答 (no header line): the passages the attribution, LLM and budget tests cite."""
    return Chunk(
        id=f"{code}/{record}:q{q}:p0",
        kind="qa",
        text=f"问：{question}\n答：{answer}",
        company=company,
        short_name=short,
        stock_code=code,
        record=record,
        question=q,
        question_text=question,
        answer_text=answer,
        date=date,
    )
