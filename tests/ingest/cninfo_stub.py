"""A local stand-in for cninfo on 127.0.0.1: the stock list, the announcement query and the file host.

It answers in the shapes ``ingest/cninfo.py`` documents (``stockList``; ``announcements`` with
``announcementId``/``announcementTitle``/``announcementTime``/``adjunctUrl``/``secCode``/``secName``,
``hasMore``, ``totalpages``, ``totalAnnouncement``, null for an empty page; files with HTTP Range), serves real
record PDFs from ``../shared/records``, pages ``page_size`` at a time, logs every request, and misbehaves on
demand: ``stub.fault(key, kind, times)`` where ``key`` is ``"stocks"``, ``("query", page)`` or a file path and
``kind`` one of ``500``, ``429``, ``404``, ``"html"``, ``"stall"`` (answer nothing until the client times out),
``"empty"`` (an empty page although more were promised), ``"truncate"`` (half a PDF, sent as if complete) and
``"drop"`` (half a PDF, then the connection closes).
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

CHINA = timezone(timedelta(hours=8))


def title_date(title: str) -> date:
    """The date a record's title names (2021年11月5日 or …20240423), as its publication date in the stand-in."""
    if m := re.search(r"(\d{4})年(\d{1,2})月(\d{1,2})日", title):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.search(r"(20\d{2})(\d{2})(\d{2})", title):
        return date(int(m[1]), int(m[2]), int(m[3]))
    return date(2024, 1, 1)


@dataclass
class Item:
    """One announcement the stand-in lists, and the bytes of its file."""

    id: str
    code: str
    name: str
    title: str
    day: date
    data: bytes
    tabs: tuple[str, ...] = ("relation",)
    suffix: str = ".PDF"

    @property
    def path(self) -> str:
        return f"/finalpage/{self.day.isoformat()}/{self.id}{self.suffix}"

    def to_json(self, highlight: str = "") -> dict[str, Any]:
        title = self.title.replace(highlight, f"<em>{highlight}</em>") if highlight else self.title
        ms = int(datetime(self.day.year, self.day.month, self.day.day, 18, tzinfo=CHINA).timestamp() * 1000)
        return {
            "id": None,
            "secCode": self.code,
            "secName": self.name,
            "orgId": f"gssz0{self.code}",
            "announcementId": self.id,
            "announcementTitle": title,
            "announcementTime": ms,
            "adjunctUrl": self.path.lstrip("/"),
            "adjunctSize": len(self.data) // 1024,
            "adjunctType": self.suffix.lstrip(".").upper(),
            "storageTime": None,
            "columnId": "09020202||250101||251302",
            "pageColumn": "SZCY",
            "announcementType": "01239999||012399",
            "associateAnnouncement": None,
            "important": None,
            "batchNum": None,
            "announcementContent": "",
            "orgName": None,
            "announcementTypeName": None,
        }


@dataclass
class Fault:
    kind: str | int
    times: int


