"""``irchat fetch``: a company's investor-relations records from cninfo into ``DIR/<company>-<code>/``, once each.

Only records are downloaded (投资者关系活动记录表, 投资者关系管理信息, 调研活动信息), as their original PDFs,
named as cninfo titles them (``江丰电子：2021年11月5日投资者关系活动记录表.pdf``) in a folder the parser reads the
company and code from. A hidden manifest (``.cninfo.json``) remembers each announcement id downloaded, so a
second run fetches nothing; files are written whole or not at all (see :meth:`CninfoClient.download`).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ingest.cninfo import Announcement, CninfoClient, Stock
from rag.errors import FetchError

RECORD_TITLE = re.compile(r"投资者关系活动记录表|投资者关系管理信息|调研活动信息|投资者关系活动信息")
"""Titles of records; a title that also says 公告 is a notice about one (a correction, a meeting), not a record."""
TABS = (("relation", ""), ("fulltext", "投资者关系"))
"""Where records are listed: the investor-relations tab (akshare's stock_zh_a_disclosure_relation_cninfo), and
the full-text list searched for 投资者关系, because Shanghai companies file their records as ordinary
announcements that the relation tab is reported to miss. Both are read; announcements are kept once by id."""
MANIFEST = ".cninfo.json"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; a Chinese character takes 3


def is_record(title: str) -> bool:
    """True for an investor-relations activity record's title, False for reports, notices and summaries."""
    return bool(RECORD_TITLE.search(title)) and "公告" not in title


def safe_name(text: str) -> str:
    """``text`` made safe as one file or folder name: no path separators or reserved characters, no leading
    dot (``irchat ingest`` skips hidden files), whitespace collapsed, at most 200 bytes of UTF-8."""
    name = _UNSAFE.sub("_", " ".join(unicodedata.normalize("NFC", text).split())).lstrip(". ")
    while len(name.encode()) > _MAX_NAME_BYTES:
        name = name[:-1]
    return name or "_"


@dataclass
class Failure:
    """An announcement (or a whole company) that could not be fetched, with what is wrong."""

    announcement: str
    title: str
    error: str


@dataclass
class CompanyResult:
    """What one company's fetch found and did."""

    code: str
    name: str = ""
    folder: str = ""
    listed: int = 0
    """Announcements cninfo listed in the date range (records and others)."""
    records: int = 0
    downloaded: list[str] = field(default_factory=list)
    present: int = 0
    """Records already in the folder (by announcement id, or a file of the same name): not downloaded again."""
    errors: list[Failure] = field(default_factory=list)
    skipped: list[Failure] = field(default_factory=list)
    """Records left out on purpose (not a PDF), with why."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``irchat fetch --json``."""
        return asdict(self)


class Manifest:
    """The announcement ids already downloaded into one company folder, and their files."""

    def __init__(self, folder: Path):
        self.path = folder / MANIFEST
        self.data: dict[str, Any] = {"records": {}}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            return  # unreadable: start afresh; files already there are still found by name
        if isinstance(loaded, dict) and isinstance(loaded.get("records"), dict):
            self.data = loaded

    def file_of(self, announcement_id: str) -> str | None:
        """The file name an announcement was saved as, if it was."""
        entry = self.data["records"].get(announcement_id)
        return entry.get("file") if isinstance(entry, dict) else None

    def owner_of(self, file: str) -> str | None:
        """The announcement id saved as ``file``, if any."""
        for announcement_id, entry in self.data["records"].items():
            if isinstance(entry, dict) and entry.get("file") == file:
                return announcement_id
        return None

    def add(self, stock: Stock, a: Announcement, file: str, size: int) -> None:
        """Remember ``a`` as saved in ``file`` and write the manifest (whole, by rename)."""
        self.data.update({"code": stock.code, "org_id": stock.org_id, "name": stock.name})
        self.data["records"][a.id] = {"file": file, "title": a.title, "date": a.date.isoformat(), "bytes": size}
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)


Progress = Callable[[int, int, str], None]
"""``(done, total, what)``: called with 0 done once the records are listed, then after each record."""


class Fetcher:
    """Fetches companies' records into ``root`` through one :class:`CninfoClient` (one request at a time)."""

    def __init__(self, client: CninfoClient, root: Path):
        self.client = client
        self.root = Path(root)

    def folder_for(self, stock: Stock) -> Path:
        """``root/<company>-<code>``: an existing folder for the code (``jiangfeng-300666``) is reused, else one
        is named after cninfo's short name (``江丰电子-300666``); the parser takes the code from it."""
        if self.root.is_dir():
            for d in sorted(self.root.iterdir()):
                if d.is_dir() and re.fullmatch(rf".+[-_]{stock.code}", d.name):
                    return d
        return self.root / f"{safe_name(stock.name.replace('*', '')) if stock.name else 'company'}-{stock.code}"

    def list_records(
        self, stock: Stock, since: date | None, until: date | None
    ) -> tuple[list[Announcement], int, list[Failure]]:
        """The records among ``stock``'s announcements in the date range (oldest first), how many announcements
        were listed in all, and records left out (not PDFs)."""
        seen: dict[str, Announcement] = {}
        for tab, key in TABS:
            for a in self.client.announcements(stock, tab=tab, searchkey=key, since=since, until=until):
                if a.sec_code and a.sec_code != stock.code:  # a full-text search can match other companies
                    continue
                if (since and a.date < since) or (until and a.date > until):
                    continue  # cninfo filters by seDate too; this keeps the promise if it does not
                seen.setdefault(a.id, a)
        records, skipped = [], []
        for a in sorted(seen.values(), key=lambda a: (a.time_ms, a.id)):
            if not is_record(a.title):
                continue
            if a.suffix != ".pdf":
                skipped.append(Failure(a.id, a.title, f"not a PDF ({a.suffix or 'no file'}); only PDFs are fetched"))
                continue
            records.append(a)
        return records, len(seen), skipped

    def fetch(
        self, code: str, since: date | None = None, until: date | None = None, progress: Progress | None = None
    ) -> CompanyResult:
        """Download ``code``'s records not already in its folder; a failing record is reported and the rest go on."""
        result = CompanyResult(code=code)
        try:
            stock = self.client.stock(code)
            result.name = stock.name
            folder = self.folder_for(stock)
            result.folder = str(folder)
            records, result.listed, result.skipped = self.list_records(stock, since, until)
        except FetchError as e:
            result.errors.append(Failure("", "", str(e)))
            return result
        result.records = len(records)
        if progress:
            progress(0, len(records), stock.name)
        manifest = Manifest(folder)
        for done, a in enumerate(records, 1):
            name = safe_name(f"{a.sec_name or stock.name}：{a.title}") + ".pdf"
            if manifest.owner_of(name) not in (None, a.id):  # two announcements with one title (a re-filing)
                name = f"{name[:-4]}_{a.id}.pdf"
            known = manifest.file_of(a.id)
            if known and (folder / known).is_file():
                result.present += 1
            elif (folder / name).is_file():
                # Already there under cninfo's name (copied by hand, or a manifest lost): adopt, do not overwrite.
                manifest.add(stock, a, name, (folder / name).stat().st_size)
                result.present += 1
            else:
                try:
                    size = self.client.download(a.adjunct_url, folder / name)
                except FetchError as e:
                    result.errors.append(Failure(a.id, a.title, str(e)))
                else:
                    manifest.add(stock, a, name, size)
                    result.downloaded.append(str(folder / name))
            if progress:
                progress(done, len(records), a.title)
        return result
