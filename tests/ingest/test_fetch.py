"""``irchat fetch`` against a local stand-in for cninfo (tests/ingest/cninfo_stub.py) serving real record PDFs.

No test reaches the internet: every request goes to the stand-in on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ingest.cninfo import Announcement, CninfoClient, Stock, looks_like_pdf, partial_path
from ingest.fetch import MANIFEST, CompanyResult, Fetcher, is_record, safe_name
from rag.errors import FetchError
from rag.settings import Settings
from tests.ingest.cninfo_stub import CninfoStub, Item
from tests.ingest.conftest import shared_records_dir

JIANGFENG = shared_records_dir() / "jiangfeng-300666"
NOT_RECORDS = shared_records_dir().parent / "not-records" / "jiangfeng-300666"
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def stub():
    """江丰电子's five real records on the relation tab, two of its reports beside them, a correction notice and
    another company's record found by the full-text search, and a company with no announcements at all."""
    if not JIANGFENG.is_dir():
        pytest.skip(f"the real records are not at {JIANGFENG} (set IRCHAT_RECORDS_DIR)")
    s = CninfoStub(page_size=2)
    s.add_stock("300666", "江丰电子")
    s.add_stock("002415", "海康威视")
    s.add_stock("300001", "特锐德")
    records = s.add_folder(JIANGFENG, "300666")
    records[0].tabs = ("relation", "fulltext")  # listed on both tabs: fetched once
    for i, pdf in enumerate(sorted(NOT_RECORDS.glob("*.pdf"))):
        name, _, title = pdf.stem.partition("：")
        s.add(Item(f"12119000{i}", "300666", name, title, date(2021, 10, 28), pdf.read_bytes()))
    s.add(Item("1211999001", "300666", "江丰电子", "关于投资者关系活动记录表的更正公告", date(2021, 11, 10), TINY_PDF))
    s.items[-1].tabs = ("fulltext",)
    s.add(Item("1211999002", "002415", "海康威视", "2021年11月5日投资者关系活动记录表", date(2021, 11, 5), TINY_PDF))
    s.items[-1].tabs = ("fulltext",)
    s.start()
    try:
        yield s
    finally:
        s.stop()


def settings_for(stub: CninfoStub, tmp_path: Path, **overrides) -> Settings:
    values = {
        "data_dir": tmp_path / "data",
        "cninfo_base_url": stub.url,
        "cninfo_static_url": stub.url,
        "cninfo_delay": 0.0,
        "cninfo_backoff": 0.0,
        "cninfo_retries": 2,
        "cninfo_timeout": 1.0,
    }
    return Settings(**{**values, **overrides})


def fetch(stub: CninfoStub, root: Path, settings: Settings, code: str = "300666", **kw) -> CompanyResult:
    with CninfoClient(settings) as client:
        return Fetcher(client, root).fetch(code, **kw)


def originals() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in JIANGFENG.glob("*.pdf")}


def pdfs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def test_all_records_downloaded_once_named_as_cninfo_titles_them(stub, tmp_path):
    root = tmp_path / "records"
    result = fetch(stub, root, settings_for(stub, tmp_path))
    folder = root / "江丰电子-300666"
    assert result.errors == [] and result.folder == str(folder)
    # Byte for byte the filed PDFs, under the names the shared records carry (江丰电子：<title>.pdf).
    assert pdfs(folder) == originals()
    assert result.records == 5 and len(result.downloaded) == 5 and result.present == 0
    # Reports, the correction notice and the other company's record were listed but never downloaded.
    got = {r["path"] for r in stub.file_requests()}
    assert got == {i.path for i in stub.items if i.code == "300666" and "记录表" in i.title and "公告" not in i.title}
    assert result.listed == 8  # 5 records, 2 reports and the notice: the other company's is not counted
    # Both tabs were read, page after page (2 a page here), each request carrying the documented form.
    queries = [r["form"] for r in stub.requests if r["path"] == "/new/hisAnnouncement/query"]
    assert {(q["tabName"], q["pageNum"]) for q in queries} >= {("relation", "1"), ("relation", "4"), ("fulltext", "1")}
    assert all(q["stock"] == "300666,gssz0300666" and q["column"] == "szse" for q in queries)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["records"]) == {i.id for i in stub.items[:5]}