@dataclass
class CninfoStub:
    """The stand-in; ``start()`` it, point ``IRCHAT_CNINFO_*`` at ``url``, ``stop()`` it."""

    page_size: int = 2
    stocks: list[dict[str, str]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[Any, Fault] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def add_stock(self, code: str, name: str) -> None:
        self.stocks.append({"code": code, "pinyin": "x", "category": "A股", "orgId": f"gssz0{code}", "zwjc": name})

    def add(self, item: Item) -> Item:
        self.items.append(item)
        return item

    def add_folder(self, folder: Path, code: str, first_id: int = 1211000000) -> list[Item]:
        """Every PDF of a records folder (``简称：title.pdf``) as an announcement on the relation tab."""
        out = []
        for i, pdf in enumerate(sorted(folder.glob("*.pdf"))):
            name, _, title = pdf.stem.partition("：")
            out.append(self.add(Item(str(first_id + i), code, name, title, title_date(title), pdf.read_bytes())))
        return out

    def fault(self, key: Any, kind: str | int, times: int = 1) -> None:
        self.faults[key] = Fault(kind, times)

    def take_fault(self, key: Any) -> str | int | None:
        f = self.faults.get(key)
        if f is None or f.times <= 0:
            return None
        f.times -= 1
        return f.kind

    def file_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].startswith("/finalpage/")]

    # -- serving -------------------------------------------------------------------------------------

    def start(self) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                stub.handle(self, "GET", {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                stub.handle(self, "POST", {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def handle(self, h: BaseHTTPRequestHandler, method: str, form: dict[str, str]) -> None:
        path = urlsplit(h.path).path
        self.requests.append({"method": method, "path": path, "form": form, "headers": dict(h.headers)})
        if path == "/new/data/szse_stock.json":
            key: Any = "stocks"
            normal: Any = lambda kind: self.json(h, {"stockList": self.stocks})  # noqa: E731
        elif path == "/new/hisAnnouncement/query" and method == "POST":
            page = int(form.get("pageNum") or 1)
            key, normal = ("query", page), lambda kind: self.query(h, form, page)
        else:
            item = next((i for i in self.items if i.path == path), None)
            if item is None:
                return self.send(h, 404, b"<html>404 Not Found</html>", "text/html")
            key, normal = path, lambda kind: self.file(h, item, kind)
        kind = self.take_fault(key)
        if kind is None or kind in ("truncate", "drop"):
            return normal(kind)
        if isinstance(kind, int):
            headers = {"Retry-After": "0"} if kind == 429 else {}
            return self.send(h, kind, f"<html>error {kind}</html>".encode(), "text/html", headers)
        if kind == "html":
            return self.send(h, 200, "<html><body>系统繁忙，请稍后再试</body></html>".encode(), "text/html")
        if kind == "stall":
            self.release.wait(10)  # the client gives up first; the test's end releases us
            return None
        if kind == "empty":
            return self.json(h, {"announcements": None, "hasMore": True, "totalAnnouncement": 99, "totalpages": 50})
        raise AssertionError(f"unknown fault {kind!r} for {key!r}")

    def query(self, h: BaseHTTPRequestHandler, form: dict[str, str], page: int) -> None:
        code, _, org = form.get("stock", "").partition(",")
        stock = next((s for s in self.stocks if s["code"] == code), None)
        tab = form.get("tabName", "")
        key = form.get("searchkey", "")
        first = last = None
        if form.get("seDate"):
            a, _, b = form["seDate"].partition("~")
            first, last = date.fromisoformat(a.strip()), date.fromisoformat(b.strip())
        found = [
            i
            for i in self.items
            if stock is not None
            and org == stock["orgId"]
            and tab in i.tabs
            and (tab != "fulltext" or key in i.title)
            and (i.code == code or tab == "fulltext")  # full-text search matches other companies' titles too
            and (first is None or first <= i.day <= last)
        ]
        found.sort(key=lambda i: i.day, reverse=True)  # newest first, as cninfo lists
        chunk = found[(page - 1) * self.page_size : page * self.page_size]
        pages = math.ceil(len(found) / self.page_size)
        self.json(
            h,
            {
                "classifiedAnnouncements": None,
                "totalSecurities": 0,
                "totalAnnouncement": len(found),
                "totalRecordNum": len(found),
                "announcements": [i.to_json(key) for i in chunk] or None,
                "categoryList": None,
                "hasMore": page < pages,
                "totalpages": pages,
            },
        )

    def file(self, h: BaseHTTPRequestHandler, item: Item, kind: str | None) -> None:
        data = item.data
        if kind == "truncate":
            return self.send(h, 200, data[: len(data) // 2], "application/pdf")
        if kind == "drop":  # promise it all, send half, hang up
            h.send_response(200)
            h.send_header("Content-Type", "application/pdf")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data[: len(data) // 2])
            h.wfile.flush()
            h.close_connection = True
            return None
        if m := re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range", "")):
            start = int(m[1])
            if start >= len(data):
                return self.send(h, 416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
            return self.send(h, 206, data[start:], "application/pdf", headers)
        return self.send(h, 200, data, "application/pdf")

    def json(self, h: BaseHTTPRequestHandler, data: Any) -> None:
        self.send(h, 200, json.dumps(data, ensure_ascii=False).encode(), "application/json;charset=UTF-8")

    @staticmethod
    def send(h: BaseHTTPRequestHandler, code: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
