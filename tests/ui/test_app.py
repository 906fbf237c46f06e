"""The app's handlers and HTML without a browser: uploads, filters, escaping, highlighting, access settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.catalog import Passage
from rag.errors import ConfigError
from rag.index import Index
from rag.settings import Settings
from tests.chroma_server import free_port
from tests.fakes import HashEmbedder
from ui import render
from ui.app import ChatApp, exposure_warning, launch_options

ROOT = Path(__file__).resolve().parents[2]
HAITIAN = ROOT / "data" / "records" / "haitian-688787"


@pytest.fixture
def chat_app(tmp_path: Path) -> ChatApp:
    from rag.assistant import Assistant

    index = Index(Settings(data_dir=tmp_path / "data", max_upload_mb=1), embedder=HashEmbedder())
    return ChatApp(Assistant(index=index))


def test_upload_indexes_a_good_file_and_reports_bad_ones(chat_app: ChatApp, tmp_path: Path):
    good = sorted(HAITIAN.glob("*.txt"))[0]
    empty = tmp_path / "空 的.txt"
    empty.write_bytes(b"")
    wrong = tmp_path / "notes.xlsx"
    wrong.write_bytes(b"PK\x03\x04")
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10))
    html = chat_app.upload([str(good), str(empty), str(wrong), str(big)], "")
    assert "空 的.txt: empty file" in html
    assert "notes.xlsx: not a record file" in html
    assert "big.pdf: 1.0 MB is over the upload limit of 1 MB" in html
    assert "4 files, 1 records" in html
    # Messages name the uploaded file, never the private temporary copy.
    assert "irchat-upload-" not in html
    store = chat_app.assistant.index.store
    n = store.count()
    assert n > 0 and [r.record for r in chat_app.catalog.records()] != []
    # The same file again changes nothing.
    again = chat_app.upload([str(good)], "")
    assert "0 added" in again and store.count() == n


def test_refresh_after_an_upload_reads_the_records_once(chat_app: ChatApp, monkeypatch: pytest.MonkeyPatch):
    chat_app.upload([str(sorted(HAITIAN.glob("*.txt"))[0])], "")
    expected = (chat_app.records_table(), chat_app.record_choices(), chat_app.company_choices())
    read = chat_app.catalog.records
    calls: list[int] = []
    monkeypatch.setattr(chat_app.catalog, "records", lambda: calls.append(1) or read())
    table, pick, company, record = chat_app.refreshed()
    assert len(calls) == 1
    assert (table, record["choices"], company["choices"]) == expected and pick["choices"] == expected[1][1:]


def test_passages_name_the_company_when_the_assistant_does(chat_app: ChatApp, monkeypatch: pytest.MonkeyPatch):
    from rag.assistant import Assistant

    chat_app.upload([str(sorted(HAITIAN.glob("*.txt"))[0])], "")
    rec = chat_app.catalog.records()[0]
    name = rec.short_name or rec.company
    assert chat_app.catalog.passage(rec.record_key, 1).citation == f"[{rec.record} Q1]"
    monkeypatch.setattr(Assistant, "with_company", property(lambda self: True))
    assert chat_app.catalog.passage(rec.record_key, 1).citation == f"[{name} {rec.record} Q1]"
    view = chat_app.catalog.record(rec.record_key)
    assert view is not None and all(p.citation.startswith(f"[{name} ") for p in view.passages)


def test_upload_with_nothing_chosen_says_so(chat_app: ChatApp):
    assert "choose a .txt, .docx or .pdf" in chat_app.upload(None, None)


def test_filters_from_controls(chat_app: ChatApp):
    assert chat_app.filters("002415", "", " 2024-01-01 ", "") == {"company": "002415", "date_from": "2024-01-01"}
    assert chat_app.filters("", "688787/2024-013", None, None) == {"company": "688787", "record": "2024-013"}
    assert chat_app.filters("", "", "", "") == {}


def test_answer_html_makes_chips_of_valid_citations_only_and_escapes_record_text():
    text = "收入增长<script>alert(1)</script>50.00%。[2024-013 Q1] 又见[2099-1 Q9]"
    html = render.answer_html(text, ["[2024-013 Q1]"])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count('class="cite-chip"') == 1
    assert 'href="#cite:%5B2024-013%20Q1%5D"' in html
    assert "[2099-1 Q9]" in html  # an unknown key stays text, not a link


def test_cited_sentences_are_highlighted_in_the_passage():
    answer = "公司境外业务收入同比增长50.00%，拉动整体营业收入快速增长。[2024-013 Q1]"
    claims = render.cited_segments(answer, ["[2024-013 Q1]"])["[2024-013 Q1]"]
    p = Passage(
        "[2024-013 Q1]",
        "海天瑞声",
        "688787",
        "2024-013",
        1,
        "qa",
        "2024-09-04",
        "",
        "分析师会议",
        "上半年收入增长的驱动因素？",
        "受益于多模态大模型的发展。公司境外业务收入同比增长50.00%，拉动整体营业收入快速增长。其他无关内容。",
    )
    html = render.passage_html(p, claims)
    assert html.count("<mark") == 1
    assert '<mark class="cited">公司境外业务收入同比增长50.00%' in html
    assert "其他无关内容" in html and "2024-013" in html and "分析师会议" in html


def test_a_refusals_closest_passage_opens_with_nothing_highlighted(chat_app: ChatApp):
    from rag.types import Answer, Hit
    from tests.fakes import qa_chunk

    near = qa_chunk(2, "海外渠道建设稳步推进。")
    other = qa_chunk(3, "分红政策不变。")
    passages = [Hit(near, 0.03), Hit(other, 0.02)]
    text = "The indexed records do not cover this question.\nThe closest passage found: [2024-005 Q2]"
    refusal = Answer("q", text, "en", "extractive", [], passages, reason="low_confidence", closest=near.citation)
    cited = chat_app.cited_map(refusal)
    assert list(cited) == ["[2024-005 Q2]"] and cited["[2024-005 Q2]"].claims == []
    assert render.answer_html(text, cited).count('class="cite-chip"') == 1
    assert chat_app.cited_map(Answer("q", text, "en", "extractive", [], passages, reason="low_confidence")) == {}


def test_a_refused_question_opens_its_closest_passage_from_the_chat(real_index, real_settings):
    from rag.answering.selection import POINTING
    from rag.assistant import Assistant

    # a threshold no passage reaches makes the real model refuse an answerable question of our own
    strict = Assistant(real_settings.model_copy(update={"answer_threshold": 0.99}), index=real_index)
    app = ChatApp(strict)
    *_, (_, chat, _, cited, _) = app.respond("2024年上半年海天瑞声境外业务收入增长了多少？", [], [], {})
    answer = strict.ask("2024年上半年海天瑞声境外业务收入增长了多少？")
    assert answer.reason in POINTING and not answer.citations and answer.closest is not None
    key = answer.closest.key(strict.with_company)
    assert list(cited) == [key] and 'class="cite-chip"' in chat[-1]["content"]
    panel = app.show(key, cited)
    hit = next(h for h in answer.passages if h.chunk.citation == answer.closest)
    assert hit.chunk.question_text in panel and "<mark" not in panel  # read, not highlighted as a claim


def test_exposure_warning_and_auth():
    assert exposure_warning(Settings(host="127.0.0.1")) is None
    warning = exposure_warning(Settings(host="0.0.0.0"))
    assert warning and "IRCHAT_AUTH" in warning
    assert exposure_warning(Settings(host="0.0.0.0", auth="ir:secret")) is None
    assert launch_options(Settings(auth="ir:s3:cret"))["auth"] == ("ir", "s3:cret")
    assert launch_options(Settings())["server_name"] == "127.0.0.1"
    with pytest.raises(ConfigError, match="user:password"):
        launch_options(Settings(auth="nopassword"))


@pytest.mark.slow
def test_serve_binds_where_told_and_warns_without_auth(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "IRCHAT_DATA_DIR": str(tmp_path), "IRCHAT_HOST": "0.0.0.0", "IRCHAT_PORT": str(port)}
    env.pop("IRCHAT_AUTH", None)
    if os.environ.get("IRCHAT_TEST_MODEL_DIR"):  # serve loads the model before it listens: reuse the converted one
        env["IRCHAT_MODEL_DIR"] = os.environ["IRCHAT_TEST_MODEL_DIR"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        import urllib.request

        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.5)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "IRCHAT_AUTH" in err.decode() and "0.0.0.0" in err.decode()


@pytest.mark.slow
def test_llm_mode_streams_into_the_chat_and_keeps_checked_citations(real_index, openai_stub, tmp_path: Path):
    from pydantic import SecretStr

    from rag.assistant import Assistant

    settings = real_index.settings.model_copy(
        update={"llm_base_url": openai_stub.base_url, "llm_api_key": SecretStr("sk-test"), "llm_timeout": 20.0}
    )
    app = ChatApp(Assistant(settings, index=real_index))
    assert "LLM" in app.mode_text()
    reply = "上半年整体毛利率为70.34%。[海天瑞声 2024-013 Q2] 公司还在火星开展业务。[海天瑞声 2099-1 Q1]"
    openai_stub.reply(reply)
    # Gradio sends each yielded state at once; the handler mutates its lists, so copy as we go.
    states = [(s[1][-1]["content"], dict(s[3])) for s in app.respond("海天瑞声上半年毛利率是多少？", [], [], {})]
    bot = [content for content, _ in states]
    # Text arrives in pieces before the checked answer replaces it.
    partial = [b for b in bot if b not in ("…", bot[-1])]
    assert len(partial) >= 3 and partial[0] != partial[-1]
    final = bot[-1]
    assert 'class="cite-chip"' in final and "%5B%E6%B5%B7%E5%A4%A9%E7%91%9E%E5%A3%B0%202024-013%20Q2%5D" in final
    # The citation of a passage that was not given is dropped, so it never becomes a chip.
    assert final.count('class="cite-chip"') == 1
    cited = states[-1][1]
    assert set(cited) == {"[海天瑞声 2024-013 Q2]"}
    panel = app.show("[海天瑞声 2024-013 Q2]\u241f123", cited)
    assert "70.34%" in panel and "<mark" in panel


def test_upload_of_the_bad_input_corpus(tmp_path: Path):
    """Every bad file is refused with its name and problem; the good records are indexed; nothing is lost."""
    from rag.assistant import Assistant
    from tests.fixtures.bad.make_bad import (
        DUPLICATE_FILE,
        ERROR_FILES,
        GAPS_FILE,
        INDEXED_FILES,
        SIZE_LIMIT_MB,
        build_bad_corpus,
    )

    expected = build_bad_corpus(tmp_path / "bad")
    files = sorted(p for p in (tmp_path / "bad").rglob("*") if p.is_file() or p.is_symlink())
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=SIZE_LIMIT_MB, max_file_mb=SIZE_LIMIT_MB)
    app = ChatApp(Assistant(index=Index(settings, embedder=HashEmbedder())))
    html = app.upload([str(p) for p in files], "")
    lines = {line.split("</b> ", 1)[1].split(":", 1)[0]: line for line in html.split("<li")[1:]}
    for name in ERROR_FILES & set(expected):
        assert name in lines, (name, html)
        problem = "over the upload limit" if name == "huge.txt" else expected[name]
        if name.startswith("loop-"):
            problem = "cannot read the file"
        assert problem in lines[name].lower() or problem in lines[name], (name, lines[name])
    indexed = {c.record for c in app.catalog.records()}
    assert indexed == {"2024-013", "2025-004", "2024-901", "2024-902"}, indexed
    assert "same company and record number" in lines[DUPLICATE_FILE]
    assert 'class="warn"' in lines[GAPS_FILE] and "no question 3" in lines[GAPS_FILE]
    store = app.assistant.index.store
    before = store.hashes()
    app.upload([str(p) for p in files if p.name in INDEXED_FILES], "")
    assert store.hashes() == before  # uploading the good ones again changes nothing


@pytest.mark.server
@pytest.mark.slow
def test_chroma_server_restart_during_a_session(tmp_path: Path, real_settings):
    """The store goes away mid-session: the chat says so clearly, then answers again once it is back."""
    from ingest.pipeline import Ingestor
    from rag.assistant import Assistant
    from tests.chroma_server import start_chroma_server

    server = start_chroma_server(tmp_path / "srv")
    try:
        host, port = server.address
        settings = real_settings.model_copy(
            update={"data_dir": tmp_path / "data", "chroma_path": None, "chroma_host": host, "chroma_port": port}
        )
        index = Index(settings)
        assert Ingestor(index).ingest([HAITIAN]).errors == []
        app = ChatApp(Assistant(index=index))

        def turn(question: str) -> tuple[str, dict]:
            *_, last = app.respond(question, [], [], {})
            return last[1][-1]["content"], last[3]

        body, cited = turn("海天瑞声上半年毛利率是多少？")
        assert cited and "cite-chip" in body
        server.stop()
        # (a question naming no company: one naming 海天瑞声 again is searched in the company's chunks and vectors
        # the retriever read at the first question, without the store)
        body, cited = turn("上半年境外收入是多少？")
        assert cited == {} and 'class="err"' in body and f"{host}:{port}" in body
        server.start()
        body, cited = turn("海天瑞声上半年境外收入增长了多少？")
        assert cited and "cite-chip" in body
    finally:
        server.stop()
