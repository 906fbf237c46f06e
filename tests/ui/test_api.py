"""The chat through Gradio's API (gradio_client), as evaluation scripts call it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_ask_endpoint_returns_the_cli_json_with_valid_citations(app_url, assistant):
    from gradio_client import Client

    from rag.serialize import answer_to_dict

    client = Client(app_url, verbose=False)
    assert "/ask" in client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    question = "海康威视2025年一季度营业收入是多少？"
    data = client.predict(question=question, api_name="/ask")
    expected = answer_to_dict(assistant.ask(question), assistant.with_company)
    assert set(data) == set(expected)
    assert data["question"] == question and data["lang"] == "zh" and data["mode"] == "extractive"
    assert data["answer"] == expected["answer"]
    cited = [c["citation"] for c in data["citations"]]
    assert cited and cited == [c["citation"] for c in expected["citations"]]
    # Every citation is one of the passages returned with it, and names the company asked about.
    passages = {p["citation"] for p in data["passages"]}
    assert set(cited) <= passages
    assert all(c["company"] == "海康威视" for c in data["citations"])


def test_ask_endpoint_filters_and_history(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    data = client.predict(question="毛利率", company="688787", record="2024-013", api_name="/ask")
    assert data["passages"] and {p["record"] for p in data["passages"]} == {"2024-013"}
    follow = client.predict(
        question="那境外收入呢？",
        history=[
            {"role": "user", "content": "海天瑞声上半年毛利率是多少？"},
            {"role": "assistant", "content": data["answer"]},
        ],
        api_name="/ask",
    )
    assert follow["passages"] and all(p["stock_code"] == "688787" for p in follow["passages"])


def test_bad_filter_is_a_clear_error(app_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="no indexed company"):
        client.predict(question="收入", company="不存在的公司", api_name="/ask")
