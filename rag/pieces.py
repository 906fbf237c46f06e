"""e5.c's tokeniser in Python: SentencePiece unigram pieces picked by Viterbi over a per-codepoint normalisation.

The reference the converted ``tokenizer.json`` is checked against (tests), and the query path's tokeniser:
it loads from one marshalled file in ~0.1 s, where ``tokenizers`` builds its trie of 250k pieces in ~0.7 s, a
fifth of a cold ``irchat ask``; one question is cut in under a millisecond. Passages still go through
``tokenizers`` (batched, in Rust); both give the same ids.
"""

from __future__ import annotations

import marshal
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rag.errors import EmbedderError

META = "\u2581"  # SentencePiece's metaspace
PIECES_FILE = "pieces.marshal"
"""The file in a converted model folder that :meth:`PieceTokenizer.load` reads."""
FORMAT = 1


@dataclass
class PieceTokenizer:
    """Unigram pieces with their scores, the normalisation map and the special ids of one model."""

    pieces: list[str]
    scores: np.ndarray
    """float32, one per piece: e5.c sums them in float32, so ties break the same way."""
    norm: dict[int, str]
    bos: int
    eos: int
    pad: int
    unk: int
    _ids: dict[str, int] = field(default_factory=dict, repr=False)
    _max_bytes: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self._ids = {p: i for i, p in enumerate(self.pieces) if p}
        self._max_bytes = max((len(p.encode("utf-8")) for p in self.pieces), default=0)
        self._unk_score = np.float32(self.scores.min() - np.float32(10.0)) if len(self.scores) else np.float32(-10)

    def normalize(self, text: str) -> str:
        """e5.c's normalisation: the per-codepoint map, then runs of spaces collapsed to one."""
        mapped = "".join(self.norm.get(ord(c), c) for c in text)
        out: list[str] = []
        for c in mapped:
            if c == " " and out and out[-1] == " ":
                continue
            out.append(c)
        return "".join(out)

    def content_ids(self, text: str) -> list[int]:
        """Token ids without ``<s>``/``</s>``, as e5.c's Viterbi picks them (float32 sums included)."""
        ids, max_bytes, scores = self._ids, self._max_bytes, self.scores
        s = self.normalize(text)
        if not s or s[0] != " ":
            s = " " + s
        s = s.replace(" ", META)
        n = len(s)
        best = [np.float32(-1e30)] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = np.float32(0.0)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            nbytes = 0
            for e in range(i + 1, n + 1):
                nbytes += len(s[e - 1].encode("utf-8"))
                if nbytes > max_bytes:
                    break
                idx = ids.get(s[i:e], -1)
                if idx >= 0 and idx != self.unk:
                    sc = np.float32(best[i] + scores[idx])
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = np.float32(best[i] + self._unk_score)
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (-1, i)
        out: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            out.append(self.unk if idx < 0 else idx)
        return out[::-1]

    def ids(self, text: str) -> list[int]:
        """Token ids with ``<s>`` and ``</s>`` around them, as the model is fed."""
        return [self.bos, *self.content_ids(text), self.eos]

    def save(self, path: Path) -> None:
        """Write the tokeniser to ``path`` (atomically: a reader never sees half a file)."""
        data = {
            "format": FORMAT,
            "pieces": self.pieces,
            "scores": np.asarray(self.scores, dtype="<f4").tobytes(),
            "norm": self.norm,
            "special": (self.bos, self.eos, self.pad, self.unk),
        }
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(marshal.dumps(data))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PieceTokenizer:
        """Read a file written by :meth:`save`."""
        try:
            data = marshal.loads(Path(path).read_bytes())
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            bos, eos, pad, unk = data["special"]
            return cls(data["pieces"], np.frombuffer(data["scores"], dtype="<f4"), data["norm"], bos, eos, pad, unk)
        except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError) as exc:
            why = f"cannot read the tokeniser in {path} ({exc}); delete it to have it written again"
            raise EmbedderError(why) from exc