def test_a_second_run_fetches_nothing(stub, tmp_path):
    root = tmp_path / "records"
    settings = settings_for(stub, tmp_path)
    fetch(stub, root, settings)
    before = len(stub.file_requests())
    again = fetch(stub, root, settings)
    assert again.downloaded == [] and again.present == 5 and again.errors == []
    assert len(stub.file_requests()) == before


def test_an_existing_company_folder_is_reused_and_its_files_adopted(stub, tmp_path):
    root = tmp_path / "records"
    mine = root / "jiangfeng-300666"
    mine.mkdir(parents=True)
    kept = sorted(JIANGFENG.glob("*.pdf"))[:2]
    for p in kept:
        (mine / p.name).write_bytes(p.read_bytes())
    result = fetch(stub, root, settings_for(stub, tmp_path))
    assert result.folder == str(mine) and not (root / "江丰电子-300666").exists()
    assert result.present == 2 and len(result.downloaded) == 3
    assert pdfs(mine) == originals()
    assert not {p.name for p in kept} & {Path(d).name for d in result.downloaded}


def test_since_and_until_narrow_the_fetch(stub, tmp_path):
    settings = settings_for(stub, tmp_path)
    result = fetch(stub, tmp_path / "r", settings, since=date(2021, 11, 1), until=date(2021, 11, 30))
    assert sorted(Path(d).name for d in result.downloaded) == [
        "江丰电子：2021年11月5日投资者关系活动记录表.pdf",
        "江丰电子：2021年11月9日投资者关系活动记录表.pdf",
    ]
    assert {r["form"]["seDate"] for r in stub.requests if r["form"]} == {"2021-11-01~2021-11-30"}


def test_a_company_without_announcements_gets_no_folder(stub, tmp_path):
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path), code="300001")
    assert result.errors == [] and result.records == 0 and result.listed == 0
    assert not (tmp_path / "r").exists()


def test_an_unknown_code_is_a_clear_error(stub, tmp_path):
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path), code="999999")
    assert len(result.errors) == 1 and "999999 is not in cninfo's stock list" in result.errors[0].error


def test_429_5xx_and_a_timeout_are_retried(stub, tmp_path):
    target = stub.items[2]
    stub.fault("stocks", 429)
    stub.fault(("query", 2), 503)
    stub.fault(target.path, "stall")  # answers nothing: the client times out (1 s here) and tries again
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path))
    assert result.errors == [] and len(result.downloaded) == 5
    assert [r["path"] for r in stub.requests].count("/new/data/szse_stock.json") == 2
    assert [r["path"] for r in stub.file_requests()].count(target.path) == 2


def test_an_empty_page_ends_the_listing(stub, tmp_path):
    stub.fault(("query", 2), "empty", times=2)  # says more pages exist, sends none: both tabs stop there
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path))
    assert result.errors == [] and result.records == 2  # the first page's two records (newest first)


def test_retries_run_out_into_a_clear_error_and_the_rest_is_fetched(stub, tmp_path):
    target = stub.items[1]
    stub.fault(target.path, 500, times=99)
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path, cninfo_retries=1))
    assert len(result.downloaded) == 4 and len(result.errors) == 1
    failure = result.errors[0]
    assert failure.announcement == target.id and "HTTP 500" in failure.error and "2 tries" in failure.error
    folder = Path(result.folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([MANIFEST, *(Path(d).name for d in result.downloaded)])


def test_a_4xx_is_not_retried(stub, tmp_path):
    target = stub.items[0]
    stub.fault(target.path, 404)
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path))
    assert len(result.errors) == 1 and "HTTP 404" in result.errors[0].error and "not retried" in result.errors[0].error
    assert [r["path"] for r in stub.file_requests()].count(target.path) == 1


