"""irchat's tools over MCP: the app served as ``irchat serve --mcp`` does, driven by the official ``mcp`` client."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest

from rag.errors import ConfigError
from rag.settings import Settings
from tests.chroma_server import free_port
from ui.app import exposure_warning, launch_options

TOOLS = ("ask", "search", "topic_history", "check_draft", "records")
CITATION = re.compile(r"\[海天瑞声 2024-013 Q\d+\]")  # [company record Qn]


@pytest.fixture(scope="module")
def mcp_url(assistant) -> Iterator[str]:
    """``ui.app.serve(mcp=True)`` over the session's real index, on a free loopback port."""
    from ui.app import serve

    port = free_port()
    settings = assistant.settings.model_copy(update={"port": port})
    demo = serve(settings, assistant=assistant, mcp=True, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/gradio_api/mcp/"
    finally:
        demo.close()


def mcp_session(url: str, calls):
    """Open a streamable-HTTP MCP session, run ``await calls(session)``, return its result."""
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def run():
        # Answers stream back as server-sent events: a long read timeout, as the mcp client's own default.
        async with (
            httpx.AsyncClient(timeout=httpx.Timeout(60.0, read=300.0)) as http,
            streamable_http_client(url, http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await calls(session)

    # In a thread of its own: the session's Playwright (browser tests) keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(anyio.run, run).result()


def data_of(result) -> object:
    assert not result.isError, result.content
    [content] = result.content
    return json.loads(content.text)  # JSON text, not Python's repr of a dict


@pytest.mark.slow
def test_the_five_tools_are_listed_with_described_parameters(mcp_url):
    async def calls(session):
        return (await session.list_tools()).tools

    tools = {t.name: t for t in mcp_session(mcp_url, calls)}
    assert set(TOOLS) <= set(tools)
    for name in TOOLS:
        tool = tools[name]
        assert len(tool.description) > 80, name
        props = tool.inputSchema["properties"]
        assert props and all(p.get("description") for p in props.values()), (name, props)
    assert tools["ask"].inputSchema["required"] == ["question"]
    assert tools["search"].inputSchema["properties"]["k"]["type"] == "integer"


@pytest.mark.slow
def test_ask_answers_with_company_record_question_citations(mcp_url, assistant):
    from rag.serialize import answer_to_dict

    question = "海天瑞声2024年上半年境外收入增长了多少？"

    async def calls(session):
        return await session.call_tool("ask", {"question": question})

    data = data_of(mcp_session(mcp_url, calls))
    assert data == answer_to_dict(assistant.ask(question), assistant.with_company)
    assert CITATION.search(data["answer"]), data["answer"]
    cited = [c["citation"] for c in data["citations"]]
    assert cited and set(cited) <= {p["citation"] for p in data["passages"]}
    assert all(c in data["answer"] for c in cited)


@pytest.mark.slow
def test_search_records_history_and_draft_check(mcp_url):
    draft = "海天瑞声上半年境外收入同比增长45%。"

    async def calls(session):
        return [
            await session.call_tool("search", {"query": "境外收入", "k": 3, "company": "688787"}),
            await session.call_tool("records", {"company": "Hikvision"}),
            await session.call_tool("topic_history", {"question": "境外收入", "company": "688787"}),
            await session.call_tool("check_draft", {"draft": draft, "company": "海天瑞声"}),
            await session.call_tool("ask", {"question": "收入", "company": "不存在的公司"}),
        ]

    search, records, history, checked, bad = mcp_session(mcp_url, calls)
    hits = data_of(search)["hits"]
    assert len(hits) == 3 and all(h["stock_code"] == "688787" and h["citation"] for h in hits)
    rows = data_of(records)
    assert rows and {r["stock_code"] for r in rows} == {"002415"} and all(r["record"] and r["date"] for r in rows)
    groups = data_of(history)["groups"]
    assert groups and {g["company"] for g in groups} == {"海天瑞声"}
    assert "[海天瑞声 2024-013 Q1]" in {i["citation"] for g in groups for i in g["items"]}
    checked = data_of(checked)
    assert checked["counts"]["figure_differs"] == 1
    assert checked["sentences"][0]["past_figure"] == "50.00%" and checked["sentences"][0]["citation"]
    assert bad.isError and "no indexed company is called '不存在的公司'" in bad.content[0].text


def test_mcp_options_and_warnings():
    assert launch_options(Settings())["mcp_server"] is False
    assert launch_options(Settings(), mcp=True)["mcp_server"] is True
    with pytest.raises(ConfigError, match="MCP endpoint has no login"):
        launch_options(Settings(auth="ir:secret"), mcp=True)
    assert exposure_warning(Settings(host="127.0.0.1"), mcp=True) is None
    warning = exposure_warning(Settings(host="0.0.0.0", auth="ir:secret"), mcp=True)
    assert warning and "MCP endpoint" in warning


def test_every_tool_parameter_is_documented_for_agents(tmp_path: Path):
    from gradio.utils import get_function_description

    from rag.assistant import Assistant
    from rag.index import Index
    from tests.fakes import HashEmbedder
    from ui.mcp_tools import Tools

    tools = Tools(Assistant(index=Index(Settings(data_dir=tmp_path), embedder=HashEmbedder())))
    assert [f.__name__ for f in tools.functions()] == list(TOOLS)
    for fn in tools.functions():
        description, parameters, returns = get_function_description(fn)
        assert description and returns, fn.__name__
        assert all(parameters.values()), (fn.__name__, parameters)


def test_serve_help_documents_mcp():
    from typer.testing import CliRunner

    from ui import cli

    result = CliRunner().invoke(cli.app, ["serve", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "--mcp" in result.output and "/gradio_api/mcp/" in result.output


def test_serve_mcp_with_a_password_is_refused(monkeypatch, tmp_path: Path):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setenv("IRCHAT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IRCHAT_AUTH", "ir:secret")
    result = CliRunner().invoke(cli.app, ["serve", "--mcp", "--port", str(free_port())])
    assert result.exit_code == 2 and "MCP endpoint has no login" in " ".join(result.output.split())
