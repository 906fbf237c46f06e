"""The IR rehearsal tab: every past answer on a topic, newest first, and a rule-based check of a draft answer."""

from __future__ import annotations

from html import escape
from typing import Any

import gradio as gr

from rag.assistant import Assistant
from rag.errors import IrchatError
from rag.rehearsal import Rehearsal
from ui import render

STATUS = {
    "supported": ("✔ supported 有据可查", "supported"),
    "figure_differs": ("✖ figure differs 数字不一致", "figure_differs"),
    "never_said": ("？ never said before 未曾表述", "never_said"),
}


def history_html(groups: list[dict[str, Any]]) -> str:
    """Past answers grouped by record, newest record first."""
    if not groups:
        return '<div class="passage empty">No past answer on this topic. 未找到相关的历史回答。</div>'
    out = []
    for g in groups:
        items = []
        for h in g["items"]:
            q = f"<b>Q{h['question']}</b> {escape(h['question_text'])}<br>" if h.get("question_text") else ""
            items.append(
                f'<div class="history-item">{render.tag(h["citation"])} {q}{escape(h["text"]).replace(chr(10), "<br>")}'
                "</div>"
            )
        dates = g["date"] if not g.get("date_end") or g["date_end"] == g["date"] else f"{g['date']} – {g['date_end']}"
        out.append(
            f'<div class="history-group"><h4>{escape(g["company"])} · {escape(g["record"])} · {escape(dates)}</h4>'
            f"{''.join(items)}</div>"
        )
    return "".join(out)


def check_html(result: dict[str, Any]) -> str:
    """Each sentence of the draft with its verdict and the past statement behind it."""
    rows = []
    for s in result["sentences"]:
        label, cls = STATUS.get(s["status"], (s["status"], s["status"]))
        detail = ""
        if s.get("citation"):
            detail += " " + render.tag(s["citation"])
        if s["status"] == "figure_differs":
            detail += (
                f'<div class="note">draft 草稿: <b>{escape(str(s.get("draft_figure") or ""))}</b> · '
                f"before 此前: <b>{escape(str(s.get('past_figure') or ''))}</b></div>"
            )
        if s.get("past_text"):
            detail += f'<div class="past">{escape(s["past_text"])}</div>'
        if s.get("note"):
            detail += f'<div class="note">{escape(s["note"])}</div>'
        rows.append(
            f'<div class="check status-{cls}" data-status="{cls}"><span class="label">{label}</span>'
            f'<span class="sentence">{escape(s["sentence"])}</span>{detail}</div>'
        )
    return "".join(rows) or '<div class="passage empty">Paste a draft answer to check it. 粘贴草稿答复进行核对。</div>'


class RehearsalTab:
    """Topic history and draft check for the company's IR team."""

    def __init__(self, assistant: Assistant, company_choices: list[tuple[str, str]]):
        self.rehearsal = Rehearsal(assistant)
        self.company_choices = company_choices

    def _filters(self, company: str | None) -> dict[str, Any]:
        return {"company": company} if company else {}

    def history(self, topic: str, company: str | None) -> str:
        """Rendered topic history."""
        if not (topic or "").strip():
            return history_html([])
        try:
            groups = self.rehearsal.topic_history(topic.strip(), self._filters(company))
        except (IrchatError, ValueError) as e:
            return render.error_html(str(e))
        return history_html([g.to_dict() for g in groups])

    def check(self, draft: str, company: str | None) -> str:
        """Rendered draft check."""
        if not (draft or "").strip():
            return check_html({"sentences": []})
        try:
            result = self.rehearsal.check_draft(draft, self._filters(company))
        except (IrchatError, ValueError) as e:
            return render.error_html(str(e))
        return check_html(result.to_dict())

    def render(self) -> None:
        """Lay the tab out inside the current Blocks context."""
        company = gr.Dropdown(self.company_choices, value="", label="Company 公司", elem_id="rehearsal-company")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=320):
                gr.Markdown("### Topic history 历史口径\nEvery past answer on the topic, newest record first.")
                topic = gr.Textbox(
                    label="Likely question 预期问题",
                    elem_id="topic",
                    placeholder="e.g. 境外收入增长 / overseas revenue",
                )
                find = gr.Button("Show past answers 查看历史回答", elem_id="topic-go")
                past = gr.HTML(elem_id="topic-history")
            with gr.Column(min_width=320):
                gr.Markdown(
                    "### Draft check 草稿核对\nEach sentence is marked supported, figure differs, or never said before."
                )
                draft = gr.Textbox(label="Draft answer 草稿答复", lines=6, elem_id="draft")
                check = gr.Button("Check draft 核对", elem_id="draft-go")
                verdicts = gr.HTML(elem_id="draft-result")
        # The API's /topic_history and /check_draft (ui/mcp_tools.py) return JSON; these HTML views are the UI's.
        gr.on([topic.submit, find.click], self.history, [topic, company], past, api_visibility="private")
        check.click(self.check, [draft, company], verdicts, api_visibility="private")