def test_an_error_page_instead_of_json_is_a_clear_error(stub, tmp_path):
    stub.fault(("query", 1), "html")
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path))
    assert result.downloaded == [] and len(result.errors) == 1
    assert "expected JSON" in result.errors[0].error and "text/html" in result.errors[0].error


def test_a_truncated_pdf_is_an_error_and_leaves_no_file(stub, tmp_path):
    root, settings = tmp_path / "r", settings_for(stub, tmp_path)
    target = stub.items[3]
    stub.fault(target.path, "truncate")
    result = fetch(stub, root, settings)
    assert len(result.errors) == 1 and "not a complete PDF" in result.errors[0].error
    folder = Path(result.folder)
    name = f"江丰电子：{target.title}.pdf"
    assert not (folder / name).exists() and not partial_path(folder / name).exists()
    # The next run fetches it whole.
    again = fetch(stub, root, settings)
    assert [Path(d).name for d in again.downloaded] == [name] and pdfs(folder) == originals()


def test_a_dropped_connection_is_resumed_where_it_stopped(stub, tmp_path):
    target = stub.items[4]
    stub.fault(target.path, "drop")  # half the bytes, then the connection closes
    result = fetch(stub, tmp_path / "r", settings_for(stub, tmp_path))
    assert result.errors == [] and pdfs(Path(result.folder)) == originals()
    asks = [r for r in stub.file_requests() if r["path"] == target.path]
    assert len(asks) == 2 and "Range" not in asks[0]["headers"]
    assert asks[1]["headers"]["Range"] == f"bytes={len(target.data) // 2}-"


