"""The app in a real headless Chromium: questions, citation clicks, follow-ups, draft check, bad uploads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


BOT = "#chat [data-testid='bot']"


def ask(page, question: str) -> list[str]:
    """Type a question, send it, wait for the whole answer; the citation keys of that answer's chips, each once
    (an English lead line and the quote under it cite the same passage)."""
    before = page.locator(BOT).count()
    page.fill("#question textarea", question)
    page.click("#send")
    # The answer replaces the "…" placeholder when it is complete.
    page.wait_for_function(
        """n => { const b = document.querySelectorAll("#chat [data-testid='bot']");
                  return b.length > n && b[b.length - 1].innerText.trim() !== '…'; }""",
        arg=before,
    )
    last = page.locator(BOT).last
    return list(dict.fromkeys(c.inner_text() for c in last.locator(".cite-chip").all()))


def open_chip(page, key: str) -> str:
    page.locator(BOT).last.locator(".cite-chip", has_text=key).first.click()
    page.wait_for_selector(f"#passage .passage[data-citation='{key}']")
    return page.inner_text("#passage")


def test_chinese_question_cites_and_opens_the_exact_passage(page, assistant):
    question = "2024年1-6月，海天瑞声的境外业务收入比去年同期增加了多少？"
    chips = ask(page, question)
    expected = assistant.ask(question)
    keys = [c.key(assistant.with_company) for c in expected.citations]
    assert chips and chips == keys, (chips, keys)
    assert any("2024-013" in k for k in chips)
    # Every chip opens its own record and question, with the quoted sentence highlighted.
    for hit in expected.passages:
        key = hit.chunk.citation.key(assistant.with_company)
        if key not in chips:
            continue
        panel = open_chip(page, key)
        assert hit.chunk.record in panel
        assert hit.chunk.question_text in panel
        assert page.locator("#passage mark.cited").count() >= 1
    assert "50.00%" in page.inner_text("#chat")
    shot(page, "chat-zh")


def test_english_question_gets_english_lead_and_citations(page, assistant):
    question = "How fast did Haitian Ruisheng's overseas revenue grow in the first half of 2024?"
    chips = ask(page, question)
    expected = assistant.ask(question)
    assert chips == [c.key(assistant.with_company) for c in expected.citations]
    assert chips, "an answerable English question got no citation"
    reply = page.locator(BOT).last.inner_text()
    assert "From the records (quoted in the original Chinese):" in reply, reply[:200]
    panel = open_chip(page, chips[0])
    assert chips[0] in panel
    shot(page, "chat-en")


def test_follow_up_keeps_the_company(page):
    first = ask(page, "海天瑞声上半年整体毛利率是多少？")
    assert first and all("海天瑞声" in k for k in first)
    follow = ask(page, "那境外业务收入呢？")
    assert follow, "the follow-up got no citation"
    assert all("海天瑞声" in k for k in follow), follow
    # The sources list gathers every passage cited in the conversation.
    sources = page.inner_text("#sources")
    for key in first + follow:
        assert key in sources


def test_draft_check_flags_a_wrong_figure_and_an_unsaid_claim(page):
    page.get_by_role("tab", name="Rehearse 演练").click()
    page.fill("#draft textarea", "2024年上半年，海天瑞声境外业务收入同比增长45%。公司已在火星设立数据中心。")
    page.click("#draft-go")
    page.wait_for_selector("#draft-result .check")
    differs = page.locator("#draft-result .check[data-status='figure_differs']")
    assert differs.count() == 1
    text = differs.inner_text()
    assert "45" in text and "50.00%" in text
    assert "2024-013 Q1" in text or "2024-013 Q3" in text
    never = page.locator("#draft-result .check[data-status='never_said']")
    assert never.count() == 1 and "火星" in never.inner_text()
    page.fill("#topic textarea", "境外业务收入增长")
    page.click("#topic-go")
    page.wait_for_selector("#topic-history .history-group")
    assert "2024-013" in page.inner_text("#topic-history")
    shot(page, "rehearsal")


def test_bad_upload_shows_its_error_and_leaves_the_index(page, assistant, tmp_path: Path):
    before = assistant.index.store.hashes()
    page.get_by_role("tab", name="Records 记录").click()
    page.wait_for_selector("#records-table")
    rows_before = page.locator("#records-table tbody tr").count()
    bad = tmp_path / "空白 记录.pdf"
    bad.write_bytes(b"")
    page.set_input_files("#upload input[type=file]", str(bad))
    page.wait_for_selector("#upload :text('空白 记录.pdf')")
    page.click("#add")
    page.wait_for_selector("#ingest-status .err")
    status = page.inner_text("#ingest-status")
    assert "空白 记录.pdf" in status and "empty" in status.lower(), status
    assert assistant.index.store.hashes() == before
    assert page.locator("#records-table tbody tr").count() == rows_before
    shot(page, "records")


def test_records_tab_shows_a_record_whole(page, assistant):
    page.get_by_role("tab", name="Records 记录").click()
    page.wait_for_selector("#records-table")
    table = page.inner_text("#records-table")
    for meta in assistant.index.records():
        assert meta.record in table
    page.click("#record-pick input")
    page.locator("#record-pick [role=option]", has_text="海天瑞声 2024-013").first.click()
    page.wait_for_selector("#record-view .record")
    view = page.inner_text("#record-view")
    assert "688787" in view and view.count("2024-013 Q") == 9
    assert "50.00%" in view and "70.34%" in view


def test_phone_width_layout(browser, app_url):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(app_url)
        page.wait_for_selector("#question textarea")
        chips = ask(page, "美的如何应对美国加征关税？")
        assert chips
        # Nothing wider than the screen: the page does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        shot(page, "phone")
    finally:
        context.close()
