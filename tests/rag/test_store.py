"""ChromaStore against embedded Chroma and a real ``chroma run``: round trips, ranking, filters, errors."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag import store as store_mod
from rag.errors import StoreError
from rag.index import Index, SearchRepair
from rag.protocols import Store
from rag.settings import Settings
from rag.store import ChromaStore, build_where, date_num, open_store
from rag.types import Chunk
from tests.chroma_server import TokenProxy, free_port, start_chroma_server, start_token_server

DIM = 8
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_default_embedding_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything reaches Chroma's default ONNX model (it would try to download it)."""
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2 as onnx

    def forbidden(*args: object, **kwargs: object) -> None:
        pytest.fail("Chroma's default ONNX embedding function was used")

    monkeypatch.setattr(onnx.ONNXMiniLM_L6_V2, "__call__", forbidden)
    monkeypatch.setattr(onnx.ONNXMiniLM_L6_V2, "_download_model_if_not_exists", forbidden)


def unit(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random unit vectors of dimension DIM."""
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def chunk(i: int, **kw: object) -> Chunk:
    """A hand-made Q&A chunk; ``kw`` overrides fields."""
    fields: dict[str, object] = {
        "id": f"002415:2024-013:q{i}",
        "kind": "qa",
        "text": f"问：第{i}个问题？\n答：回答{i}。",
        "company": "杭州海康威视数字技术股份有限公司",
        "record": "2024-013",
        "short_name": "海康威视",
        "stock_code": "002415",
        "question": i,
        "question_text": f"第{i}个问题？",
        "answer_text": f"回答{i}。",
        "date": "2024-05-17",
        "activity_type": "特定对象调研",
        "source": f"/data/hik/{i}.docx",
        "source_hash": "abc",
        "tokens": 20 + i,
    }
    fields.update(kw)
    return Chunk(**fields)  # type: ignore[arg-type]


def corpus() -> list[Chunk]:
    """Chunks over two companies, three records, three kinds and several dates (one unknown)."""
    return [
        chunk(1),
        chunk(2),
        chunk(0, id="002415:2024-013:intro", kind="intro", question=None, text="公司介绍"),
        chunk(1, id="002415:2024-020:q1", record="2024-020", date="2024-11-02"),
        chunk(0, id="002415:2024-020:meta", kind="record", question=None, record="2024-020", date="2024-11-02"),
        chunk(
            1,
            id="000001:2023-001:q1",
            stock_code="000001",
            short_name="平安银行",
            record="2023-001",
            company="平安银行股份有限公司",
            date="2023-03-09",
        ),
        chunk(
            2,
            id="000001:2023-002:q2",
            stock_code="000001",
            short_name="平安银行",
            record="2023-002",
            company="平安银行股份有限公司",
            date="",
        ),
    ]


def settings_for(tmp_path: Path, collection: str, server: tuple[str, int] | None = None, **kw: object) -> Settings:
    """Settings that ignore any IRCHAT_* in the environment for the store's own knobs."""
    host, port = server or (None, 8000)
    return Settings(
        data_dir=tmp_path / "data",
        chroma_path=None,
        chroma_host=host,
        chroma_port=port,
        chroma_token=None,
        collection=collection,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh collection, embedded or on the session's ``chroma run``."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        return settings_for(tmp_path, name)
    return settings_for(tmp_path, name, request.getfixturevalue("chroma_server"))


@pytest.fixture
def store(settings: Settings) -> Iterator[ChromaStore]:
    """An open store on a fresh collection."""
    s = open_store(settings)
    yield s
    s.close()


def by_id(chunks: list[Chunk]) -> list[Chunk]:
    return sorted(chunks, key=lambda c: c.id)


# -- pure helpers ----------------------------------------------------------------------------------


def test_date_num_parses_the_forms_records_use() -> None:
    assert date_num("2024-05-17") == 20240517
    assert date_num("2024/5/7") == 20240507
    assert date_num("2024年5月17日") == 20240517
    assert date_num("2024.05.17 14:00") == 20240517
    assert date_num("20240517") == 20240517
    assert date_num("2024-05") == 20240501
    assert date_num("2024-05", end=True) == 20240531
    assert date_num("2024") == 20240101
    assert date_num("2024", end=True) == 20241231
    assert date_num("") == 0
    assert date_num(None) == 0
    assert date_num("unknown") == 0
    assert date_num("2024-13-01") == 0


def test_build_where_translates_simple_filters() -> None:
    assert build_where(None) is None
    assert build_where({}) is None
    assert build_where({"stock_code": "002415"}) == {"stock_code": "002415"}
    assert build_where({"stock_code": "002415", "record": "2024-013"}) == {
        "$and": [{"stock_code": "002415"}, {"record": "2024-013"}]
    }
    assert build_where({"kind": ["qa", "intro"]}) == {"kind": {"$in": ["qa", "intro"]}}
    assert build_where({"kind": ["qa"]}) == {"kind": "qa"}
    assert build_where({"kind": [], "stock_code": None}) is None
    assert build_where({"date_from": "2024-01-01", "date_to": "2024-12-31"}) == {
        "$and": [{"date_num": {"$gte": 20240101}}, {"date_num": {"$lte": 20241231}}]
    }
    assert build_where({"date_to": "2023"}) == {"$and": [{"date_num": {"$gte": 1}}, {"date_num": {"$lte": 20231231}}]}
    assert build_where({"date_from": ""}) is None
    assert build_where({"question": {"$gte": 2}}) == {"question": {"$gte": 2}}
    raw = {"$or": [{"kind": "qa"}, {"kind": "intro"}]}
    assert build_where(raw) == raw
    with pytest.raises(StoreError, match="date_to"):
        build_where({"date_to": "last year"})


def test_invalid_collection_name_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="IRCHAT_COLLECTION"):
        open_store(settings_for(tmp_path, "x"))


# -- behaviour, embedded and on a server ---------------------------------------------------------------


def test_store_protocol_and_no_embedding_function(store: ChromaStore) -> None:
    assert isinstance(store, Store)
    config = store.configuration()
    assert config["hnsw"]["space"] == "cosine"
    # Chroma records "legacy" (none given) rather than its "default" ONNX function.
    assert (config.get("embedding_function") or {}).get("name") != "default"
    assert store.count() == 0
    assert store.get() == []
    assert store.hashes() == {}
    assert store.query(unit(1)[0], 5) == []


def test_upsert_get_hashes_round_trip(store: ChromaStore) -> None:
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))

    assert store.count() == len(chunks)
    assert by_id(store.get()) == by_id(chunks)
    intro = next(c for c in store.get() if c.kind == "intro")
    assert intro.question is None
    assert store.hashes() == {c.id: c.content_hash for c in chunks}
    # By id: in the order asked, unknown ids skipped, empty list means nothing.
    asked = [chunks[3].id, "nope", chunks[0].id]
    assert store.get(ids=asked) == [chunks[3], chunks[0]]
    assert store.get(ids=[]) == []


