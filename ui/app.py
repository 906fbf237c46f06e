"""The Gradio app: investor chat with clickable citations, IR rehearsal, and the records browser.

``build_app(assistant)`` makes the Blocks; ``serve(settings)`` launches it the way ``irchat serve`` does.
The chat is also an API endpoint, ``/ask``, returning the same JSON as ``irchat ask --json``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answering.question import analyse
from rag.assistant import Assistant
from rag.catalog import Catalog
from rag.errors import ConfigError, IrchatError
from rag.settings import Settings
from rag.types import Answer, Chunk
from ui import render
from ui.mcp_tools import Tools, json_text_results

log = logging.getLogger(__name__)

ALL = ""
UPLOAD_TYPES = (".txt", ".docx", ".pdf")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}

EXAMPLES = [
    "海天瑞声2024年上半年境外收入增长了多少？",
    "海康威视2025年一季度的经营情况怎么样？",
    "美的如何应对美国加征关税？",
    "How fast did Haitian Ruisheng's overseas revenue grow in H1 2024?",
    "What did Hikvision say about its innovative businesses in 2024?",
]

# Event delegation: chips are rendered inside chat messages and record views, so one capturing listener
# on the document turns a click on any of them into a change of the hidden "cite-key" box.
CLICK_JS = """
<script>
document.addEventListener('click', (event) => {
  const chip = event.target.closest ? event.target.closest('a.cite-chip') : null;
  const href = chip ? chip.getAttribute('href') || '' : '';
  if (!href.startsWith('#cite:')) return;
  event.preventDefault();
  event.stopPropagation();
  const box = document.querySelector('#cite-key textarea, #cite-key input');
  if (!box) return;
  box.value = decodeURIComponent(href.slice(6)) + '\\u241F' + Date.now();
  box.dispatchEvent(new Event('input', {bubbles: true}));
  const panel = document.querySelector('#passage');
  if (panel && window.innerWidth < 900) panel.scrollIntoView({behavior: 'smooth'});
}, true);
</script>
"""

CSS = """
.gradio-container {max-width: 1280px !important; margin: auto;}
.cite-chip {display:inline-block; padding:0 .45em; margin:0 .1em; border-radius:.7em; font-size:.85em;
  background:#e0ecff; color:#1d4ed8 !important; text-decoration:none !important; cursor:pointer; white-space:nowrap;}
.cite-chip:hover {background:#c7dbff;}
.cite-tag {display:inline-block; padding:0 .45em; border-radius:.7em; font-size:.85em; background:#eef2f7;
  white-space:nowrap;}
.passage {line-height:1.7; font-size:.95em;}
.passage.empty {color:#6b7280; padding:1em;}
.pcite {font-weight:600; font-size:1.05em; margin-bottom:.3em;}
.pmeta {display:flex; flex-wrap:wrap; gap:.35em; margin-bottom:.6em;}
.pmeta span {background:#f3f4f6; border-radius:.4em; padding:0 .45em; font-size:.85em;}
.pq {margin:.4em 0 .6em; color:#111827;}
mark.cited {background:#fde68a; padding:0 .1em;}
.mode-badge {font-size:.9em; color:#374151;}
.status-supported {border-left:4px solid #16a34a;}
.status-figure_differs {border-left:4px solid #dc2626;}
.status-never_said {border-left:4px solid #d97706;}
.check {padding:.4em .7em; margin:.4em 0; background:#fafafa; border-radius:.3em;}
.check .label {font-weight:600; margin-right:.4em;}
.history-group {margin:.6em 0 1em;}
.history-group h4 {margin:.2em 0;}
.history-item {margin:.3em 0 .6em 1em; line-height:1.6;}
.ingest .err {color:#b91c1c;}
.ingest .warn {color:#b45309;}
.rmeta th {text-align:left; padding-right:1em;}
.pair h4 {margin:.8em 0 .2em;}
@media (max-width: 640px) {
  .gradio-container, .gradio-container .main, .gradio-container .wrap {padding-left: 6px !important;
    padding-right: 6px !important;}
}
"""


@dataclass
class Cited:
    """What the passage panel needs to open a citation: where it is, and the answer's claims it backs."""

    record_key: str
    question: int | None
    kind: str
    claims: list[str] = field(default_factory=list)


def _theme() -> gr.themes.Base:
    # System fonts only: the default theme loads Google Fonts, which an offline machine cannot reach.
    fonts = ["system-ui", "-apple-system", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "sans-serif"]
    return gr.themes.Soft(primary_hue="blue", font=fonts, font_mono=["ui-monospace", "monospace"])


def _split_key(value: str | None) -> str:
    return (value or "").split("\u241f", 1)[0]


class ChatApp:
    """The handlers behind the Blocks, kept apart from layout so they can be called and tested directly."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self.catalog = Catalog(assistant.index, lambda: assistant.with_company)

    # -- filters -------------------------------------------------------------------------------------

    def company_choices(self, records: list[Chunk] | None = None) -> list[tuple[str, str]]:
        """(label, value) pairs for the company filter: every indexed company, by stock code."""
        seen: dict[str, str] = {}
        for c in self.catalog.records() if records is None else records:
            code = c.stock_code or c.company
            seen.setdefault(code, f"{c.short_name or c.company} ({c.stock_code})" if c.stock_code else c.company)
        return [("All companies 全部公司", ALL), *sorted(((v, k) for k, v in seen.items()), key=lambda t: t[1])]

    def record_choices(self, records: list[Chunk] | None = None) -> list[tuple[str, str]]:
        """(label, value) pairs for the record filter; the value is the record key (company/record)."""
        rows = [("All records 全部记录", ALL)]
        for c in self.catalog.records() if records is None else records:
            rows.append((f"{c.short_name or c.company} {c.record} ({c.date})", c.record_key))
        return rows

    def filters(self, company: str | None, record: str | None, date_from: str | None, date_to: str | None) -> dict:
        """The retriever's filter dict from the UI's controls."""
        out: dict[str, Any] = {}
        if record:
            code, _, number = record.partition("/")
            out["company"], out["record"] = code, number
        elif company:
            out["company"] = company
        if date_from and date_from.strip():
            out["date_from"] = date_from.strip()
        if date_to and date_to.strip():
            out["date_to"] = date_to.strip()
        return out

    # -- chat ----------------------------------------------------------------------------------------

    def mode_text(self) -> str:
        """A line saying how answers are made."""
        if self.assistant.mode == "llm":
            return f"**Mode: LLM** (`{self.settings.llm_model}`), every claim cited and checked against the passages."
        return "**Mode: extractive** (no LLM configured): answers quote the records, each sentence cited."

    def cited_map(self, answer: Answer) -> dict[str, Cited]:
        """Citation key → how to open it, for every passage the answer cites (and a refusal's closest passage)."""
        with_company = self.assistant.with_company
        keys = {c.key(with_company) for c in answer.citations}
        segments = render.cited_segments(answer.text, keys)
        if answer.closest is not None:  # opened to read, backing no claim: nothing in it is highlighted
            keys.add(answer.closest.key(with_company))
        out: dict[str, Cited] = {}
        for hit in answer.passages:
            c = hit.chunk
            key = c.citation.key(with_company)
            if key in keys and key not in out:
                out[key] = Cited(c.record_key, c.question, c.kind, segments.get(key, []))
        return out

    def respond(
        self,
        message: str,
        chat: list[dict[str, Any]] | None,
        history: list[dict[str, str]] | None,
        cited: dict[str, Cited] | None,
        company: str | None = None,
        record: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one turn: the chat so far, the plain-text history, the citation map, the sources list."""
        chat = list(chat or [])
        history = list(history or [])
        cited = dict(cited or {})
        question = (message or "").strip()
        if not question:
            yield "", chat, history, cited, gr.update()
            return
        chat.append({"role": "user", "content": render.escape(question)})
        chat.append({"role": "assistant", "content": "…"})
        yield "", chat, history, cited, gr.update()
        try:
            filters = self.filters(company, record, date_from, date_to)
            answer: Answer | None = None
            text = ""
            for part in self.assistant.stream(question, history=history, filters=filters):
                if isinstance(part, Answer):
                    answer = part
                else:
                    text += part
                    chat[-1] = {"role": "assistant", "content": render.escape(text)}
                    yield "", chat, history, cited, gr.update()
        except (IrchatError, ValueError) as e:
            chat[-1] = {"role": "assistant", "content": render.error_html(str(e))}
            yield "", chat, history, cited, gr.update()
            return
        if answer is None:  # the assistant always ends a stream with its Answer; say so if it did not
            chat[-1] = {"role": "assistant", "content": render.error_html("no answer came back; please ask again")}
            yield "", chat, history, cited, gr.update()
            return
        answer.question = question
        new = self.cited_map(answer)
        cited.update(new)
        body = render.answer_html(answer.text, new)
        if answer.reason != "answered":
            # a refusal says why in its text; the verdict beside it is what scripts and the tests read
            body += f'<div class="reason" data-reason="{render.escape(answer.reason)}"></div>'
        if answer.notice:
            body += f'<div class="notice">⚠ {render.escape(answer.notice)}</div>'
        chat[-1] = {"role": "assistant", "content": body}
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
        sources = gr.update(choices=list(cited), value=None)
        yield "", chat, history, cited, sources

    def show(self, key: str | None, cited: dict[str, Cited] | None) -> str:
        """The passage panel for a clicked chip or a chosen source."""
        key = _split_key(key)
        if not key:
            return render.PASSAGE_PLACEHOLDER
        where = (cited or {}).get(key)
        if where is None:
            return render.error_html(f"{key} is not a passage of this conversation")
        passage = self.catalog.passage(where.record_key, where.question, where.kind)
        if passage is None:
            return render.error_html(f"{key} is no longer in the index")
        return render.passage_html(passage, where.claims)

    # -- records -------------------------------------------------------------------------------------

    def records_table(self, records: list[Chunk] | None = None) -> list[list[str]]:
        """Rows of the records table (from ``records`` when already read, else from the store)."""
        return [
            [
                c.short_name or c.company,
                c.stock_code,
                c.record,
                c.date if c.date == c.date_end or not c.date_end else f"{c.date} – {c.date_end}",
                c.activity_type,
                str(c.n_pairs),
            ]
            for c in (self.catalog.records() if records is None else records)
        ]

    def refreshed(self) -> tuple[Any, ...]:
        """After an upload: records table, record picker, company and record filters, from one read of the store."""
        records = self.catalog.records()
        choices = self.record_choices(records)
        return (
            self.records_table(records),
            gr.update(choices=choices[1:]),
            gr.update(choices=self.company_choices(records)),
            gr.update(choices=choices),
        )

    def view_record(self, record_key: str | None) -> str:
        """A whole record."""
        if not record_key:
            return '<div class="passage empty">Choose a record to read it whole. 选择一份记录查看全文。</div>'
        view = self.catalog.record(record_key)
        return render.record_html(view) if view else render.error_html(f"{record_key} is not indexed")

    def upload(self, files: list[str] | str | None, company: str | None) -> str:
        """Ingest uploaded record files from a private temporary copy; errors are shown as the CLI shows them."""
        from ingest.pipeline import Ingestor

        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            return render.error_html("choose a .txt, .docx or .pdf record file first")
        limit = self.settings.max_upload_mb * 1024 * 1024
        errors: list[dict[str, str]] = []
        with tempfile.TemporaryDirectory(prefix="irchat-upload-") as tmp:
            staged: list[Path] = []
            for p in paths:
                src = Path(p)
                # Gradio keeps the browser's file name; only its last part is used, so no typed path
                # reaches the filesystem beyond our temporary folder.
                name = src.name
                if src.suffix.lower() not in UPLOAD_TYPES:
                    errors.append({"file": name, "error": f"not a record file (expected {', '.join(UPLOAD_TYPES)})"})
                    continue
                try:
                    size = src.stat().st_size
                except OSError as e:  # e.g. a symlink loop: say so, and go on with the rest
                    errors.append({"file": name, "error": f"cannot read the file ({e.strerror or e})"})
                    continue
                if size > limit:
                    errors.append(
                        {
                            "file": name,
                            "error": f"{size / 1048576:.1f} MB is over the upload limit of "
                            f"{self.settings.max_upload_mb:g} MB (IRCHAT_MAX_UPLOAD_MB)",
                        }
                    )
                    continue
                dest = Path(tmp) / "uploads" / name
                dest.parent.mkdir(exist_ok=True)
                shutil.copyfile(src, dest)
                staged.append(dest)
            report: dict[str, Any] = {"files": 0, "errors": []}
            if staged:
                try:
                    report = Ingestor(self.assistant.index).ingest(staged, company=(company or "").strip() or None)
                    report = report.to_dict()
                except IrchatError as e:
                    return render.error_html(str(e))
            for e in report.get("errors", []):
                e["file"] = Path(e["file"]).name
            for w in report.get("warnings", []):
                w["file"] = Path(w["file"]).name
            report["errors"] = errors + list(report.get("errors", []))
            report["files"] = report.get("files", 0) + len(errors)
        return render.ingest_html(report)


def build_app(assistant: Assistant | None = None, settings: Settings | None = None) -> gr.Blocks:
    """The three-tab app over ``assistant`` (built from ``settings`` or the environment when not given)."""
    assistant = assistant or Assistant(settings)
    app = ChatApp(assistant)
    from ui.rehearsal_tab import RehearsalTab

    with gr.Blocks(title="irchat — investor-relations Q&A", analytics_enabled=False) as demo:
        gr.Markdown("## irchat · 投资者关系问答\nCited answers from listed companies' investor-relations records.")
        gr.Markdown(app.mode_text(), elem_classes="mode-badge", elem_id="mode")
        cited = gr.State({})
        history = gr.State([])
        with gr.Tab("Ask 提问", id="ask"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320):
                    chat = gr.Chatbot(
                        elem_id="chat",
                        height=520,
                        label="Chat",
                        sanitize_html=True,
                        buttons=["copy"],
                        feedback_options=None,
                        placeholder="Ask about the indexed companies, in Chinese or English. 中英文提问均可。",
                    )
                    with gr.Row():
                        box = gr.Textbox(
                            elem_id="question",
                            show_label=False,
                            placeholder="e.g. 海天瑞声上半年毛利率是多少？ / What was Hikvision's Q1 revenue?",
                            scale=5,
                            lines=1,
                            max_lines=4,
                            submit_btn=False,
                        )
                        send = gr.Button("Send 发送", variant="primary", elem_id="send", scale=1, min_width=90)
                    gr.Examples(EXAMPLES, inputs=box, label="Examples 示例")
                    with gr.Accordion("Filters 筛选", open=False, elem_id="filters"):
                        with gr.Row():
                            company = gr.Dropdown(app.company_choices(), value=ALL, label="Company 公司")
                            record = gr.Dropdown(app.record_choices(), value=ALL, label="Record 记录")
                        with gr.Row():
                            date_from = gr.Textbox(label="From 起始日期", placeholder="YYYY-MM-DD")
                            date_to = gr.Textbox(label="To 截止日期", placeholder="YYYY-MM-DD")
                    clear = gr.Button("New conversation 新对话", size="sm")
                with gr.Column(scale=2, min_width=300):
                    gr.Markdown("### Cited passage 引用原文")
                    passage = gr.HTML(render.PASSAGE_PLACEHOLDER, elem_id="passage")
                    sources = gr.Radio([], label="Sources of this conversation 本次对话的引用", elem_id="sources")
            cite_key = gr.Textbox(elem_id="cite-key", visible="hidden")

        inputs = [box, chat, history, cited, company, record, date_from, date_to]
        outputs = [box, chat, history, cited, sources]
        for trigger in (box.submit, send.click):
            trigger(app.respond, inputs, outputs, api_visibility="private", concurrency_limit=2)
        cite_key.change(app.show, [cite_key, cited], passage, api_visibility="private")
        sources.select(app.show, [sources, cited], passage, api_visibility="private")
        clear.click(
            lambda: ([], [], {}, gr.update(choices=[], value=None), render.PASSAGE_PLACEHOLDER),
            None,
            [chat, history, cited, sources, passage],
            api_visibility="private",
        )

        with gr.Tab("Rehearse 演练", id="rehearsal"):
            RehearsalTab(assistant, company_choices=app.company_choices()).render()

        with gr.Tab("Records 记录", id="records"):
            table = gr.Dataframe(
                app.records_table(),
                headers=["company 公司", "code 代码", "record 编号", "dates 日期", "type 类别", "pairs 问答"],
                interactive=False,
                elem_id="records-table",
                wrap=True,
            )
            pick = gr.Dropdown(
                app.record_choices()[1:], value=None, label="Read a record 查看记录", elem_id="record-pick"
            )
            whole = gr.HTML(app.view_record(None), elem_id="record-view")
            pick.change(app.view_record, pick, whole, api_visibility="private")
            gr.Markdown(
                f"### Add records 添加记录\n`.txt`, `.docx` or `.pdf`, at most {app.settings.max_upload_mb:g} MB "
                "each. Re-adding a record that is already indexed changes nothing."
            )
            with gr.Row():
                files = gr.File(
                    file_types=list(UPLOAD_TYPES), file_count="multiple", label="Record files", elem_id="upload"
                )
                upload_company = gr.Textbox(label="Company 公司 (only if the record does not print it)")
            add = gr.Button("Add to index 加入索引", elem_id="add")
            status = gr.HTML(elem_id="ingest-status")
            add.click(app.upload, [files, upload_company], status, api_visibility="private").then(
                app.refreshed, None, [table, pick, company, record], api_visibility="private"
            )

        # The API, and with `irchat serve --mcp` the MCP tools: /ask, /search, /topic_history, /check_draft, /records.
        for fn in Tools(assistant).functions():
            gr.api(fn, api_name=fn.__name__)
    return demo


def launch_options(settings: Settings, *, mcp: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: bind address, port, auth, upload limit, look, MCP server."""
    auth = None
    if mcp and settings.auth is not None:
        # Gradio's login does not cover its MCP endpoint, and queued tool calls loop back through a client
        # that has no password: refuse rather than serve tools that fail or bypass the login.
        raise ConfigError(
            "--mcp cannot be used with IRCHAT_AUTH: Gradio's MCP endpoint has no login. Serve MCP on 127.0.0.1 "
            "without IRCHAT_AUTH, or put an authenticating reverse proxy in front of it"
        )
    if settings.auth is not None:
        user, sep, password = settings.auth.get_secret_value().partition(":")
        if not sep or not user:
            raise ConfigError("IRCHAT_AUTH must be 'user:password'")
        auth = (user, password)
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": auth,
        "max_file_size": f"{settings.max_upload_mb:g}mb",
        "theme": _theme(),
        "css": CSS,
        "head": CLICK_JS,
        "show_error": True,
        "share": False,
        "mcp_server": mcp,
    }


def exposure_warning(settings: Settings, *, mcp: bool = False) -> str | None:
    """A warning when the app would be reachable beyond this machine without a password."""
    if settings.host in LOOPBACK:
        return None
    if mcp:
        return (
            f"IRCHAT_HOST={settings.host} makes the MCP endpoint reachable from other machines, and it has no "
            "login: anyone who can reach it can read the index. Bind 127.0.0.1, or put an authenticating proxy "
            "in front."
        )
    if settings.auth is not None:
        return None
    return (
        f"IRCHAT_HOST={settings.host} makes the app reachable from other machines and IRCHAT_AUTH is not set: "
        "anyone who can reach it can read the index and add records. Set IRCHAT_AUTH=user:password."
    )


WARM_UP_QUESTIONS = ("营业收入同比增长多少？", "How much did revenue grow?")


def warm_up(assistant: Assistant) -> None:
    """Load everything a question needs (embedding model, store, BM25 index, jieba, glossary, answer model) by
    answering two questions extractively, so the first real question is as fast as the tenth. Never calls an LLM."""
    for question in WARM_UP_QUESTIONS:
        query = assistant.retriever.prepare(question)
        hits = assistant.retriever.search_prepared(query, assistant.k)
        assistant.extractive.answer(query.question or analyse(question), hits)


def serve(
    settings: Settings | None = None,
    *,
    warn: bool = True,
    mcp: bool = False,
    assistant: Assistant | None = None,
    ready: Callable[[], None] | None = None,
    **launch: Any,
) -> gr.Blocks:
    """Build and launch the app on ``IRCHAT_HOST:IRCHAT_PORT`` (with ``mcp``, its tools at /gradio_api/mcp/ too)
    over ``assistant`` (default: one built from ``settings``), once it is warmed up (``ready`` is called when it
    listens); blocks unless ``prevent_thread_lock=True``."""
    settings = settings or (assistant.settings if assistant else Settings())
    options = {**launch_options(settings, mcp=mcp), **launch}
    warning = exposure_warning(settings, mcp=mcp)
    if warning and warn:
        log.warning(warning)
    assistant = assistant or Assistant(settings)
    warm_up(assistant)
    demo = build_app(assistant)
    demo.queue(default_concurrency_limit=2)
    # Launched without blocking so the MCP server can be adjusted before the first call, then blocked on.
    demo.launch(**{**options, "prevent_thread_lock": True})
    if mcp:
        json_text_results(demo)
    if ready is not None:
        ready()
    if not launch.get("prevent_thread_lock"):
        demo.block_thread()
    return demo