def test_an_interrupted_run_resumes(stub, tmp_path):
    root, settings = tmp_path / "r", settings_for(stub, tmp_path)

    def interrupt_after_two(done: int, total: int, what: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(stub, root, settings, progress=interrupt_after_two)
    folder = root / "江丰电子-300666"
    first = {r["path"] for r in stub.file_requests()}
    assert len(pdfs(folder)) == 2 and len(first) == 2
    # A third file was cut off mid-way as well (its partial file is hidden from `irchat ingest`).
    third = sorted(stub.items[:5], key=lambda i: i.day)[2]
    part = partial_path(folder / f"江丰电子：{third.title}.pdf")
    part.write_bytes(third.data[:1000])
    stub.requests.clear()
    result = fetch(stub, root, settings)
    assert result.errors == [] and result.present == 2 and len(result.downloaded) == 3
    assert not first & {r["path"] for r in stub.file_requests()}
    assert next(r for r in stub.file_requests() if r["path"] == third.path)["headers"]["Range"] == "bytes=1000-"
    assert pdfs(folder) == originals() and not part.exists()


def test_record_titles():
    assert is_record("2021年11月5日投资者关系活动记录表")
    assert is_record("300474景嘉微投资者关系管理信息20240228")
    assert is_record("000977浪潮信息调研活动信息20230302")
    assert not is_record("2025年三季度报告")
    assert not is_record("2025年半年度报告摘要")
    assert not is_record("关于投资者关系活动记录表的更正公告")
    assert not is_record("关于召开2024年度业绩说明会的公告")


def test_safe_names():
    assert safe_name("江丰电子：2021年11月5日投资者关系活动记录表") == "江丰电子：2021年11月5日投资者关系活动记录表"
    assert safe_name('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert safe_name("..hidden  name\n") == "hidden name"
    assert len(safe_name("记" * 200).encode()) <= 200


def test_announcement_json_shape():
    a = Announcement.from_json(
        {
            "announcementId": 1211458262,
            "announcementTitle": "2021年11月5日<em>投资者关系</em>活动记录表",
            "announcementTime": 1636106400000,  # 2021-11-05 18:00 in Beijing
            "adjunctUrl": "finalpage/2021-11-05/1211458262.PDF",
            "adjunctType": "PDF",
            "secCode": "300666",
            "secName": "江丰电子",
        }
    )
    assert a is not None and a.id == "1211458262" and a.title == "2021年11月5日投资者关系活动记录表"
    assert a.date == date(2021, 11, 5) and a.suffix == ".pdf"
    assert Announcement.from_json({"announcementTitle": "no id"}) is None
    assert Stock("688787", "gshk0000001", "海天瑞声").column == "sse"
    assert Stock("688787", "x", "y").plate == "sh" and Stock("300666", "x", "y").column == "szse"


def test_looks_like_pdf(tmp_path):
    p = tmp_path / "a.pdf"
    p.write_bytes(TINY_PDF)
    assert looks_like_pdf(p)
    p.write_bytes(TINY_PDF[:-8])
    assert not looks_like_pdf(p)
    p.write_bytes(b"<html>" + TINY_PDF)
    assert not looks_like_pdf(p)


def test_the_client_raises_fetch_error_for_an_unreachable_cninfo(tmp_path):
    from tests.chroma_server import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings(data_dir=tmp_path, cninfo_base_url=dead, cninfo_retries=1, cninfo_backoff=0, cninfo_delay=0)
    with CninfoClient(settings) as client, pytest.raises(FetchError, match=r"connection failed.*2 tries"):
        client.stock("300666")


# -- the command ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(stub, tmp_path, monkeypatch):
    for key, value in settings_for(stub, tmp_path).model_dump().items():
        if key.startswith("cninfo_") or key == "data_dir":
            monkeypatch.setenv(f"IRCHAT_{key.upper()}", str(value))
    return tmp_path


def test_fetch_help_documents_every_option():
    from typer.testing import CliRunner

    from ui import cli

    result = CliRunner().invoke(cli.app, ["fetch", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("CODES", "--since", "--until", "--dir", "--ingest", "--json", "IRCHAT_CNINFO_DELAY"):
        assert option in result.output.upper() if option == "CODES" else option in result.output


def test_fetch_command_json_and_exit_codes(cli_env, stub):
    from typer.testing import CliRunner

    from ui import cli

    runner = CliRunner()
    result = runner.invoke(cli.app, ["fetch", "300666", "--dir", str(cli_env / "out"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    [company] = data["companies"]
    assert company["code"] == "300666" and company["name"] == "江丰电子" and len(company["downloaded"]) == 5
    again = json.loads(runner.invoke(cli.app, ["fetch", "300666", "--dir", str(cli_env / "out"), "--json"]).stdout)
    assert again["companies"][0]["downloaded"] == [] and again["companies"][0]["present"] == 5
    # Default folder: IRCHAT_DATA_DIR/records; a failing record makes the exit code 1, the rest is fetched.
    stub.fault(stub.items[0].path, 404)
    failed = runner.invoke(cli.app, ["fetch", "300666"])
    assert failed.exit_code == 1 and "HTTP 404" in " ".join(failed.output.split())
    assert len(list((cli_env / "data" / "records" / "江丰电子-300666").glob("*.pdf"))) == 4
    assert runner.invoke(cli.app, ["fetch", "30066"]).exit_code == 2
    bad_date = runner.invoke(cli.app, ["fetch", "300666", "--since", "2021-13-01"])
    assert bad_date.exit_code == 2 and "not a date" in " ".join(bad_date.output.split())


@pytest.mark.slow
def test_fetch_then_ingest_indexes_the_records(cli_env, real_settings, monkeypatch):
    from typer.testing import CliRunner

    from ui import cli

    monkeypatch.setenv("IRCHAT_MODEL_DIR", str(real_settings.resolved_model_dir))
    monkeypatch.setenv("IRCHAT_EMBED_CACHE_DIR", str(real_settings.cache_dir))
    runner = CliRunner()
    args = ["fetch", "300666", "--since", "2021-09-02", "--until", "2021-09-02", "--ingest", "--json"]
    result = runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["companies"][0]["downloaded"]) == 1
    assert data["ingest"]["records"] == 1 and data["ingest"]["errors"] == [] and data["ingest"]["chunks_added"] > 0
    indexed = json.loads(runner.invoke(cli.app, ["records", "--json"]).stdout)
    assert [(r["stock_code"], Path(r["source"]).name) for r in indexed] == [
        ("300666", "江丰电子：2021年9月2日投资者关系活动记录表.pdf")
    ]