def test_upsert_same_id_replaces(store: ChromaStore) -> None:
    chunks = corpus()
    vectors = unit(len(chunks))
    store.upsert(chunks, vectors)
    changed = chunk(1, text="问：改过的问题？\n答：新回答。", answer_text="新回答。")
    new_vec = unit(1, seed=99)
    store.upsert([changed], new_vec)

    assert store.count() == len(chunks)
    assert store.get(ids=[changed.id]) == [changed]
    assert store.hashes()[changed.id] == changed.content_hash != chunks[0].content_hash
    best = store.query(new_vec[0], 1)[0]
    assert best.chunk == changed
    assert best.score == pytest.approx(1.0, abs=1e-5)


def test_upsert_rejects_bad_input(store: ChromaStore) -> None:
    with pytest.raises(StoreError, match="shape"):
        store.upsert([chunk(1), chunk(2)], unit(1))
    with pytest.raises(StoreError, match="duplicate"):
        store.upsert([chunk(1), chunk(1)], unit(2))
    assert store.count() == 0


def test_upsert_in_batches_and_get_in_pages(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.api.models.Collection import Collection

    calls: list[int] = []
    real_upsert = Collection.upsert

    def spy(self: Collection, ids: list[str], **kw: object) -> None:
        calls.append(len(ids))
        real_upsert(self, ids, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Collection, "upsert", spy)
    monkeypatch.setattr(store_mod, "PAGE_SIZE", 4)
    chunks = [chunk(i) for i in range(11)]
    store = open_store(settings)
    store._batch_limit = 5  # as if the server's limit were 5
    store.upsert(chunks, unit(11))

    assert calls == [5, 5, 1]
    assert store.count() == 11
    assert by_id(store.get()) == by_id(chunks)  # 3 pages of 4
    assert len(store.hashes()) == 11
    assert store.get(ids=[c.id for c in reversed(chunks)]) == chunks[::-1]
    store.close()


def test_delete(store: ChromaStore) -> None:
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    store.delete([chunks[0].id, chunks[1].id, "not-there"])
    store.delete([])

    assert store.count() == len(chunks) - 2
    assert set(store.hashes()) == {c.id for c in chunks[2:]}
    assert store.get(ids=[chunks[0].id]) == []


def test_query_ranks_nearest_first_with_cosine_score(store: ChromaStore) -> None:
    chunks = corpus()
    vectors = unit(len(chunks), seed=1)
    store.upsert(chunks, vectors)
    target = 4
    q = vectors[target] + 0.1 * unit(1, seed=2)[0]
    q = q / np.linalg.norm(q)

    hits = store.query(q, 3)
    expected = np.argsort(-(vectors @ q))[:3]
    assert [h.chunk.id for h in hits] == [chunks[i].id for i in expected]
    assert hits[0].chunk == chunks[target]
    for hit, i in zip(hits, expected, strict=True):
        assert hit.score == pytest.approx(float(vectors[i] @ q), abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # Cosine, not dot product: the length of the query does not change the score.
    assert store.query(q * 7.5, 1)[0].score == pytest.approx(hits[0].score, abs=1e-4)
    assert len(store.query(q, 100)) == len(chunks)
    assert store.query(q, 0) == []
    # The same ranking as ids and similarities only, without reading the chunks.
    nearest = store.nearest(q, 3)
    assert [i for i, _ in nearest] == [h.chunk.id for h in hits]
    assert [s for _, s in nearest] == pytest.approx([h.score for h in hits], abs=1e-6)
    assert store.nearest(q, 0) == []


def test_query_restricted_to_ids(store: ChromaStore) -> None:
    chunks = corpus()
    vectors = unit(len(chunks), seed=4)
    store.upsert(chunks, vectors)
    q = vectors[0]
    allowed = [chunks[1].id, chunks[5].id, chunks[6].id]
    row = {c.id: i for i, c in enumerate(chunks)}
    expected = sorted(allowed, key=lambda cid: -float(vectors[row[cid]] @ q))

    hits = store.query(q, 10, ids=allowed)
    assert [h.chunk.id for h in hits] == expected
    assert [h.chunk for h in hits] == [chunks[row[cid]] for cid in expected]
    for hit in hits:
        assert hit.score == pytest.approx(float(vectors[row[hit.chunk.id]] @ q), abs=1e-4)
    assert [h.chunk.id for h in store.query(q, 2, ids=allowed)] == expected[:2]
    # ids and where together: both must hold.
    assert {h.chunk.id for h in store.query(q, 10, {"stock_code": "000001"}, ids=allowed)} == {
        chunks[5].id,
        chunks[6].id,
    }
    # Ids that are not stored (Chroma alone would refuse the query) are ignored; none at all finds nothing.
    assert [h.chunk.id for h in store.query(q, 10, ids=[*allowed, "002415:gone:q1"])] == expected
    assert store.query(q, 10, ids=["002415:gone:q1"]) == []
    assert store.query(q, 10, ids=[]) == []


def test_chunks_read_with_their_vectors(store: ChromaStore) -> None:
    chunks = corpus()
    vectors = unit(len(chunks), seed=5)
    store.upsert(chunks, vectors)
    wanted = [chunks[3].id, "002415:gone:q1", chunks[0].id, chunks[3].id]
    got, matrix = store.vectors(wanted)
    row = {c.id: i for i, c in enumerate(chunks)}
    assert sorted(c.id for c in got) == sorted([chunks[0].id, chunks[3].id])  # missing skipped, once each
    assert [c for c in got] == [chunks[row[c.id]] for c in got]
    assert matrix.shape == (2, vectors.shape[1])
    for c, v in zip(got, matrix, strict=True):
        assert np.allclose(v, vectors[row[c.id]], atol=1e-6)
    empty, none = store.vectors([])
    assert empty == [] and none.shape[0] == 0


def test_filters(store: ChromaStore) -> None:
    chunks = corpus()
    vectors = unit(len(chunks), seed=3)
    store.upsert(chunks, vectors)

    def ids(where: dict[str, object]) -> set[str]:
        got = {c.id for c in store.get(where=where)}
        assert set(store.hashes(where)) == got
        return got

    def expect(pred: object) -> set[str]:
        return {c.id for c in chunks if pred(c)}  # type: ignore[operator]

    assert ids({"stock_code": "000001"}) == expect(lambda c: c.stock_code == "000001")
    assert ids({"stock_code": "002415", "record": "2024-013"}) == expect(
        lambda c: c.stock_code == "002415" and c.record == "2024-013"
    )
    assert ids({"kind": ["intro", "record"]}) == expect(lambda c: c.kind in ("intro", "record"))
    assert ids({"date_from": "2024-01-01", "date_to": "2024-12-31"}) == expect(lambda c: c.date[:4] == "2024")
    assert ids({"date_from": "2024-06-01"}) == {"002415:2024-020:q1", "002415:2024-020:meta"}
    # An unknown date (date_num 0) is outside any range.
    assert ids({"date_to": "2023-12-31"}) == {"000001:2023-001:q1"}
    assert ids({"stock_code": "002415", "kind": ["qa"], "date_to": "2024-06"}) == {
        "002415:2024-013:q1",
        "002415:2024-013:q2",
    }
    assert ids({"stock_code": "999999"}) == set()

    hits = store.query(vectors[0], 10, where={"stock_code": "000001"})
    assert {h.chunk.id for h in hits} == expect(lambda c: c.stock_code == "000001")
    hits = store.query(vectors[0], 10, where={"kind": ["qa"], "date_from": "2024-01-01"})
    assert {h.chunk.id for h in hits} == expect(lambda c: c.kind == "qa" and c.date >= "2024")


def test_embedder_mismatch(settings: Settings) -> None:
    first = open_store(settings, embedder_name="e5-small-q4", dim=DIM)
    first.upsert([chunk(1)], unit(1))
    first.check_embedder("e5-small-q4", DIM)  # same model: fine, twice
    assert first.embedder_info() == ("e5-small-q4", DIM)
    first.close()

    with pytest.raises(StoreError, match="IRCHAT_COLLECTION") as err:
        open_store(settings, embedder_name="use-multilingual", dim=DIM)
    assert "e5-small-q4" in str(err.value)
    other = open_store(settings)
    with pytest.raises(StoreError, match="dimension 8"):
        other.check_embedder("e5-small-q4", 16)
    assert other.count() == 1  # the refused check changed nothing
    other.close()


def test_embedder_recorded_on_unmarked_collection_checks_dimension(settings: Settings) -> None:
    store = open_store(settings)
    store.upsert([chunk(1)], unit(1))  # written before any model was recorded
    assert store.embedder_info() is None
    with pytest.raises(StoreError, match="dimension 8"):
        store.check_embedder("big-model", 16)
    store.check_embedder("small-model", DIM)
    assert store.embedder_info() == ("small-model", DIM)
    store.close()


def test_collection_deleted_under_the_store_is_recreated(settings: Settings) -> None:
    store = open_store(settings, embedder_name="m", dim=DIM)
    store.upsert([chunk(1)], unit(1))
    other = open_store(settings)
    other._col()  # the same collection, through a second client
    assert other._client is not None
    other._client.delete_collection(settings.collection)
    other.close()

    assert store.count() == 0  # reconnected to a fresh, empty collection
    assert store.embedder_info() == ("m", DIM)  # which still records the model
    store.upsert([chunk(2)], unit(1))
    assert store.hashes() == {chunk(2).id: chunk(2).content_hash}
    store.close()


def test_concurrent_use(store: ChromaStore) -> None:
    chunks = [chunk(i) for i in range(40)]
    vectors = unit(40, seed=5)
    errors: list[BaseException] = []

    def work(part: int) -> None:
        try:
            sl = slice(part * 10, part * 10 + 10)
            store.upsert(chunks[sl], vectors[sl])
            store.query(vectors[part * 10], 3)
            store.count()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert store.count() == 40


# -- embedded only -----------------------------------------------------------------------------------


def test_embedded_persists_across_processes(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "irchat")
    store = open_store(settings, embedder_name="m", dim=DIM)
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    store.close()
    assert (tmp_path / "data" / "chroma").is_dir()

    # A fresh process sees the data (not just this process's in-memory Chroma).
    code = (
        "from rag.settings import Settings; from rag.store import open_store; "
        f"st = Settings(data_dir={str(tmp_path / 'data')!r}, chroma_host=None, collection='irchat'); "
        f"s = open_store(st, embedder_name='m', dim={DIM}); "
        "print(s.count(), sorted(s.hashes().values()) == sorted(c.content_hash for c in s.get()))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(chunks)), "True"]
    assert "onnx" not in out.stderr.lower()

    again = open_store(settings, embedder_name="m", dim=DIM)
    assert by_id(again.get()) == by_id(chunks)
    again.close()


# -- server mode (only tests that start `chroma run` are marked `server`) -------------------------------


@pytest.mark.server
def test_server_down_then_back(tmp_path: Path) -> None:
    server = start_chroma_server(tmp_path / "srv")
    address = f"{server.host}:{server.port}"
    try:
        store = open_store(settings_for(tmp_path, "irchat", server.address), embedder_name="m", dim=DIM)
        chunks = corpus()
        vectors = unit(len(chunks))
        store.upsert(chunks, vectors)

        server.stop()
        with pytest.raises(StoreError, match=address) as err:
            store.count()
        assert "chroma run" in str(err.value)
        with pytest.raises(StoreError, match=address):  # still down: fails again, quickly
            store.query(vectors[0], 1)

        server.start()  # same port, same folder
        assert store.count() == len(chunks)
        assert store.query(vectors[2], 1)[0].chunk == chunks[2]
        store.upsert([chunk(9)], unit(1, seed=9))
        assert store.count() == len(chunks) + 1
        store.close()
    finally:
        server.stop()


def test_open_store_with_no_server_names_the_address(tmp_path: Path) -> None:
    port = free_port()
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        open_store(settings_for(tmp_path, "irchat", ("127.0.0.1", port)))


def test_hung_server_times_out(tmp_path: Path) -> None:
    # Listens but never answers: the kernel completes the TCP handshake, nobody reads the request.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        port = sock.getsockname()[1]
        began = time.monotonic()
        with pytest.raises(StoreError, match=f"127.0.0.1:{port}.*Timeout"):
            open_store(settings_for(tmp_path, "irchat", ("127.0.0.1", port)), timeout=0.3)
        assert time.monotonic() - began < 5


@pytest.mark.server
def test_chroma_run_token_auth(tmp_path: Path) -> None:
    from pydantic import SecretStr

    token = "s3cret-token"
    server = start_token_server(tmp_path / "auth", token)
    try:
        if not server.enforces_auth():
            pytest.skip(
                "chroma run (Rust server, chromadb 1.5.9) has no authentication provider: it ignores "
                "CHROMA_SERVER_AUTHN_* and serves requests without a token. Secure it with a token-checking "
                "reverse proxy instead (test_token_proxy)."
            )
        with pytest.raises(StoreError):
            open_store(settings_for(tmp_path, "irchat", server.address))
        store = open_store(
            settings_for(tmp_path, "irchat", server.address).model_copy(update={"chroma_token": SecretStr(token)})
        )
        assert store.count() == 0
        store.close()
    finally:
        server.stop()


@pytest.mark.server
def test_token_proxy(tmp_path: Path, chroma_server: tuple[str, int]) -> None:
    from pydantic import SecretStr

    token = "s3cret-token"
    with TokenProxy(chroma_server, token) as proxy:
        base = settings_for(tmp_path, f"t-{uuid.uuid4().hex[:12]}", (proxy.host, proxy.port))
        with pytest.raises(StoreError, match="IRCHAT_CHROMA_TOKEN") as err:
            open_store(base)
        assert f"{proxy.host}:{proxy.port}" in str(err.value)
        with pytest.raises(StoreError, match="refused"):
            open_store(base.model_copy(update={"chroma_token": SecretStr("wrong")}))
        assert proxy.refused >= 2 and proxy.forwarded == 0

        store = open_store(base.model_copy(update={"chroma_token": SecretStr(token)}))
        chunks = corpus()
        vectors = unit(len(chunks))
        store.upsert(chunks, vectors)
        assert store.count() == len(chunks)
        assert store.query(vectors[1], 1)[0].chunk == chunks[1]
        assert proxy.forwarded > 0
        store.close()


# -- search health: chunks Chroma's search graph loses (chroma-core/chroma#7758) ------------------------


def clustered(rng: np.random.Generator, centres: np.ndarray, n: int) -> np.ndarray:
    """``n`` unit vectors near the given centres: HNSW loses entries of clustered data, not of uniform noise."""
    v = centres[rng.integers(0, len(centres), n)] + 0.05 * rng.standard_normal((n, centres.shape[1]))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def churn_until_lost(store: ChromaStore, seed: int = 0, n: int = 300, rounds: int = 20) -> list[str]:
    """Write, delete and rewrite clustered chunks in small groups, as re-ingests of edited records do,
    until the store has chunks a search cannot find (about one round in three does it at this size)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((5, 384))
    chunks = [chunk(i) for i in range(n)]
    for start in range(0, n, 8):
        store.upsert(chunks[start : start + 8], clustered(rng, centres, len(chunks[start : start + 8])))
    for _ in range(rounds):
        live = store.ids()
        store.delete(list(rng.choice(live, len(live) // 5, replace=False)))
        rewrite = [chunks[i] for i in rng.choice(n, n // 5, replace=False)]  # some of them just deleted
        for start in range(0, len(rewrite), 8):
            part = rewrite[start : start + 8]
            store.upsert(part, clustered(rng, centres, len(part)))
        lost = store.unfindable()
        if lost:
            return lost
    return []


def test_chunks_the_search_graph_lost_are_found_and_made_findable_again(settings: Settings) -> None:
    store = open_store(settings)
    lost = churn_until_lost(store)
    assert lost, "20 rounds of deletes and rewrites left every chunk findable"
    chunks, vectors = store.vectors(store.ids())
    before = {c.id: (c, v) for c, v in zip(chunks, vectors, strict=True)}
    for id_ in lost:  # stored, and still not returned among the 100 nearest to its own vector
        assert id_ in before
        assert id_ not in {h.chunk.id for h in store.query(before[id_][1], k=100)}

    repair = Index(settings, store=store).repair_search()
    assert repair.relinked == len(lost) and repair.unreachable == 0
    assert store.unfindable() == []
    chunks, vectors = store.vectors(store.ids())
    after = {c.id: (c, v) for c, v in zip(chunks, vectors, strict=True)}
    assert after.keys() == before.keys()
    for id_, (c, v) in after.items():
        assert c == before[id_][0] and np.allclose(v, before[id_][1])
    store.close()


def test_exact_copies_beyond_the_search_depth_are_not_reported_lost(store: ChromaStore) -> None:
    # The same text in 15 records: a search returns 10 of the copies, in any order; none of them is lost.
    same = unit(1)[0]
    store.upsert([chunk(i) for i in range(15)], np.repeat(same[None, :], 15, axis=0))
    store.upsert([chunk(i) for i in range(15, 40)], unit(25, seed=3))
    assert store.unfindable() == []


def test_rebuild_keeps_every_chunk_vector_and_the_model_record(settings: Settings) -> None:
    store = open_store(settings, embedder_name="m", dim=DIM)
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    store.delete([chunks[0].id])
    before = store.vectors(store.ids())
    reader = open_store(settings)  # another handle, open on the old collection
    reader.count()

    store.rebuild()
    after = store.vectors(store.ids())
    assert by_id(after[0]) == by_id(before[0])
    order = {c.id: i for i, c in enumerate(after[0])}
    assert np.allclose(after[1][[order[c.id] for c in before[0]]], before[1])
    assert store.embedder_info() == ("m", DIM)
    assert store.configuration()["hnsw"]["space"] == "cosine"
    assert store._client is not None
    assert not store_mod._exists(store._client, settings.collection + store_mod.OLD_SUFFIX)
    assert not store_mod._exists(store._client, settings.collection + store_mod.REBUILD_SUFFIX)
    assert reader.count() == len(chunks) - 1  # reconnects to the collection under the name
    reader.close()
    store.close()


def test_a_rebuild_killed_between_its_renames_is_put_back(settings: Settings) -> None:
    store = open_store(settings)
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    client = store._client
    assert client is not None
    name = settings.collection
    # the state a kill after the first rename leaves: the data under -old, a full copy under -rebuild
    client.get_collection(name, embedding_function=None).modify(name=name + store_mod.OLD_SUFFIX)
    client.create_collection(name + store_mod.REBUILD_SUFFIX, embedding_function=None)
    store.close()

    reader = open_store(settings)  # a reader opening the store now finds the name empty
    assert reader.count() == 0
    writer = open_store(settings)
    writer.recover()
    assert by_id(writer.get()) == by_id(chunks)
    assert writer._client is not None
    assert not store_mod._exists(writer._client, name + store_mod.OLD_SUFFIX)
    assert not store_mod._exists(writer._client, name + store_mod.REBUILD_SUFFIX)
    assert reader.count() == len(chunks)
    writer.recover()  # nothing left to do
    assert writer.count() == len(chunks)
    writer.close()
    reader.close()


def test_a_rebuild_killed_after_its_swap_drops_the_old_copy(store: ChromaStore, settings: Settings) -> None:
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    assert store._client is not None
    stale = store._client.create_collection(settings.collection + store_mod.OLD_SUFFIX, embedding_function=None)
    stale.add(ids=["x"], embeddings=[[0.0] * DIM])
    store.recover()
    assert by_id(store.get()) == by_id(chunks)
    assert not store_mod._exists(store._client, settings.collection + store_mod.OLD_SUFFIX)


def test_a_chunk_even_a_fresh_graph_misses_is_remembered_not_rebuilt_for_again(
    store: ChromaStore, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # HNSW leaves a few points of a large clustered set unreached however it is built (20k clustered vectors:
    # ~30, benchmarks/findable.py); a rebuild cannot help them, so it is paid once, not at every ingest.
    chunks = corpus()
    store.upsert(chunks, unit(len(chunks)))
    hopeless = chunks[1].id
    monkeypatch.setattr(store, "unfindable", lambda: [hopeless])
    rebuilds: list[int] = []
    real_rebuild = store.rebuild
    monkeypatch.setattr(store, "rebuild", lambda: (rebuilds.append(1), real_rebuild()))
    index = Index(settings, store=store)

    first = index.repair_search()
    assert (first.relinked, first.rebuilt, first.unreachable, len(rebuilds)) == (1, True, 1, 1)
    assert index.repair_search() == SearchRepair()  # the same chunk again: nothing re-added or rebuilt
    assert len(rebuilds) == 1
    assert by_id(store.get()) == by_id(chunks)
    monkeypatch.setattr(store, "unfindable", lambda: [hopeless, chunks[2].id])
    assert index.repair_search().relinked == 1 and len(rebuilds) == 2  # a newly lost chunk is repaired
    # after a run that only added chunks, one still lost after being added again is remembered without a rebuild
    monkeypatch.setattr(store, "unfindable", lambda: [hopeless, chunks[2].id, chunks[3].id])
    assert index.repair_search(rebuild=False) == SearchRepair(relinked=1, unreachable=1)
    assert len(rebuilds) == 2
    assert index.repair_search() == SearchRepair()
